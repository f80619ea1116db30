# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt.salesforce.rest through ansible-playbook and the installed collection, against the fake org."""

from __future__ import annotations

import json


def rest_env(app):
    """The identity of the fake org's test app, as AWX would inject it."""
    return {
        'SFJWT_CONSUMER_KEY': app.consumer_key,
        'SFJWT_USERNAME': app.username,
        'SFJWT_PRIVATE_KEY_PATH': str(app.key_path),
        'SFJWT_LOGIN_URL': app.url,
        'SFJWT_CA_PATH': app.ca_path,
    }


def data_requests(org, method=None):
    """(method, path, status) of the REST API requests the org received."""
    return [(e['method'], e['path'], e['status']) for e in org.received_log()
            if e['path'].startswith('/services/data') and (method is None or e['method'] == method)]


def test_query_returns_every_record_across_batches(ansible, fake_org_app):
    org = fake_org_app.org
    expected = org.data.account_count
    assert expected > 2000 and org.batch_size == 2000
    run = ansible.playbook('rest_query.yml', env=rest_env(fake_org_app), extra_vars={'expected_count': expected})
    assert run.rc == 0, run.output
    assert run.status('Check the records') == 'ok'
    result = run.result('Query every account')
    assert len(result['records']) == expected
    assert result['total_size'] == expected
    gets = [path for method, path, status in data_requests(org, 'GET')]
    query_pages = [p for p in gets if p.startswith('/services/data/v62.0/query')]
    # first page, then the nextRecordsUrl page, for each of query and queryAll
    assert query_pages[0] == '/services/data/v62.0/query' and query_pages[1].startswith('/services/data/v62.0/query/')
    assert query_pages[2] == '/services/data/v62.0/queryAll' and query_pages[3].startswith('/services/data/v62.0/queryAll/')
    assert len(query_pages) == 4
    assert org.token_requests == 1


def test_writes_check_mode_then_real(ansible, fake_org_app):
    org = fake_org_app.org
    env = rest_env(fake_org_app)
    name = 'Sfjwt Check Mode Account'

    check = ansible.playbook('rest_crud.yml', env=env, extra_vars={'account_name': name}, check=True)
    assert check.rc == 0, check.output
    assert check.result('Create an account')['changed'] is True
    assert check.result('Update it')['changed'] is True
    assert data_requests(org, 'POST') == [] and data_requests(org, 'PATCH') == []
    store = org.data.object_store('Account')
    assert not [r for r in store.records.values() if r['Name'] == name]

    real = ansible.playbook('rest_crud.yml', env=env, extra_vars={'account_name': name})
    assert real.rc == 0, real.output
    assert real.result('Create an account')['changed'] is True
    assert real.result('Read it back')['changed'] is False
    created = [r for r in store.records.values() if r['Name'] == name]
    assert len(created) == 1 and created[0]['Industry'] == 'Retail'
    assert real.result('Create an account')['json']['id'] == created[0]['Id']
    assert [(m, s) for m, p, s in data_requests(org, 'POST')] == [('POST', 201)]
    assert [(m, s) for m, p, s in data_requests(org, 'PATCH')] == [('PATCH', 204)]
    # one token for both runs: the cache serves every task
    assert org.token_requests == 1


def test_errors_give_salesforce_error_code_and_message(ansible, fake_org_app):
    run = ansible.playbook('rest_errors.yml', env=rest_env(fake_org_app))
    assert run.rc == 0, run.output
    malformed = run.result('A malformed query')
    assert malformed['msg'].startswith('GET /services/data/v62.0/query answered HTTP 400 (accepted: 200, 201, 204) with MALFORMED_QUERY: ')
    assert malformed['errors'][0]['errorCode'] == 'MALFORMED_QUERY'
    assert malformed['status'] == 400
    assert run.result('A bad API version')['msg'] == ("api_version '62' is not a Salesforce API version: use latest, or the form "
                                                      "NN.N (for example 62.0).")


def test_revoked_session_is_renewed_once(ansible, fake_org_app):
    org = fake_org_app.org
    run = ansible.playbook('rest_revoked.yml', env=rest_env(fake_org_app),
                           extra_vars={'org_url': org.url, 'org_ca_path': org.ca_path})
    assert run.rc == 0, run.output
    assert run.status('Check the second call') == 'ok'
    limits = [(p, s) for m, p, s in data_requests(org, 'GET') if p.endswith('/limits')]
    assert limits == [('/services/data/v62.0/limits', 200), ('/services/data/v62.0/limits', 401),
                      ('/services/data/v62.0/limits', 200)]
    assert org.token_requests == 2
    warnings = ' '.join(run.result('Second call (the cached token is rejected, renewed, the call repeated)').get('warnings', []))
    assert 'INVALID_SESSION_ID' in warnings and 'a new one was obtained' in warnings


def test_token_given_directly_and_never_shown(ansible, fake_org_app):
    org = fake_org_app.org
    run = ansible.playbook('rest_direct_token.yml', env=rest_env(fake_org_app),
                           extra_vars={'org_url': org.url, 'org_ca_path': org.ca_path}, verbosity=4)
    assert run.rc == 0, run.output
    assert run.status('Check the results') == 'ok'
    revoked = run.result('Use the revoked token')
    assert revoked['msg'].startswith('Salesforce rejected the access_token given (401 INVALID_SESSION_ID')
    # a token given directly is not renewed: one token request, one 401
    assert org.token_requests == 1
    assert [s for m, p, s in data_requests(org, 'GET') if p.endswith('/limits')] == [200, 401]
    # the fake org's tokens start with the org id and "!AQ": none reaches the output at -vvvv
    token_prefix = org.org_id + '!AQ'
    assert token_prefix not in run.output
    assert all(token_prefix not in json.dumps(record) for record in run.records)


