# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The orgs inventory without Salesforce: the file checked, hosts, names and groups built from fake discovery answers,
the cache of discovery answers; and discovery's requests, against a fake HTTP session."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils import _org_discovery as discovery_module
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._org_inventory import (
    Discovery,
    InventoryFileError,
    SourceFailure,
    build_inventory,
    devhub_hosts,
    org_groups,
    parse_config,
    sandbox_hosts,
    static_host,
)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeAuth, FakeHttp, make_response

PATH = '/inv/acme.sfjwt_orgs.yml'
PROD_ORG = '00D5g000004Sxyz'
PROD_ORG_18 = '00D5g000004SxyzEAC'


@pytest.fixture(autouse=True)
def no_sfjwt_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith('SFJWT_'):
            monkeypatch.delenv(name)


def sources_of(config):
    return parse_config(dict(config, plugin='sfjwt.salesforce.orgs'), PATH)


def one_source(config):
    found = sources_of(config)
    assert len(found) == 1
    return found[0]


def refused(config, known_options=()):
    with pytest.raises(InventoryFileError) as caught:
        parse_config(dict(config, plugin='sfjwt.salesforce.orgs'), PATH, known_options=known_options)
    return str(caught.value)


IDENTITY = {'username': 'ci@acme.com', 'consumer_key': 'CK', 'private_key_path': '~/keys/ci.key'}


# -- the file -------------------------------------------------------------------------------------------------------

def test_defaults_are_merged_under_entries_and_vars_key_by_key():
    source = one_source({'defaults': {'consumer_key': 'CK', 'private_key_path': '~/k.pem', 'timeout': 10,
                                      'vars': {'team': 'blue', 'wave': 1}},
                         'orgs': [{'name': 'acme', 'username': 'ci@acme.com', 'timeout': '20', 'vars': {'wave': 2}}]})
    assert source.given == {'consumer_key': 'CK', 'private_key_path': '~/k.pem', 'timeout': 20, 'username': 'ci@acme.com'}
    assert source.variables == {'team': 'blue', 'wave': 2}
    # What discovery would log in with: the modules' defaults, the path expanded as the modules expand it.
    assert source.resolved['login_url'] == 'https://login.salesforce.com'
    assert source.resolved['private_key_path'] == os.path.expanduser('~/k.pem')
    assert source.resolved['retries'] == 3


def test_the_environment_completes_discovery_but_not_host_variables(monkeypatch):
    monkeypatch.setenv('SFJWT_PRIVATE_KEY_PASSPHRASE', 'env-passphrase')
    monkeypatch.setenv('SFJWT_CACHE_DIR', '/tmp/token-cache')
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme')})
    assert source.resolved['private_key_passphrase'] == 'env-passphrase'
    assert source.resolved['cache_dir'] == '/tmp/token-cache'
    assert 'private_key_passphrase' not in source.given and 'cache_dir' not in source.given
    host = sandbox_hosts(source, Discovery(org_id=PROD_ORG, instance_url='https://x.example'))[0][0]
    assert 'env-passphrase' not in json.dumps(host.variables)


def test_the_cached_answer_follows_the_identity_not_the_connection_settings(monkeypatch):
    base = one_source({'sandboxes_of': dict(IDENTITY, name='acme')}).digest()
    # Another token cache directory or timeout (another shell, an AWX job's environment) reads the same cached answer.
    monkeypatch.setenv('SFJWT_CACHE_DIR', '/tmp/elsewhere')
    assert one_source({'sandboxes_of': dict(IDENTITY, name='acme', timeout=99)}).digest() == base
    # Another user, app, key or org does not.
    for changed in ({'username': 'other@acme.com'}, {'consumer_key': 'CK2'}, {'private_key_path': '~/keys/other.key'},
                    {'login_url': 'https://acme.my.salesforce.com'}, {'audience': 'https://test.salesforce.com'}):
        assert one_source({'sandboxes_of': dict(IDENTITY, name='acme', **changed)}).digest() != base, changed


@pytest.mark.parametrize('where, config', [
    ('orgs[0] (acme)', {'orgs': [{'name': 'acme', 'private_key': '-----BEGIN PRIVATE KEY-----'}]}),
    ('defaults', {'defaults': {'private_key_passphrase': 'secret'}, 'orgs': [{'name': 'acme'}]}),
    ('sandboxes_of (acme)', {'sandboxes_of': dict(IDENTITY, name='acme', private_key_passphrase='secret')}),
])
def test_keys_and_passphrases_in_the_file_are_refused_with_the_way_to_give_them(where, config):
    message = refused(config)
    assert message.startswith('%s: %s sets private_key' % (PATH, where))
    assert 'Give the key as private_key_path' in message
    assert 'SFJWT_PRIVATE_KEY_PASSPHRASE' in message
    assert 'BEGIN PRIVATE KEY' not in message and 'secret' not in message


