# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt.salesforce.sandbox through ansible-playbook against a fake fleet: a production org whose Tooling API creates,
refreshes and deletes sandboxes that are orgs of their own (logins, deploys), and a copy that takes longer than
wait_timeout."""

from __future__ import annotations

import yaml

from fake_org.identities import ADMIN_CONSUMER_KEY
from fake_org.pytest_plugin import fleet_admin_material, generate_key_and_certificate, write_private_file

SANDBOX_TASK = 'The sandbox'
TOOLING_WRITES = '/services/data/v62.0/tooling/sobjects/SandboxInfo'
SANDBOX_AUDIENCE = 'https://test.salesforce.com'


def write_playbook(ansible, name, tasks):
    path = ansible.workdir / name
    path.write_text(yaml.safe_dump([{'name': 'Sandbox', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}],
                                   sort_keys=False))
    return path


def sandbox_playbook(ansible):
    """One sandbox task; its options from extra vars, the production identity from the SFJWT_* environment."""
    return write_playbook(ansible, 'sandbox.yml', [{'name': SANDBOX_TASK, 'register': 'sandbox', 'sfjwt.salesforce.sandbox': {
        'name': '{{ sandbox_name | default("uat") }}',
        'state': '{{ state | default("present") }}',
        'license_type': '{{ license_type | default(omit) }}',
        'refresh_older_than': '{{ refresh_older_than | default(omit) }}',
        'wait_timeout': '{{ wait_timeout | default(60) }}',
        'poll_interval': 0.1,
        'api_version': '62.0',
    }}])


def login_playbook(ansible):
    """A REST call as the sandbox's copy of the production admin (its username with .uat), logging in at login_url."""
    return write_playbook(ansible, 'login.yml', [{'name': 'Login to the sandbox', 'register': 'login', 'sfjwt.salesforce.rest': {
        'path': 'limits', 'username': '{{ sandbox_username }}', 'audience': SANDBOX_AUDIENCE, 'login_url': '{{ login_url }}'}}])


def tooling_writes(org):
    return [(entry['method'], entry['path']) for entry in org.received_log() if entry['path'].startswith(TOOLING_WRITES)]


def production(fleet, ansible):
    """Production org 'acme' with the fleet's admin identity, given to every task by the SFJWT_* environment."""
    prod = fleet.add_org('acme')
    key_path, cert_pem = fleet_admin_material()
    username = fleet.add_admin(prod, cert_pem)
    ansible.env.update({'SFJWT_LOGIN_URL': prod.url, 'SFJWT_CA_PATH': fleet.ca_path, 'SFJWT_CONSUMER_KEY': ADMIN_CONSUMER_KEY,
                        'SFJWT_USERNAME': username, 'SFJWT_PRIVATE_KEY_PATH': str(key_path)})
    return prod, username, key_path


