# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The REST client without a network: URLs, API version discovery, pagination, session renewal, errors."""

from __future__ import annotations

import functools
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, HttpError, InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import AuthOptions
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import (
    INSTANCE,
    INVALID_SESSION,
    NEW_TOKEN,
    TOKEN,
    FakeAuth,
    FakeHttp,
    bearer,
    make_response,
)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.local_tls_server import (
    answer_413_and_close, local_server, read_all_then_answer_413, too_large_messages)

VERSIONS = [{'label': "Summer '14", 'url': '/services/data/v31.0', 'version': '31.0'},
            {'label': "Winter '25", 'url': '/services/data/v62.0', 'version': '62.0'},
            {'label': "Spring '15", 'url': '/services/data/v33.0', 'version': '33.0'}]


def session_client(handler, api_version='62.0', auth=None, warnings=None):
    auth = auth or FakeAuth()
    credentials = rest.SessionCredentials(AuthOptions(), auth)
    http = FakeHttp(handler)
    client = rest.RestClient(credentials, http, api_version=api_version,
                             warn=(warnings.append if warnings is not None else None))
    return client, http, auth


# -- helpers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    (None, 'latest'), ('latest', 'latest'), ('LATEST', 'latest'), ('62.0', '62.0'), ('v62.0', '62.0'), (' 59.0 ', '59.0'),
    ('100.0', '100.0'),
])
def test_normalize_api_version_accepts(value, expected):
    assert rest.normalize_api_version(value) == expected


@pytest.mark.parametrize('value', ['62', '62.00', '62.0.1', 'v', 'newest', '6.0', '062.0', 62])
def test_normalize_api_version_refuses_with_the_form(value):
    with pytest.raises(InputError) as excinfo:
        rest.normalize_api_version(value)
    assert 'NN.N' in excinfo.value.msg


def test_latest_version_compares_numerically():
    assert rest.latest_version(VERSIONS) == '62.0'
    assert rest.latest_version([{'version': '9.0'}, {'version': '100.0'}, {'version': '62.0'}]) == '100.0'
    assert rest.latest_version([]) is None
    assert rest.latest_version({'not': 'a list'}) is None


@pytest.mark.parametrize('header, expected', [
    ('api-usage=10018/100000', {'used': 10018, 'max': 100000}),
    ('api-usage=18/5000, per-app-api-usage=17/250(appName=sample-connected-app)', {'used': 18, 'max': 5000}),
    ('per-app-api-usage=17/250(appName=x)', None),
    ('', None),
    (None, None),
])
def test_parse_limit_info(header, expected):
    assert rest.parse_limit_info(header) == expected


@pytest.mark.parametrize('url', ['http://acme.my.salesforce.com', 'acme.my.salesforce.com', '', 'https://acme.my.salesforce.com/x'])
def test_instance_url_must_be_an_https_origin(url):
    with pytest.raises(InputError):
        rest.normalize_instance_url(url)


def test_instance_url_trailing_slash_dropped():
    assert rest.normalize_instance_url('https://acme.my.salesforce.com/') == INSTANCE


def test_encode_body():
    assert json.loads(rest.encode_body({'Name': 'Acme & "Co"'})) == {'Name': 'Acme & "Co"'}
    assert rest.encode_body('{"Name": "Acme"}') == '{"Name": "Acme"}'
    assert rest.encode_body(None) is None
    with pytest.raises(InputError) as excinfo:
        rest.encode_body('Name=Acme')
    assert 'not valid JSON' in excinfo.value.msg


@pytest.mark.parametrize('body, message', [
    ('[' * 100000, 'body is a string but not valid JSON (arrays or objects nested too deeply to read); give the body as a '
                   'mapping or as JSON text.'),
    (functools.reduce(lambda inner, dummy: [inner], range(100000), []), 'body cannot be encoded as JSON: it is nested too deeply.'),
])
def test_a_body_nested_too_deeply_is_refused_by_name(body, message):
    with pytest.raises(InputError) as excinfo:
        rest.encode_body(body)
    assert excinfo.value.msg == message