def test_latest_version_discovered_once_per_identity(ansible, fake_org_app):
    org = fake_org_app.org
    env = rest_env(fake_org_app)
    run = ansible.playbook('rest_versions.yml', env=env)
    assert run.rc == 0, run.output
    assert run.status('Check the versions') == 'ok'
    # a path from the instance root needs no version, but reports the one known with the session
    assert run.result('Versions from the instance root')['api_version'] == '62.0'
    again = ansible.playbook('rest_versions.yml', env=env)
    assert again.rc == 0, again.output
    version_listings = [e for e in data_requests(org, 'GET') if e[1] == '/services/data/']
    # one discovery for the identity, kept with the cached session; the explicit listing task twice
    assert len(version_listings) == 3
    assert org.token_requests == 1


def test_without_cache_every_task_discovers_and_mints(ansible, fake_org_app):
    org = fake_org_app.org
    env = dict(rest_env(fake_org_app), SFJWT_CACHE='false')
    run = ansible.playbook('rest_versions.yml', env=env)
    assert run.rc == 0, run.output
    assert run.result('Versions from the instance root')['api_version'] is None
    version_listings = [e for e in data_requests(org, 'GET') if e[1] == '/services/data/']
    # three tasks need a version and each asks (no cache to keep it), plus the explicit listing
    assert len(version_listings) == 4
    assert org.token_requests == 4


def test_auth_refusal_gives_salesforce_answer_as_the_token_module_does(ansible, fake_org_app, tmp_path):
    """A refused token request fails a rest task with the token module's message and Salesforce's answer (status_code,
    salesforce_error, salesforce_error_description), and no API call: refused then (cache=false), or shared by the token
    cache from the token task's refusal a moment before."""
    playbook = tmp_path / 'rest_auth_refusal.yml'
    playbook.write_text(
        '- name: An auth refusal through rest\n  hosts: localhost\n  gather_facts: false\n  tasks:\n'
        '    - name: Token module\n      sfjwt.salesforce.token:\n      ignore_errors: true\n'
        '    - name: Rest module\n      sfjwt.salesforce.rest:\n        path: limits\n      ignore_errors: true\n'
        '    - name: Rest module without the cache\n      sfjwt.salesforce.rest:\n        path: limits\n        cache: false\n'
        '      ignore_errors: true\n')
    run = ansible.playbook(str(playbook), env=dict(rest_env(fake_org_app), SFJWT_CONSUMER_KEY='UNKNOWNKEY'))
    assert run.rc == 0, run.output
    token = run.result('Token module')
    answer = ('status_code', 'salesforce_error', 'salesforce_error_description')
    assert [token.get(name) for name in answer] == [400, 'invalid_client_id', 'client identifier invalid']
    assert token['msg'].startswith('Salesforce at %s does not know the consumer key UNKNOWNKEY (invalid_client_id: ' % fake_org_app.url)
    for task in ('Rest module', 'Rest module without the cache'):
        rest = run.result(task)
        assert run.status(task) == 'failed'
        assert (rest['msg'], [rest.get(name) for name in answer]) == (token['msg'], [token.get(name) for name in answer])
    assert data_requests(fake_org_app.org) == []
    assert 2 <= fake_org_app.org.token_requests <= 3


def test_a_url_as_path_is_refused_before_any_request(ansible, fake_org_app):
    """End to end (the unit tests hold the other forms): the token would go to that host."""
    org = fake_org_app.org
    playbook = ansible.workdir / 'url_path.yml'
    playbook.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'A URL', 'sfjwt.salesforce.rest': {'path': 'https://evil.example/services/data/v62.0/limits'},
         'ignore_errors': True}]}]))
    run = ansible.playbook(playbook, env=rest_env(fake_org_app))
    assert run.rc == 0, run.output
    assert run.result('A URL')['msg'] == (
        "path 'https://evil.example/services/data/v62.0/limits' is a URL; give only the path (the host is the session's "
        "instance_url), for example /services/data/ or limits.")
    assert data_requests(org) == []


def test_a_cache_entry_others_can_read_is_not_used(ansible, fake_org_app):
    """End to end: an entry made readable by others (a copied cache, a careless chmod) is never served; a new token is."""
    org = fake_org_app.org
    first = ansible.playbook('sfjwt.salesforce.limits', env=rest_env(fake_org_app))
    assert first.rc == 0, first.output
    entries = list((ansible.workdir / 'token-cache').glob('*.json'))
    assert org.token_requests == 1 and len(entries) == 1
    entries[0].chmod(0o644)
    second = ansible.playbook('sfjwt.salesforce.limits', env=rest_env(fake_org_app))
    assert second.rc == 0, second.output
    assert org.token_requests == 2
    assert [entry.stat().st_mode & 0o777 for entry in (ansible.workdir / 'token-cache').glob('*.json')] == [0o600]
