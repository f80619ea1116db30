# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The orgs inventory plugin, loaded through ansible-core's plugin loader (its documented options are its config), with
discovery answered by a fake: which files it takes, hosts and groups in the inventory, constructed features, strict,
and the inventory cache."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar
from ansible.utils.collection_loader import AnsibleCollectionConfig

from ansible_collections.sfjwt.salesforce.plugins.inventory import orgs as orgs_plugin
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._org_inventory import Discovery, SourceFailure


@pytest.fixture(scope='module', autouse=True)
def collection_loader():
    assert AnsibleCollectionConfig.collection_finder is not None, 'run under ansible-test units (collection finder missing)'


@pytest.fixture(autouse=True)
def no_sfjwt_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith('SFJWT_'):
            monkeypatch.delenv(name)


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(orgs_plugin.display, 'warning', lambda message, *args, **kwargs: seen.append(message))
    return seen


class FakeDiscover:
    def __init__(self, failing=()):
        self.asked = []
        self.failing = failing

    def __call__(self, source):
        self.asked.append(source.name)
        if source.name in self.failing:
            raise SourceFailure('%s: login failed: user hasn\'t approved this consumer.' % source.where)
        if source.kind == 'devhub':
            return Discovery(org_id='00D1x0000000HUB', instance_url='https://hub.my.salesforce.com', scratch_orgs=[
                {'Id': '2SR1', 'OrgName': 'Feature', 'SignupUsername': 'test-f@example.com', 'Status': 'Active',
                 'LoginUrl': 'https://feature.scratch.my.salesforce.com', 'ScratchOrg': '00D1x0000000AAA', 'Edition': 'Developer'}])
        return Discovery(org_id='00D5g000004Sxyz', instance_url='https://acme.my.salesforce.com',
                         sandbox_infos=[{'Id': '0GQ1', 'SandboxName': 'uat', 'LicenseType': 'DEVELOPER'}],
                         sandbox_processes=[{'Id': '0GR1', 'SandboxInfoId': '0GQ1', 'Status': 'Completed'}])


@pytest.fixture
def discover(monkeypatch):
    fake = FakeDiscover()
    monkeypatch.setattr(orgs_plugin.InventoryModule, '_discover', staticmethod(fake))
    return fake


def plugin():
    found = inventory_loader.get('sfjwt.salesforce.orgs')
    assert found is not None
    return found


def write(tmp_path, config, name='acme.sfjwt_orgs.yml'):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict({'plugin': 'sfjwt.salesforce.orgs'}, **config)))
    return str(path)


def parse(path, cache=True):
    """What ansible-core's inventory manager does with a source: parse, then write the cache if it changed."""
    inventory = InventoryData()
    loaded = plugin()
    loaded.parse(inventory, DataLoader(), path, cache=cache)
    if getattr(loaded, '_cache', None):
        loaded.update_cache_if_changed()
    return inventory


def hosts_of(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts()) if group in inventory.groups else []


IDENTITY = {'consumer_key': 'CK', 'private_key_path': '/keys/ci.key'}
MIXED = {'defaults': IDENTITY, 'orgs': [{'name': 'customer1', 'username': 'ci@customer1.com'}],
         'devhub': {'name': 'hub', 'username': 'ci@hub.com'},
         'sandboxes_of': {'name': 'acme', 'username': 'ci@acme.com', 'login_url': 'https://acme.my.salesforce.com'}}


@pytest.mark.parametrize('name, taken', [
    ('acme.sfjwt_orgs.yml', True), ('acme.sfjwt_orgs.yaml', True), ('acme.yml', False), ('acme.sfjwt_orgs.json', False),
    ('sfjwt_orgs.yml', False),
])
def test_verify_file_takes_only_its_file_names(tmp_path, name, taken):
    path = tmp_path / name
    path.write_text('plugin: sfjwt.salesforce.orgs\n')
    assert plugin().verify_file(str(path)) is taken


def test_hosts_groups_and_variables_of_every_source(tmp_path, discover, warnings):
    inventory = parse(write(tmp_path, MIXED))
    assert sorted(inventory.hosts) == ['acme', 'acme-uat', 'customer1', 'feature', 'hub']
    assert hosts_of(inventory, 'production') == ['acme', 'customer1', 'hub']
    assert hosts_of(inventory, 'sandbox') == ['acme-uat']
    assert hosts_of(inventory, 'scratch') == ['feature']
    assert hosts_of(inventory, 'status_completed') == ['acme-uat']
    assert hosts_of(inventory, 'status_active') == ['feature']
    assert hosts_of(inventory, 'edition_developer') == ['feature']
    uat = inventory.get_host('acme-uat').get_vars()
    assert (uat['sfjwt_login_url'], uat['sfjwt_username'], uat['sfjwt_audience'], uat['ansible_connection']) == (
        'https://acme--uat.sandbox.my.salesforce.com', 'ci@acme.com.uat', 'https://test.salesforce.com', 'local')
    assert discover.asked == ['hub', 'acme'] and warnings == []


