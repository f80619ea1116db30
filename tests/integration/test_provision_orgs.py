# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The provision playbook over an inventory of orgs (a fake fleet): every org host provisioned in one run, in parallel,
sharing one provision directory; a rerun changes nothing; a sandbox whose External Client App a refresh removed comes
back with one run limited to it, the other orgs untouched."""

from __future__ import annotations

import json
import re

import yaml

from fake_org.identities import ADMIN_CONSUMER_KEY
from fake_org.pytest_plugin import fleet_admin_material

from conftest import oldest_and_newest_core_in_worker

pytestmark = oldest_and_newest_core_in_worker

APP = 'SfjwtIntegration'
SANDBOX_AUDIENCE = 'https://test.salesforce.com'
ROLE = 'sfjwt.salesforce.provision : '
TOKEN_TASK = ROLE + 'Get an access token with the JWT Bearer Flow'
DEPLOY_PATH = '/metadata/deployRequest'


def integration_user(org_name):
    return 'integration@%s.example.com' % org_name


def build_fleet(fleet):
    """Productions acme and beta (an admin with its Connected App, an integration user holding nothing), and acme's
    sandbox uat, a copy of acme: its users are '<user>.uat', the admin's Connected App survives the copy."""
    _key_path, cert_pem = fleet_admin_material()
    orgs = {}
    for name in ('acme', 'beta'):
        org = fleet.add_org(name)
        fleet.add_admin(org, cert_pem)
        org.add_user(integration_user(name))
        orgs[name] = org
    orgs['acme-uat'] = fleet.add_sandbox(orgs['acme'], 'uat')
    return orgs


def write_inventory(ansible, fleet, orgs):
    """A static inventory of the three orgs with the host variables the sfjwt.salesforce.orgs inventory sets, and the
    provision role's admin identity per org (the sandbox's admin is the copy of acme's)."""
    key_path, _cert_pem = fleet_admin_material()

    def host(name, username, admin, login_url, audience=None):
        values = {'ansible_connection': 'local', 'sfjwt_org_name': name, 'sfjwt_login_url': login_url,
                  'sfjwt_username': username, 'sfjwt_ca_path': fleet.ca_path, 'sfjwt_provision_admin_username': admin}
        if audience:
            values['sfjwt_audience'] = audience
        return values

    hosts = {
        'acme': host('acme', integration_user('acme'), 'admin@acme.example.com', orgs['acme'].url),
        'beta': host('beta', integration_user('beta'), 'admin@beta.example.com', orgs['beta'].url),
        # The fleet's login host plays test.salesforce.com: it finds the sandbox by the username.
        'acme-uat': host('acme-uat', integration_user('acme') + '.uat', 'admin@acme.example.com.uat', fleet.login_url,
                         SANDBOX_AUDIENCE),
    }
    group_vars = {'sfjwt_provision_contact_email': 'admin@example.com', 'sfjwt_provision_deploy': True,
                  'sfjwt_provision_admin_consumer_key': ADMIN_CONSUMER_KEY,
                  'sfjwt_provision_admin_private_key_path': str(key_path),
                  'sfjwt_provision_propagation_interval': 1, 'sfjwt_provision_deploy_poll_interval': 0.2}
    path = ansible.workdir / 'orgs.yml'
    path.write_text(yaml.safe_dump({'all': {'children': {'sfjwt_orgs': {'hosts': hosts, 'vars': group_vars}}}}))
    return str(path)


def deploy_posts(org):
    return [entry for entry in org.received_log() if entry['method'] == 'POST' and entry['path'].endswith(DEPLOY_PATH)]


def recap(run, host):
    match = re.search(r'^%s\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)' % re.escape(host),
                      run.stdout, re.M)
    assert match, run.stdout
    return tuple(int(number) for number in match.groups())


