# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake org behaves as Salesforce documents and is observed to behave: the JWT Bearer token endpoint and its errors,
sessions, the REST API, the setup objects, the REST Metadata API deploy, the fault switches, the command line.

Plain HTTP clients (requests, PyJWT); no Ansible. Fixtures come from fake_org.pytest_plugin (through conftest.py).
"""

from __future__ import annotations

import email.utils
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import jwt
import pytest
import requests

from fake_org import FakeOrg, deploy as deploy_module
from fake_org.pytest_plugin import DEFAULT_PERMISSION_SET, generate_key_and_certificate

JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
# The PYTHONPATH under which `python -m fake_org` finds the package: the directory that holds it.
TESTS_DIR = Path(deploy_module.__file__).resolve().parents[1]


def post_token(org, assertion, grant_type=JWT_BEARER, timeout=10):
    return requests.post(org.url + '/services/oauth2/token', data={'grant_type': grant_type, 'assertion': assertion},
                         headers={'Accept': 'application/json'}, verify=org.ca_path, timeout=timeout)


def login(app) -> dict:
    response = post_token(app.org, app.assertion())
    assert response.status_code == 200, response.text
    return response.json()


def call(org, path, token=None, method='GET', **kwargs):
    headers = kwargs.pop('headers', {})
    if token:
        headers['Authorization'] = 'Bearer ' + token
    return requests.request(method, org.url + path, headers=headers, verify=org.ca_path, timeout=10, **kwargs)


def oauth_error(response) -> tuple:
    return response.status_code, response.json()


# -- token endpoint: success ----------------------------------------------------------------------


def test_token_success_shape(fake_org_app):
    org = fake_org_app.org
    response = post_token(org, fake_org_app.assertion())

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {'access_token', 'signature', 'scope', 'instance_url', 'id', 'token_type', 'issued_at'}
    assert re.fullmatch(r'00D[0-9A-Za-z]{15}![^\s]+', body['access_token'])
    assert body['scope'] == 'api'
    assert body['token_type'] == 'Bearer'
    assert body['instance_url'] == org.url
    org_id, user_id = body['id'].rsplit('/', 2)[-2:]
    assert body['id'] == '%s/id/%s/%s' % (org.url, org_id, user_id)
    assert body['access_token'].startswith(org_id + '!')
    assert re.fullmatch(r'00D[0-9A-Za-z]{15}', org_id) and re.fullmatch(r'005[0-9A-Za-z]{15}', user_id)
    assert body['issued_at'].isdigit() and len(body['issued_at']) == 13
    assert 'refresh_token' not in body and 'expires_in' not in body
    assert response.headers['Content-Type'].startswith('application/json')
    assert email.utils.parsedate_to_datetime(response.headers['Date'])

    assert org.sessions[body['access_token']]['username'] == fake_org_app.username
    assert org.sessions[body['access_token']]['consumer_key'] == fake_org_app.consumer_key
    assert org.token_requests == 1
    assert org.token_requests_by(fake_org_app.username) == 1
    assert org.token_requests_by('someone@else.example') == 0


def test_received_log_keeps_the_assertion_and_redacts_bearer_tokens(fake_org_app):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']
    call(org, '/services/data/v62.0/limits', token)

    token_entry, limits_entry = org.received
    claims = jwt.decode(token_entry['form']['assertion'], options={'verify_signature': False})
    assert claims['iss'] == fake_org_app.consumer_key and claims['sub'] == fake_org_app.username
    assert token_entry['form']['grant_type'] == JWT_BEARER
    assert token_entry['headers']['Accept'] == 'application/json'
    assert token_entry['status'] == 200
    assert limits_entry['headers']['Authorization'] == 'Bearer <redacted>'
    assert token not in json.dumps(org.received)


def test_sandbox_org_accepts_only_the_test_audience(fake_org_app):
    org = fake_org_app.org
    org.accepted_audience = 'https://test.salesforce.com'
    assert post_token(org, fake_org_app.assertion(aud='https://test.salesforce.com')).status_code == 200
    rejected = post_token(org, fake_org_app.assertion(aud='https://login.salesforce.com'))
    assert oauth_error(rejected) == (400, {'error': 'invalid_grant', 'error_description': 'audience is invalid'})


def test_user_approved_once_in_a_browser_needs_no_permission_set(fake_org_app):
    org = fake_org_app.org
    org.add_user('self@example.com')
    org.add_app('SELFAUTHORIZEDAPP01', fake_org_app.certificate_pem, admin_approved=False, approved_users=['self@example.com'])
    assert post_token(org, fake_org_app.assertion(iss='SELFAUTHORIZEDAPP01', sub='self@example.com')).status_code == 200


# -- token endpoint: every error row of the reference table ---------------------------------------

OTHER_KEY_PEM = generate_key_and_certificate()[0]


def _unsupported_grant(app):
    return post_token(app.org, app.assertion(), grant_type='password')


def _not_a_jwt(app):
    return post_token(app.org, 'this.is-not-a.jwt')


def _hs256(app):
    claims = jwt.decode(app.assertion(), options={'verify_signature': False})
    return post_token(app.org, jwt.encode(claims, 'a-shared-secret-of-enough-length-for-hs256', algorithm='HS256'))


def _unknown_consumer_key(app):
    return post_token(app.org, app.assertion(iss='NOSUCHCONSUMERKEY'))


def _wrong_key(app):
    return post_token(app.org, app.assertion(key_pem=OTHER_KEY_PEM))


def _wrong_audience(app):
    return post_token(app.org, app.assertion(aud='https://acme.my.salesforce.com'))


def _expired(app):
    return post_token(app.org, app.assertion(exp=int(time.time()) - 5))


def _no_exp(app):
    return post_token(app.org, app.assertion(exp=None))


def _unknown_user(app):
    return post_token(app.org, app.assertion(sub='nobody@example.com'))


def _inactive_user(app):
    app.org.add_user(app.username, active=False, permission_sets=[DEFAULT_PERMISSION_SET])
    return post_token(app.org, app.assertion())


def _inactive_org(app):
    app.org.add_user(app.username, org_active=False, permission_sets=[DEFAULT_PERMISSION_SET])
    return post_token(app.org, app.assertion())


def _ip_restricted(app):
    app.org.add_app(app.consumer_key, app.certificate_pem, permission_sets=[DEFAULT_PERMISSION_SET], ip_restricted=True)
    return post_token(app.org, app.assertion())


def _not_preauthorized(app):
    app.org.add_user('unassigned@example.com')
    return post_token(app.org, app.assertion(sub='unassigned@example.com'))


def _never_approved(app):
    app.org.add_app(app.consumer_key, app.certificate_pem, admin_approved=False)
    return post_token(app.org, app.assertion())


def _not_admin_approved(app):
    app.org.add_app(app.consumer_key, app.certificate_pem, permission_sets=['SomeOtherSet'], invalid_app_access=True)
    return post_token(app.org, app.assertion())


def _login_rate_exceeded(app):
    app.org.rate_limit_logins(True)
    return post_token(app.org, app.assertion())


def _login_rate_exceeded_403(app):
    app.org.rate_limit_logins(True, status=403)
    return post_token(app.org, app.assertion())


TOKEN_ERRORS = [
    (_unsupported_grant, 400, 'unsupported_grant_type', 'grant type not supported'),
    (_not_a_jwt, 400, 'invalid_grant', 'invalid assertion'),
    (_hs256, 400, 'invalid_grant', 'invalid assertion'),
    (_unknown_consumer_key, 400, 'invalid_client_id', 'client identifier invalid'),
    (_wrong_key, 400, 'invalid_grant', 'invalid assertion'),
    (_wrong_audience, 400, 'invalid_grant', 'audience is invalid'),
    (_expired, 400, 'invalid_grant', 'expired authorization code'),
    (_no_exp, 400, 'invalid_grant', 'invalid assertion'),
    (_unknown_user, 400, 'invalid_grant', "user hasn't approved this consumer"),
    (_inactive_user, 400, 'invalid_grant', 'inactive user'),
    (_inactive_org, 400, 'invalid_grant', 'inactive organization'),
    (_ip_restricted, 400, 'invalid_grant', 'ip restricted'),
    (_not_preauthorized, 400, 'invalid_grant', "user hasn't approved this consumer"),
    (_never_approved, 400, 'invalid_grant', "user hasn't approved this consumer"),
    (_not_admin_approved, 400, 'invalid_app_access', 'user is not admin approved to access this app'),
    (_login_rate_exceeded, 400, 'invalid_grant', 'LOGIN_RATE_EXCEEDED'),
    (_login_rate_exceeded_403, 403, 'invalid_grant', 'LOGIN_RATE_EXCEEDED'),
]


@pytest.mark.parametrize('make_request, status, error, description', TOKEN_ERRORS, ids=[case[0].__name__[1:] for case in TOKEN_ERRORS])
def test_token_error(fake_org_app, make_request, status, error, description):
    response = make_request(fake_org_app)

    assert oauth_error(response) == (status, {'error': error, 'error_description': description})
    assert 'Date' in response.headers
    assert fake_org_app.org.token_requests == 1
    assert fake_org_app.org.sessions == {}


def test_token_endpoint_wants_post(fake_org_app):
    response = call(fake_org_app.org, '/services/oauth2/token')
    assert oauth_error(response) == (400, {'error': 'invalid_request', 'error_description': 'must use HTTP POST'})


def test_clock_offset_moves_the_server_clock(fake_org_app):
    org = fake_org_app.org
    org.clock_offset = 3600
    response = post_token(org, fake_org_app.assertion(exp=int(time.time()) + 180))

    assert response.json()['error_description'] == 'expired authorization code'
    server_time = email.utils.parsedate_to_datetime(response.headers['Date']).timestamp()
    assert server_time - time.time() > 3000   # the Date header shows the skew a client can measure


def test_far_future_exp_is_accepted_as_salesforce_does(fake_org_app):
    assert post_token(fake_org_app.org, fake_org_app.assertion(exp=int(time.time()) + 86400)).status_code == 200


# -- REST ---------------------------------------------------------------------------------------


def test_versions_need_no_session(fake_org):
    response = call(fake_org, '/services/data/')
    versions = response.json()
    assert response.status_code == 200
    assert versions[0] == {'label': "Summer '14", 'url': '/services/data/v31.0', 'version': '31.0'}
    assert versions[-1] == {'label': "Winter '25", 'url': '/services/data/v62.0', 'version': '62.0'}
    assert call(fake_org, '/services/data').json() == versions


@pytest.mark.parametrize('path', ['/services/data/v62.0/limits', '/services/data/v62.0/limits/'])
def test_limits(fake_org_app, path):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']

    first = call(org, path, token)
    second = call(org, path, token)

    assert first.status_code == 200
    assert first.json()['DailyApiRequests'] == {'Max': 100000, 'Remaining': 99999}
    assert second.json()['DailyApiRequests']['Remaining'] == 99998
    assert first.headers['Sforce-Limit-Info'] == 'api-usage=1/100000'
    assert second.headers['Sforce-Limit-Info'] == 'api-usage=2/100000'


@pytest.mark.parametrize('token', [None, 'not-a-session', '00D000000000000AAA!AQnotissued'])
def test_rest_without_a_live_session_is_401(fake_org_app, token):
    response = call(fake_org_app.org, '/services/data/v62.0/limits', token)
    assert response.status_code == 401
    assert response.json() == [{'message': 'Session expired or invalid', 'errorCode': 'INVALID_SESSION_ID'}]


@pytest.mark.parametrize('path', ['/services/data/v99.0/limits', '/services/data/v62.0/nosuchresource', '/services/apexrest/x'])
def test_unknown_resources_are_404(fake_org_app, path):
    response = call(fake_org_app.org, path, login(fake_org_app)['access_token'])
    assert response.status_code == 404
    assert response.json() == [{'message': 'The requested resource does not exist', 'errorCode': 'NOT_FOUND'}]


def test_revoke_all_sessions_ends_every_session(fake_org_app):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']
    assert call(org, '/services/data/v62.0/limits', token).status_code == 200

    org.revoke_all_sessions()

    assert call(org, '/services/data/v62.0/limits', token).status_code == 401
    assert call(org, '/services/data/v62.0/limits', login(fake_org_app)['access_token']).status_code == 200


def test_revoke_endpoint(fake_org_app):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']

    revoked = requests.post(org.url + '/services/oauth2/revoke', data={'token': token}, verify=org.ca_path, timeout=10)
    again = requests.post(org.url + '/services/oauth2/revoke', data={'token': token}, verify=org.ca_path, timeout=10)

    assert revoked.status_code == 200
    assert oauth_error(again) == (400, {'error': 'invalid_token', 'error_description': 'invalid token'})
    assert call(org, '/services/data/v62.0/limits', token).status_code == 401
    assert [entry['form'] for entry in org.received if entry['path'] == '/services/oauth2/revoke'] == [{'token': '<redacted>'}] * 2


def test_userinfo_and_identity_url(fake_org_app):
    org = fake_org_app.org
    session = login(fake_org_app)

    userinfo = call(org, '/services/oauth2/userinfo', session['access_token'])
    identity = requests.get(session['id'], headers={'Authorization': 'Bearer ' + session['access_token']}, verify=org.ca_path, timeout=10)
    refused = call(org, '/services/oauth2/userinfo', 'bogus')

    assert userinfo.json()['preferred_username'] == fake_org_app.username
    assert userinfo.json()['sub'] == session['id']
    assert identity.json()['username'] == fake_org_app.username and identity.json()['id'] == session['id']
    assert (refused.status_code, refused.text) == (403, 'Bad_OAuth_Token')


# -- SOQL ---------------------------------------------------------------------------------------


def query(org, token, soql, endpoint='query'):
    return call(org, '/services/data/v62.0/%s' % endpoint, token, params={'q': soql})


def test_query_pages_through_more_than_2000_records(fake_org_app):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']

    first = query(org, token, 'SELECT Id, Name FROM Account').json()
    assert (first['totalSize'], first['done'], len(first['records'])) == (2500, False, 2000)
    assert re.fullmatch(r'/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-2000', first['nextRecordsUrl'])
    record = first['records'][0]
    assert list(record) == ['attributes', 'Id', 'Name']
    assert record['attributes'] == {'type': 'Account', 'url': '/services/data/v62.0/sobjects/Account/' + record['Id']}

    second = call(org, first['nextRecordsUrl'], token).json()
    assert (second['totalSize'], second['done'], len(second['records'])) == (2500, True, 500)
    assert 'nextRecordsUrl' not in second
    ids = [r['Id'] for r in first['records'] + second['records']]
    assert len(set(ids)) == 2500


def test_query_where_like_order_by_limit(fake_org_app):
    token = login(fake_org_app)['access_token']
    result = query(fake_org_app.org, token, "select Name, AnnualRevenue from account where name like 'acme 0000%' "
                                            "order by AnnualRevenue desc limit 2").json()
    assert result['done'] is True
    assert [r['Name'] for r in result['records']] == ['Acme 00006', 'Acme 00001']

    counted = query(fake_org_app.org, token, "SELECT COUNT() FROM Account WHERE Industry = 'Retail'").json()
    assert (counted['totalSize'], counted['records']) == (500, [])


@pytest.mark.parametrize('soql, error_code', [
    ('SELECT FROM Account', 'MALFORMED_QUERY'),
    ('SELECT Id Account', 'MALFORMED_QUERY'),
    ("SELECT Id FROM Account WHERE Name LIKE", 'MALFORMED_QUERY'),
    ('SELECT Id FROM Account LIMIT many', 'MALFORMED_QUERY'),
    ('', 'MALFORMED_QUERY'),
    ('SELECT Id FROM Opportunity__x', 'INVALID_TYPE'),
    ('SELECT Id, Nmae FROM Account', 'INVALID_FIELD'),
])
def test_query_errors(fake_org_app, soql, error_code):
    response = query(fake_org_app.org, login(fake_org_app)['access_token'], soql)
    assert response.status_code == 400
    (error,) = response.json()
    assert error['errorCode'] == error_code and error['message']


def test_sobject_crud_and_query_all(fake_org_app):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']
    base = '/services/data/v62.0/sobjects/Account'

    created = call(org, base, token, 'POST', json={'Name': 'Fake Org Test', 'Industry': 'Testing'})
    assert created.status_code == 201
    record_id = created.json()['id']
    assert created.json() == {'id': record_id, 'success': True, 'errors': []}
    assert call(org, '%s/%s' % (base, record_id), token).json()['Industry'] == 'Testing'

    assert call(org, '%s/%s' % (base, record_id), token, 'PATCH', json={'Industry': 'Changed'}).status_code == 204
    assert call(org, '%s/%s' % (base, record_id), token, params={'fields': 'Industry'}).json()['Industry'] == 'Changed'

    assert call(org, '%s/%s' % (base, record_id), token, 'DELETE').status_code == 204
    gone = call(org, '%s/%s' % (base, record_id), token)
    assert (gone.status_code, gone.json()[0]['errorCode']) == (404, 'NOT_FOUND')

    soql = "SELECT Id, IsDeleted FROM Account WHERE Name = 'Fake Org Test'"
    assert query(org, token, soql).json()['totalSize'] == 0
    assert query(org, token, soql, 'queryAll').json()['records'][0]['IsDeleted'] is True


@pytest.mark.parametrize('body, status, error_code', [
    ({'Industry': 'No name'}, 400, 'REQUIRED_FIELD_MISSING'),
    ({'Name': 'x', 'NoSuchField__c': 1}, 400, 'INVALID_FIELD'),
    ({'Name': 'x', 'Id': '001000000000001AAA'}, 400, 'INVALID_FIELD_FOR_INSERT_UPDATE'),
    ({'Name': 'x' * 256}, 400, 'STRING_TOO_LONG'),
    ({'Name': 'x', 'NumberOfEmployees': 'many'}, 400, 'JSON_PARSER_ERROR'),
])
def test_sobject_create_errors(fake_org_app, body, status, error_code):
    response = call(fake_org_app.org, '/services/data/v62.0/sobjects/Account', login(fake_org_app)['access_token'], 'POST', json=body)
    assert response.status_code == status
    assert response.json()[0]['errorCode'] == error_code


def test_a_body_of_several_megabytes_is_read_and_answered(fake_org_app):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']
    huge = {'Name': 'Big', 'Description': 'd' * (4 * 1024 * 1024)}

    response = call(org, '/services/data/v62.0/sobjects/Account', token, 'POST', json=huge)
    invalid = call(org, '/services/data/v62.0/sobjects/Account', token, 'POST', data=b'{"Name": ' + b'[' * 100000,
                   headers={'Content-Type': 'application/json'})

    assert (response.status_code, response.json()[0]['errorCode']) == (400, 'STRING_TOO_LONG')
    assert (invalid.status_code, invalid.json()[0]['errorCode']) == (400, 'JSON_PARSER_ERROR')


# -- faults ---------------------------------------------------------------------------------------


def test_fail_next_html_maintenance_page_then_success(fake_org_app):
    org = fake_org_app.org
    org.fail_next(1, status=503, html=True)

    first = post_token(org, fake_org_app.assertion())
    second = post_token(org, fake_org_app.assertion())

    assert first.status_code == 503 and first.headers['Content-Type'].startswith('text/html')
    assert 'maintenance' in first.text
    assert second.status_code == 200
    assert org.token_requests == 2 and len(org.sessions) == 1


def test_fail_next_json_error_and_path_prefix(fake_org_app):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']
    org.fail_next(2, status=500, path_prefix='/services/data')

    assert post_token(org, fake_org_app.assertion()).status_code == 200   # the token endpoint is not affected
    failed = [call(org, '/services/data/v62.0/limits', token) for _attempt in range(3)]

    assert [r.status_code for r in failed] == [500, 500, 200]
    assert failed[0].json()[0]['errorCode'] == 'UNKNOWN_EXCEPTION'
    org.fail_next(1, status=503)
    assert post_token(org, fake_org_app.assertion()).json() == {'error': 'unknown_error', 'error_description': 'retry your request'}


def test_reset_next_drops_the_connection(fake_org_app):
    org = fake_org_app.org
    org.reset_next(1)

    with pytest.raises(requests.ConnectionError):
        post_token(org, fake_org_app.assertion())
    assert post_token(org, fake_org_app.assertion()).status_code == 200
    assert org.token_requests == 2
    assert [entry['status'] for entry in org.received] == [None, 200]


def test_slow_next_makes_a_client_time_out_once(fake_org_app):
    org = fake_org_app.org
    org.slow_next(1, 1.0)

    with pytest.raises(requests.ReadTimeout):
        post_token(org, fake_org_app.assertion(), timeout=(5, 0.2))
    assert post_token(org, fake_org_app.assertion(), timeout=5).status_code == 200


def test_reset_drops_requests_still_sleeping_on_a_fault(fake_org_app):
    org = fake_org_app.org
    org.slow_next(1, 60)
    outcome = []
    client = threading.Thread(target=lambda: outcome.append(_outcome(lambda: post_token(org, fake_org_app.assertion(), timeout=60))))
    client.start()
    deadline = time.monotonic() + 10
    while not org.received and time.monotonic() < deadline:
        time.sleep(0.01)

    org.reset()
    client.join(10)

    assert outcome == ['ConnectionError']   # dropped, instead of answering after the next test's faults are set


def _outcome(send):
    try:
        return send().status_code
    except requests.ConnectionError:
        return 'ConnectionError'


def test_latency_applies_to_every_request_until_turned_off(fake_org_app):
    org = fake_org_app.org
    org.set_latency(1.0)
    with pytest.raises(requests.ReadTimeout):
        requests.get(org.url + '/services/data/', verify=org.ca_path, timeout=(5, 0.2))
    org.set_latency(0)
    assert requests.get(org.url + '/services/data/', verify=org.ca_path, timeout=5).status_code == 200


def test_non_json_next(fake_org_app):
    org = fake_org_app.org
    org.non_json_next(1)

    response = post_token(org, fake_org_app.assertion())

    assert response.status_code == 200 and response.headers['Content-Type'].startswith('text/plain')
    with pytest.raises(ValueError):
        response.json()
    assert org.sessions == {}


def test_rate_limit_can_be_turned_off(fake_org_app):
    org = fake_org_app.org
    org.rate_limit_logins(True)
    assert post_token(org, fake_org_app.assertion()).status_code == 400
    org.rate_limit_logins(False)
    assert post_token(org, fake_org_app.assertion()).status_code == 200


def test_reset_forgets_state_but_keeps_users_and_apps(fake_org_app):
    org = fake_org_app.org
    token = login(fake_org_app)['access_token']
    call(org, '/services/data/v62.0/sobjects/Account', token, 'POST', json={'Name': 'Before reset'})
    org.fail_next(5)
    org.clock_offset = 100

    org.reset()

    assert (org.token_requests, org.received, org.sessions, org.clock_offset) == (0, [], {}, 0)
    token = login(fake_org_app)['access_token']
    assert query(org, token, 'SELECT COUNT() FROM Account').json()['totalSize'] == 2500


# -- admin API --------------------------------------------------------------------------------------


def admin(org, method, endpoint, body=None):
    response = requests.request(method, org.url + '/_fake/' + endpoint, json=body, verify=org.ca_path, timeout=10)
    return response.status_code, response.json()


def test_admin_api_drives_the_org(fake_org, tmp_path):
    org = fake_org
    key_pem, cert_pem = generate_key_and_certificate()
    assert admin(org, 'POST', 'users', {'username': 'admin-api@example.com', 'permission_sets': ['P1']})[0] == 200
    assert admin(org, 'POST', 'apps', [{'consumer_key': 'ADMINAPIKEY01', 'certificate_pem': cert_pem.decode(),
                                        'permission_sets': ['P1']}]) == (200, {'apps': ['ADMINAPIKEY01']})

    def assertion():
        return jwt.encode({'iss': 'ADMINAPIKEY01', 'sub': 'admin-api@example.com', 'aud': 'https://login.salesforce.com',
                           'exp': int(time.time()) + 180}, key_pem, algorithm='RS256')

    token = post_token(org, assertion()).json()['access_token']
    status, stats = admin(org, 'GET', 'stats')
    assert status == 200
    assert {k: stats[k] for k in ('token_requests', 'token_requests_by_user', 'sessions', 'requests')} == {
        'token_requests': 1, 'token_requests_by_user': {'admin-api@example.com': 1}, 'sessions': 1, 'requests': 1}

    status, received = admin(org, 'GET', 'received')
    assert status == 200 and received[0]['path'] == '/services/oauth2/token'

    assert admin(org, 'POST', 'revoke_all') == (200, {'revoked': 1})
    assert call(org, '/services/data/v62.0/limits', token).status_code == 401

    assert admin(org, 'POST', 'faults', {'fail_next': {'count': 1, 'status': 503, 'html': True}, 'latency': 0,
                                         'rate_limit_logins': False, 'clock_offset': -600})[0] == 200
    assert org.clock_offset == -600
    assert post_token(org, assertion()).status_code == 503
    assert post_token(org, assertion()).status_code == 200

    assert admin(org, 'POST', 'config', {'accepted_audience': 'https://test.salesforce.com'})[0] == 200
    assert post_token(org, assertion()).json()['error_description'] == 'audience is invalid'

    status, stats = admin(org, 'POST', 'reset')
    assert (status, stats['token_requests'], stats['sessions'], stats['users']) == (200, 0, 0, ['admin-api@example.com'])
    status, stats = admin(org, 'POST', 'reset', {'identities': True})
    assert (stats['users'], stats['apps'], stats['accepted_audience']) == ([], [], 'https://login.salesforce.com')


@pytest.mark.parametrize('endpoint, body', [
    ('faults', {'fail_next': {'count': 0}}),
    ('faults', {'latency': 0.5, 'slow_next': {'count': 1, 'seconds': -1}}),
    ('faults', {'explode': True}),
    ('users', {'permission_sets': ['x']}),
    ('apps', {'consumer_key': 'K', 'certificate_pem': 'not a certificate'}),
])
def test_admin_api_rejects_bad_input_and_changes_nothing(fake_org, endpoint, body):
    status, answer = admin(fake_org, 'POST', endpoint, body)
    assert status == 400 and answer['error']
    assert fake_org.stats()['faults']['latency'] == 0 and fake_org.users == {} and fake_org.apps == {}


# -- setup objects: users, permission sets, assignments, the organization ------------------------------

API = '/services/data/v62.0'


def soql(org, token, text) -> list:
    response = call(org, API + '/query', token, params={'q': text})
    assert response.status_code == 200, response.text
    return response.json()['records']


def assign(org, token, assignee_id, permission_set_id):
    return call(org, API + '/sobjects/PermissionSetAssignment', token, 'POST',
                json={'AssigneeId': assignee_id, 'PermissionSetId': permission_set_id})


def test_setup_objects_are_queryable(fake_org_app):
    org = fake_org_app.org
    session = login(fake_org_app)
    token, user_id = session['access_token'], session['id'].rsplit('/', 1)[1]

    (user,) = soql(org, token, "SELECT Id, Username, Name, Email, IsActive FROM User WHERE Username = '%s'" % fake_org_app.username)
    (permission_set,) = soql(org, token, "SELECT Id, Name, Label, Description, IsOwnedByProfile FROM PermissionSet")
    (assignment,) = soql(org, token, "SELECT Id, AssigneeId, PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '%s'" % user_id)
    (organization,) = soql(org, token, 'SELECT Id, Name, IsSandbox, OrganizationType, InstanceName, NamespacePrefix FROM Organization')

    assert {k: user[k] for k in ('Id', 'Username', 'Name', 'Email', 'IsActive')} == {
        'Id': user_id, 'Username': 'integration@example.com', 'Name': 'integration', 'Email': 'integration@example.com', 'IsActive': True}
    assert user['attributes'] == {'type': 'User', 'url': '%s/sobjects/User/%s' % (API, user_id)}
    assert re.fullmatch(r'0PS[0-9A-Za-z]{15}', permission_set['Id'])
    assert (permission_set['Name'], permission_set['Label'], permission_set['IsOwnedByProfile']) == (DEFAULT_PERMISSION_SET,
                                                                                                     DEFAULT_PERMISSION_SET, False)
    assert re.fullmatch(r'0Pa[0-9A-Za-z]{15}', assignment['Id'])
    assert (assignment['AssigneeId'], assignment['PermissionSetId']) == (user_id, permission_set['Id'])
    assert {k: v for k, v in organization.items() if k != 'attributes'} == {
        'Id': org.org_id, 'Name': 'sfjwt fake org', 'IsSandbox': False, 'OrganizationType': 'Enterprise Edition',
        'InstanceName': 'NA1', 'NamespacePrefix': None}
    assert call(org, '%s/sobjects/User/%s' % (API, user_id), token).json()['Username'] == 'integration@example.com'

    org.is_sandbox = True
    assert soql(org, token, 'SELECT IsSandbox FROM Organization')[0]['IsSandbox'] is True
    refused = call(org, API + '/sobjects/PermissionSet', token, 'POST', json={'Name': 'X', 'Label': 'X'})
    assert refused.status_code == 400
    assert refused.json() == [{'message': 'entity type cannot be inserted: PermissionSet', 'errorCode': 'INVALID_TYPE_FOR_OPERATION'}]


def test_permission_set_assignment_over_rest_pre_authorizes_and_can_be_deleted(fake_org_app):
    org = fake_org_app.org
    org.add_user('second@example.com')
    token = login(fake_org_app)['access_token']
    (user,) = soql(org, token, "SELECT Id FROM User WHERE Username = 'second@example.com'")
    (permission_set,) = soql(org, token, "SELECT Id FROM PermissionSet WHERE Name = '%s'" % DEFAULT_PERMISSION_SET)
    assertion = fake_org_app.assertion(sub='second@example.com')
    assert post_token(org, assertion).json()['error_description'] == "user hasn't approved this consumer"

    created = assign(org, token, user['Id'], permission_set['Id'])
    duplicate = assign(org, token, user['Id'], permission_set['Id'])

    assert created.status_code == 201
    assert created.json() == {'id': created.json()['id'], 'success': True, 'errors': []}
    assert post_token(org, assertion).status_code == 200
    assert (duplicate.status_code, duplicate.json()) == (400, [{
        'message': 'Duplicate PermissionSetAssignment. Assignee: %s; Permission Set: %s' % (user['Id'], permission_set['Id']),
        'errorCode': 'DUPLICATE_VALUE', 'fields': []}])

    assert call(org, '%s/sobjects/PermissionSetAssignment/%s' % (API, created.json()['id']), token, 'DELETE').status_code == 204
    assert post_token(org, assertion).json()['error_description'] == "user hasn't approved this consumer"


@pytest.mark.parametrize('body, error_code, fields', [
    ({'PermissionSetId': 'PS'}, 'REQUIRED_FIELD_MISSING', ['AssigneeId']),
    ({'AssigneeId': '001000000000001AAA', 'PermissionSetId': 'PS'}, 'FIELD_INTEGRITY_EXCEPTION', ['AssigneeId']),
    ({'AssigneeId': '005000000000000AAA', 'PermissionSetId': 'PS'}, 'INVALID_CROSS_REFERENCE_KEY', ['AssigneeId']),
    ({'AssigneeId': 'USER', 'PermissionSetId': '0PS000000000000AAA'}, 'INVALID_CROSS_REFERENCE_KEY', ['PermissionSetId']),
    ({'AssigneeId': 'USER', 'PermissionSetId': 'PS', 'Id': '0Pa000000000001AAA'}, 'INVALID_FIELD_FOR_INSERT_UPDATE', ['Id']),
])
def test_permission_set_assignment_errors(fake_org_app, body, error_code, fields):
    org = fake_org_app.org
    session = login(fake_org_app)
    (permission_set,) = soql(org, session['access_token'], 'SELECT Id FROM PermissionSet')
    ids = {'USER': session['id'].rsplit('/', 1)[1], 'PS': permission_set['Id']}
    response = call(org, API + '/sobjects/PermissionSetAssignment', session['access_token'], 'POST',
                    json={name: ids.get(value, value) for name, value in body.items()})
    assert response.status_code == 400
    (error,) = response.json()
    assert (error['errorCode'], error['fields']) == (error_code, fields)


# -- the REST Metadata API deploy -------------------------------------------------------------------

NS = 'http://soap.sforce.com/2006/04/metadata'
DEPLOYED_KEY_PEM, DEPLOYED_CERT_PEM = generate_key_and_certificate('deployed')
ROTATED_KEY_PEM, ROTATED_CERT_PEM = generate_key_and_certificate('rotated')
DEPLOYED_CONSUMER_KEY = 'SFJWTDEPLOYEDAPP0001'
TYPE_OF_FOLDER = {'externalClientApps': 'ExternalClientApplication', 'extlClntAppOauthSettings': 'ExtlClntAppOauthSettings',
                  'extlClntAppGlobalOauthSets': 'ExtlClntAppGlobalOauthSettings',
                  'extlClntAppOauthPolicies': 'ExtlClntAppOauthConfigurablePolicies', 'extlClntAppPolicies': 'ExtlClntAppConfigurablePolicies',
                  'connectedApps': 'ConnectedApp', 'permissionsets': 'PermissionSet', 'classes': 'ApexClass'}


def document(root, body):
    return '<?xml version="1.0" encoding="UTF-8"?>\n<%s xmlns="%s">\n%s\n</%s>\n' % (root, NS, body, root)


def package_xml(files) -> str:
    """The package.xml naming every component of `files` ({zip path: text})."""
    members = {}
    for path in files:
        folder, name = path.split('/')
        if not name.endswith('-meta.xml'):
            members.setdefault(TYPE_OF_FOLDER[folder], []).append(name.rsplit('.', 1)[0])
    types = ''.join('<types>%s<name>%s</name></types>' % (''.join('<members>%s</members>' % m for m in sorted(names)), kind)
                    for kind, names in sorted(members.items()))
    return document('Package', types + '<version>62.0</version>')


def global_oauth(name='Acme', certificate=DEPLOYED_CERT_PEM, consumer_key=DEPLOYED_CONSUMER_KEY, extra=''):
    cert = '<certificate>%s</certificate>' % certificate.decode() if certificate else ''
    key = '<consumerKey>%s</consumerKey>' % consumer_key if consumer_key else ''
    return {'extlClntAppGlobalOauthSets/%s_glbloauth.ecaGlblOauth' % name: document('ExtlClntAppGlobalOauthSettings', (
        '<callbackUrl>https://login.salesforce.com/services/oauth2/success</callbackUrl>%s%s'
        '<externalClientApplication>%s</externalClientApplication><label>%s</label>%s' % (cert, key, name, name, extra)))}


def eca_files(name='Acme', certificate=DEPLOYED_CERT_PEM, consumer_key=DEPLOYED_CONSUMER_KEY, permission_sets='SFJWT_Deployed'):
    files = {
        'externalClientApps/%s.eca' % name: document('ExternalClientApplication', (
            '<contactEmail>admin@example.com</contactEmail><distributionState>Local</distributionState>'
            '<isProtected>false</isProtected><label>%s</label>' % name)),
        'extlClntAppOauthSettings/%s_oauth.ecaOauth' % name: document('ExtlClntAppOauthSettings', (
            '<commaSeparatedOauthScopes>Api, RefreshToken</commaSeparatedOauthScopes>'
            '<externalClientApplication>%s</externalClientApplication><label>%s</label>' % (name, name))),
        'extlClntAppOauthPolicies/%s_oauthPlcy.ecaOauthPlcy' % name: document('ExtlClntAppOauthConfigurablePolicies', (
            '<commaSeparatedPermissionSet>%s</commaSeparatedPermissionSet><externalClientApplication>%s</externalClientApplication>'
            '<ipRelaxationPolicyType>Enforce</ipRelaxationPolicyType><label>%s</label>'
            '<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>' % (permission_sets, name, name))),
        'extlClntAppPolicies/%s_plcy.ecaPlcy' % name: document('ExtlClntAppConfigurablePolicies', (
            '<externalClientApplication>%s</externalClientApplication><isEnabled>true</isEnabled><label>%s</label>' % (name, name))),
    }
    files.update(global_oauth(name, certificate, consumer_key))
    return files


def permission_set_file(name='SFJWT_Deployed', label='SFJWT Deployed'):
    body = '<description>made by a deploy</description><label>%s</label>' % label
    return {'permissionsets/%s.permissionset' % name: document('PermissionSet', body)}


def make_zip(files, package=True) -> bytes:
    entries = dict(files)
    if package is True:
        entries['package.xml'] = package_xml(files)
    elif package:
        entries['package.xml'] = package
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for path, text in entries.items():
            archive.writestr(path, text)
    return buffer.getvalue()


def start_deploy(org, token, zip_bytes, options=None, json_part=None):
    parts = {'json': (None, json_part if json_part is not None else json.dumps({'deployOptions': options or {}}), 'application/json'),
             'file': ('deploy.zip', zip_bytes, 'application/zip')}
    return call(org, API + '/metadata/deployRequest', token, 'POST', files=parts)


def poll(org, token, deploy_id, details=True):
    response = call(org, '%s/metadata/deployRequest/%s' % (API, deploy_id), token, params={'includeDetails': 'true'} if details else None)
    assert response.status_code == 200, response.text
    return response.json()


def deploy(admin, files, options=None, package=True) -> dict:
    """Deploy as the admin and poll until done: the final deployResult, with details."""
    token = login(admin)['access_token']
    started = start_deploy(admin.org, token, make_zip(files, package), options)
    assert started.status_code == 201, started.text
    for _attempt in range(10):
        result = poll(admin.org, token, started.json()['id'])['deployResult']
        if result['done']:
            return result
    raise AssertionError('the deploy did not finish: %s' % result)


def integration_assertion(org, key_pem=DEPLOYED_KEY_PEM, consumer_key=DEPLOYED_CONSUMER_KEY, sub='integration@example.com'):
    return jwt.encode({'iss': consumer_key, 'sub': sub, 'aud': org.accepted_audience, 'exp': int(time.time()) + 600},
                      key_pem, algorithm='RS256')


def failure(result) -> dict:
    (entry,) = result['details']['componentFailures']
    return entry


def test_deploy_an_external_client_app_then_pre_authorize_a_user(fake_org_admin):
    org = fake_org_admin.org
    org.propagation_delay = 5
    org.add_user('integration@example.com')
    token = login(fake_org_admin)['access_token']
    files = {**eca_files(), **permission_set_file()}

    started = start_deploy(org, token, make_zip(files), {'checkOnly': False, 'singlePackage': True})
    assert started.status_code == 201
    body = started.json()
    deploy_id = body['id']
    assert re.fullmatch(r'0Af[0-9A-Za-z]{15}', deploy_id)
    assert body['url'] == '%s/metadata/deployRequest/%s' % (API, deploy_id)
    assert body['deployOptions'] == {'allowMissingFiles': False, 'autoUpdatePackage': False, 'checkOnly': False, 'ignoreWarnings': False,
                                     'performRetrieve': False, 'purgeOnDelete': False, 'rollbackOnError': True, 'runTests': [],
                                     'singlePackage': True, 'testLevel': None}
    assert {k: body['deployResult'][k] for k in ('id', 'status', 'done', 'checkOnly', 'numberComponentsTotal')} == {
        'id': deploy_id, 'status': 'Pending', 'done': False, 'checkOnly': False, 'numberComponentsTotal': 0}
    assert 'details' not in body['deployResult']

    first = poll(org, token, deploy_id, details=False)
    final = poll(org, token, deploy_id)
    assert (first['deployResult']['status'], first['deployResult']['done']) == ('InProgress', False)
    assert 'details' not in first['deployResult']
    result = final['deployResult']
    assert {k: result[k] for k in ('status', 'done', 'success', 'numberComponentsTotal', 'numberComponentsDeployed', 'numberComponentErrors',
                                   'numberTestsTotal', 'errorMessage', 'createdByName', 'rollbackOnError', 'runTestsEnabled')} == {
        'status': 'Succeeded', 'done': True, 'success': True, 'numberComponentsTotal': 6, 'numberComponentsDeployed': 6,
        'numberComponentErrors': 0, 'numberTestsTotal': 0, 'errorMessage': None, 'createdByName': 'admin', 'rollbackOnError': True,
        'runTestsEnabled': False}
    assert result['completedDate'].endswith('+0000') and result['createdBy'].startswith('005')
    successes = result['details']['componentSuccesses']
    assert successes[0] == {'changed': True, 'columnNumber': None, 'componentType': '', 'created': False, 'createdDate': successes[0]['createdDate'],
                            'deleted': False, 'fileName': 'package.xml', 'fullName': 'package.xml', 'id': None, 'lineNumber': None,
                            'problem': None, 'problemType': None, 'success': True}
    assert [(s['componentType'], s['fullName'], s['created']) for s in successes[1:]] == [
        ('PermissionSet', 'SFJWT_Deployed', True), ('ExternalClientApplication', 'Acme', True), ('ExtlClntAppOauthSettings', 'Acme_oauth', True),
        ('ExtlClntAppGlobalOauthSettings', 'Acme_glbloauth', True), ('ExtlClntAppOauthConfigurablePolicies', 'Acme_oauthPlcy', True),
        ('ExtlClntAppConfigurablePolicies', 'Acme_plcy', True)]
    assert result['details']['componentFailures'] == []
    assert result['details']['runTestResults'] == {'numRun': 0, 'numFailures': 0, 'failures': [], 'successes': []}

    (user,) = soql(org, token, "SELECT Id FROM User WHERE Username = 'integration@example.com'")
    (permission_set,) = soql(org, token, "SELECT Id, Label, Description FROM PermissionSet WHERE Name = 'SFJWT_Deployed'")
    assert (permission_set['Label'], permission_set['Description']) == ('SFJWT Deployed', 'made by a deploy')
    assert permission_set['Id'] == successes[1]['id']
    assert assign(org, token, user['Id'], permission_set['Id']).status_code == 201

    waiting = post_token(org, integration_assertion(org))
    assert oauth_error(waiting) == (400, {'error': 'invalid_client_id', 'error_description': 'client identifier invalid'})
    assert org.stats()['pending_apps'] == [DEPLOYED_CONSUMER_KEY]
    org.clock_offset = 6   # past the propagation delay, without sleeping
    assert post_token(org, integration_assertion(org)).status_code == 200
    assert org.eca_consumer_key('Acme') == DEPLOYED_CONSUMER_KEY

    (logged,) = org.deploy_log()
    assert {k: logged[k] for k in ('id', 'status', 'deployOptions', 'username')} == {
        'id': deploy_id, 'status': 'Succeeded', 'deployOptions': {'checkOnly': False, 'singlePackage': True}, 'username': 'admin@example.com'}
    assert sorted(logged['members']) == sorted(list(files) + ['package.xml'])
    assert '<name>ExternalClientApplication</name>' in logged['package_xml']


def test_check_only_validates_and_saves_nothing(fake_org_admin):
    org = fake_org_admin.org
    org.add_user('integration@example.com')
    result = deploy(fake_org_admin, {**eca_files(), **permission_set_file()}, {'checkOnly': True})

    assert (result['status'], result['checkOnly'], result['numberComponentsDeployed']) == ('Succeeded', True, 6)
    assert org.deployed_component('ExternalClientApplication', 'Acme') is None
    assert org.data.permission_set_names() == set()
    assert post_token(org, integration_assertion(org)).json()['error'] == 'invalid_client_id'


@pytest.mark.parametrize('rollback, status, saved', [(True, 'Failed', set()), (False, 'SucceededPartial', {'SFJWT_Deployed'})])
def test_rollback_on_error(fake_org_admin, rollback, status, saved):
    org = fake_org_admin.org
    org.is_sandbox = True   # production orgs refuse rollbackOnError false
    result = deploy(fake_org_admin, {**permission_set_file(), **global_oauth(name='Missing')}, {'rollbackOnError': rollback})

    assert (result['status'], result['numberComponentsDeployed'], result['numberComponentErrors']) == (status, 1, 1)
    assert failure(result)['problem'] == 'In field: externalClientApplication - no ExternalClientApplication named Missing found'
    assert org.data.permission_set_names() == saved


def test_production_refuses_rollback_on_error_false_as_a_whole(fake_org_admin):
    result = deploy(fake_org_admin, permission_set_file(), {'rollbackOnError': False})
    assert (result['status'], result['errorStatusCode'], result['errorMessage']) == (
        'Failed', 'INVALID_OPERATION', 'rollbackOnError must be true in production organizations')
    assert result['details']['componentSuccesses'] == [] and result['numberComponentsTotal'] == 0


MALFORMED = '<?xml version="1.0" encoding="UTF-8"?>\n<PermissionSet xmlns="%s">\n    <label>Broken</labl>\n</PermissionSet>\n' % NS


@pytest.mark.parametrize('files, package, expected', [
    pytest.param({'permissionsets/Broken.permissionset': MALFORMED}, True,
                 {'componentType': 'PermissionSet', 'fullName': 'Broken', 'fileName': 'permissionsets/Broken.permissionset',
                  'problem': 'Error parsing file: mismatched tag', 'lineNumber': 3, 'columnNumber': 20}, id='malformed-xml'),
    pytest.param({'widgets/Acme.widget': '<x/>'}, document('Package', '<version>62.0</version>'),
                 {'componentType': '', 'fileName': 'widgets/Acme.widget', 'problem': re.compile(r'^An unknown file type was found')},
                 id='unknown-folder'),
    pytest.param({'externalClientApps/Acme.eca-meta.xml': document('ExternalClientApplication', '<label>A</label>')},
                 document('Package', '<version>62.0</version>'),
                 {'problem': re.compile(r'in source format: in Metadata API format the file is externalClientApps/Acme\.eca ')},
                 id='source-format-name'),
    pytest.param({}, document('Package', '<types><members>Ghost</members><name>PermissionSet</name></types><version>62.0</version>'),
                 {'componentType': 'PermissionSet', 'fullName': 'Ghost', 'fileName': 'package.xml',
                  'problem': "An object 'Ghost' of type PermissionSet was named in package.xml, but was not found in zipped directory"},
                 id='member-not-found'),
    pytest.param({}, document('Package', '<types><members>X</members><name>Gadget</name></types>'),
                 {'fileName': 'package.xml', 'problem': "Unknown type name 'Gadget' specified in package.xml"}, id='unknown-type'),
    pytest.param({'permissionsets/Wrong.permissionset': document('ConnectedApp', '<label>x</label>')}, True,
                 {'problem': 'Error parsing file: the root element is {%s}ConnectedApp; expected PermissionSet in namespace %s' % (NS, NS),
                  'lineNumber': 2, 'columnNumber': 1}, id='root-element-mismatch'),
    pytest.param({'permissionsets/NoNs.permissionset': '<PermissionSet><label>x</label></PermissionSet>'}, True,
                 {'problem': 'Error parsing file: the root element is PermissionSet; expected PermissionSet in namespace %s' % NS},
                 id='no-namespace'),
    pytest.param({'permissionsets/NoLabel.permissionset': document('PermissionSet', '<description>x</description>')}, True,
                 {'problem': 'Required field is missing: label', 'lineNumber': 2}, id='required-field'),
    pytest.param({'externalClientApps/Acme.eca': document('ExternalClientApplication', '<contactEmail>a@example.com</contactEmail>'
                                                          '<distributionState>Global</distributionState><label>A</label>')}, True,
                 {'problem': "Error parsing file: 'Global' is not a valid value for the enum 'DistributionState'"}, id='bad-enum'),
    pytest.param({**eca_files(), **global_oauth(certificate=b'-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----')},
                 True, {'componentType': 'ExtlClntAppGlobalOauthSettings', 'problem': re.compile(r'^Invalid certificate: '),
                        'lineNumber': 3}, id='bad-certificate'),
    pytest.param({**eca_files(), **global_oauth(consumer_key='has spaces 1234')}, True,
                 {'problem': 'Invalid consumerKey: a consumer key is 8 to 256 letters and digits'}, id='bad-consumer-key'),
    pytest.param(eca_files(permission_sets='SFJWT_Deployed, Nope'), True,
                 {'componentType': 'ExtlClntAppOauthConfigurablePolicies',
                  'problem': 'In field: commaSeparatedPermissionSet - no PermissionSet named Nope found'}, id='unknown-permission-set'),
    pytest.param({'../evil.permissionset': 'x'}, document('Package', '<version>62.0</version>'),
                 {'fileName': '../evil.permissionset', 'problem': re.compile(r'^Invalid file path')}, id='parent-path'),
    pytest.param({'classes/Foo.cls': 'public class Foo {}'}, True,
                 {'componentType': 'ApexClass', 'problem': re.compile(r'needs both classes/Foo\.cls and classes/Foo\.cls-meta\.xml')},
                 id='apex-without-meta'),
])
def test_component_failure(fake_org_admin, files, package, expected):
    org = fake_org_admin.org
    org.add_user('integration@example.com', permission_sets=['SFJWT_Deployed'])
    result = deploy(fake_org_admin, files, package=package)

    assert (result['status'], result['success'], result['numberComponentErrors']) == ('Failed', False, 1)
    entry = failure(result)
    assert (entry['success'], entry['problemType'], entry['created'], entry['changed'], entry['deleted']) == (False, 'Error', False, False, False)
    for name, value in expected.items():
        assert value.search(entry[name]) if isinstance(value, re.Pattern) else entry[name] == value, (name, entry)
    assert org.deployed_component('ExternalClientApplication', 'Acme') is None and org.apps.keys() == {fake_org_admin.consumer_key}


def test_no_package_xml_and_limits_fail_the_deploy_as_a_whole(fake_org_admin, monkeypatch):
    no_package = deploy(fake_org_admin, permission_set_file(), package=False)
    too_many = deploy(fake_org_admin, {'permissionsets/P%05d.permissionset' % n: '' for n in range(10001)})
    monkeypatch.setattr(deploy_module, 'MAX_ZIP_BYTES', 100)
    too_big = deploy(fake_org_admin, permission_set_file())

    assert (no_package['status'], no_package['errorStatusCode'], no_package['errorMessage']) == (
        'Failed', 'INVALID_CROSS_REFERENCE_KEY', 'No package.xml found')
    assert (too_many['errorStatusCode'], too_many['errorMessage']) == ('LIMIT_EXCEEDED', 'The zip file holds 10002 files; a deploy takes at most 10000.')
    assert too_big['errorStatusCode'] == 'LIMIT_EXCEEDED' and 'at most 39 MB' in too_big['errorMessage']


def test_a_file_not_in_package_xml_is_a_warning(fake_org_admin):
    org = fake_org_admin.org
    package = document('Package', '<types><members>*</members><name>PermissionSet</name></types><version>62.0</version>')
    files = {**permission_set_file(), **permission_set_file('Second'), 'classes/Stray.cls': 'x', 'classes/Stray.cls-meta.xml': 'x'}

    strict = deploy(fake_org_admin, files, package=package)
    lenient = deploy(fake_org_admin, files, {'ignoreWarnings': True}, package=package)

    assert strict['status'] == 'Failed' and lenient['status'] == 'Succeeded'
    warning = failure(lenient)
    assert (warning['problemType'], warning['fileName'], warning['problem']) == (
        'Warning', 'classes/Stray.cls', "An object 'Stray' of type ApexClass was found in zipped directory, but was not named in "
        "package.xml; it was not deployed")
    assert org.data.permission_set_names() == {'SFJWT_Deployed', 'Second'}


def test_consumer_keys_are_generated_unique_and_fixed(fake_org_admin):
    org = fake_org_admin.org
    generated = deploy(fake_org_admin, {**eca_files(consumer_key=None), **permission_set_file()})
    key = org.eca_consumer_key('Acme')
    kept = deploy(fake_org_admin, global_oauth(consumer_key=None))
    changed = deploy(fake_org_admin, global_oauth(consumer_key='SFJWTOTHERKEY0001'))
    taken = deploy(fake_org_admin, eca_files(name='Other', consumer_key=fake_org_admin.consumer_key))

    assert generated['status'] == 'Succeeded' and re.fullmatch(r'3MVG9[0-9A-Za-z]{80}', key)
    assert (kept['status'], kept['details']['componentSuccesses'][1]['changed']) == ('Succeeded', False)
    assert org.eca_consumer_key('Acme') == key
    assert (changed['status'], failure(changed)['problem']) == ('Failed', (
        "Cannot change the consumer key of External Client App 'Acme': it was set when the app's global OAuth settings were first "
        "deployed. Deploy the same consumerKey or leave it out (shouldRotateConsumerKey set to true issues a new one)."))
    assert failure(taken)['problem'] == 'The consumer key is already used by another app in this org; a consumer key must be unique.'

    rotated = deploy(fake_org_admin, global_oauth(consumer_key=None, extra='<shouldRotateConsumerKey>true</shouldRotateConsumerKey>'))
    assert rotated['status'] == 'Succeeded' and org.eca_consumer_key('Acme') not in (key, None)
    assert set(org.apps) == {fake_org_admin.consumer_key, org.eca_consumer_key('Acme')}


def test_certificate_rotation_takes_effect_after_the_propagation_delay(fake_org_admin):
    org = fake_org_admin.org
    org.add_user('integration@example.com', permission_sets=['SFJWT_Deployed'])
    assert deploy(fake_org_admin, eca_files())['status'] == 'Succeeded'
    assert post_token(org, integration_assertion(org)).status_code == 200

    org.propagation_delay = 5
    assert deploy(fake_org_admin, global_oauth(certificate=ROTATED_CERT_PEM))['status'] == 'Succeeded'

    assert post_token(org, integration_assertion(org)).status_code == 200   # the old certificate, until the change applies
    assert post_token(org, integration_assertion(org, ROTATED_KEY_PEM)).json()['error_description'] == 'invalid assertion'
    org.clock_offset = 6
    assert post_token(org, integration_assertion(org, ROTATED_KEY_PEM)).status_code == 200
    assert post_token(org, integration_assertion(org)).json()['error_description'] == 'invalid assertion'


def test_changed_permission_sets_apply_after_the_propagation_delay(fake_org_admin):
    org = fake_org_admin.org
    org.add_user('integration@example.com', permission_sets=['SFJWT_Deployed'])
    org.add_user('other@example.com', permission_sets=['Other'])
    deploy(fake_org_admin, eca_files())
    org.propagation_delay = 5
    assert deploy(fake_org_admin, eca_files(permission_sets='Other'))['status'] == 'Succeeded'

    assert post_token(org, integration_assertion(org)).status_code == 200
    assert post_token(org, integration_assertion(org, sub='other@example.com')).status_code == 400
    org.clock_offset = 6
    assert post_token(org, integration_assertion(org)).status_code == 400
    assert post_token(org, integration_assertion(org, sub='other@example.com')).status_code == 200


def connected_app_file(name, certificate=ROTATED_CERT_PEM, consumer_key=None):
    key = '<consumerKey>%s</consumerKey>' % consumer_key if consumer_key else ''
    return {'connectedApps/%s.connectedApp' % name: document('ConnectedApp', (
        '<contactEmail>admin@example.com</contactEmail><label>%s</label><oauthConfig>'
        '<callbackUrl>https://login.salesforce.com/services/oauth2/success</callbackUrl><certificate>%s</certificate>%s'
        '<isAdminApproved>true</isAdminApproved><scopes>Api</scopes></oauthConfig>'
        '<permissionSetName>SFJWT_Deployed</permissionSetName>' % (name, certificate.decode(), key)))}


def test_new_connected_app_is_refused_an_existing_one_is_updated(fake_org_admin):
    org = fake_org_admin.org
    org.add_user('integration@example.com', permission_sets=['SFJWT_Deployed'])
    org.add_connected_app('Legacy', 'SFJWTLEGACYAPP0001', DEPLOYED_CERT_PEM, permission_sets=['SFJWT_Deployed'])
    assert post_token(org, integration_assertion(org, consumer_key='SFJWTLEGACYAPP0001')).status_code == 200

    refused = deploy(fake_org_admin, connected_app_file('Brand_New'))
    updated = deploy(fake_org_admin, connected_app_file('Legacy'))
    rekeyed = deploy(fake_org_admin, connected_app_file('Legacy', consumer_key='SFJWTLEGACYAPP0002'))

    assert failure(refused)['problem'] == (
        "Connected App creation via APIs (including the Metadata API) is blocked in the same way as the UI (Spring '26, Salesforce "
        "Help 005228017): Connected App 'Brand_New' does not exist in this org and cannot be created. Create an External Client App "
        "instead; existing Connected Apps can still be updated.")
    assert [(s['fullName'], s['created'], s['changed']) for s in updated['details']['componentSuccesses']] == [
        ('package.xml', False, True), ('Legacy', False, True)]
    assert failure(rekeyed)['problem'].startswith("Cannot change the consumer key of Connected App 'Legacy'")
    assert post_token(org, integration_assertion(org, ROTATED_KEY_PEM, 'SFJWTLEGACYAPP0001')).status_code == 200
    assert post_token(org, integration_assertion(org, consumer_key='SFJWTLEGACYAPP0001')).json()['error_description'] == 'invalid assertion'


def test_global_oauth_settings_need_the_org_setting_for_consumer_secrets(fake_org_admin):
    fake_org_admin.org.allow_oauth_secrets_via_metadata = False
    result = deploy(fake_org_admin, {**eca_files(), **permission_set_file()})

    assert result['status'] == 'Failed'
    entry = failure(result)
    assert (entry['componentType'], entry['problem']) == ('ExtlClntAppGlobalOauthSettings', (
        "Cannot deploy the consumer key and certificate of External Client App 'Acme': this org does not allow access to External "
        "Client App consumer secrets via the Metadata API. An admin can allow it in Setup > External Client App Settings > "
        "\"Allow access to External Client App consumer secrets via REST API\"."))


APEX = {'classes/Foo.cls': 'public class Foo {}',
        'classes/Foo.cls-meta.xml': document('ApexClass', '<apiVersion>62.0</apiVersion><status>Active</status>')}


def test_apex_and_test_levels(fake_org_admin):
    org = fake_org_admin.org
    no_test_run = deploy(fake_org_admin, APEX, {'testLevel': 'NoTestRun'})
    default = deploy(fake_org_admin, APEX)
    specified_without_tests = deploy(fake_org_admin, APEX, {'testLevel': 'RunSpecifiedTests'})
    tests_without_level = deploy(fake_org_admin, APEX, {'runTests': ['FooTest']})
    org.is_sandbox = True
    sandbox = deploy(fake_org_admin, APEX, {'testLevel': 'NoTestRun'})

    assert (no_test_run['status'], no_test_run['errorStatusCode'], no_test_run['errorMessage']) == (
        'Failed', 'INVALID_OPERATION', 'testLevel of NoTestRun cannot be used in production organizations')
    assert (default['status'], default['runTestsEnabled'], default['numberTestsTotal'], default['numberComponentsDeployed']) == (
        'Succeeded', True, 0, 1)
    assert default['details']['componentSuccesses'][1]['fileName'] == 'classes/Foo.cls'
    assert specified_without_tests['errorMessage'] == 'testLevel of RunSpecifiedTests requires at least one test class in runTests'
    assert tests_without_level['errorMessage'] == 'runTests can only be used with a testLevel of RunSpecifiedTests'
    assert (sandbox['status'], sandbox['runTestsEnabled']) == ('Succeeded', False)


def test_hold_deploys_then_cancel(fake_org_admin):
    org = fake_org_admin.org
    org.hold_deploys = True
    token = login(fake_org_admin)['access_token']
    deploy_id = start_deploy(org, token, make_zip(permission_set_file())).json()['id']
    path = '%s/metadata/deployRequest/%s' % (API, deploy_id)

    assert [poll(org, token, deploy_id)['deployResult']['status'] for _poll in range(3)] == ['InProgress'] * 3
    canceling = call(org, path, token, 'PATCH', json={'deployResult': {'status': 'Canceling'}})
    assert (canceling.status_code, canceling.json()['deployResult']['status']) == (202, 'Canceling')
    assert [(r['status'], r['done']) for r in (poll(org, token, deploy_id)['deployResult'] for _poll in range(2))] == [
        ('Canceling', False), ('Canceled', True)]
    again = call(org, path, token, 'PATCH', json={'deployResult': {'status': 'Canceling'}})
    assert (again.status_code, again.json()[0]['errorCode']) == (400, 'INVALID_ID_FIELD')
    assert org.data.permission_set_names() == set() and org.deploy_log()[0]['status'] == 'Canceled'


def test_deploy_needs_an_admin(fake_org_app):
    token = login(fake_org_app)['access_token']
    response = start_deploy(fake_org_app.org, token, make_zip(permission_set_file()))
    status = call(fake_org_app.org, API + '/metadata/deployRequest/0Af000000000001AAA', token)

    assert response.status_code == 403
    (error,) = response.json()
    assert error['errorCode'] == 'INSUFFICIENT_ACCESS' and 'Modify Metadata Through Metadata API Functions' in error['message']
    assert status.status_code == 403 and fake_org_app.org.deploy_log() == []


def _raw(org, token, body, content_type):
    return call(org, API + '/metadata/deployRequest', token, 'POST', data=body, headers={'Content-Type': content_type})


@pytest.mark.parametrize('send, error_code, message', [
    (lambda org, token: _raw(org, token, b'{"deployOptions": {}}', 'application/json'), 'INVALID_MULTIPART_REQUEST', 'multipart/form-data'),
    (lambda org, token: _raw(org, token, b'--b\r\nContent-Disposition: form-data; name="json"\r\n\r\n{}', 'multipart/form-data; boundary=b'),
     'INVALID_MULTIPART_REQUEST', 'not closed'),
    (lambda org, token: call(org, API + '/metadata/deployRequest', token, 'POST', files={'json': (None, '{}')}),
     'INVALID_MULTIPART_REQUEST', "no 'file' part"),
    (lambda org, token: start_deploy(org, token, make_zip({}), json_part='{not json'), 'JSON_PARSER_ERROR', 'not valid JSON'),
    (lambda org, token: start_deploy(org, token, make_zip({}), {'checkonly': True}), 'JSON_PARSER_ERROR', '"checkonly"'),
    (lambda org, token: start_deploy(org, token, make_zip({}), {'checkOnly': 'yes'}), 'JSON_PARSER_ERROR', 'boolean'),
    (lambda org, token: start_deploy(org, token, make_zip({}), {'testLevel': 'Everything'}), 'JSON_PARSER_ERROR', 'TestLevel'),
    (lambda org, token: start_deploy(org, token, b'PK\x03\x04 not a zip'), 'INVALID_MULTIPART_REQUEST', 'not a readable zip'),
])
def test_deploy_request_errors(fake_org_admin, send, error_code, message):
    response = send(fake_org_admin.org, login(fake_org_admin)['access_token'])
    assert response.status_code == 400
    (error,) = response.json()
    assert error['errorCode'] == error_code and message in error['message'], error


def test_unknown_deploy_id_is_404(fake_org_admin):
    response = call(fake_org_admin.org, API + '/metadata/deployRequest/0Af000000000001AAA', login(fake_org_admin)['access_token'])
    assert (response.status_code, response.json()[0]['errorCode']) == (404, 'NOT_FOUND')


def test_expire_session_next_ends_the_session_mid_poll(fake_org_admin):
    org = fake_org_admin.org
    token = login(fake_org_admin)['access_token']
    deploy_id = start_deploy(org, token, make_zip(permission_set_file())).json()['id']
    org.expire_session_next(1, path_prefix=API + '/metadata/deployRequest/')

    expired = call(org, '%s/metadata/deployRequest/%s' % (API, deploy_id), token)
    assert (expired.status_code, expired.json()) == (401, [{'message': 'Session expired or invalid', 'errorCode': 'INVALID_SESSION_ID'}])
    assert call(org, API + '/limits', token).status_code == 401   # the session is gone, not just that answer
    token = login(fake_org_admin)['access_token']
    assert [poll(org, token, deploy_id)['deployResult']['status'] for _poll in range(2)] == ['InProgress', 'Succeeded']

    assert admin(org, 'POST', 'faults', {'expire_session_next': {'count': 1, 'path_prefix': '/services/data'}})[0] == 200
    assert call(org, API + '/limits', token).status_code == 401


def test_admin_api_settings_and_deploy_log(fake_org_admin):
    org = fake_org_admin.org
    wanted = {'propagation_delay': 2, 'hold_deploys': True, 'deploy_polls_to_finish': 3, 'allow_oauth_secrets_via_metadata': False,
              'is_sandbox': True}
    status, settings = admin(org, 'POST', 'config', wanted)
    assert status == 200
    assert {k: settings[k] for k in wanted} == wanted
    assert admin(org, 'POST', 'config', {'deploy_polls_to_finish': 0, 'hold_deploys': False})[0] == 400
    assert org.hold_deploys is True
    admin(org, 'POST', 'config', {'hold_deploys': False, 'deploy_polls_to_finish': 1})
    token = login(fake_org_admin)['access_token']
    deploy_id = start_deploy(org, token, make_zip(permission_set_file()), {'checkOnly': True}).json()['id']
    assert poll(org, token, deploy_id)['deployResult']['status'] == 'Succeeded'   # the first poll finishes it

    status, log = admin(org, 'GET', 'deployments')
    assert status == 200 and [(d['id'], d['status'], d['deployOptions']) for d in log] == [(deploy_id, 'Succeeded', {'checkOnly': True})]
    status, stats = admin(org, 'GET', 'stats')
    assert (stats['admins'], stats['deployments']) == (['admin@example.com'], 1)

    org.restore_defaults()
    assert org.deploy_log() == [] and org.users == {} and org.apps == {}
    assert (org.propagation_delay, org.hold_deploys, org.deploy_polls_to_finish, org.allow_oauth_secrets_via_metadata, org.is_sandbox) == (
        0.0, False, 2, True, False)


def test_constructor_settings_are_the_defaults_restored(tmp_path):
    org = FakeOrg(tmp_path, account_count=0, propagation_delay=3, is_sandbox=True, organization_type='Developer Edition',
                  allow_oauth_secrets_via_metadata=False, deploy_polls_to_finish=1)
    org.is_sandbox = False
    org.propagation_delay = 0
    assert org.is_production is False   # a Developer Edition is a development environment
    org.restore_defaults()
    assert org.settings()['is_sandbox'] is True and org.propagation_delay == 3 and org.deploy_polls_to_finish == 1
    assert org.data.objects['Organization'].get(org.org_id)['OrganizationType'] == 'Developer Edition'


# -- command line -----------------------------------------------------------------------------------


def test_cli_starts_serves_and_stops_on_sigterm(tmp_path):
    key_pem, cert_pem = generate_key_and_certificate()
    (tmp_path / 'app.crt').write_bytes(cert_pem)
    ready_file = tmp_path / 'ready.json'
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    process = subprocess.Popen(
        [sys.executable, '-m', 'fake_org', '--workdir', str(tmp_path / 'org'), '--ready-file', str(ready_file),
         '--user', 'cli@example.com:P1,P2', '--app', 'CLIKEY0001:%s' % (tmp_path / 'app.crt'), '--accounts', '10'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        ready = json.loads(process.stdout.readline())
        assert json.loads(ready_file.read_text()) == ready
        assert ready['pid'] == process.pid and ready['url'].startswith('https://localhost:')

        assertion = jwt.encode({'iss': 'CLIKEY0001', 'sub': 'cli@example.com', 'aud': 'https://login.salesforce.com',
                                'exp': int(time.time()) + 180}, key_pem, algorithm='RS256')
        response = requests.post(ready['url'] + '/services/oauth2/token', data={'grant_type': JWT_BEARER, 'assertion': assertion},
                                 verify=ready['ca_path'], timeout=10)
        assert response.status_code == 200
        stats = requests.get(ready['url'] + '/_fake/stats', verify=ready['ca_path'], timeout=10).json()
        assert stats['token_requests_by_user'] == {'cli@example.com': 1}
    finally:
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert not ready_file.exists()


def test_cli_default_user(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    process = subprocess.Popen([sys.executable, '-m', 'fake_org', '--workdir', str(tmp_path), '--accounts', '0'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        ready = json.loads(process.stdout.readline())
        stats = requests.get(ready['url'] + '/_fake/stats', verify=ready['ca_path'], timeout=10).json()
        assert stats['users'] == ['integration@example.com']
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0


def test_cli_admin_identity_and_settings(tmp_path):
    ready_file = tmp_path / 'ready.json'
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
    process = subprocess.Popen(
        [sys.executable, '-m', 'fake_org', '--workdir', str(tmp_path / 'org'), '--accounts', '0', '--ready-file', str(ready_file),
         '--admin', 'admin@example.com', '--user', 'integration@example.com', '--propagation-delay', '0.5', '--sandbox',
         '--no-oauth-secrets-via-metadata'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        ready = json.loads(process.stdout.readline())
        assert json.loads(ready_file.read_text()) == ready
        key_path = Path(ready['admin']['private_key_path'])
        assert ready['admin'] == {'username': 'admin@example.com', 'consumer_key': 'SFJWTFAKEORGADMINAPP0001',
                                  'private_key_path': str(tmp_path.resolve() / 'org' / 'admin.key')}
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        assert (tmp_path / 'org' / 'admin.crt').read_text().startswith('-----BEGIN CERTIFICATE-----')

        assertion = jwt.encode({'iss': ready['admin']['consumer_key'], 'sub': 'admin@example.com', 'aud': 'https://test.salesforce.com',
                                'exp': int(time.time()) + 180}, key_path.read_bytes(), algorithm='RS256')
        token = requests.post(ready['url'] + '/services/oauth2/token', data={'grant_type': JWT_BEARER, 'assertion': assertion},
                              verify=ready['ca_path'], timeout=10).json()['access_token']
        started = requests.post(ready['url'] + API + '/metadata/deployRequest', headers={'Authorization': 'Bearer ' + token},
                                files={'json': (None, '{"deployOptions": {}}'), 'file': ('d.zip', make_zip(permission_set_file()))},
                                verify=ready['ca_path'], timeout=10)
        assert started.status_code == 201
        stats = requests.get(ready['url'] + '/_fake/stats', verify=ready['ca_path'], timeout=10).json()
        assert (stats['users'], stats['admins'], stats['permission_sets']) == (
            ['admin@example.com', 'integration@example.com'], ['admin@example.com'], [])
        assert {k: stats['settings'][k] for k in ('propagation_delay', 'is_sandbox', 'allow_oauth_secrets_via_metadata')} == {
            'propagation_delay': 0.5, 'is_sandbox': True, 'allow_oauth_secrets_via_metadata': False}
    finally:
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr


def test_tls_is_verified_against_the_fake_org_ca(fake_org, tmp_path):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(fake_org.url + '/services/data/', timeout=10, verify=True)
    # The server keeps serving other clients after a failed handshake.
    assert requests.get(fake_org.url + '/services/data/', verify=fake_org.ca_path, timeout=10).status_code == 200
    assert Path(fake_org.ca_path).read_text().startswith('-----BEGIN CERTIFICATE-----')