def test_create_rerun_refresh_delete(ansible, fake_fleet, tmp_path):
    fleet = fake_fleet
    fleet.sandbox_polls_to_finish = 3
    prod, username, key_path = production(fleet, ansible)
    playbook = sandbox_playbook(ansible)

    created = ansible.playbook(playbook, extra_vars={'license_type': 'DEVELOPER'})
    assert created.rc == 0, created.output
    result = created.result(SANDBOX_TASK)
    assert result['changed'] is True and result['action'] == 'created' and result['status'] == 'Completed'
    assert result['progress'][0] == 'Sandbox uat: not in the production org, creating a DEVELOPER sandbox'
    assert [line.split(' (')[0] for line in result['progress'][1:]] == [
        'Sandbox uat: Processing, 33% copied', 'Sandbox uat: Processing, 66% copied', 'Sandbox uat: Completed, 100% copied']
    assert tooling_writes(prod) == [('POST', TOOLING_WRITES)]
    sandbox = fleet.orgs['acme-uat']
    assert result['sandbox_org_id'] == sandbox.org_id[:15] and result['sandbox_info_id'].startswith('0GQ')
    assert result['license_type'] == 'DEVELOPER' and result['copy_progress'] == 100

    # the sandbox is an org of its own: the production admin's copy logs in there
    login = ansible.playbook(login_playbook(ansible), extra_vars={'sandbox_username': username + '.uat', 'login_url': fleet.login_url})
    assert login.rc == 0, login.output
    assert login.result('Login to the sandbox')['url'].startswith(sandbox.url + '/services/data/')
    assert sandbox.token_requests_by(username + '.uat') == 1

    # present again: read only
    again = ansible.playbook(playbook, extra_vars={'license_type': 'DEVELOPER'})
    assert again.rc == 0, again.output
    assert again.status(SANDBOX_TASK) == 'ok'
    assert again.result(SANDBOX_TASK)['changed'] is False and again.result(SANDBOX_TASK)['action'] == 'none'
    assert tooling_writes(prod) == [('POST', TOOLING_WRITES)]

    # an External Client App deployed on the sandbox ...
    key_pem, cert_pem = generate_key_and_certificate('sandbox-app')
    write_private_file(tmp_path / 'app.key', key_pem)
    (tmp_path / 'app.crt').write_bytes(cert_pem)
    deploy = ansible.playbook('metadata_deploy.yml', extra_vars={
        'project_dir': str(ansible.workdir / 'project'), 'certificate_path': str(tmp_path / 'app.crt'),
        'admin_consumer_key': ADMIN_CONSUMER_KEY, 'admin_username': username + '.uat', 'admin_key_path': str(key_path)},
        env={'SFJWT_LOGIN_URL': sandbox.url, 'SFJWT_AUDIENCE': SANDBOX_AUDIENCE})
    assert deploy.rc == 0, deploy.output
    assert sandbox.eca_consumer_key('DeployTest') is not None

    # ... is gone after a refresh; the production admin's copy still logs in (its app is copied)
    refreshed = ansible.playbook(playbook, extra_vars={'state': 'refreshed', 'refresh_older_than': '7d',
                                                       'license_type': 'DEVELOPER_PRO'})
    assert refreshed.rc == 0, refreshed.output
    result = refreshed.result(SANDBOX_TASK)
    assert result['changed'] is True and result['action'] == 'refreshed' and result['status'] == 'Completed'
    assert result['progress'][0] == 'Sandbox uat: refreshing (its license type is DEVELOPER, DEVELOPER_PRO is asked)'
    assert result['progress'][-1].startswith('Sandbox uat: Completed, 100% copied')
    assert tooling_writes(prod)[1:] == [('PATCH', TOOLING_WRITES + '/' + result['sandbox_info_id'])]
    assert sandbox.eca_consumer_key('DeployTest') is None
    relogin = ansible.playbook(login_playbook(ansible), extra_vars={'sandbox_username': username + '.uat', 'login_url': sandbox.url})
    assert relogin.rc == 0, relogin.output

    # a recent copy is not refreshed again
    recent = ansible.playbook(playbook, extra_vars={'state': 'refreshed', 'refresh_older_than': '7d'})
    assert recent.rc == 0, recent.output
    assert recent.result(SANDBOX_TASK)['changed'] is False
    assert len(tooling_writes(prod)) == 2

    # absent: deleted, its org gone from the fleet; absent again changes nothing
    deleted = ansible.playbook(playbook, extra_vars={'state': 'absent'})
    assert deleted.rc == 0, deleted.output
    assert deleted.result(SANDBOX_TASK)['action'] == 'deleted'
    assert tooling_writes(prod)[2:] == [('DELETE', TOOLING_WRITES + '/' + result['sandbox_info_id'])]
    assert 'acme-uat' not in fleet.orgs
    gone = ansible.playbook(playbook, extra_vars={'state': 'absent'})
    assert gone.rc == 0 and gone.result(SANDBOX_TASK)['changed'] is False
    assert len(tooling_writes(prod)) == 3


def test_check_mode_creates_nothing(ansible, fake_fleet):
    prod, dummy, dummy2 = production(fake_fleet, ansible)
    check = ansible.playbook(sandbox_playbook(ansible), extra_vars={'license_type': 'FULL'}, check=True)
    assert check.rc == 0, check.output
    result = check.result(SANDBOX_TASK)
    assert result['changed'] is True and result['action'] == 'created' and result['sandbox_info_id'] is None
    assert tooling_writes(prod) == [] and 'acme-uat' not in fake_fleet.orgs


def test_wait_timeout_names_the_sandbox_and_says_the_copy_goes_on(ansible, fake_fleet):
    fake_fleet.sandbox_polls_to_finish = 100000
    prod, dummy, dummy2 = production(fake_fleet, ansible)
    slow = ansible.playbook(sandbox_playbook(ansible), extra_vars={'license_type': 'DEVELOPER', 'wait_timeout': 1})
    assert slow.rc != 0
    assert slow.status(SANDBOX_TASK) == 'failed'
    result = slow.result(SANDBOX_TASK)
    assert result['msg'].startswith('Sandbox uat is not ready after wait_timeout (1 s, waited 1 s): its last status was '
                                    'Processing, 0% copied. The copy goes on in Salesforce; run again with state=present')
    assert result['changed'] is True and result['action'] == 'created'
    assert result['progress'][-1].startswith('Sandbox uat: Processing, 0% copied')
    assert tooling_writes(prod) == [('POST', TOOLING_WRITES)]
    assert 'acme-uat' not in fake_fleet.orgs   # not copied yet