def test_rest_http_session_retries_statuses_only_for_idempotent_methods():
    session = rest.build_rest_http_session(AuthOptions(retries=2))
    retry = session.get_adapter('https://').max_retries
    assert retry.total == 2
    assert 'GET' in retry.allowed_methods and 'PUT' in retry.allowed_methods
    assert 'POST' not in retry.allowed_methods and 'PATCH' not in retry.allowed_methods


# -- URLs ------------------------------------------------------------------------------------------------

def test_paths_relative_absolute_and_urls():
    client, http, dummy = session_client(lambda call: make_response(200, {}))
    assert client.resolve('limits') == INSTANCE + '/services/data/v62.0/limits'
    assert client.resolve('/sobjects/Account') == INSTANCE + '/services/data/v62.0/sobjects/Account'
    assert client.resolve('/services/apexrest/Orders') == INSTANCE + '/services/apexrest/Orders'
    with pytest.raises(InputError) as excinfo:
        client.resolve('https://evil.example.com/services/data/')
    assert 'is a URL' in excinfo.value.msg
    with pytest.raises(InputError):
        client.resolve('  ')
    assert http.calls == []


@pytest.mark.parametrize('path, expected', [
    ('sobjects/../limits', '/services/data/v62.0/limits'),
    ('./sobjects//Account/', '/services/data/v62.0/sobjects/Account/'),
    ('sobjects/Account/Ext__c/A%2FB', '/services/data/v62.0/sobjects/Account/Ext__c/A%2FB'),
    ('query?q=SELECT+Id+FROM+Account+WHERE+Name=%27O\\%27Brien%27', "/services/data/v62.0/query?q=SELECT+Id+FROM+Account+WHERE+Name=%27O\\%27Brien%27"),
    ('/services/data/v62.0/../../apexrest/Orders', '/services/apexrest/Orders'),
    ('/services/data/', '/services/data/'),
    ('/services', '/services'),
    ('/services/', '/services/'),
    ('/services?x=1', '/services?x=1'),
    ('/services/data/..', '/services/'),
])
def test_paths_are_normalised(path, expected):
    client, http, dummy = session_client(lambda call: make_response(200, {}))
    assert client.resolve(path) == INSTANCE + expected
    assert http.calls == []


@pytest.mark.parametrize('path, base', [
    ('../../../x', '/services/data/vNN.N/'),
    ('../limits', '/services/data/vNN.N/'),
    ('sobjects/../../x', '/services/data/vNN.N/'),
    ('%2e%2e/%2E%2E/%2e%2e/x', '/services/data/vNN.N/'),
    ('.%2e/x', '/services/data/vNN.N/'),
    ('%252e%252e/x', '/services/data/vNN.N/'),
    ('sobjects%2f..%2f..%2f..%2fx', '/services/data/vNN.N/'),
    ('..;/x', '/services/data/vNN.N/'),
    ('/../../x', '/services/data/vNN.N/'),
    ('/services/../x', '/services/'),
    ('/services/data/../../secur/frontdoor.jsp', '/services/'),
    ('/services/%2e%2e/x', '/services/'),
], ids=lambda value: value)
def test_paths_that_climb_out_are_refused(path, base):
    client, http, dummy = session_client(lambda call: make_response(200, {}))
    with pytest.raises(InputError) as excinfo:
        client.call('GET', path)
    message = excinfo.value.msg
    assert message.startswith('path %r climbs out of %s' % (path, base))
    assert ('/services/apexrest/Orders' in message) and ('limits' in message or base == '/services/')
    assert http.calls == []


@pytest.mark.parametrize('path, problem', [
    ('sobjects/Account\n/x', 'control character'),
    ('sobjects/Acc\x00ount', 'control character'),
    ('sobjects/Account%0d%0aX-Evil:1', 'control character'),
    ('sobjects\\..\\..\\x', 'backslash'),
    ('sobjects/%5c..%5cx', 'backslash'),
    ('/services\\data', 'backslash'),
], ids=repr)
def test_control_characters_and_backslashes_in_paths_are_refused(path, problem):
    client, http, dummy = session_client(lambda call: make_response(200, {}))
    with pytest.raises(InputError) as excinfo:
        client.call('GET', path)
    assert excinfo.value.msg.startswith('path %r holds a %s' % (path, problem))
    assert http.calls == []


