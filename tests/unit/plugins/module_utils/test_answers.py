# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading Salesforce's answers (module_utils/core/_answers): status, JSON bodies, both error shapes, what anything else is."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _answers as answers
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import response

REST_ERRORS = [{'errorCode': 'INVALID_FIELD', 'message': "No such column 'Foo'", 'fields': ['Foo', 'Bar']},
               {'errorCode': 'MALFORMED_QUERY', 'message': 'unexpected token'}]
OAUTH_ERROR = {'error': 'invalid_grant', 'error_description': 'user hasn\'t approved this consumer'}
DEEP = '[' * 100000 + ']' * 100000
HUGE_NUMBER = '1' * 5000


@pytest.fixture
def timezone(monkeypatch):
    """timezone('America/New_York'): this process's local time zone until the test ends."""
    def use(name):
        monkeypatch.setenv('TZ', name)
        time.tzset()
    yield use
    monkeypatch.undo()
    time.tzset()


# ---------------------------------------------------------------- status and content type

@pytest.mark.parametrize('status, reason, text', [
    (400, 'Bad Request', 'HTTP 400 Bad Request'),
    (503, '  Service Unavailable \r\n', 'HTTP 503 Service Unavailable'),
    (503, None, 'HTTP 503'),
    (502, '   ', 'HTTP 502'),
    (200, '', 'HTTP 200'),
])
def test_status_text(status, reason, text):
    assert answers.status_text(response(status, reason=reason)) == text


@pytest.mark.parametrize('content_type, expected', [
    ('application/json;charset=UTF-8', True),
    ('APPLICATION/JSON', True),
    ('application/problem+json', True),
    ('text/html; profile=json', False),
    ('text/plain', False),
    (None, False),
])
def test_is_json_reads_only_the_media_type(content_type, expected):
    assert answers.is_json(response(200, text='{}', content_type=content_type)) is expected


# ---------------------------------------------------------------- JSON bodies

def test_decode_json_of_an_empty_body_is_nothing_and_no_error():
    assert answers.decode_json(response(204)) == (None, None)


@pytest.mark.parametrize('body', [{'id': '001'}, [1, 2], 'text', 0, None, False])
def test_decode_json_gives_any_json_value(body):
    assert answers.decode_json(response(200, text=json.dumps(body))) == (body, None)


@pytest.mark.parametrize('text, kind', [
    ('{nope', 'JSONDecodeError'),
    ('   ', 'JSONDecodeError'),
    (DEEP, 'RecursionError'),
    (HUGE_NUMBER, 'ValueError'),
])
def test_decode_json_of_a_broken_body_names_the_problem_and_never_raises(text, kind):
    assert answers.decode_json(response(200, text=text)) == (None, 'the body is not valid JSON (%s)' % kind)


def test_decode_json_of_bytes_that_are_not_text_is_an_error():
    assert answers.decode_json(response(200, body=b'\xff\xfe\x00{')) == (None, 'the body is not valid JSON (JSONDecodeError)')


@pytest.mark.parametrize('text, content_type, expected', [
    ('{"a": 1}', 'application/json', {'a': 1}),
    ('"just a string"', 'application/json', 'just a string'),
    (' \n {"a": 1}', None, {'a': 1}),
    ('[1]', 'text/plain', [1]),
    ('"just a string"', 'text/plain', None),
    ('42', None, None),
    ('<html><title>Down</title></html>', 'text/html', None),
    ('{broken', 'application/json', None),
    ('', 'application/json', None),
    (DEEP, 'application/json', None),
    (HUGE_NUMBER, 'application/json', None),
])
def test_json_body_reads_what_is_or_looks_like_json_and_nothing_else(text, content_type, expected):
    assert answers.json_body(response(200, text=text, content_type=content_type)) == expected


# ---------------------------------------------------------------- Salesforce's errors

def test_salesforce_errors_of_the_rest_shape_keep_their_fields():
    assert answers.salesforce_errors(REST_ERRORS) == [
        {'errorCode': 'INVALID_FIELD', 'message': "No such column 'Foo'", 'fields': ['Foo', 'Bar']},
        {'errorCode': 'MALFORMED_QUERY', 'message': 'unexpected token'},
    ]


def test_salesforce_errors_of_the_oauth_shape():
    assert answers.salesforce_errors(OAUTH_ERROR) == [
        {'errorCode': 'invalid_grant', 'message': 'user hasn\'t approved this consumer'}]