def test_a_key_in_vars_is_refused_too():
    message = refused({'orgs': [{'name': 'acme', 'vars': {'sfjwt_private_key_passphrase': 'secret'}}]})
    assert message.startswith('%s: orgs[0] (acme) sets vars.sfjwt_private_key_passphrase.' % PATH)
    assert 'secret' not in message


def test_a_sandbox_override_may_not_hold_a_key():
    message = refused({'sandboxes_of': dict(IDENTITY, name='acme', sandboxes={'uat': {'private_key': 'PEM'}})})
    assert message.startswith('%s: sandboxes_of (acme), sandboxes.uat sets private_key.' % PATH)


def test_unknown_options_are_named_with_the_known_ones():
    message = refused({'orgs': [{'name': 'acme', 'usrname': 'x'}]})
    assert message.startswith("%s: orgs[0] (acme) has no option usrname. Check the spelling; its options are: "
                              "audience, ca_path, cache, cache_dir," % PATH)
    assert 'login_url, name, private_key_path, retries, timeout, username, validate_certs, vars.' in message
    message = refused({'devhub': dict(IDENTITY, name='hub', sandboxes={})})
    assert 'devhub (hub) has no option sandboxes.' in message
    message = refused({'orgs': [{'name': 'acme'}], 'org': []}, known_options=('compose', 'strict'))
    assert message == ('%s has no option org. Check the spelling; the options of sfjwt.salesforce.orgs are: compose, '
                       'defaults, devhub, orgs, plugin, sandboxes_of, strict.' % PATH)


def test_a_value_of_the_wrong_type_names_the_entry_and_the_option():
    message = refused({'orgs': [{'name': 'acme', 'timeout': 'soon'}]})
    # ansible-core's own words (2.16 says "of type <class 'str'>").
    assert message.startswith("%s: orgs[0] (acme): argument 'timeout' is of type " % PATH)
    assert 'and we were unable to convert to int' in message
    assert message.endswith('Fix the value in the inventory file.')


def test_a_login_url_that_is_not_https_is_refused_at_once():
    message = refused({'orgs': [{'name': 'acme', 'login_url': 'http://acme.my.salesforce.com'}]})
    assert message == ('%s: orgs[0] (acme): login_url http://acme.my.salesforce.com uses http://, but Salesforce accepts '
                       'token requests only over HTTPS. Use https://acme.my.salesforce.com.' % PATH)


@pytest.mark.parametrize('name', [None, '', 'acme org', '-acme', 5])
def test_a_name_must_be_a_host_name(name):
    entry = {} if name is None else {'name': name}
    message = refused({'orgs': [entry]})
    assert 'is not a host name' in message and message.startswith(PATH + ': orgs[0]')


def test_host_names_must_be_unique_across_entries():
    message = refused({'orgs': [{'name': 'acme'}], 'sandboxes_of': dict(IDENTITY, name='acme')})
    assert message == ('The host name acme is given twice, by %s: orgs[0] (acme) and by %s: sandboxes_of (acme). Host names '
                       'must be unique: rename one, or set add_host: false on a devhub / sandboxes_of entry whose org is '
                       'listed under orgs.' % (PATH, PATH))
    # Listed under orgs and discovered from: the discovery entry adds no host of its own.
    assert len(sources_of({'orgs': [{'name': 'acme'}], 'sandboxes_of': dict(IDENTITY, name='acme', add_host=False)})) == 2


def test_a_file_without_sources_says_what_to_add():
    assert refused({'defaults': {'consumer_key': 'CK'}}).startswith(
        '%s gives no org: add orgs (a list of orgs), devhub (a Dev Hub whose scratch orgs become hosts)' % PATH)


def test_devhub_and_sandboxes_of_take_a_mapping_or_a_list():
    found = sources_of({'devhub': dict(IDENTITY, name='hub'),
                        'sandboxes_of': [dict(IDENTITY, name='acme'), dict(IDENTITY, name='globex')]})
    assert [(source.kind, source.name, source.where) for source in found] == [
        ('devhub', 'hub', PATH + ': devhub (hub)'),
        ('sandboxes_of', 'acme', PATH + ': sandboxes_of[0] (acme)'),
        ('sandboxes_of', 'globex', PATH + ': sandboxes_of[1] (globex)')]
    assert refused({'devhub': 'hub'}) == '%s: devhub is a string. Give a mapping (one identity) or a list of them.' % PATH