# -- calls -----------------------------------------------------------------------------------------------

def test_get_returns_json_and_limit_info_and_sends_the_bearer_token():
    limits = {'DailyApiRequests': {'Max': 5000, 'Remaining': 4937}}
    client, http, dummy = session_client(lambda call: make_response(200, limits, headers={'Sforce-Limit-Info': 'api-usage=63/5000'}))
    result = client.call('GET', 'limits')
    assert result['changed'] is False
    assert result['status'] == 200
    assert result['json'] == limits
    assert result['limit_info'] == {'used': 63, 'max': 5000}
    assert result['api_version'] == '62.0'
    assert result['url'] == INSTANCE + '/services/data/v62.0/limits'
    assert TOKEN not in json.dumps(result)
    call = http.calls[0]
    assert call['headers']['Authorization'] == 'Bearer ' + TOKEN
    assert call['headers']['Accept'] == 'application/json'
    assert 'Content-Type' not in call['headers']
    # The CA bundle is passed per request: requests would let REQUESTS_CA_BUNDLE override a session's verify.
    assert call['verify'] == '/path/to/ca.pem'


def test_post_sends_json_and_reports_changed():
    client, http, dummy = session_client(lambda call: make_response(201, {'id': '001xx0000000001AAA', 'success': True, 'errors': []}))
    result = client.call('POST', 'sobjects/Account', body={'Name': 'Acme'})
    assert result['changed'] is True
    assert result['status'] == 201
    assert json.loads(http.calls[0]['data']) == {'Name': 'Acme'}
    assert http.calls[0]['headers']['Content-Type'] == 'application/json'


def test_patch_204_no_content():
    client, dummy, dummy2 = session_client(lambda call: make_response(204))
    result = client.call('PATCH', 'sobjects/Account/001xx0000000001AAA', body={'Industry': 'Energy'})
    assert result == dict(result, changed=True, status=204, json=None)
    assert 'content' not in result


def test_accepted_error_status_is_not_a_change():
    client, dummy, dummy2 = session_client(lambda call: make_response(404, [{'errorCode': 'NOT_FOUND', 'message': 'gone'}]))
    result = client.call('DELETE', 'sobjects/Account/001xx0000000001AAA', accepted=[204, 404])
    assert result['changed'] is False
    assert result['status'] == 404


def test_check_mode_does_not_send_writes():
    client, http, dummy = session_client(lambda call: pytest.fail('nothing may be sent'))
    result = client.call('POST', 'sobjects/Account', params={'a': 'b c'}, body={'Name': 'Acme'}, check_mode=True)
    assert result['changed'] is True
    assert result['status'] is None
    assert result['url'] == INSTANCE + '/services/data/v62.0/sobjects/Account?a=b+c'
    assert http.calls == []


def test_check_mode_still_reads():
    client, http, dummy = session_client(lambda call: make_response(200, {'ok': True}))
    result = client.call('GET', 'limits', check_mode=True)
    assert result['json'] == {'ok': True}
    assert len(http.calls) == 1


def test_body_refused_for_reads():
    client, http, dummy = session_client(lambda call: make_response(200, {}))
    with pytest.raises(InputError) as excinfo:
        client.call('GET', 'limits', body={'x': 1})
    assert 'body is sent only with' in excinfo.value.msg
    assert http.calls == []


