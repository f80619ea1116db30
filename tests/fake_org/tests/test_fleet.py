# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake fleet: many orgs behind one login host, sandboxes through the Tooling API, scratch orgs of a Dev Hub,
per-org limits, 200 orgs on one selector thread, the command line.

Plain HTTP clients (requests, PyJWT); no Ansible. Deploys reuse test_fake_org's helpers.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import jwt
import pytest
import requests

from fake_org.fleet import FakeFleet
from fake_org.pytest_plugin import fleet_admin_material
from test_fake_org import (API, DEPLOYED_CONSUMER_KEY, DEPLOYED_KEY_PEM, TESTS_DIR, eca_files, make_zip, permission_set_file,
                           poll, start_deploy)

JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
LOGIN = 'https://login.salesforce.com'
TEST = 'https://test.salesforce.com'
KEY_PATH, CERT_PEM = fleet_admin_material()
KEY_PEM = KEY_PATH.read_bytes()
ADMIN_KEY = 'SFJWTFAKEORGADMINAPP0001'
UNKNOWN_CLIENT = (400, {'error': 'invalid_client_id', 'error_description': 'client identifier invalid'})


def token(fleet, url, sub, aud=LOGIN, iss=ADMIN_KEY, key_pem=KEY_PEM):
    assertion = jwt.encode({'iss': iss, 'sub': sub, 'aud': aud, 'exp': int(time.time()) + 180}, key_pem, algorithm='RS256')
    return requests.post(url + '/services/oauth2/token', data={'grant_type': JWT_BEARER, 'assertion': assertion},
                         verify=fleet.ca_path, timeout=10)


def access_token(fleet, url, sub, aud=LOGIN, **more) -> str:
    response = token(fleet, url, sub, aud, **more)
    assert response.status_code == 200, response.text
    return response.json()['access_token']


def call(fleet, org, bearer, path, method='GET', **kwargs):
    return requests.request(method, org.url + API + path, headers={'Authorization': 'Bearer ' + bearer}, verify=fleet.ca_path,
                            timeout=10, **kwargs)


def tooling_query(fleet, org, bearer, soql) -> list:
    response = call(fleet, org, bearer, '/tooling/query', params={'q': soql})
    assert response.status_code == 200, response.text
    return [{k: v for k, v in record.items() if k != 'attributes'} for record in response.json()['records']]


def query(fleet, org, bearer, soql) -> list:
    response = call(fleet, org, bearer, '/query', params={'q': soql})
    assert response.status_code == 200, response.text
    return [{k: v for k, v in record.items() if k != 'attributes'} for record in response.json()['records']]


@pytest.fixture
def acme(fake_fleet):
    """Production org acme with its admin admin@acme.example.com (the fleet admin key)."""
    prod = fake_fleet.add_org('acme')
    fake_fleet.add_admin(prod, CERT_PEM)
    return prod


# -- login host and instance URLs ---------------------------------------------------------------


def test_login_host_routes_by_username_to_each_orgs_instance_url(fake_fleet, acme):
    globex = fake_fleet.add_org('globex', edition='Unlimited Edition', instance_name='NA9')
    fake_fleet.add_admin(globex, CERT_PEM)

    first = token(fake_fleet, fake_fleet.login_url, 'admin@acme.example.com')
    second = token(fake_fleet, fake_fleet.login_url, 'admin@globex.example.com')
    direct = token(fake_fleet, globex.url, 'admin@globex.example.com')
    unknown = token(fake_fleet, fake_fleet.login_url, 'nobody@example.com')

    assert first.status_code == second.status_code == direct.status_code == 200
    assert first.json()['instance_url'] == acme.url and second.json()['instance_url'] == globex.url != acme.url
    assert first.json()['access_token'].startswith(acme.org_id + '!')
    assert second.json()['id'].startswith('%s/id/%s/' % (globex.url, globex.org_id))
    assert (unknown.status_code, unknown.json()) == (400, {'error': 'invalid_grant', 'error_description': "user hasn't approved this consumer"})
    assert (acme.token_requests, globex.token_requests) == (1, 2)
    assert fake_fleet.token_requests() == 4 and fake_fleet.login_host_token_requests == 3
    assert fake_fleet.orgs == {'acme': acme, 'globex': globex}
    (organization,) = query(fake_fleet, globex, second.json()['access_token'],
                            'SELECT Name, IsSandbox, OrganizationType, InstanceName FROM Organization')
    assert organization == {'Name': 'globex', 'IsSandbox': False, 'OrganizationType': 'Unlimited Edition', 'InstanceName': 'NA9'}