def test_sandbox_overrides_are_checked_and_keyed_case_insensitively():
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', sandboxes={
        'UAT': {'username': 'release@acme.com.uat', 'timeout': '5', 'vars': {'wave': 2}}})})
    assert source.sandboxes == {'uat': {'name': 'UAT', 'given': {'username': 'release@acme.com.uat', 'timeout': 5},
                                        'variables': {'wave': 2}}}
    message = refused({'sandboxes_of': dict(IDENTITY, name='acme', sandboxes={'uat': {'timeout': 'x'}})})
    assert message.startswith("%s: sandboxes_of (acme), sandboxes.uat: argument 'timeout'" % PATH)
    message = refused({'sandboxes_of': dict(IDENTITY, name='acme', sandboxes=['uat'])})
    assert 'sandboxes is a list. Give a mapping of sandbox names to their settings' in message


def test_api_version_and_add_host_are_checked():
    assert 'api_version' in refused({'devhub': dict(IDENTITY, name='hub', api_version='sixty')})
    assert one_source({'devhub': dict(IDENTITY, name='hub', api_version='v61.0')}).api_version == '61.0'
    assert refused({'devhub': dict(IDENTITY, name='hub', add_host='no')}) == (
        '%s: devhub (hub): add_host is a string; give true or false.' % PATH)


def test_templates_in_options_are_templated_and_errors_named():
    config = dict(plugin='sfjwt.salesforce.orgs', orgs=[{'name': 'acme', 'username': '{{ user }}'}])
    source = parse_config(config, PATH, template=lambda value: value.replace('{{ user }}', 'ci@acme.com'))[0]
    assert source.given['username'] == 'ci@acme.com'

    def failing(value):
        raise ValueError("'user' is undefined")
    with pytest.raises(InventoryFileError) as caught:
        parse_config(config, PATH, template=failing)
    assert str(caught.value).startswith("%s: orgs[0] (acme): username could not be templated ('user' is undefined)." % PATH)


# -- hosts ----------------------------------------------------------------------------------------------------------

def test_a_listed_org_carries_its_options_facts_and_vars():
    source = one_source({'defaults': {'consumer_key': 'CK', 'private_key_path': '~/k.pem', 'ca_path': '/ca.pem'},
                         'orgs': [{'name': 'acme-uat', 'username': 'ci@acme.com.uat', 'validate_certs': 'yes',
                                   'login_url': 'https://acme--uat.sandbox.my.salesforce.com',
                                   'vars': {'sfjwt_edition': 'Enterprise Edition', 'wave': 1}}]})
    host = static_host(source)
    assert host.name == 'acme-uat'
    assert host.variables == {
        'ansible_connection': 'local', 'sfjwt_consumer_key': 'CK', 'sfjwt_username': 'ci@acme.com.uat',
        'sfjwt_private_key_path': '~/k.pem', 'sfjwt_login_url': 'https://acme--uat.sandbox.my.salesforce.com',
        'sfjwt_validate_certs': True, 'sfjwt_ca_path': '/ca.pem', 'sfjwt_org_name': 'acme-uat',
        'sfjwt_org_kind': 'sandbox', 'sfjwt_source': 'orgs', 'sfjwt_edition': 'Enterprise Edition', 'wave': 1}
    assert org_groups(host.variables) == ['sfjwt_orgs', 'sandbox', 'edition_enterprise_edition']


@pytest.mark.parametrize('login_url, kind', [
    (None, 'production'),
    ('https://test.salesforce.com', 'sandbox'),
    ('https://acme.my.salesforce.com', 'production'),
    ('https://fun-dream-1234-dev-ed.scratch.my.salesforce.com', 'scratch'),
    ('https://localhost:8443', 'production'),
])
def test_the_kind_of_a_listed_org_follows_its_login_url(login_url, kind):
    entry = {'name': 'org'} if login_url is None else {'name': 'org', 'login_url': login_url}
    assert static_host(one_source({'orgs': [entry]})).variables['sfjwt_org_kind'] == kind


def test_groups_are_safe_names_in_lower_case():
    assert org_groups({'sfjwt_org_kind': 'scratch', 'sfjwt_instance_name': 'CS42', 'sfjwt_edition': 'Developer Pro',
                       'sfjwt_org_status': 'In Progress'}) == [
        'sfjwt_orgs', 'scratch', 'instance_cs42', 'edition_developer_pro', 'status_in_progress']
    assert org_groups({'sfjwt_org_kind': 'other', 'sfjwt_edition': 'Ent.-Plus (2)'}) == ['sfjwt_orgs', 'edition_ent__plus__2_']