def test_error_quotes_salesforce_error_code_and_message():
    body = [{'message': "No such column 'Nme' on entity 'Account'.", 'errorCode': 'INVALID_FIELD', 'fields': ['Nme']}]
    client, dummy, dummy2 = session_client(lambda call: make_response(400, body))
    with pytest.raises(ApiError) as excinfo:
        client.call('POST', 'sobjects/Account', body={'Nme': 'x'})
    error = excinfo.value
    assert error.msg.startswith('POST /services/data/v62.0/sobjects/Account answered HTTP 400 (accepted: 200, 201, 204) with ')
    assert "INVALID_FIELD: No such column 'Nme' on entity 'Account'. (fields: Nme)" in error.msg
    assert error.details['status'] == 400
    assert error.details['errors'] == [{'errorCode': 'INVALID_FIELD', 'message': body[0]['message'], 'fields': ['Nme']}]
    assert TOKEN not in error.msg


def test_html_maintenance_page_is_described_by_its_title():
    page = b'<!DOCTYPE html><html><head><title>Salesforce - Maintenance</title></head><body>' + b'x' * 100000 + b'</body></html>'
    client, dummy, dummy2 = session_client(lambda call: make_response(503, page, content_type='text/html'))
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'limits')
    assert 'HTTP 503' in excinfo.value.msg
    assert 'an HTML page titled "Salesforce - Maintenance"' in excinfo.value.msg
    assert len(excinfo.value.msg) < 500


def test_non_json_body_returned_as_content_and_cut(monkeypatch):
    monkeypatch.setattr(rest, 'MAX_CONTENT_CHARS', 10)
    warnings = []
    client, dummy, dummy2 = session_client(lambda call: make_response(200, b'a,b,c\n1,2,3\n4,5,6\n', content_type='text/csv'),
                                           warnings=warnings)
    result = client.call('GET', '/services/data/v62.0/jobs/query/750xx/results')
    assert result['json'] is None
    assert result['content'] == 'a,b,c\n1,2,'
    assert result['content_truncated'] is True
    assert result['content_type'] == 'text/csv'
    assert warnings and 'characters' in warnings[0]


def test_invalid_json_with_a_json_content_type_fails_cleanly():
    client, dummy, dummy2 = session_client(lambda call: make_response(200, b'{"truncated": ', content_type='application/json'))
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'limits')
    assert 'not valid JSON' in excinfo.value.msg


@pytest.mark.parametrize('accepted, message', [
    ((200,), 'GET /services/data/v62.0/limits answered HTTP 200, but the body is not valid JSON (RecursionError).'),
    ((500,), 'GET /services/data/v62.0/limits answered HTTP 200 (accepted: 500) with application/json: [[[['),
])
def test_json_nested_deeper_than_python_parses_fails_cleanly(accepted, message):
    """A hostile answer: a RecursionError while decoding is an answer that is not JSON, not an unexpected error."""
    client, dummy, dummy2 = session_client(lambda call: make_response(200, b'[' * 100000 + b']' * 100000))
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'limits', accepted=accepted)
    assert excinfo.value.msg.startswith(message)
    assert len(excinfo.value.msg) < 1000


def test_head_has_no_body():
    client, dummy, dummy2 = session_client(lambda call: make_response(200, None, headers={'Sforce-Limit-Info': 'api-usage=1/10'}))
    result = client.call('HEAD', 'limits')
    assert result['changed'] is False and result['json'] is None and result['limit_info'] == {'used': 1, 'max': 10}


def test_unsupported_method():
    client, dummy, dummy2 = session_client(lambda call: make_response(200, {}))
    with pytest.raises(InputError):
        client.call('TRACE', 'limits')


# -- session renewal -------------------------------------------------------------------------------------

def test_invalid_session_is_renewed_once_and_the_call_repeated():
    def handler(call):
        if bearer(call) == TOKEN:
            return make_response(401, INVALID_SESSION)
        return make_response(200, {'ok': True})
    warnings = []
    client, http, auth = session_client(handler, warnings=warnings)
    result = client.call('GET', 'limits')
    assert result['json'] == {'ok': True}
    assert [bearer(c) for c in http.calls] == [TOKEN, NEW_TOKEN]
    assert auth.invalidated == [TOKEN]
    assert auth.minted == 2
    assert any('INVALID_SESSION_ID' in w for w in warnings)