def test_login_host_routes_revoke_and_rest_by_the_tokens_org(fake_fleet, acme):
    bearer = access_token(fake_fleet, fake_fleet.login_url, 'admin@acme.example.com')
    limits = requests.get(fake_fleet.login_url + API + '/limits', headers={'Authorization': 'Bearer ' + bearer}, verify=fake_fleet.ca_path,
                          timeout=10)
    revoked = requests.post(fake_fleet.login_url + '/services/oauth2/revoke', data={'token': bearer}, verify=fake_fleet.ca_path, timeout=10)
    assert limits.status_code == 200 and revoked.status_code == 200
    assert acme.session_for(bearer) is None
    assert [(entry['method'], entry['path']) for entry in acme.received_log()] == [
        ('POST', '/services/oauth2/token'), ('GET', API + '/limits'), ('POST', '/services/oauth2/revoke')]


def test_each_org_shares_the_fleets_ca_and_has_its_own_id(fake_fleet):
    orgs = [fake_fleet.add_org('org%d' % number) for number in range(3)]
    assert {org.ca_path for org in orgs} == {fake_fleet.ca_path}
    assert len({org.org_id for org in orgs}) == 3 and len({org.url for org in orgs}) == 3
    for org in orgs:
        assert requests.get(org.url + '/services/data/', verify=fake_fleet.ca_path, timeout=10).status_code == 200
    with pytest.raises(ValueError, match='the fleet has an org named org1 already'):
        fake_fleet.add_org('org1')


# -- per-org limits ---------------------------------------------------------------------------------


def test_daily_api_limits_are_per_org_and_each_rest_call_takes_one(fake_fleet, acme):
    globex = fake_fleet.add_org('globex', daily_api_max=500)
    fake_fleet.add_admin(globex, CERT_PEM)
    acme.daily_api_remaining = 20
    acme_token = access_token(fake_fleet, fake_fleet.login_url, 'admin@acme.example.com')
    globex_token = access_token(fake_fleet, fake_fleet.login_url, 'admin@globex.example.com')

    first = call(fake_fleet, acme, acme_token, '/limits')
    call(fake_fleet, acme, acme_token, '/query', params={'q': 'SELECT Id FROM Account'})
    second = call(fake_fleet, acme, acme_token, '/limits')
    other = call(fake_fleet, globex, globex_token, '/limits')

    assert first.json()['DailyApiRequests'] == {'Max': 100000, 'Remaining': 19}
    assert second.json()['DailyApiRequests'] == {'Max': 100000, 'Remaining': 17}
    assert second.headers['Sforce-Limit-Info'] == 'api-usage=99983/100000'
    assert other.json()['DailyApiRequests'] == {'Max': 500, 'Remaining': 499}
    assert (acme.daily_api_remaining, globex.daily_api_remaining) == (17, 499)
    assert fake_fleet.api_usage() == 4 and fake_fleet.stats()['orgs']['acme']['daily_api_remaining'] == 17
    fake_fleet.reset()
    assert (fake_fleet.api_usage(), fake_fleet.token_requests(), acme.daily_api_remaining) == (0, 0, 100000)


# -- sandboxes ---------------------------------------------------------------------------------------