def scratch_row(name, org_id, status='Active', **more):
    row = {'Id': '2SR' + org_id[3:], 'OrgName': name, 'SignupUsername': 'test-%s@example.com' % org_id.lower(),
           'LoginUrl': 'https://%s.scratch.my.salesforce.com' % (name or 'x').lower().replace(' ', '-'),
           'ScratchOrg': org_id, 'ExpirationDate': '2030-01-31', 'Status': status, 'Edition': 'Developer'}
    row.update(more)
    return row


def test_scratch_orgs_are_named_by_their_org_name_and_log_in_with_the_hub_app():
    source = one_source({'devhub': dict(IDENTITY, name='hub', ca_path='/ca.pem', vars={'team': 'blue'})})
    rows = [scratch_row('Feature One', '00D1x0000000AAA'), scratch_row('Feature One', '00D1x0000000BBB'),
            scratch_row('', '00D1x0000000CCC'), scratch_row('Old', '00D1x0000000DDD', status='Expired'),
            scratch_row('No url', '00D1x0000000EEE', LoginUrl=None)]
    hosts, warnings = devhub_hosts(source, Discovery(org_id=PROD_ORG, instance_url='https://hub.my.salesforce.com',
                                                     scratch_orgs=rows))
    assert [host.name for host in hosts] == ['hub', 'feature-one', 'feature-one-00d1x0000000bbb', '00d1x0000000ccc']
    assert warnings == ['%s: devhub (hub): the scratch org No url is left out: its ScratchOrgInfo has no LoginUrl.' % PATH]
    assert hosts[0].variables == {
        'ansible_connection': 'local', 'sfjwt_consumer_key': 'CK', 'sfjwt_username': 'ci@acme.com',
        'sfjwt_private_key_path': '~/keys/ci.key', 'sfjwt_ca_path': '/ca.pem', 'sfjwt_org_name': 'hub',
        'sfjwt_org_kind': 'production', 'sfjwt_source': 'hub', 'sfjwt_org_id': PROD_ORG_18,
        'sfjwt_org_instance_url': 'https://hub.my.salesforce.com', 'team': 'blue'}
    assert hosts[1].variables == {
        'ansible_connection': 'local', 'sfjwt_consumer_key': 'CK', 'sfjwt_username': 'test-00d1x0000000aaa@example.com',
        'sfjwt_private_key_path': '~/keys/ci.key', 'sfjwt_login_url': 'https://feature-one.scratch.my.salesforce.com',
        'sfjwt_audience': 'https://test.salesforce.com', 'sfjwt_ca_path': '/ca.pem', 'sfjwt_org_name': 'feature-one',
        'sfjwt_org_kind': 'scratch', 'sfjwt_source': 'hub', 'sfjwt_org_id': '00D1x0000000AAAEA2', 'sfjwt_edition': 'Developer',
        'sfjwt_org_status': 'Active', 'sfjwt_org_label': 'Feature One', 'sfjwt_org_expiration_date': '2030-01-31',
        'sfjwt_scratch_org_info_id': '2SR1x0000000AAA', 'sfjwt_org_instance_url': 'https://feature-one.scratch.my.salesforce.com',
        'team': 'blue'}
    assert org_groups(hosts[1].variables) == ['sfjwt_orgs', 'scratch', 'edition_developer', 'status_active']


def sandbox_rows(*names, status='Completed'):
    infos, processes = [], []
    for index, name in enumerate(names):
        info_id = '0GQ5g00000000%02d' % index
        infos.append({'Id': info_id, 'SandboxName': name, 'LicenseType': 'DEVELOPER', 'Description': None})
        processes.append({'Id': '0GR5g00000000%02d' % index, 'SandboxInfoId': info_id, 'SandboxName': name,
                          'Status': status, 'CopyProgress': 100, 'SandboxOrganization': '00D5g00000001%02d' % index,
                          'StartDate': '2026-01-01T00:00:00.000+0000', 'LicenseType': 'DEVELOPER'})
    return infos, processes


@pytest.mark.parametrize('progress', ['40', 101, -1, True, {'a': 1}, 'x' * 100000, 4.5])
def test_a_copy_progress_that_is_not_a_percentage_is_left_out(progress):
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', add_host=False)})
    infos, processes = sandbox_rows('uat')
    processes[0]['CopyProgress'] = progress
    hosts, _warnings = sandbox_hosts(source, Discovery(sandbox_infos=infos, sandbox_processes=processes))
    assert 'sfjwt_sandbox_copy_progress' not in hosts[0].variables