def test_compose_groups_and_keyed_groups_apply(tmp_path, discover, warnings):
    inventory = parse(write(tmp_path, dict(MIXED, compose={'org_label': "sfjwt_org_name | upper"},
                                           groups={'discovered': "sfjwt_source != 'orgs'"},
                                           keyed_groups=[{'key': 'sfjwt_source', 'prefix': 'source'}])))
    assert inventory.get_host('acme-uat').get_vars()['org_label'] == 'ACME-UAT'
    assert hosts_of(inventory, 'discovered') == ['acme', 'acme-uat', 'feature', 'hub']
    assert hosts_of(inventory, 'source_orgs') == ['customer1']
    assert hosts_of(inventory, 'source_acme') == ['acme', 'acme-uat']


def test_a_failing_source_warns_and_the_others_stay(tmp_path, discover, warnings):
    discover.failing = ('hub',)
    path = write(tmp_path, MIXED)
    inventory = parse(path)
    assert sorted(inventory.hosts) == ['acme', 'acme-uat', 'customer1']
    assert warnings == ["%s: devhub (hub): login failed: user hasn't approved this consumer." % path]


def test_strict_fails_the_inventory_naming_the_source(tmp_path, discover, warnings):
    discover.failing = ('acme',)
    path = write(tmp_path, dict(MIXED, strict=True))
    with pytest.raises(AnsibleParserError) as caught:
        parse(path)
    assert str(caught.value).startswith("%s: sandboxes_of (acme): login failed: user hasn't approved this consumer.\n"
                                        "(strict is true: a failing source fails the inventory" % path)


def test_a_mistake_in_the_file_fails_whatever_strict(tmp_path, discover):
    path = write(tmp_path, {'orgs': [{'name': 'acme', 'private_key': 'PEM'}]})
    with pytest.raises(AnsibleParserError) as caught:
        parse(path)
    assert str(caught.value).startswith('%s: orgs[0] (acme) sets private_key.' % path)
    assert discover.asked == []


def test_the_inventory_cache_answers_the_next_run_and_holds_no_secret(tmp_path, discover, warnings, monkeypatch):
    monkeypatch.setenv('SFJWT_PRIVATE_KEY_PASSPHRASE', 'env-passphrase-42')
    cache_dir = tmp_path / 'cache'
    path = write(tmp_path, dict(MIXED, cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(cache_dir)))
    first = parse(path)
    assert discover.asked == ['hub', 'acme']
    files = [file for file in cache_dir.iterdir() if file.is_file()]
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    if '__payload__' in stored:   # ansible-core 2.19's cache plugins keep the value as JSON text
        stored = json.loads(stored['__payload__'])
    assert sorted(stored['sources']) == ['devhub:hub', 'sandboxes_of:acme']
    stored = files[0].read_text()
    assert 'env-passphrase-42' not in stored

    second = parse(path)
    assert discover.asked == ['hub', 'acme']
    assert sorted(second.hosts) == sorted(first.hosts)
    # cache=False (what --flush-cache passes): asked again, and the cache rewritten.
    parse(path, cache=False)
    assert discover.asked == ['hub', 'acme', 'hub', 'acme']


def test_what_salesforce_answered_is_never_templated(tmp_path, discover, warnings, monkeypatch):
    # A scratch org's name and signup username are chosen by whoever creates it: templating them would run their lookups.
    # (ansible-core 2.19 templates no value an inventory plugin makes; 2.16 does unless it is marked unsafe.)
    hostile = "{{ lookup('pipe', 'id') }}"

    def answers(source):
        answer = discover(source)
        if source.kind == 'devhub':
            answer.scratch_orgs[0].update(OrgName='feature ' + hostile, SignupUsername=hostile)
        return answer

    monkeypatch.setattr(orgs_plugin.InventoryModule, '_discover', staticmethod(answers))
    inventory = parse(write(tmp_path, MIXED))
    variables = inventory.get_host('feature-lookup-pipe-id').get_vars()
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(variables['sfjwt_org_label']) == 'feature ' + hostile
    assert templar.template(variables['sfjwt_username']) == hostile
