# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Server text in messages (module_utils/core/_text): escape sequences, fake lines, C1 controls and bidi overrides are
shown escaped wherever Salesforce's words reach a message: the token request (the token module, the lookup and every
module that logs in), the REST client (rest, record_info) and the record writes (record)."""

from __future__ import annotations

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _answers as answers
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import AuthOptions
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.auth_helpers import (
    error_message,
    make_options,
    refusal,
)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeAuth, FakeHttp, make_response, response

# Clear screen, set the window title, a fake line of Ansible output, a C1 CSI, a bidi override and a zero-width space.
HOSTILE = 'bad\x1b[2J\x1b]0;owned\x07\r\nok: [localhost]\x9b31m\u202eevil\u200b'
SHOWN = 'bad\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aok: [localhost]\\x9b31m\\u202eevil\\u200b'


def test_printable_escapes_what_drives_a_terminal_and_keeps_the_rest():
    assert printable(HOSTILE) == SHOWN
    assert printable('caf\u00e9 \u00fc\u00df \u4e2d\u6587 \\x1b tab\there') == 'caf\u00e9 \u00fc\u00df \u4e2d\u6587 \\x1b tab\\x09here'
    assert printable('\u2028\u2029\x00\x7f\U000e0001') == '\\u2028\\u2029\\x00\\x7f\\U000e0001'
    assert printable(printable(HOSTILE)) == SHOWN
    assert printable(None) is None and printable(12) == '12'


def test_the_doctor_report_uses_the_same_helper():
    from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor import _doctor_report
    assert _doctor_report.printable is printable


# -- the token request: token module, lookup, every module that logs in ---------------------------------------

def test_a_token_refusal_quotes_salesforce_words_escaped(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_client_id', HOSTILE),))
    message = error_message(options)
    assert message == ('Salesforce at https://login.salesforce.com does not know the consumer key 3MVG9unitTestConsumerKey '
                       '(invalid_client_id: %s). Check that consumer_key is the app\'s Consumer Key and that login_url points '
                       'at the org that has the app; a new app can take up to 10 minutes to become usable.' % SHOWN)


def test_a_token_refusal_error_code_is_escaped_too(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('x\x1b[2J', 'y\u202e', status=401),))
    assert error_message(options) == ('Salesforce at https://login.salesforce.com refused the token request for user '
                                      'integration@acme.example and consumer key 3MVG9unitTestConsumerKey with HTTP 401 '
                                      '(x\\x1b[2J: y\\u202e).')


def test_a_maintenance_page_title_and_reason_phrase_are_escaped(tmp_path, key_path):
    page = response(503, text='<html><title>Down\x1b[2J&#x202e;\x07</title></html>', content_type='text/html',
                    reason='Unavailable\x1b]0;t\x07')
    options = make_options(tmp_path, key_path, answers=(page,) * 5, retries=0)
    assert error_message(options) == (
        'Salesforce\'s token endpoint https://login.salesforce.com answered HTTP 503 Unavailable\\x1b]0;t\\x07, a page titled '
        '"Down\\x1b[2J\\u202e\\x07". Salesforce may be down for maintenance or having an incident (see '
        'https://status.salesforce.com); try again later, or raise retries.')


def test_a_token_answer_that_is_not_json_escapes_its_content_type(tmp_path, key_path):
    answer = response(400, text='nope', content_type='text/plain\x1b[2J')
    options = make_options(tmp_path, key_path, answers=(answer,))
    assert error_message(options) == ('https://login.salesforce.com answered the token request with HTTP 400 and a body that '
                                      'is not JSON (text/plain\\x1b[2J, 4 bytes). Check that login_url is a Salesforce token '
                                      'host.')


def test_the_refusal_details_hold_the_escaped_words():
    assert answers.oauth_error({'error': 'invalid_grant\r\n', 'error_description': HOSTILE}) == ('invalid_grant\\x0d\\x0a', SHOWN)


# -- the REST client: rest, record_info ------------------------------------------------------------------------

def client_answering(answer):
    credentials = rest.SessionCredentials(AuthOptions(), FakeAuth())
    return rest.RestClient(credentials, FakeHttp(lambda call: answer), api_version='62.0')


def test_a_rest_error_quotes_salesforce_words_escaped():
    client = client_answering(make_response(400, [{'errorCode': 'INVALID\x1b[2J', 'message': HOSTILE, 'fields': ['F\u202e']}]))
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'sobjects/Account')
    assert excinfo.value.msg == ('GET /services/data/v62.0/sobjects/Account answered HTTP 400 (accepted: 200, 201, 204) with '
                                 'INVALID\\x1b[2J: %s (fields: F\\u202e).' % SHOWN)
    # The result's errors too: Ansible shows a failed task's result.
    assert excinfo.value.details['errors'] == [{'errorCode': 'INVALID\\x1b[2J', 'message': SHOWN, 'fields': ['F\\u202e']}]


def test_a_rest_redirect_escapes_its_location():
    client = client_answering(make_response(302, headers={'Location': '/x\r\nok: [localhost]\x1b[2J'}))
    with pytest.raises(ApiError) as excinfo:
        client.call('GET', 'sobjects/Account')
    assert excinfo.value.msg.endswith(' Salesforce redirected to /x\\x0d\\x0aok: [localhost]\\x1b[2J; use that path.')


def test_a_query_error_quotes_salesforce_words_escaped():
    client = client_answering(make_response(400, [{'errorCode': 'MALFORMED_QUERY', 'message': HOSTILE}]))
    with pytest.raises(ApiError) as excinfo:
        client.query('SELECT Id FROM Account')
    assert excinfo.value.msg == ('GET /services/data/v62.0/query answered HTTP 400 (accepted: 200, 201, 204) with '
                                 'MALFORMED_QUERY: %s.' % SHOWN)


def test_a_describe_error_quotes_a_page_title_escaped():
    page = response(500, text='<html><head><title>Err\x1b]0;t\x07 &#x202e;x</title></head></html>', content_type='text/html')
    client = client_answering(page)
    with pytest.raises(ApiError) as excinfo:
        client.describe('Account')
    assert 'an HTML page titled "Err\\x1b]0;t\\x07 \\u202ex" (maintenance or an error page)' in excinfo.value.msg
    assert '\x1b' not in excinfo.value.msg and '\u202e' not in excinfo.value.msg