def test_sandboxes_get_the_my_domain_login_url_the_username_rule_and_the_test_audience():
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', login_url='https://ACME.my.salesforce.com')})
    infos, processes = sandbox_rows('UAT', 'dev1')
    hosts, warnings = sandbox_hosts(source, Discovery(org_id=PROD_ORG, instance_url='https://acme.my.salesforce.com',
                                                      sandbox_infos=infos, sandbox_processes=processes))
    assert warnings == []
    assert [host.name for host in hosts] == ['acme', 'acme-uat', 'acme-dev1']
    assert hosts[1].variables == {
        'ansible_connection': 'local', 'sfjwt_consumer_key': 'CK', 'sfjwt_username': 'ci@acme.com.uat',
        'sfjwt_private_key_path': '~/keys/ci.key', 'sfjwt_login_url': 'https://acme--uat.sandbox.my.salesforce.com',
        'sfjwt_audience': 'https://test.salesforce.com', 'sfjwt_org_name': 'acme-uat', 'sfjwt_org_kind': 'sandbox',
        'sfjwt_source': 'acme', 'sfjwt_org_id': '00D5g0000000100EAA', 'sfjwt_org_status': 'Completed',
        'sfjwt_sandbox_name': 'UAT', 'sfjwt_sandbox_license_type': 'DEVELOPER', 'sfjwt_sandbox_info_id': '0GQ5g0000000000',
        'sfjwt_sandbox_copy_progress': 100}
    assert org_groups(hosts[1].variables) == ['sfjwt_orgs', 'sandbox', 'status_completed']


def test_org_facts_give_the_identity_its_instance_and_edition_and_the_sandboxes_its_edition():
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', org_facts=True)})
    infos, processes = sandbox_rows('uat')
    organization = {'Id': PROD_ORG_18, 'Name': 'Acme', 'InstanceName': 'NA123', 'OrganizationType': 'Unlimited Edition'}
    hosts = sandbox_hosts(source, Discovery(org_id=PROD_ORG, sandbox_infos=infos, sandbox_processes=processes,
                                            organization=organization))[0]
    assert (hosts[0].variables['sfjwt_instance_name'], hosts[0].variables['sfjwt_edition']) == ('NA123', 'Unlimited Edition')
    assert org_groups(hosts[0].variables) == ['sfjwt_orgs', 'production', 'instance_na123', 'edition_unlimited_edition']
    assert 'sfjwt_instance_name' not in hosts[1].variables
    assert org_groups(hosts[1].variables) == ['sfjwt_orgs', 'sandbox', 'edition_unlimited_edition', 'status_completed']
    assert refused({'devhub': dict(IDENTITY, name='hub', org_facts='yes')}) == (
        '%s: devhub (hub): org_facts is a string; give true or false.' % PATH)


def test_the_my_domain_may_come_from_the_instance_url_else_sandbox_login_url_applies():
    infos, processes = sandbox_rows('uat')
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme')})
    hosts = sandbox_hosts(source, Discovery(instance_url='https://acme.my.salesforce.com', sandbox_infos=infos,
                                            sandbox_processes=processes))[0]
    assert hosts[1].variables['sfjwt_login_url'] == 'https://acme--uat.sandbox.my.salesforce.com'
    hosts = sandbox_hosts(source, Discovery(instance_url='https://na1.salesforce.com', sandbox_infos=infos,
                                            sandbox_processes=processes))[0]
    assert hosts[1].variables['sfjwt_login_url'] == 'https://test.salesforce.com'
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', login_url='https://localhost:8443',
                                              sandbox_login_url='https://localhost:9443/')})
    hosts = sandbox_hosts(source, Discovery(instance_url='https://localhost:8443', sandbox_infos=infos,
                                            sandbox_processes=processes))[0]
    assert hosts[1].variables['sfjwt_login_url'] == 'https://localhost:9443'


def test_the_newest_copy_gives_the_status_and_deleted_sandboxes_are_left_out():
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', add_host=False)})
    infos, processes = sandbox_rows('uat', 'gone')
    processes.append(dict(processes[0], Id='0GR5g0000000099', Status='Processing', CopyProgress=40,
                          StartDate='2026-02-01T00:00:00.000+0000', SandboxOrganization=None))
    processes[1]['Status'] = 'Deleted'
    hosts, warnings = sandbox_hosts(source, Discovery(sandbox_infos=infos, sandbox_processes=processes))
    assert [host.name for host in hosts] == ['acme-uat']
    assert hosts[0].variables['sfjwt_org_status'] == 'Processing'
    assert hosts[0].variables['sfjwt_sandbox_copy_progress'] == 40
    assert 'sfjwt_org_id' not in hosts[0].variables
    assert org_groups(hosts[0].variables) == ['sfjwt_orgs', 'sandbox', 'status_processing']


