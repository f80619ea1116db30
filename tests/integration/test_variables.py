# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt_<option> variables read by the modules' action plugins: task option (module_defaults included) > variable >
SFJWT_<OPTION> environment > default. Real playbooks against the fake org; which identity logged in is read from the
assertions the org received."""

from __future__ import annotations

import json

import jwt
import yaml

from cryptography.hazmat.primitives import serialization

UNKNOWN_USER = 'nobody@example.com'
OMITTED_USER = 'omitted@example.com'
PASSPHRASE = 'Variables-Passphrase-7e57'
NO_LOG_MARKER = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def logins(org):
    """(iss, sub) of every token request the org received, oldest first."""
    found = []
    for entry in org.received_log():
        if entry['method'] == 'POST' and entry['path'] == '/services/oauth2/token':
            claims = jwt.decode(entry['form']['assertion'], options={'verify_signature': False})
            found.append((claims['iss'], claims['sub']))
    return found


def identity_vars(app, **more):
    values = {'sfjwt_consumer_key': app.consumer_key, 'sfjwt_username': app.username, 'sfjwt_private_key_path': str(app.key_path),
              'sfjwt_login_url': app.url, 'sfjwt_ca_path': app.ca_path}
    values.update(more)
    return values


def write_playbook(ansible, name, plays):
    path = ansible.workdir / name
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def play(tasks, play_vars, **keywords):
    return dict({'name': 'Variables', 'hosts': 'localhost', 'gather_facts': False, 'vars': play_vars}, **keywords, tasks=tasks)


def test_play_variables_serve_every_module_and_the_lookup(ansible, fake_org_admin, tmp_path):
    admin = fake_org_admin
    org = admin.org
    project = tmp_path / 'project'
    tasks = [
        {'name': 'Token', 'sfjwt.salesforce.token': None, 'register': 'token'},
        {'name': 'Limits', 'sfjwt.salesforce.rest': {'path': 'limits'}},
        {'name': 'Limits, asynchronously', 'sfjwt.salesforce.rest': {'path': 'limits'}, 'async': 60, 'poll': 1},
        {'name': 'Write a setting', 'sfjwt.salesforce.record': {
            'sobject': 'Integration_Setting__c', 'external_id_field': 'Key__c',
            'records': [{'Key__c': 'from-variables', 'Name': 'From variables'}]}},
        {'name': 'Read it', 'sfjwt.salesforce.record_info': {
            'sobject': 'Integration_Setting__c', 'fields': ['Key__c', 'Name'], 'where': {'Key__c': 'from-variables'}}},
        {'name': 'Write an app project', 'sfjwt.salesforce.app_metadata': {
            'project_dir': str(project), 'name': 'VariablesTest', 'contact_email': 'admin@example.com',
            'certificate_path': str(admin.cert_path), 'consumer_key': 'VariablesTestConsumerKey01'}},
        {'name': 'Deploy it', 'sfjwt.salesforce.metadata_deploy': {'project_dir': str(project), 'poll_interval': 0.2}},
        {'name': 'The lookup reads the same variables', 'ansible.builtin.assert': {'quiet': True, 'that': [
            "lookup('sfjwt.salesforce.token', output='session').from_cache",
            "lookup('sfjwt.salesforce.token', output='instance_url') == sfjwt_login_url"]}},
    ]
    run = ansible.playbook(write_playbook(ansible, 'all_modules.yml', [play(tasks, identity_vars(admin))]))
    assert run.rc == 0, run.output
    assert run.result('Limits')['status'] == 200
    assert run.result('Limits, asynchronously')['status'] == 200
    assert [r['action'] for r in run.result('Write a setting')['records']] == ['created']
    assert [r['Name'] for r in run.result('Read it')['records']] == ['From variables']
    assert run.result('Deploy it')['status'] == 'Succeeded'
    assert org.deployed_component('ExternalClientApplication', 'VariablesTest') is not None
    # one login, as the variables' identity; every later task and the lookup used the cached token
    assert logins(org) == [(admin.consumer_key, admin.username)]

    # without sfjwt_ca_path the fake org's certificate is not trusted: the variable is what made it work
    without_ca = ansible.playbook(write_playbook(ansible, 'without_ca.yml', [
        play([{'name': 'Limits', 'sfjwt.salesforce.rest': {'path': 'limits'}, 'vars': {'sfjwt_cache': False}}],
             identity_vars(admin, sfjwt_ca_path=None))]))
    assert without_ca.rc != 0
    assert 'certificate' in without_ca.result('Limits')['msg']
    assert len(logins(org)) == 1


def test_task_options_and_module_defaults_beat_the_variable(ansible, fake_org_app):
    app = fake_org_app
    org = app.org
    real = {'username': app.username}
    group = {'group/sfjwt.salesforce.salesforce': real}
    tasks = [
        {'name': 'Task option', 'sfjwt.salesforce.rest': dict(real, path='limits')},
        {'name': 'module_defaults of the group', 'module_defaults': group, 'block': [
            {'name': 'Group default, rest', 'sfjwt.salesforce.rest': {'path': 'limits'}},
            {'name': 'Group default, token', 'sfjwt.salesforce.token': None},
            {'name': 'Group default, short name', 'rest': {'path': 'limits'}},
        ]},
        {'name': 'module_defaults of the module', 'module_defaults': {'sfjwt.salesforce.rest': real}, 'block': [
            {'name': 'Module default, short name', 'rest': {'path': 'limits'}},
        ]},
        {'name': 'Nothing beats the variable', 'sfjwt.salesforce.rest': {'path': 'limits'}, 'ignore_errors': True},
    ]
    run = ansible.playbook(write_playbook(ansible, 'beats.yml', [
        play(tasks, identity_vars(app, sfjwt_username=UNKNOWN_USER, sfjwt_cache=False), collections=['sfjwt.salesforce'])]))
    assert run.rc == 0, run.output
    for name in ('Task option', 'Group default, rest', 'Group default, short name', 'Module default, short name'):
        assert run.result(name)['status'] == 200, name
    assert run.status('Group default, token') in ('ok', 'changed')
    assert run.status('Nothing beats the variable') == 'failed'
    assert UNKNOWN_USER in run.result('Nothing beats the variable')['msg']
    # sfjwt_cache=false from the variable too: every task logged in, each as the identity that won
    assert logins(org) == [(app.consumer_key, app.username)] * 5 + [(app.consumer_key, UNKNOWN_USER)]


def test_a_group_default_of_api_version_works_for_every_member(ansible, fake_org_app):
    """module_defaults for group/sfjwt.salesforce.salesforce with api_version: the API modules use it, the token module
    and the doctor accept it (they used to fail with "Unsupported parameters")."""
    app = fake_org_app
    group = {'group/sfjwt.salesforce.salesforce': {'api_version': '62.0'}}
    tasks = [{'name': 'module_defaults of the group', 'module_defaults': group, 'block': [
        {'name': 'Token', 'sfjwt.salesforce.token': None},
        {'name': 'Doctor', 'sfjwt.salesforce.doctor': None},
        {'name': 'Limits', 'sfjwt.salesforce.rest': {'path': 'limits'}},
        {'name': 'Accounts', 'sfjwt.salesforce.record_info': {'sobject': 'Account', 'fields': ['Id'], 'limit': 1}},
    ]}]
    run = ansible.playbook(write_playbook(ansible, 'group_api_version.yml', [play(tasks, identity_vars(app))]))
    assert run.rc == 0, run.output
    assert run.status('Token') in ('ok', 'changed')
    assert run.result('Doctor')['ok'] is True
    assert run.result('Limits')['api_version'] == '62.0'
    assert '/services/data/v62.0/limits' in run.result('Limits')['url']


def test_the_variable_beats_the_environment_and_null_falls_through(ansible, fake_org_app):
    app = fake_org_app
    org = app.org
    ansible.env.update(app.sfjwt_env(SFJWT_USERNAME=UNKNOWN_USER))
    limits = {'path': 'limits'}
    tasks = [
        {'name': 'Variable over the environment', 'sfjwt.salesforce.rest': limits},
        {'name': "Variable over the task's environment", 'sfjwt.salesforce.rest': limits,
         'environment': {'SFJWT_USERNAME': OMITTED_USER}},
        {'name': 'A null variable leaves the environment', 'sfjwt.salesforce.rest': limits, 'ignore_errors': True,
         'vars': {'sfjwt_username': None}},
        {'name': 'An omitted variable leaves the environment', 'sfjwt.salesforce.rest': limits, 'ignore_errors': True,
         'vars': {'sfjwt_username': '{{ omit }}'}, 'environment': {'SFJWT_USERNAME': OMITTED_USER}},
        {'name': "A null variable leaves the task's environment", 'sfjwt.salesforce.rest': limits,
         'vars': {'sfjwt_username': None}, 'environment': {'SFJWT_USERNAME': app.username}},
        {'name': 'A variable that cannot be templated', 'sfjwt.salesforce.rest': limits, 'ignore_errors': True,
         'vars': {'sfjwt_ca_path': '{{ no_such_directory }}/ca.pem'}},
    ]
    run = ansible.playbook(write_playbook(ansible, 'environment.yml', [
        play(tasks, {'sfjwt_username': app.username, 'sfjwt_cache': False})]))
    assert run.rc == 0, run.output
    assert run.result('Variable over the environment')['status'] == 200
    assert run.result("Variable over the task's environment")['status'] == 200
    assert UNKNOWN_USER in run.result('A null variable leaves the environment')['msg']
    assert OMITTED_USER in run.result('An omitted variable leaves the environment')['msg']
    assert run.result("A null variable leaves the task's environment")['status'] == 200
    assert run.status('A variable that cannot be templated') == 'failed'
    broken = run.result('A variable that cannot be templated')
    assert broken['msg'].startswith('The variable sfjwt_ca_path could not be templated (')
    assert 'no_such_directory' in broken['msg']
    assert broken['msg'].endswith('Define what it refers to, or remove sfjwt_ca_path to use the environment variable '
                                  'SFJWT_CA_PATH or the default.')
    # the broken variable stopped its task before any login
    users = [app.username, app.username, UNKNOWN_USER, OMITTED_USER, app.username]
    assert logins(org) == [(app.consumer_key, user) for user in users]


def encrypted_key_pem(app):
    key = serialization.load_pem_private_key(app.private_key_pem, password=None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(PASSPHRASE.encode())).decode('ascii')


def test_secrets_given_as_variables_never_show_at_vvvv(ansible, fake_org_app):
    app = fake_org_app
    org = app.org
    key_pem = encrypted_key_pem(app)
    secrets = identity_vars(app, sfjwt_private_key=key_pem, sfjwt_private_key_passphrase=PASSPHRASE)
    del secrets['sfjwt_private_key_path']
    tasks = [
        {'name': 'Token', 'sfjwt.salesforce.token': None, 'register': 'token'},
        {'name': 'Limits', 'sfjwt.salesforce.rest': {'path': 'limits'}},
        {'name': 'A refused call', 'sfjwt.salesforce.rest': {'path': 'sobjects/No_Such_Object__c'}, 'ignore_errors': True},
        {'name': 'A refused login', 'sfjwt.salesforce.rest': {'path': 'limits', 'cache': False, 'username': UNKNOWN_USER},
         'ignore_errors': True},
    ]
    run = ansible.playbook(write_playbook(ansible, 'secrets.yml', [play(tasks, secrets)]), verbosity=4)
    assert run.rc == 0, run.output
    assert run.result('Limits')['status'] == 200
    assert run.status('A refused call') == 'failed' and run.status('A refused login') == 'failed'
    assert logins(org) == [(app.consumer_key, app.username), (app.consumer_key, UNKNOWN_USER)]
    # the module got them (and masked them in its invocation), and nothing shows them
    assert NO_LOG_MARKER in run.output
    key_lines = [line for line in key_pem.splitlines() if not line.startswith('-----')]
    recorded = json.dumps(run.records)
    for secret in [PASSPHRASE] + key_lines:
        assert secret not in run.output
        assert secret not in recorded
    token_prefix = org.org_id + '!AQ'
    assert token_prefix not in run.output and token_prefix not in recorded


def test_limits_playbook_reads_the_variables(ansible, fake_org_app):
    """No provision directory, no SFJWT_*: the identity, with the key's content, only from sfjwt_* variables."""
    app = fake_org_app
    settings = ansible.workdir / 'settings.yml'
    values = identity_vars(app, sfjwt_private_key=app.private_key_pem.decode('ascii'))
    del values['sfjwt_private_key_path']
    settings.write_text(yaml.safe_dump(values))
    run = ansible.playbook('sfjwt.salesforce.limits', extra_args=['-e', '@%s' % settings])
    assert run.rc == 0, run.output
    assert run.result('Get the limits (GET /services/data/vNN.N/limits)')['status'] == 200
    assert logins(app.org) == [(app.consumer_key, app.username)]