def test_every_org_host_provisioned_in_one_run_then_a_refreshed_sandbox_comes_back(ansible, fake_fleet):
    fleet = fake_fleet
    orgs = build_fleet(fleet)
    inventory = write_inventory(ansible, fleet, orgs)

    first = ansible.playbook('sfjwt.salesforce.provision', inventory=inventory, forks=5)
    assert first.rc == 0, first.output
    consumer_key = None
    for name, org in orgs.items():
        assert len(deploy_posts(org)) == 1, name
        assert first.status(TOKEN_TASK, host=name) == 'ok', name
        # One app for every org: the key, the certificate and the project are shared, each org got the same app.
        consumer_key = consumer_key or org.eca_consumer_key(APP)
        assert org.eca_consumer_key(APP) == consumer_key, name
        username = integration_user(name.split('-')[0]) + ('.uat' if name == 'acme-uat' else '')
        assert APP in org.find_user(username).permission_sets, name
        assert recap(first, name)[3] == 0
    # The deploy record holds all three orgs: their parallel deploys did not drop each other's entries.
    record = json.loads((ansible.workdir / 'sfjwt' / 'project' / '.sfjwt-deploy.json').read_text())
    assert sorted(record['orgs']) == sorted(org.org_id for org in orgs.values())
    assert sorted(path.name for path in (ansible.workdir / 'sfjwt').iterdir()) == ['project', 'server.crt', 'server.key']
    # What each host says at the end names its own org.
    for name, org in orgs.items():
        assert re.search(r'"Token for [^"]+ works at %s' % re.escape(org.url), first.stdout), name

    again = ansible.playbook('sfjwt.salesforce.provision', inventory=inventory, forks=5)
    assert again.rc == 0, again.output
    for name, org in orgs.items():
        assert recap(again, name)[1] == 0, (name, again.stdout)
        assert len(deploy_posts(org)) == 1, name

    # A rotation would move the shared key under the other orgs' feet: refused, naming them, before anything changes.
    key_before = (ansible.workdir / 'sfjwt' / 'server.key').read_bytes()
    rotate = ansible.playbook('sfjwt.salesforce.provision', inventory=inventory, forks=5,
                              extra_vars={'sfjwt_provision_rotate': True})
    assert rotate.rc != 0
    for name in orgs:
        message = rotate.result(ROLE + 'Check that a rotation over org hosts has a provision directory of its own', host=name)['msg']
        match = re.search(r'holds the key of the orgs (.*): rotating it in (\S+) would leave the others', message)
        assert match and sorted(match.group(1).split(', ')) == sorted(orgs) and match.group(2) == name, message
    assert (ansible.workdir / 'sfjwt' / 'server.key').read_bytes() == key_before
    assert not (ansible.workdir / 'sfjwt' / 'server.key.new').exists()
    assert all(len(deploy_posts(org)) == 1 for org in orgs.values())

    # A full-copy refresh: the sandbox is acme again, without the External Client App.
    sandbox = fleet.refresh_sandbox(orgs['acme'], 'uat')
    assert sandbox.eca_consumer_key(APP) is None
    # The integration's login there is refused (its token cached before the refresh is not used: the cache is off).
    refused = ansible.playbook('sfjwt.salesforce.limits', inventory=inventory, extra_args=['--limit', 'acme-uat'],
                               env={'SFJWT_CACHE': 'false'})
    assert refused.rc != 0, refused.output
    assert refused.status('Get the limits (GET /services/data/vNN.N/limits)', host='acme-uat') == 'failed'
    assert 'does not know the consumer key %s (invalid_client_id' % consumer_key in refused.result(
        'Get the limits (GET /services/data/vNN.N/limits)', host='acme-uat')['msg']

    before = {name: len(org.received_log()) for name, org in orgs.items() if name != 'acme-uat'}
    back = ansible.playbook('sfjwt.salesforce.provision', inventory=inventory, extra_args=['--limit', 'acme-uat'])
    assert back.rc == 0, back.output
    assert len(deploy_posts(sandbox)) == 1
    assert sandbox.eca_consumer_key(APP) == consumer_key
    assert APP in sandbox.find_user(integration_user('acme') + '.uat').permission_sets
    assert back.status(TOKEN_TASK, host='acme-uat') == 'ok'
    assert re.search(r'"Token for [^"]+ works at %s' % re.escape(sandbox.url), back.stdout)
    assert recap(back, 'acme-uat')[3] == 0
    # The other orgs were not asked anything.
    assert {name: len(org.received_log()) for name, org in orgs.items() if name != 'acme-uat'} == before


def test_provision_over_the_orgs_inventory_discovering_the_sandboxes(ansible, fake_fleet):
    """The README's pattern: sandboxes_of as the production admin (discovery needs it); vars give the provision role
    the admin identity (the host's own) and each org's integration user (the sandbox's copy by its sfjwt_sandbox_name)."""
    fleet = fake_fleet
    key_path, cert_pem = fleet_admin_material()
    prod = fleet.add_org('acme')
    fleet.add_admin(prod, cert_pem)
    prod.add_user(integration_user('acme'))
    sandbox = fleet.add_sandbox(prod, 'uat')
    inventory = ansible.workdir / 'orgs.sfjwt_orgs.yml'
    inventory.write_text(yaml.safe_dump({
        'plugin': 'sfjwt.salesforce.orgs',
        'sandboxes_of': {
            'name': 'acme', 'username': 'admin@acme.example.com', 'login_url': prod.url, 'consumer_key': ADMIN_CONSUMER_KEY,
            'private_key_path': str(key_path), 'ca_path': fleet.ca_path, 'sandbox_login_url': fleet.login_url,
            'vars': {
                'sfjwt_provision_admin_username': '{{ sfjwt_username }}',
                'sfjwt_provision_admin_consumer_key': '{{ sfjwt_consumer_key }}',
                'sfjwt_provision_admin_private_key_path': '{{ sfjwt_private_key_path }}',
                'sfjwt_provision_username': "integration@acme.example.com{{ ('.' ~ sfjwt_sandbox_name) if sfjwt_sandbox_name is defined else '' }}",
                'sfjwt_provision_contact_email': 'admin@example.com', 'sfjwt_provision_deploy': True,
                'sfjwt_provision_propagation_interval': 1, 'sfjwt_provision_deploy_poll_interval': 0.2}}}))

    run = ansible.playbook('sfjwt.salesforce.provision', inventory=str(inventory), forks=5)
    assert run.rc == 0, run.output
    consumer_key = prod.eca_consumer_key(APP)
    assert consumer_key and sandbox.eca_consumer_key(APP) == consumer_key
    assert consumer_key != ADMIN_CONSUMER_KEY
    assert APP in prod.find_user(integration_user('acme')).permission_sets
    assert APP in sandbox.find_user(integration_user('acme') + '.uat').permission_sets
    # Each host's token is its own org's integration user's.
    assert re.search(r'"Token for integration@acme.example.com works at %s' % re.escape(prod.url), run.stdout), run.stdout
    assert re.search(r'"Token for integration@acme.example.com.uat works at %s' % re.escape(sandbox.url), run.stdout), run.stdout
    # The admins deployed: one deploy in each org.
    assert len(deploy_posts(prod)) == 1 and len(deploy_posts(sandbox)) == 1