def test_overrides_replace_the_derived_options_and_an_unknown_sandbox_is_reported():
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', vars={'team': 'blue', 'wave': 1}, sandboxes={
        'uat': {'username': 'release@acme.com.uat', 'login_url': 'https://uat.example.com', 'vars': {'wave': 2}},
        'nope': {}})})
    infos, processes = sandbox_rows('UAT')
    hosts, warnings = sandbox_hosts(source, Discovery(sandbox_infos=infos, sandbox_processes=processes))
    variables = hosts[1].variables
    assert (variables['sfjwt_username'], variables['sfjwt_login_url'], variables['team'], variables['wave']) == (
        'release@acme.com.uat', 'https://uat.example.com', 'blue', 2)
    assert warnings == ['%s: sandboxes_of (acme): sandboxes.nope names no sandbox of acme (its sandboxes: uat); the entry '
                        'is not used.' % PATH]


# -- the run and the cache ------------------------------------------------------------------------------------------

class FakeDiscovery:
    """discover() with answers per source name; a SourceFailure for the names in ``failing``."""

    def __init__(self, failing=()):
        self.asked = []
        self.failing = failing

    def __call__(self, source):
        self.asked.append(source.name)
        if source.name in self.failing:
            raise SourceFailure('%s: login failed: invalid_grant.' % source.where)
        if source.kind == 'devhub':
            return Discovery(org_id=PROD_ORG, instance_url='https://hub.my.salesforce.com',
                             scratch_orgs=[scratch_row('Feature', '00D1x0000000AAA')])
        infos, processes = sandbox_rows('uat')
        return Discovery(org_id=PROD_ORG, instance_url='https://%s.my.salesforce.com' % source.name, sandbox_infos=infos,
                         sandbox_processes=processes)


MIXED = {'defaults': dict(IDENTITY), 'orgs': [{'name': 'customer1'}], 'devhub': {'name': 'hub'},
         'sandboxes_of': [{'name': 'acme'}, {'name': 'globex'}]}


def test_a_failing_source_leaves_the_others_and_is_not_cached():
    discover = FakeDiscovery(failing=('acme',))
    result = build_inventory(sources_of(MIXED), discover)
    assert [host.name for host in result.hosts] == ['customer1', 'hub', 'feature', 'globex', 'globex-uat']
    assert result.failures == ['%s: sandboxes_of[0] (acme): login failed: invalid_grant.' % PATH]
    assert sorted(result.cache['sources']) == ['devhub:hub', 'sandboxes_of:globex']


def test_the_cache_answers_unchanged_sources_without_asking(monkeypatch):
    monkeypatch.setenv('SFJWT_PRIVATE_KEY_PASSPHRASE', 'env-passphrase')
    first = build_inventory(sources_of(MIXED), FakeDiscovery(), use_cache=True)
    stored = json.loads(json.dumps(first.cache))
    assert 'env-passphrase' not in json.dumps(stored)

    again = FakeDiscovery()
    second = build_inventory(sources_of(MIXED), again, cached=stored, use_cache=True)
    assert again.asked == [] and second.discovered == [] and not second.cache_changed
    assert [host.as_dict() for host in second.hosts] == [host.as_dict() for host in first.hosts]

    # vars and overrides apply without asking; a changed identity is asked again.
    changed = dict(MIXED, sandboxes_of=[{'name': 'acme', 'vars': {'wave': 3}}, {'name': 'globex', 'username': 'other@globex.com'}])
    third = build_inventory(sources_of(changed), again, cached=stored, use_cache=True)
    assert again.asked == ['globex'] and third.cache_changed
    assert [host.variables.get('wave') for host in third.hosts if host.name.startswith('acme')] == [3, 3]

    # Not reading the cache (cache off, --flush-cache): every source is asked.
    fresh = FakeDiscovery()
    build_inventory(sources_of(MIXED), fresh, cached=stored, use_cache=False)
    assert fresh.asked == ['hub', 'acme', 'globex']


def test_a_discovered_org_never_takes_an_entry_s_name():
    config = {'defaults': dict(IDENTITY), 'orgs': [{'name': 'feature'}], 'devhub': {'name': 'hub'}}
    result = build_inventory(sources_of(config), FakeDiscovery())
    assert [host.name for host in result.hosts] == ['feature', 'hub']
    assert result.hosts[0].variables['sfjwt_source'] == 'orgs'
    assert result.failures == ['%s: devhub (hub): the host feature is left out: its name is an entry of this file, which an '
                               'org found in Salesforce may not take. Rename the entry, or the org in Salesforce.' % PATH]