def test_sandbox_created_through_the_tooling_api_goes_pending_processing_completed(fake_fleet, acme):
    acme.add_user('ci@acme.example.com', permission_sets=['CI'])
    bearer = access_token(fake_fleet, acme.url, 'admin@acme.example.com')

    created = call(fake_fleet, acme, bearer, '/tooling/sobjects/SandboxInfo', 'POST',
                   json={'SandboxName': 'uat', 'LicenseType': 'DEVELOPER', 'AutoActivate': True, 'Description': 'UAT'})
    assert created.status_code == 201, created.text
    info_id = created.json()['id']
    assert created.json() == {'id': info_id, 'success': True, 'errors': []} and info_id.startswith('0GQ')
    assert 'acme-uat' not in fake_fleet.orgs

    soql = "SELECT Id, SandboxInfoId, SandboxName, LicenseType, Status, CopyProgress, SandboxOrganization FROM SandboxProcess WHERE SandboxName = 'uat'"
    first = tooling_query(fake_fleet, acme, bearer, soql)
    second = tooling_query(fake_fleet, acme, bearer, soql)
    assert [(row['Status'], row['CopyProgress'], row['SandboxOrganization']) for row in first + second] == [
        ('Processing', 50, None), ('Completed', 100, fake_fleet.orgs['acme-uat'].org_id[:15])]
    assert second[0]['SandboxInfoId'] == info_id and second[0]['LicenseType'] == 'DEVELOPER'
    assert tooling_query(fake_fleet, acme, bearer, 'SELECT Id, SandboxName, LicenseType, Description, AutoActivate, SourceId FROM SandboxInfo') == [
        {'Id': info_id, 'SandboxName': 'uat', 'LicenseType': 'DEVELOPER', 'Description': 'UAT', 'AutoActivate': True, 'SourceId': None}]

    sandbox = fake_fleet.orgs['acme-uat']
    assert fake_fleet.kind(sandbox) == 'sandbox' and fake_fleet.source(sandbox) == 'acme'
    assert sorted(sandbox.users) == ['admin@acme.example.com.uat', 'ci@acme.example.com.uat']
    assert sandbox.find_user('ci@acme.example.com.uat').permission_sets == frozenset({'CI'})
    assert token(fake_fleet, fake_fleet.login_url, 'admin@acme.example.com.uat', LOGIN).json()['error_description'] == 'audience is invalid'
    login = token(fake_fleet, fake_fleet.login_url, 'admin@acme.example.com.uat', TEST)
    assert login.status_code == 200 and login.json()['instance_url'] == sandbox.url != acme.url
    (organization,) = query(fake_fleet, sandbox, login.json()['access_token'], 'SELECT Name, IsSandbox, InstanceName FROM Organization')
    assert organization == {'Name': 'acme-uat', 'IsSandbox': True, 'InstanceName': 'CS1'}


@pytest.mark.parametrize('body, error', [
    ({'SandboxName': '1uat', 'LicenseType': 'DEVELOPER'},
     {'errorCode': 'FIELD_INTEGRITY_EXCEPTION', 'message': 'Sandbox name (1uat) must be 1-10 alphanumeric characters and begin with a letter',
      'fields': ['SandboxName']}),
    ({'SandboxName': 'elevenchars', 'LicenseType': 'DEVELOPER'},
     {'errorCode': 'FIELD_INTEGRITY_EXCEPTION', 'message': 'Sandbox name (elevenchars) must be 1-10 alphanumeric characters and begin with a '
      'letter', 'fields': ['SandboxName']}),
    ({'SandboxName': 'UAT', 'LicenseType': 'DEVELOPER'},
     {'errorCode': 'DUPLICATE_VALUE', 'message': 'A sandbox named UAT already exists: choose another name', 'fields': ['SandboxName']}),
    ({'SandboxName': 'qa', 'LicenseType': 'HUGE'},
     {'errorCode': 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'message': 'LicenseType: bad value for restricted picklist field: HUGE',
      'fields': ['LicenseType']}),
    ({'SandboxName': 'qa'},
     {'errorCode': 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'message': 'LicenseType: bad value for restricted picklist field: None',
      'fields': ['LicenseType']}),
])
def test_sandbox_info_refusals(fake_fleet, acme, body, error):
    fake_fleet.add_sandbox(acme, 'uat')
    bearer = access_token(fake_fleet, acme.url, 'admin@acme.example.com')
    response = call(fake_fleet, acme, bearer, '/tooling/sobjects/SandboxInfo', 'POST', json=body)
    assert (response.status_code, response.json()) == (400, [error])
    assert sorted(fake_fleet.orgs) == ['acme', 'acme-uat']