def test_salesforce_errors_prefer_the_rest_names_and_take_either_half():
    assert answers.salesforce_errors([
        {'errorCode': 'A', 'error': 'a', 'message': 'M', 'error_description': 'm'},
        {'error': 'only_code'},
        {'error_description': 'only message'},
        {'errorCode': 'X', 'message': 'y', 'fields': []},
    ]) == [
        {'errorCode': 'A', 'message': 'M'},
        {'errorCode': 'only_code', 'message': None},
        {'errorCode': None, 'message': 'only message'},
        {'errorCode': 'X', 'message': 'y'},
    ]


@pytest.mark.parametrize('payload', [None, 'INVALID_FIELD', 42, [], {}, [None, 'x', 3, ['nested']], [{'fields': ['a']}],
                                     {'totalSize': 0, 'records': []}, {'errorCode': '', 'message': None}])
def test_salesforce_errors_of_anything_else_are_none(payload):
    assert answers.salesforce_errors(payload) == []


@pytest.mark.parametrize('payload, expected', [
    (OAUTH_ERROR, ('invalid_grant', 'user hasn\'t approved this consumer')),
    ({'errorCode': 'INVALID_SESSION_ID', 'message': 'expired'}, ('INVALID_SESSION_ID', 'expired')),
    ({'error': 'e', 'errorCode': 'E', 'error_description': 'd', 'message': 'D'}, ('e', 'd')),
    (REST_ERRORS, ('INVALID_FIELD', "No such column 'Foo'")),
    ([{'error': 'e', 'error_description': 'd'}], ('e', 'd')),
    ([{'errorCode': 'E', 'error': 'e', 'message': 'M', 'error_description': 'd'}], ('E', 'M')),
    ({'error': 400, 'error_description': ['a']}, ('400', "['a']")),
    ({'error': 'only'}, ('only', None)),
    ({}, (None, None)),
    ([], (None, None)),
    (['invalid_grant'], (None, None)),
    ('invalid_grant', (None, None)),
    (None, (None, None)),
])
def test_oauth_error_reads_both_shapes(payload, expected):
    assert answers.oauth_error(payload) == expected


def test_oauth_error_quotes_at_most_500_characters():
    error, description = answers.oauth_error({'error': 'e' * 600, 'error_description': 'd' * 501})
    assert (error, description) == ('e' * 500, 'd' * 500)
    assert answers.MAX_ERROR_CHARS == 500


# ---------------------------------------------------------------- web pages

@pytest.mark.parametrize('text, content_type, expected', [
    ('anything', 'text/html; charset=utf-8', True),
    ('anything', 'TEXT/HTML', True),
    ('\n  <!DOCTYPE HTML><p>down</p>', None, True),
    ('<HTML><body>down</body></HTML>', 'text/plain', True),
    ('<?xml version="1.0"?><html>', None, True),
    ('x' * 600 + '<html>', 'text/plain', False),
    ('{"a": "<p>"}', 'application/json', False),
    ('', None, False),
])
def test_looks_like_html(text, content_type, expected):
    assert answers.looks_like_html(response(503, text=text, content_type=content_type)) is expected


@pytest.mark.parametrize('text, limit, title', [
    ('<html><head><title>Down for Maintenance</title></head></html>', 200, 'Down for Maintenance'),
    ('<TITLE lang="en">\n  Salesforce &amp; you &mdash;\n\t Sorry  </TITLE>', 200, 'Salesforce & you \u2014 Sorry'),
    ('<title>0123456789</title>', 4, '0123'),
    ('<title>   </title>', 200, None),
    ('<title></title>', 200, None),
    ('<h1>no title</h1>', 200, None),
    ('<title>never closed', 200, None),
    ('', 200, None),
    (None, 200, None),
])
def test_html_title_is_the_title_a_browser_shows(text, limit, title):
    assert answers.html_title(text, limit) == title


@pytest.mark.usefixtures('fails_within_five_seconds')
def test_a_hostile_page_of_unclosed_titles_is_described_at_once():
    page = response(503, text='<title>' * 50000, content_type='text/html')
    assert answers.describe_answer(page) == 'an HTML page (maintenance or an error page)'


# ---------------------------------------------------------------- describe_answer

def test_describe_answer_lists_salesforce_errors_with_their_fields():
    assert answers.describe_answer(response(400, body=REST_ERRORS), REST_ERRORS) == (
        "INVALID_FIELD: No such column 'Foo' (fields: Foo, Bar); MALFORMED_QUERY: unexpected token")


def test_describe_answer_fills_in_a_missing_code_or_message():
    payload = [{'message': 'no code'}, {'errorCode': 'NO_MESSAGE'}, {'error': 'invalid_grant', 'error_description': 'expired'}]
    assert answers.describe_answer(response(400, body=payload), payload) == (
        'ERROR: no code; NO_MESSAGE: (no message); invalid_grant: expired')