class NamedScratchOrgs(FakeDiscovery):
    """A Dev Hub whose scratch orgs are named (OrgName) and placed (LoginUrl) as given: what their creators chose."""

    def __init__(self, *rows):
        super().__init__()
        self.rows = rows

    def __call__(self, source):
        if source.kind == 'devhub':
            return Discovery(org_id=PROD_ORG, instance_url='https://hub.my.salesforce.com', scratch_orgs=[
                scratch_row(name, '00D1x0000000A%02d' % number, **more) for number, (name, more) in enumerate(self.rows)])
        return super().__call__(source)


def test_a_scratch_org_named_like_a_later_entry_localhost_or_another_source_s_host_is_left_out_as_a_failure():
    config = {'defaults': dict(IDENTITY), 'devhub': {'name': 'hub'}, 'sandboxes_of': {'name': 'acme'}}
    discover = NamedScratchOrgs(('ACME', {}), ('localhost', {}), ('All', {}), ('db-prod-1', {}), ('fine', {}))
    result = build_inventory(sources_of(config), discover, existing_hosts={'db-prod-1'})
    assert [host.name for host in result.hosts] == ['hub', 'fine', 'acme', 'acme-uat']
    assert result.hosts[2].variables['sfjwt_source'] == 'acme' and result.hosts[2].variables['sfjwt_org_kind'] == 'production'
    assert [message.split(': ', 2)[2] for message in result.failures] == [
        'the host acme is left out: its name is an entry of this file, which an org found in Salesforce may not take. '
        'Rename the entry, or the org in Salesforce.',
        'the host localhost is left out: its name is one Ansible gives a meaning of its own, which an org found in '
        'Salesforce may not take. Rename the entry, or the org in Salesforce.',
        'the host all is left out: its name is one Ansible gives a meaning of its own, which an org found in Salesforce '
        'may not take. Rename the entry, or the org in Salesforce.',
        'the host db-prod-1 is left out: another inventory source has a host of that name, which it would take over. '
        'Rename the entry, or the org in Salesforce.']


@pytest.mark.parametrize('name', ['localhost', 'all', 'Ungrouped'])
def test_an_entry_named_like_ansible_s_own_names_is_refused(name):
    assert refused({'defaults': dict(IDENTITY), 'orgs': [{'name': name}]}).startswith(
        "%s: orgs[0] (%s): name %s is a name Ansible gives a meaning of its own (localhost, all, ungrouped)" % (PATH, name, name))


def test_a_scratch_org_s_login_url_must_be_salesforce_s_or_the_dev_hub_s_host():
    config = {'defaults': dict(IDENTITY), 'devhub': {'name': 'hub', 'login_url': 'https://hub.example.net:8443'}}
    discover = NamedScratchOrgs(('evil', {'LoginUrl': 'https://attacker.example.com/steal'}),
                                ('own', {'LoginUrl': 'https://HUB.example.net:9443'}),
                                ('real', {'LoginUrl': 'https://real-1234.scratch.my.salesforce.com'}))
    result = build_inventory(sources_of(config), discover)
    assert [host.name for host in result.hosts] == ['hub', 'own', 'real']
    assert result.warnings == ["%s: devhub (hub): the scratch org evil is left out: its LoginUrl https://attacker.example.com/steal "
                               "is neither a Salesforce host nor the Dev Hub's own host, and the Dev Hub's key would sign the "
                               "assertions sent there." % PATH]


def test_odd_values_from_salesforce_are_not_kept():
    config = {'defaults': dict(IDENTITY), 'devhub': {'name': 'hub'}}
    result = build_inventory(sources_of(config), NamedScratchOrgs(('x' * 300, {'LoginUrl': 'https://x.scratch.my.salesforce.com'}),
                                                                  ('ok', {'Edition': 'E' * 256})))
    # A 300-character OrgName is no name: the host is named by its org id; a 256-character edition is dropped.
    assert [host.name for host in result.hosts] == ['hub', '00d1x0000000a00', 'ok']
    assert 'sfjwt_edition' not in result.hosts[2].variables and 'sfjwt_org_label' not in result.hosts[1].variables


# -- discovery's requests -------------------------------------------------------------------------------------------

def query_answer(records, next_url=None):
    body = {'totalSize': 3, 'done': next_url is None, 'records': records}
    if next_url:
        body['nextRecordsUrl'] = next_url
    return make_response(200, body)