def test_a_second_invalid_session_is_reported_not_retried_again():
    client, http, auth = session_client(lambda call: make_response(401, INVALID_SESSION))
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'limits')
    assert len(http.calls) == 2
    assert auth.minted == 2
    assert 'INVALID_SESSION_ID: Session expired or invalid' in excinfo.value.msg
    assert 'freshly minted session' in excinfo.value.msg
    assert NEW_TOKEN not in excinfo.value.msg and TOKEN not in excinfo.value.msg


def test_other_401_is_reported_without_renewal():
    body = [{'message': 'This session is not valid for use with the REST API', 'errorCode': 'INVALID_SESSION_ID_FOR_REST'}]
    client, http, auth = session_client(lambda call: make_response(401, body))
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'limits')
    assert len(http.calls) == 1
    assert auth.invalidated == []
    assert 'This session is not valid for use with the REST API' in excinfo.value.msg
    assert 'not retried' in excinfo.value.msg


def test_static_token_is_not_renewed():
    credentials = rest.StaticCredentials(TOKEN, INSTANCE + '/')
    http = FakeHttp(lambda call: make_response(401, INVALID_SESSION))
    client = rest.RestClient(credentials, http, api_version='62.0')
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'limits')
    assert len(http.calls) == 1
    assert 'rejected the access_token given' in excinfo.value.msg
    assert TOKEN not in excinfo.value.msg


def test_renewal_keeps_the_discovered_version_with_the_new_session():
    def handler(call):
        if call['path'] == '/services/data/':
            return make_response(200, VERSIONS)
        if bearer(call) == TOKEN:
            return make_response(401, INVALID_SESSION)
        return make_response(200, {})
    client, http, auth = session_client(handler, api_version='latest')
    client.call('GET', 'limits')
    assert auth.updates == [{'api_version': '62.0'}, {'api_version': '62.0'}]
    assert http.paths().count(('GET', '/services/data/')) == 1


def test_renewal_keeps_a_version_that_came_from_the_cache():
    def handler(call):
        if bearer(call) == TOKEN:
            return make_response(401, INVALID_SESSION)
        return make_response(200, {})
    client, http, auth = session_client(handler, api_version='latest', auth=FakeAuth(extra={'api_version': '60.0'}))
    assert client.call('GET', 'limits')['api_version'] == '60.0'
    assert http.paths() == [('GET', '/services/data/v60.0/limits'), ('GET', '/services/data/v60.0/limits')]
    assert auth.updates == [{'api_version': '60.0'}]


# -- API version -----------------------------------------------------------------------------------------

def test_latest_version_discovered_once_and_kept_with_the_session():
    def handler(call):
        if call['path'] == '/services/data/':
            assert 'Authorization' not in call['headers']
            return make_response(200, VERSIONS)
        return make_response(200, {})
    client, http, auth = session_client(handler, api_version='latest')
    assert client.call('GET', 'limits')['api_version'] == '62.0'
    client.call('GET', 'sobjects')
    assert http.paths() == [('GET', '/services/data/'), ('GET', '/services/data/v62.0/limits'), ('GET', '/services/data/v62.0/sobjects')]
    assert auth.updates == [{'api_version': '62.0'}]

    # A later client (another task) with the same cached session does not ask again.
    client2, http2, dummy = session_client(handler, api_version='latest', auth=auth)
    assert client2.call('GET', 'limits')['api_version'] == '62.0'
    assert http2.paths() == [('GET', '/services/data/v62.0/limits')]


def test_fixed_version_does_not_discover():
    client, http, auth = session_client(lambda call: make_response(200, {}), api_version='59.0')
    assert client.call('GET', 'limits')['api_version'] == '59.0'
    assert http.paths() == [('GET', '/services/data/v59.0/limits')]
    assert auth.updates == []


def test_absolute_path_needs_no_version():
    client, http, dummy = session_client(lambda call: make_response(200, VERSIONS), api_version='latest')
    result = client.call('GET', '/services/data/')
    assert http.paths() == [('GET', '/services/data/')]
    assert result['api_version'] is None