def test_describe_answer_shows_non_text_fields_as_text():
    payload = [{'errorCode': 'X', 'message': 'm', 'fields': [1, None, {'a': 'b'}]}]
    assert answers.describe_answer(response(400, body=payload), payload) == "X: m (fields: 1, None, {'a': 'b'})"


@pytest.mark.parametrize('fields', [5, True, 'Name'])
def test_describe_answer_survives_fields_that_are_not_a_list(fields):
    payload = [{'errorCode': 'X', 'message': 'm', 'fields': fields}]
    assert answers.describe_answer(response(400, body=payload), payload) == 'X: m (fields: %s)' % fields


@pytest.mark.parametrize('text', [None, '', ' \r\n\t '])
def test_describe_answer_of_an_empty_body(text):
    assert answers.describe_answer(response(500, text=text)) == 'an empty body'


def test_describe_answer_of_a_json_body_without_errors_shows_it():
    assert answers.describe_answer(response(200, body={'a': 1}), {'a': 1}) == 'application/json: {"a": 1}'


def test_describe_answer_of_a_maintenance_page_gives_its_title():
    page = response(503, text='<html><title>Salesforce  is\n down &amp; out</title><body>' + 'x' * 5000, content_type='text/html')
    assert answers.describe_answer(page) == 'an HTML page titled "Salesforce is down & out" (maintenance or an error page)'


def test_describe_answer_cuts_a_page_title_at_200_characters():
    page = response(503, text='<title>%s</title>' % ('t' * 300), content_type='text/html')
    assert answers.describe_answer(page) == 'an HTML page titled "%s" (maintenance or an error page)' % ('t' * 200)


@pytest.mark.parametrize('text, content_type', [
    ('<html><body>down</body></html>', 'text/html'),
    ('  <p>no content type</p>', None),
    ('<h1>plain text type</h1>', 'text/plain'),
])
def test_describe_answer_of_a_page_without_a_title(text, content_type):
    assert answers.describe_answer(response(502, text=text, content_type=content_type)) == (
        'an HTML page (maintenance or an error page)')


def test_describe_answer_of_text_shows_a_collapsed_snippet_of_300_characters():
    text = 'Bad\n\n gateway:\t' + 'y' * 1000
    assert answers.describe_answer(response(502, text=text, content_type='text/plain; charset=us-ascii')) == (
        'text/plain: ' + ('Bad gateway: ' + 'y' * 1000)[:300])


def test_describe_answer_without_a_content_type_says_so():
    assert answers.describe_answer(response(502, text='upstream\tconnect error', content_type=None)) == (
        'no content type: upstream connect error')


# ---------------------------------------------------------------- the server's clock

@pytest.mark.parametrize('date, seconds', [
    ('Mon, 01 Jan 2024 00:00:00 GMT', 1704067200.0),
    ('Mon, 01 Jan 2024 02:00:00 +0200', 1704067200.0),
    ('Sun, 31 Dec 2023 19:00:00 -0500', 1704067200.0),
    ('Fri, 31 Dec 9999 23:59:59 GMT', 253402300799.0),
])
def test_server_time_reads_the_date_header(date, seconds):
    assert answers.server_time(response(200, headers={'Date': date})) == seconds


@pytest.mark.parametrize('date', ['', 'yesterday', 'Mon, 01 Jan 99999 00:00:00 GMT', 'Mon, 32 Jan 2024 00:00:00 GMT',
                                  'Mon, 01 Jan 2024 25:00:00 GMT', 'Mon, 01 Xyz 2024 00:00:00 GMT', '\x00\x1b[31m'])
def test_server_time_of_what_is_not_a_date_is_none(date):
    assert answers.server_time(response(200, headers={'Date': date})) is None


def test_server_time_without_a_date_header_is_none():
    assert answers.server_time(response(200)) is None


@pytest.mark.parametrize('date', ['Mon, 01 Jan 2024 00:00:00 -0000', 'Mon, 01 Jan 2024 00:00:00'])
def test_server_time_of_a_date_without_a_zone_is_utc_whatever_the_local_zone(timezone, date):
    timezone('America/New_York')
    assert answers.server_time(response(200, headers={'Date': date})) == 1704067200.0


def test_server_time_of_a_date_past_the_last_datetime_in_utc_is_none():
    assert answers.server_time(response(200, headers={'Date': 'Fri, 31 Dec 9999 23:59:59 -1200'})) is None