def test_activation_group_is_required_only_when_asked(fake_fleet, acme):
    fake_fleet.require_activation_group = True
    with pytest.raises(ValueError, match='FIELD_INTEGRITY_EXCEPTION: ActivationUserGroupId is required for a DEVELOPER sandbox'):
        fake_fleet.add_sandbox(acme, 'uat')
    assert fake_fleet.add_sandbox(acme, 'full', license_type='FULL') is fake_fleet.orgs['acme-full']


def deploy_eca(fleet, sandbox, admin_username):
    """Deploy the External Client App Acme (consumer key DEPLOYED_CONSUMER_KEY) and permission set SFJWT_Deployed."""
    bearer = access_token(fleet, sandbox.url, admin_username, TEST)
    started = start_deploy(sandbox, bearer, make_zip({**eca_files(), **permission_set_file()}))
    assert started.status_code == 201, started.text
    for _attempt in range(5):
        result = poll(sandbox, bearer, started.json()['id'])['deployResult']
        if result['done']:
            assert result['success'], result
            return
    raise AssertionError('the deploy did not finish')


def test_refresh_removes_a_deployed_external_client_app_and_keeps_connected_apps(fake_fleet, acme):
    acme.add_user('ci@acme.example.com', permission_sets=['SFJWT_Legacy'])
    legacy_key_pem, legacy_cert_pem = KEY_PEM, CERT_PEM
    acme.add_connected_app('Legacy_CI', 'LEGACYCONNECTEDAPP01', legacy_cert_pem, permission_sets=['SFJWT_Legacy'])
    sandbox = fake_fleet.add_sandbox(acme, 'uat')
    deploy_eca(fake_fleet, sandbox, 'admin@acme.example.com.uat')
    sandbox.assign_permission_set('ci@acme.example.com.uat', 'SFJWT_Deployed')
    assert token(fake_fleet, sandbox.url, 'ci@acme.example.com.uat', TEST, iss=DEPLOYED_CONSUMER_KEY, key_pem=DEPLOYED_KEY_PEM).status_code == 200
    assert sandbox.eca_consumer_key('Acme') == DEPLOYED_CONSUMER_KEY and len(sandbox.deploy_log()) == 1
    bearer = access_token(fake_fleet, acme.url, 'admin@acme.example.com')
    (info,) = tooling_query(fake_fleet, acme, bearer, "SELECT Id FROM SandboxInfo WHERE SandboxName = 'uat'")

    patched = call(fake_fleet, acme, bearer, '/tooling/sobjects/SandboxInfo/' + info['Id'], 'PATCH', json={'LicenseType': 'DEVELOPER_PRO'})
    again = call(fake_fleet, acme, bearer, '/tooling/sobjects/SandboxInfo/' + info['Id'], 'PATCH', json={'LicenseType': 'DEVELOPER'})
    assert patched.status_code == 204
    assert again.status_code == 400 and again.json()[0]['errorCode'] == 'INVALID_OPERATION'
    assert sandbox.eca_consumer_key('Acme') == DEPLOYED_CONSUMER_KEY   # not until the copy completes
    statuses = [row['Status'] for _poll in range(2) for row in tooling_query(
        fake_fleet, acme, bearer, "SELECT Status FROM SandboxProcess WHERE SandboxName = 'uat' AND LicenseType = 'DEVELOPER_PRO'")]
    assert statuses == ['Processing', 'Completed']

    assert fake_fleet.orgs['acme-uat'] is sandbox
    gone = token(fake_fleet, sandbox.url, 'ci@acme.example.com.uat', TEST, iss=DEPLOYED_CONSUMER_KEY, key_pem=DEPLOYED_KEY_PEM)
    assert (gone.status_code, gone.json()) == UNKNOWN_CLIENT
    assert sandbox.eca_consumer_key('Acme') is None and sandbox.deploy_log() == []
    assert sandbox.find_user('ci@acme.example.com.uat').permission_sets == frozenset({'SFJWT_Legacy'})
    kept = token(fake_fleet, fake_fleet.login_url, 'ci@acme.example.com.uat', TEST, iss='LEGACYCONNECTEDAPP01', key_pem=legacy_key_pem)
    assert kept.status_code == 200 and kept.json()['instance_url'] == sandbox.url
    assert sandbox.stats()['connected_apps'] == ['Legacy_CI'] and sandbox.stats()['external_client_apps'] == []