def test_discovery_failure_says_how_to_pin_the_version():
    client, dummy, dummy2 = session_client(lambda call: make_response(503, b'<html><title>Down</title></html>', content_type='text/html'),
                                           api_version='latest')
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'limits')
    assert 'Cannot discover the latest API version' in excinfo.value.msg
    assert 'api_version to a fixed version' in excinfo.value.msg


# -- queries ---------------------------------------------------------------------------------------------

def paged_query_handler(total, batch):
    records = [{'attributes': {'type': 'Account'}, 'Id': '001%015d' % i, 'Name': 'Account %d' % i} for i in range(total)]

    def page(offset):
        chunk = records[offset:offset + batch]
        body = {'totalSize': total, 'done': offset + batch >= total, 'records': chunk}
        if not body['done']:
            body['nextRecordsUrl'] = '/services/data/v62.0/query/01gxx0000000001AAA-%d' % (offset + batch)
        return body

    def handler(call):
        if call['path'] in ('/services/data/v62.0/query', '/services/data/v62.0/queryAll'):
            return make_response(200, page(0), headers={'Sforce-Limit-Info': 'api-usage=1/100'})
        offset = int(call['path'].rsplit('-', 1)[1])
        return make_response(200, page(offset), headers={'Sforce-Limit-Info': 'api-usage=%d/100' % (offset // batch + 1)})
    return handler, records


def test_query_follows_next_records_url_until_done():
    handler, records = paged_query_handler(4500, 2000)
    client, http, dummy = session_client(handler)
    result = client.query('SELECT Id, Name FROM Account')
    assert result['records'] == records
    assert result['total_size'] == 4500
    assert result['pages'] == 3
    assert result['done'] is True
    assert result['changed'] is False
    assert result['limit_info'] == {'used': 3, 'max': 100}
    assert http.paths() == [('GET', '/services/data/v62.0/query'),
                            ('GET', '/services/data/v62.0/query/01gxx0000000001AAA-2000'),
                            ('GET', '/services/data/v62.0/query/01gxx0000000001AAA-4000')]
    assert parse_qs(urlsplit(result['url']).query) == {'q': ['SELECT Id, Name FROM Account']}


def test_query_all_uses_the_query_all_resource():
    handler, records = paged_query_handler(3, 2000)
    client, http, dummy = session_client(handler)
    result = client.query('SELECT Id FROM Account', query_all=True)
    assert len(result['records']) == 3
    assert http.paths() == [('GET', '/services/data/v62.0/queryAll')]


def test_query_renews_an_invalid_session_between_pages():
    handler, records = paged_query_handler(4001, 2000)

    def revoking(call):
        if '-2000' in call['path'] and bearer(call) == TOKEN:
            return make_response(401, INVALID_SESSION)
        return handler(call)
    client, http, auth = session_client(revoking)
    result = client.query('SELECT Id FROM Account')
    assert result['records'] == records
    assert [bearer(c) for c in http.calls] == [TOKEN, TOKEN, NEW_TOKEN, NEW_TOKEN]


def test_query_error_quotes_salesforce():
    body = [{'message': "unexpected token: 'FORM'", 'errorCode': 'MALFORMED_QUERY'}]
    client, dummy, dummy2 = session_client(lambda call: make_response(400, body))
    with pytest.raises(ApiError) as excinfo:
        client.query('SELECT Id FORM Account')
    assert "MALFORMED_QUERY: unexpected token: 'FORM'" in excinfo.value.msg


def test_query_that_never_finishes_is_stopped():
    def handler(call):
        return make_response(200, {'totalSize': 5, 'done': False, 'records': [{'Id': 'x'}],
                                   'nextRecordsUrl': '/services/data/v62.0/query/01gSAME-1'})
    client, http, dummy = session_client(handler)
    with pytest.raises(ApiError) as excinfo:
        client.query('SELECT Id FROM Account')
    assert 'did not finish' in excinfo.value.msg
    assert len(http.calls) == 2


def test_query_answer_that_is_not_a_query_result():
    client, dummy, dummy2 = session_client(lambda call: make_response(200, {'unexpected': True}))
    with pytest.raises(ApiError) as excinfo:
        client.query('SELECT Id FROM Account')
    assert 'not a query result' in excinfo.value.msg


@pytest.mark.parametrize('page, problem', [
    ({'totalSize': 3, 'done': False, 'records': [{'Id': 'a'}], 'nextRecordsUrl': ['/services/data/v62.0/query/01g-1']},
     'nextRecordsUrl is a list, not a string'),
    ({'totalSize': 3, 'done': False, 'records': [{'Id': 'a'}], 'nextRecordsUrl': {'url': '/x'}},
     'nextRecordsUrl is an object, not a string'),
    ({'totalSize': 3, 'done': False, 'records': [{'Id': 'a'}], 'nextRecordsUrl': 2000},
     'nextRecordsUrl is a number, not a string'),
    ({'totalSize': 3, 'done': False, 'records': [{'Id': 'a'}]}, 'done is false but there is no nextRecordsUrl'),
    ({'totalSize': 1, 'done': 'false', 'records': [{'Id': 'a'}]}, 'done is a string, not true or false'),
    ({'totalSize': '1', 'done': True, 'records': [{'Id': 'a'}]}, 'totalSize is a string, not a whole number'),
    ({'totalSize': True, 'done': True, 'records': [{'Id': 'a'}]}, 'totalSize is a boolean, not a whole number'),
], ids=['list url', 'object url', 'number url', 'no url', 'string done', 'string total', 'boolean total'])
def test_query_answer_with_wrong_types_fails_cleanly(page, problem):
    client, http, dummy = session_client(lambda call: make_response(200, page))
    with pytest.raises(ApiError) as excinfo:
        client.query('SELECT Id FROM Account')
    assert excinfo.value.msg == ('GET /services/data/v62.0/query answered HTTP 200 with an answer that is not a Salesforce '
                                 'query result: %s. Check that instance_url is the instance returned with the access '
                                 'token; a proxy or another service may be answering.' % problem)
    assert len(http.calls) == 1


def test_query_items_that_are_not_records_are_left_out_with_a_warning():
    """Callers (record, record_info, metadata_deploy) get dicts only; the user is told what was left out."""
    page = {'totalSize': 3, 'done': True, 'records': [{'Id': 'a'}, 'b', None, {'Id': 'c'}, ['d']]}
    warnings = []
    client, http, dummy = session_client(lambda call: make_response(200, page), warnings=warnings)
    result = client.query('SELECT Id FROM Account')
    assert result['records'] == [{'Id': 'a'}, {'Id': 'c'}]
    assert warnings == ['GET /services/data/v62.0/query answered 3 items that are not records (objects) in records, left out: '
                        'records[1] is a string, records[2] is null, records[4] is a list.']


@pytest.mark.parametrize('next_url', ['../../../../x', '/services/../secur/frontdoor.jsp', '/services/data/v62.0/%2e%2e/%2e%2e/%2e%2e/x',
                                      '/services/data/v62.0/query/01g\r\nX: 1'])
def test_query_next_records_url_that_leaves_services_is_refused(next_url):
    page = {'totalSize': 3, 'done': False, 'records': [{'Id': 'a'}], 'nextRecordsUrl': next_url}
    client, http, dummy = session_client(lambda call: make_response(200, page))
    with pytest.raises(ApiError) as excinfo:
        client.query('SELECT Id FROM Account')
    assert excinfo.value.msg.startswith('GET /services/data/v62.0/query answered HTTP 200 with an answer that is not a '
                                        'Salesforce query result: nextRecordsUrl %r ' % next_url)
    assert len(http.calls) == 1


# -- a body over Salesforce's size limit, against a local TLS server ----------------------------------------

@pytest.fixture
def refuses_large_bodies():
    """An instance that answers 413 after the request headers and hangs up, as Salesforce does with a body over its
    limit; yields (instance_url, CA file)."""
    with local_server(answer_413_and_close) as server:
        yield server


def test_body_too_large_is_reported_as_such(refuses_large_bodies):
    instance_url, ca_path = refuses_large_bodies
    http = rest.build_rest_http_session(AuthOptions(ca_path=ca_path, retries=3, timeout=10))
    client = rest.RestClient(rest.StaticCredentials(TOKEN, instance_url), http, api_version='62.0')
    body = {'Name': 'Huge', 'Description': 'x' * (16 * 1024 * 1024)}
    size = len(json.dumps(body))
    with pytest.raises((HttpError, ApiError)) as excinfo:
        client.call('POST', 'sobjects/Account', body=body)
    # the connection breaks while sending (no answer), or (Python 3.13) the 413 answer is read after that
    size_text = '%d bytes, 16.0 MiB' % size
    if isinstance(excinfo.value, HttpError):
        assert excinfo.value.msg in too_large_messages(instance_url, size_text, attempts=4)
    else:
        assert excinfo.value.msg == too_large_answer(size_text)
    assert TOKEN not in excinfo.value.msg


def too_large_answer(size_text):
    return ('POST /services/data/v62.0/sobjects/Account answered HTTP 413 (accepted: 200, 201, 204) with '
            'REQUEST_ENTITY_TOO_LARGE: the request body is too large. The request body (%s) is too large for Salesforce: '
            'send less data per request (split the records over several calls; upload large files in parts).' % size_text)


def test_a_413_answer_names_the_body_size_and_the_fix():
    """A proxy that reads the whole request before it refuses it: the answer arrives on every Python."""
    with local_server(read_all_then_answer_413) as (instance_url, ca_path):
        http = rest.build_rest_http_session(AuthOptions(ca_path=ca_path, retries=3, timeout=10))
        client = rest.RestClient(rest.StaticCredentials(TOKEN, instance_url), http, api_version='62.0')
        with pytest.raises(ApiError) as excinfo:
            client.call('POST', 'sobjects/Account', body={'Name': 'x' * 2000})
    assert excinfo.value.msg == too_large_answer('%d bytes' % len(json.dumps({'Name': 'x' * 2000})))
    assert excinfo.value.details['status'] == 413


def endless_pages(total_size, records_per_page=1):
    """A server that always has another page, each with a fresh nextRecordsUrl."""
    def handler(call):
        number = int(call['path'].rsplit('-', 1)[1]) if '-' in call['path'] else 0
        return make_response(200, {'totalSize': total_size, 'done': False,
                                   'records': [{'Id': '001%015d' % (number * 10 + i)} for i in range(records_per_page)],
                                   'nextRecordsUrl': '/services/data/v62.0/query/01gNEXT-%d' % (number + 1)})
    return handler


@pytest.mark.parametrize('total_size, per_page, calls, broken', [
    (5, 1, 5, 'it announced totalSize 5, and after 5 records it still has more (page 5)'),
    (4500, 2000, 3, 'it announced totalSize 4500, and after 6000 records it still has more (page 3)'),
    (10, 0, 1, 'a page that is not the last held no records (page 1)'),
])
def test_query_pages_stop_where_total_size_says(total_size, per_page, calls, broken):
    client, http, dummy = session_client(endless_pages(total_size, per_page))
    with pytest.raises(ApiError) as excinfo:
        client.query('SELECT Id FROM Account')
    assert excinfo.value.msg == (
        'The query did not finish as Salesforce pages do: %s. A proxy or another service may be answering: check that '
        'instance_url is the instance returned with the access token.' % broken)
    assert len(http.calls) == calls


def test_query_pages_stop_at_the_page_cap(monkeypatch):
    monkeypatch.setattr(rest, 'MAX_QUERY_PAGES', 4)
    client, http, dummy = session_client(endless_pages(10 ** 9, 3))
    with pytest.raises(ApiError) as excinfo:
        client.query('SELECT Id FROM Account')
    assert excinfo.value.msg == ('The query did not finish within 4 pages (12 records so far, of 1000000000 announced): '
                                 'narrow it (a WHERE clause, a LIMIT) or page through it in several queries.')
    assert len(http.calls) == 4