def test_sandbox_discovery_is_one_session_and_two_tooling_queries_with_paging(monkeypatch):
    auth = FakeAuth(tokens=('00D5g000004Sxyz!token',))
    monkeypatch.setattr(discovery_module, 'auth', auth)

    def handler(call):
        query = (call['params'] or {}).get('q', '')
        if call['path'] == '/services/data/v62.0/tooling/query' and 'FROM SandboxInfo' in query:
            return query_answer([{'Id': '0GQ1', 'SandboxName': 'uat'}, {'Id': '0GQ2', 'SandboxName': 'dev'}],
                                next_url='/services/data/v62.0/tooling/query/01g-2000')
        if call['path'] == '/services/data/v62.0/tooling/query/01g-2000':
            return query_answer([{'Id': '0GQ3', 'SandboxName': 'qa'}])
        if call['path'] == '/services/data/v62.0/tooling/query' and 'FROM SandboxProcess' in query:
            return query_answer([{'Id': '0GR1', 'SandboxInfoId': '0GQ1', 'Status': 'Completed'}])
        return make_response(404, [{'errorCode': 'NOT_FOUND', 'message': call['path']}])

    http = FakeHttp(handler)
    monkeypatch.setattr(rest, 'build_rest_http_session', lambda options: http)
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', api_version='62.0')})
    answer = discovery_module.discover(source)
    assert auth.minted == 1
    assert http.paths() == [('GET', '/services/data/v62.0/tooling/query'), ('GET', '/services/data/v62.0/tooling/query/01g-2000'),
                            ('GET', '/services/data/v62.0/tooling/query')]
    assert [row['SandboxName'] for row in answer.sandbox_infos] == ['uat', 'dev', 'qa']
    assert answer.sandbox_processes == [{'Id': '0GR1', 'SandboxInfoId': '0GQ1', 'Status': 'Completed'}]
    assert answer.instance_url == 'https://acme.my.salesforce.com'


def test_org_facts_add_one_query_of_the_organization_with_the_standard_api(monkeypatch):
    auth = FakeAuth(tokens=('00D5g000004Sxyz!token',))
    monkeypatch.setattr(discovery_module, 'auth', auth)
    organization = {'Id': PROD_ORG_18, 'InstanceName': 'NA1', 'OrganizationType': 'Enterprise Edition'}

    def handler(call):
        if call['path'] == '/services/data/':
            return make_response(200, [{'version': '61.0'}, {'version': '62.0'}])
        if call['path'] == '/services/data/v62.0/query':
            return query_answer([organization])
        return query_answer([])

    http = FakeHttp(handler)
    monkeypatch.setattr(rest, 'build_rest_http_session', lambda options: http)
    answer = discovery_module.discover(one_source({'sandboxes_of': dict(IDENTITY, name='acme', org_facts=True)}))
    # The API version is asked once, for both APIs.
    assert http.paths() == [('GET', '/services/data/'), ('GET', '/services/data/v62.0/tooling/query'),
                            ('GET', '/services/data/v62.0/tooling/query'), ('GET', '/services/data/v62.0/query')]
    assert 'FROM Organization' in http.calls[-1]['params']['q']
    assert answer.organization == organization and auth.minted == 1


def test_a_refused_query_names_the_source_the_step_and_the_fix(monkeypatch):
    monkeypatch.setattr(discovery_module, 'auth', FakeAuth())
    http = FakeHttp(make_response(400, [{'errorCode': 'INVALID_TYPE', 'message': "sObject type 'ScratchOrgInfo' is not supported."}]))
    monkeypatch.setattr(rest, 'build_rest_http_session', lambda options: http)
    source = one_source({'devhub': dict(IDENTITY, name='hub', api_version='62.0')})
    with pytest.raises(SourceFailure) as caught:
        discovery_module.discover(source)
    message = str(caught.value)
    assert message.startswith('%s: devhub (hub): the query of its scratch orgs (ScratchOrgInfo) failed: GET '
                              '/services/data/v62.0/query answered HTTP 400' % PATH)
    assert "INVALID_TYPE: sObject type 'ScratchOrgInfo' is not supported." in message
    assert message.endswith('Check that the org is a Dev Hub (Setup > Dev Hub enabled), that the user can read Scratch Org '
                            'Infos (a Dev Hub user\'s permission set), and that the app has the Api scope.')
    assert "Status = 'Active'" in http.calls[0]['params']['q']


def test_a_failed_login_names_the_source(monkeypatch, tmp_path):
    source = one_source({'sandboxes_of': dict(IDENTITY, name='acme', private_key_path=str(tmp_path / 'missing.key'))})
    with pytest.raises(SourceFailure) as caught:
        discovery_module.discover(source)
    assert str(caught.value) == ('%s: sandboxes_of (acme): login failed: private_key_path %s does not exist. Point it at '
                                 'the key the app\'s certificate was made from (the sfjwt.salesforce.certificate module '
                                 'creates both).' % (PATH, tmp_path / 'missing.key'))