def test_refresh_sandbox_from_python_resets_limits_and_sessions(fake_fleet, acme):
    sandbox = fake_fleet.add_sandbox(acme, 'uat')
    bearer = access_token(fake_fleet, fake_fleet.login_url, 'admin@acme.example.com.uat', TEST)
    assert call(fake_fleet, sandbox, bearer, '/limits').json()['DailyApiRequests']['Remaining'] == 99999
    assert fake_fleet.refresh_sandbox(acme, 'uat') is sandbox
    assert call(fake_fleet, sandbox, bearer, '/limits').status_code == 401
    assert sandbox.daily_api_remaining == 100000 and sandbox.token_requests == 0
    assert [row['Status'] for row in acme.tooling.processes('uat')] == ['Completed', 'Completed']


def test_sandbox_delete_stops_its_org(fake_fleet, acme):
    sandbox = fake_fleet.add_sandbox(acme, 'uat', status='Pending')
    assert sandbox is None and 'acme-uat' not in fake_fleet.orgs
    fake_fleet.sandbox_polls_to_finish = 1
    bearer = access_token(fake_fleet, acme.url, 'admin@acme.example.com')
    (process,) = tooling_query(fake_fleet, acme, bearer, 'SELECT Id, Status FROM SandboxProcess')
    assert process['Status'] == 'Completed'
    sandbox_url = fake_fleet.orgs['acme-uat'].url
    (info,) = tooling_query(fake_fleet, acme, bearer, 'SELECT Id FROM SandboxInfo')

    deleted = call(fake_fleet, acme, bearer, '/tooling/sobjects/SandboxInfo/' + info['Id'], 'DELETE')
    assert deleted.status_code == 204
    assert 'acme-uat' not in fake_fleet.orgs
    assert tooling_query(fake_fleet, acme, bearer, 'SELECT Status FROM SandboxProcess') == [{'Status': 'Deleted'}]
    assert tooling_query(fake_fleet, acme, bearer, 'SELECT Id FROM SandboxInfo') == []
    refused = token(fake_fleet, fake_fleet.login_url, 'admin@acme.example.com.uat', TEST)
    assert refused.json() == {'error': 'invalid_grant', 'error_description': "user hasn't approved this consumer"}
    with pytest.raises(requests.ConnectionError):
        requests.get(sandbox_url + '/services/data/', verify=fake_fleet.ca_path, timeout=5)


# -- scratch orgs ------------------------------------------------------------------------------------


