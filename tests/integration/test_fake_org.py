# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake org behaves as ../shared/reference/salesforce-jwt.md describes Salesforce.

Plain HTTP clients (requests, PyJWT); no Ansible. Fixtures come from fake_org.pytest_plugin.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jwt
import pytest
import requests

from fake_org import FakeOrg
from fake_org.pytest_plugin import DEFAULT_PERMISSION_SET, generate_key_and_certificate

JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
TESTS_DIR = Path(__file__).resolve().parents[1]


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


# -- metadata mode --------------------------------------------------------------------------------

NS = 'http://soap.sforce.com/2006/04/metadata'


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _pem_body(cert_pem: bytes) -> str:
    return ''.join(line for line in cert_pem.decode().splitlines() if not line.startswith('-----'))


def test_metadata_dir_deploys_apps_on_every_token_request(tmp_path):
    key_pem, cert_pem = generate_key_and_certificate()
    project = tmp_path / 'project' / 'force-app' / 'main' / 'default'
    _write(project / 'extlClntAppGlobalOauthSets' / 'Jwt_glbloauth.ecaGlblOauth-meta.xml', f"""<?xml version="1.0" encoding="UTF-8"?>
<ExtlClntAppGlobalOauthSettings xmlns="{NS}">
    <callbackUrl>https://login.salesforce.com/services/oauth2/success</callbackUrl>
    <certificate>{_pem_body(cert_pem)}</certificate>
    <consumerKey>ECAKEY0001</consumerKey>
    <externalClientApplication>Jwt</externalClientApplication>
    <label>Jwt</label>
</ExtlClntAppGlobalOauthSettings>
""")
    _write(project / 'extlClntAppOauthPolicies' / 'Jwt_oauthPlcy.ecaOauthPlcy-meta.xml', f"""<?xml version="1.0" encoding="UTF-8"?>
<ExtlClntAppOauthConfigurablePolicies xmlns="{NS}">
    <commaSeparatedPermissionSet>Other, SFJWT_Integration</commaSeparatedPermissionSet>
    <externalClientApplication>Jwt</externalClientApplication>
    <label>Jwt</label>
    <permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>
</ExtlClntAppOauthConfigurablePolicies>
""")
    legacy = project / 'connectedApps' / 'Legacy.connectedApp-meta.xml'
    _write(legacy, f"""<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="{NS}">
    <contactEmail>admin@example.com</contactEmail>
    <label>Legacy</label>
    <oauthConfig>
        <callbackUrl>https://login.salesforce.com/services/oauth2/success</callbackUrl>
        <certificate>{cert_pem.decode()}</certificate>
        <consumerKey>LEGACYKEY0001</consumerKey>
        <isAdminApproved>true</isAdminApproved>
        <scopes>Api</scopes>
    </oauthConfig>
    <permissionSetName>SFJWT_Integration</permissionSetName>
</ConnectedApp>
""")
    _write(project / 'connectedApps' / 'NoNamespace.connectedApp-meta.xml',
           '<ConnectedApp><oauthConfig><consumerKey>NONSKEY0001</consumerKey></oauthConfig></ConnectedApp>')

    def assertion(consumer_key):
        return jwt.encode({'iss': consumer_key, 'sub': 'integration@example.com', 'aud': 'https://login.salesforce.com',
                           'exp': int(time.time()) + 180}, key_pem, algorithm='RS256')

    with FakeOrg(tmp_path / 'org', metadata_dir=tmp_path / 'project', account_count=0) as org:
        org.add_user('integration@example.com', permission_sets=['SFJWT_Integration'])
        assert post_token(org, assertion('ECAKEY0001')).status_code == 200
        assert post_token(org, assertion('LEGACYKEY0001')).status_code == 200
        assert post_token(org, assertion('NONSKEY0001')).json()['error'] == 'invalid_client_id'
        assert any('NoNamespace' in warning for warning in org.metadata_warnings)

        legacy.unlink()   # "undeployed": the next token request no longer knows it
        assert post_token(org, assertion('LEGACYKEY0001')).json()['error'] == 'invalid_client_id'

        org.metadata_dir = None
        assert post_token(org, assertion('ECAKEY0001')).json()['error'] == 'invalid_client_id'


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


def test_tls_is_verified_against_the_fake_org_ca(fake_org, tmp_path):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(fake_org.url + '/services/data/', timeout=10, verify=True)
    # The server keeps serving other clients after a failed handshake.
    assert requests.get(fake_org.url + '/services/data/', verify=fake_org.ca_path, timeout=10).status_code == 200
    assert Path(fake_org.ca_path).read_text().startswith('-----BEGIN CERTIFICATE-----')