def test_dev_hub_lists_its_scratch_orgs_which_accept_the_hubs_app(fake_fleet):
    hub = fake_fleet.add_org('hub', kind='devhub')
    fake_fleet.add_admin(hub, CERT_PEM)
    scratch = fake_fleet.add_scratch_org(hub, 'feature1', signup_username='test-x@example.com', expires_in_days=7)
    assert fake_fleet.add_scratch_org(hub, 'old', status='Expired') is None
    bearer = access_token(fake_fleet, hub.url, 'admin@hub.example.com')

    infos = query(fake_fleet, hub, bearer, 'SELECT OrgName, SignupUsername, LoginUrl, ScratchOrg, Status, Edition, ConnectedAppConsumerKey, '
                  "ExpirationDate FROM ScratchOrgInfo WHERE Status = 'Active' ORDER BY CreatedDate")
    active = query(fake_fleet, hub, bearer, 'SELECT ScratchOrg, SignupUsername, Edition, ScratchOrgInfoId FROM ActiveScratchOrg')
    everything = query(fake_fleet, hub, bearer, 'SELECT OrgName, Status FROM ScratchOrgInfo ORDER BY OrgName')

    expires = time.strftime('%Y-%m-%d', time.gmtime(time.time() + 7 * 86400))
    assert infos == [{'OrgName': 'feature1', 'SignupUsername': 'test-x@example.com', 'LoginUrl': scratch.url, 'ScratchOrg': scratch.org_id[:15],
                      'Status': 'Active', 'Edition': 'Developer', 'ConnectedAppConsumerKey': ADMIN_KEY, 'ExpirationDate': expires}]
    assert [(row['ScratchOrg'], row['SignupUsername'], row['Edition']) for row in active] == [(scratch.org_id[:15], 'test-x@example.com', 'Developer')]
    assert active[0]['ScratchOrgInfoId'].startswith('2SR')
    assert everything == [{'OrgName': 'feature1', 'Status': 'Active'}, {'OrgName': 'old', 'Status': 'Expired'}]
    login = token(fake_fleet, fake_fleet.login_url, 'test-x@example.com', TEST)
    assert login.status_code == 200 and login.json()['instance_url'] == scratch.url
    assert fake_fleet.kind(scratch) == 'scratch' and sorted(fake_fleet.orgs) == ['feature1', 'hub']
    production = fake_fleet.add_org('acme')
    with pytest.raises(ValueError, match="acme is not a Dev Hub: add it with add_org\\(name, kind='devhub'\\)"):
        fake_fleet.add_scratch_org(production, 'nope')


# -- latency, scale, threads ---------------------------------------------------------------------------


def test_set_latency_slows_every_org_and_the_login_host(fake_fleet, acme):
    other = fake_fleet.add_org('other')
    fake_fleet.set_latency(0.3)
    for url in (acme.url + '/services/data/', other.url + '/services/data/'):
        started = time.monotonic()
        assert requests.get(url, verify=fake_fleet.ca_path, timeout=10).status_code == 200
        assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert token(fake_fleet, fake_fleet.login_url, 'nobody@example.com').status_code == 400
    assert time.monotonic() - started >= 0.3
    fake_fleet.set_latency(0)
    started = time.monotonic()
    requests.get(acme.url + '/services/data/', verify=fake_fleet.ca_path, timeout=10)
    assert time.monotonic() - started < 0.3


def _threads() -> int:
    return threading.active_count()


def test_two_hundred_orgs_answer_and_an_idle_fleet_holds_no_thread_per_org(tmp_path):
    before = _threads()
    with FakeFleet(tmp_path) as fleet:
        orgs = [fleet.add_org('org%03d' % number) for number in range(200)]
        assert _threads() - before <= 2   # the selector thread
        with requests.Session() as session:
            for org in orgs:
                assert session.get(org.url + '/services/data/', verify=fleet.ca_path, timeout=10).status_code == 200
        assert sum(len(org.received_log()) for org in orgs) == 200
        deadline = time.monotonic() + 10
        while _threads() - before > 2 and time.monotonic() < deadline:
            time.sleep(0.05)   # connection threads end once their client hangs up
        assert _threads() - before <= 2
    assert _threads() <= before


# -- command line ----------------------------------------------------------------------------------------


def test_command_line_prints_the_fleet_and_every_org_accepts_the_admin_key(tmp_path):
    ready_file = tmp_path / 'ready.json'
    process = subprocess.Popen([sys.executable, '-m', 'fake_org.fleet', '--workdir', str(tmp_path / 'work'), '--orgs', '3',
                                '--sandboxes-of-first', '1', '--scratch-orgs', '1', '--ready-file', str(ready_file)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=str(TESTS_DIR)))
    try:
        line = process.stdout.readline()
        ready = json.loads(line)
        assert json.loads(ready_file.read_text()) == ready
        assert ready['pid'] == process.pid
        key_path = ready['admin']['private_key_path']
        assert ready['admin'] == {'username': 'admin@org001.example.com', 'consumer_key': ADMIN_KEY, 'private_key_path': key_path}
        assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
        assert [(org['name'], org['kind'], org['username'], org['audience']) for org in ready['orgs']] == [
            ('org001', 'production', 'admin@org001.example.com', LOGIN), ('org002', 'production', 'admin@org002.example.com', LOGIN),
            ('org003', 'production', 'admin@org003.example.com', LOGIN), ('org001-sb1', 'sandbox', 'admin@org001.example.com.sb1', TEST),
            ('scratch1', 'scratch', 'admin@scratch1.example.com', TEST)]
        key_pem = open(key_path, 'rb').read()

        class Fleet:
            ca_path = ready['ca_path']
        for org in ready['orgs']:
            assert (org['consumer_key'], org['private_key_path']) == (ADMIN_KEY, key_path)
            direct = token(Fleet, org['url'], org['username'], org['audience'], key_pem=key_pem)
            routed = token(Fleet, ready['login_url'], org['username'], org['audience'], key_pem=key_pem)
            assert direct.status_code == routed.status_code == 200, (org, direct.text, routed.text)
            assert direct.json()['instance_url'] == routed.json()['instance_url'] == org['url']
        stats = requests.get(ready['login_url'] + '/_fake/fleet', verify=ready['ca_path'], timeout=10).json()
        assert (stats['token_requests'], stats['login_host_token_requests'], stats['api_usage']) == (10, 5, 0)
        assert {name: org['token_requests'] for name, org in stats['orgs'].items()} == {org['name']: 2 for org in ready['orgs']}
        assert stats['orgs']['org001-sb1']['kind'] == 'sandbox' and stats['orgs']['org001']['kind'] == 'devhub'
        reset = requests.post(ready['login_url'] + '/_fake/fleet/reset', verify=ready['ca_path'], timeout=10).json()
        assert (reset['token_requests'], reset['login_host_token_requests']) == (0, 0)
        slow = requests.post(ready['login_url'] + '/_fake/fleet/latency', json={'seconds': -1}, verify=ready['ca_path'], timeout=10)
        assert (slow.status_code, slow.json()) == (400, {'error': 'send {"seconds": a number >= 0}'})
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, process.stderr.read()
    assert not ready_file.exists()


def test_get_of_a_sandbox_process_advances_it_and_only_productions_have_the_tooling_api(fake_fleet, acme):
    fake_fleet.sandbox_polls_to_finish = 3
    assert fake_fleet.add_sandbox(acme, 'qa', license_type='PARTIAL', status='Processing') is None
    (process,) = acme.tooling.processes('qa')
    bearer = access_token(fake_fleet, acme.url, 'admin@acme.example.com')

    steps = [call(fake_fleet, acme, bearer, '/tooling/sobjects/SandboxProcess/' + process['Id']).json() for _poll in range(3)]

    assert [(step['Status'], step['CopyProgress']) for step in steps] == [('Processing', 33), ('Processing', 66), ('Completed', 100)]
    assert steps[2]['SandboxOrganization'] == fake_fleet.orgs['acme-qa'].org_id[:15] and steps[2]['EndDate'].endswith('+0000')
    assert call(fake_fleet, acme, bearer, '/tooling/sobjects/SandboxProcess/' + process['Id'], 'DELETE').status_code == 405
    assert call(fake_fleet, acme, bearer, '/tooling/sobjects/ApexClass').status_code == 404
    unknown = call(fake_fleet, acme, bearer, '/tooling/query', params={'q': 'SELECT Id FROM ApexClass'})
    assert (unknown.status_code, unknown.json()) == (400, [{'message': "sObject type 'ApexClass' is not supported.", 'errorCode': 'INVALID_TYPE'}])
    sandbox = fake_fleet.orgs['acme-qa']
    sandbox_token = access_token(fake_fleet, sandbox.url, 'admin@acme.example.com.qa', TEST)
    assert call(fake_fleet, sandbox, sandbox_token, '/tooling/query', params={'q': 'SELECT Id FROM SandboxInfo'}).status_code == 404
