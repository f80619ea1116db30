# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SOQL built from values (module_utils/api/_soql): literals as Salesforce reads them back, API names, key chunking
within both of Salesforce's limits, and record_info's queries."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _soql
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.soql_reading import (
    PLUS_ONE, QUERY_PATH, SOBJECT, in_list, keys_of, parse_literals, request_uri)


# -- SOQL literals ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ("O'Brien", "'O\\'Brien'"),
    ('back\\slash', "'back\\\\slash'"),
    ('line\nnext\rreturn\ttab', "'line\\nnext\\rreturn\\ttab'"),
    ('\b\f', "'\\b\\f'"),
    ('say "hi"', "'say \\\"hi\\\"'"),
    ('Zoë 東京 😀 %_', "'Zoë 東京 😀 %_'"),
    ('', "''"),
    (True, 'true'),
    (False, 'false'),
    (0, '0'),
    (-12, '-12'),
    (10 ** 20, '100000000000000000000'),
    (1.5, '1.5'),
    (-0.25, '-0.25'),
    (1e16, '10000000000000000'),
    (1e-05, '0.00001'),
    (None, 'null'),
    (datetime.date(2024, 1, 31), '2024-01-31'),
    (datetime.datetime(2024, 1, 31, 12, 30, 5), '2024-01-31T12:30:05Z'),
    (datetime.datetime(2024, 1, 1, 0, 30, tzinfo=PLUS_ONE), '2023-12-31T23:30:00Z'),
])
def test_soql_literal(value, expected):
    assert _soql.soql_literal(value) == expected


@pytest.mark.parametrize('value', ["x' OR Name != '", "\\'", "\\", "'", "a\\' OR Id != null OR Name = \\'", "') OR (Name = 'x", "\n' --"])
def test_soql_literal_injection_stays_one_literal(value):
    literal = _soql.soql_literal(value)
    assert parse_literals(literal) == [value]
    assert parse_literals('%s, %s' % (literal, literal)) == [value, value]


@pytest.mark.parametrize('value, message', [
    (float('nan'), 'nan is not a number Salesforce stores.'),
    (float('inf'), 'inf is not a number Salesforce stores.'),
    (float('-inf'), '-inf is not a number Salesforce stores.'),
    ([1], '[1] (a list) cannot be compared in SOQL; give a string, a number, a boolean or null.'),
    ({'a': 1}, "{'a': 1} (a dict) cannot be compared in SOQL; give a string, a number, a boolean or null."),
    (b'x', "b'x' (a bytes) cannot be compared in SOQL; give a string, a number, a boolean or null."),
])
def test_soql_literal_refuses(value, message):
    with pytest.raises(InputError) as excinfo:
        _soql.soql_literal(value)
    assert excinfo.value.msg == message


def test_where_values_with_injection_stay_literals():
    where = {'Name': "x' OR Name != '", 'Key__c': ["\\'", 'b'], 'Flag__c': False, 'Other__c': None}
    assert _soql.where_clause(where) == ("Flag__c = false AND Key__c IN ('\\\\\\'', 'b') AND Name = 'x\\' OR Name != \\'' "
                                         "AND Other__c = null")
    soql = _soql.info_query('Account', ['Id'], {'Name': "x' OR Name != '"})
    assert soql == "SELECT Id FROM Account WHERE Name = 'x\\' OR Name != \\''"
    assert parse_literals(soql.split(' = ', 1)[1]) == ["x' OR Name != '"]


def test_key_queries_keep_injection_attempts_literal():
    keys = ["x' OR Name != '", "\\'", "a', 'b", "\\"]
    queries = _soql.chunked_key_queries(['Id', 'Key__c'], SOBJECT, 'Key__c', keys, QUERY_PATH)
    assert queries == ["SELECT Id, Key__c FROM Setting__c WHERE Key__c IN ('x\\' OR Name != \\'', '\\\\\\'', 'a\\', \\'b', '\\\\')"]
    assert in_list(queries[0])[3] == keys


# -- API names -------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['Account', 'Key__c', 'ns__Setting__c', 'a', 'A' * 120, 'x1_2'])
def test_api_name_accepts(name):
    assert _soql.api_name(name, 'sobject') == name


@pytest.mark.parametrize('name', ['', None, 1, 'A' * 121, '1abc', '_x', 'Na me', 'Name\n', 'Name;', "Name'", 'Owner.Name', 'Näme',
                                  'Name) FROM User --', "Account WHERE Name = 'x'"])
def test_api_name_refuses(name):
    with pytest.raises(InputError) as excinfo:
        _soql.api_name(name, 'sobject')
    assert excinfo.value.msg == ('sobject %r is not a Salesforce API name (letters, digits and underscores, starting with a letter; '
                                 'for example Account, Key__c or ns__Setting__c).' % (name,))


# -- key chunking ----------------------------------------------------------------------------------------

def check_chunks(keys, select=('Id', 'Key__c'), max_chars=_soql.MAX_SOQL_CHARS, max_bytes=_soql.MAX_URI_BYTES):
    queries = _soql.chunked_key_queries(list(select), SOBJECT, 'Key__c', keys, QUERY_PATH)
    read = []
    for index, soql in enumerate(queries):
        assert len(soql) <= max_chars
        assert len(request_uri(soql)) <= max_bytes
        assert _soql.uri_length(QUERY_PATH, soql) == len(request_uri(soql))
        values = in_list(soql)[3]
        read.extend(values)
        if index + 1 < len(queries):
            # Greedy: the next key would not have fitted.
            grown = soql[:-1] + ', ' + _soql.soql_literal(in_list(queries[index + 1])[3][0]) + ')'
            assert len(grown) > max_chars or len(request_uri(grown)) > max_bytes
    assert read == keys
    return queries


def test_many_short_keys_are_chunked_within_the_uri_limit():
    keys = keys_of(20000, 'key-%05d')
    queries = check_chunks(keys)
    assert len(queries) == 24
    assert max(len(request_uri(q)) for q in queries) > _soql.MAX_URI_BYTES - 20


def test_few_huge_keys():
    keys = ['%d' % n + 'x' * 5000 for n in range(7)]
    queries = check_chunks(keys)
    assert [len(in_list(q)[3]) for q in queries] == [3, 3, 1]


@pytest.mark.parametrize('char, encoded', [('&', 3), (' ', 1), ("'", 3), ('é', 6), ('€', 9), ('😀', 12)])
def test_keys_that_percent_encode_long(char, encoded):
    def added(text):
        return len(request_uri(text)) - len(request_uri(''))
    assert added(char) == encoded
    keys = ['%02d-' % n + char * 700 for n in range(60)]
    queries = check_chunks(keys)
    literal, separator = added(_soql.soql_literal(keys[0])), added(', ')
    assert (literal, separator) == (3 + 700 * encoded * (2 if char == "'" else 1) + 6, 4)
    per_query = (_soql.MAX_URI_BYTES - len(request_uri(queries[0][:queries[0].index('(') + 1] + ')')) + separator) // (literal + separator)
    assert [len(in_list(q)[3]) for q in queries[:-1]] == [per_query] * (len(queries) - 1)
    assert len(queries) == -(-60 // per_query)


def test_the_soql_character_limit_applies_when_the_uri_limit_does_not(monkeypatch):
    monkeypatch.setattr(_soql, 'MAX_URI_BYTES', 10 ** 7)
    keys = keys_of(30000, 'key-%05d')
    queries = check_chunks(keys, max_bytes=10 ** 7)
    assert len(queries) == 4
    assert max(len(q) for q in queries) > _soql.MAX_SOQL_CHARS - 20


def test_longest_key_fits_exactly_and_one_more_character_is_refused():
    empty = len(request_uri("SELECT Id, Key__c FROM Setting__c WHERE Key__c IN ('')"))
    longest = 'k' * (_soql.MAX_URI_BYTES - empty)
    queries = _soql.chunked_key_queries(['Id', 'Key__c'], SOBJECT, 'Key__c', ['a', longest, 'b'], QUERY_PATH)
    assert len(request_uri(queries[1])) == _soql.MAX_URI_BYTES
    assert [in_list(q)[3] for q in queries] == [['a'], [longest], ['b']]
    with pytest.raises(InputError) as excinfo:
        _soql.chunked_key_queries(['Id', 'Key__c'], SOBJECT, 'Key__c', ['a', longest + 'k'], QUERY_PATH)
    assert excinfo.value.msg == ("The key %s... is too long to look up: a query for it alone passes Salesforce's limits." % ('k' * 80))


def test_a_key_too_long_by_encoding_is_refused():
    with pytest.raises(InputError) as excinfo:
        _soql.chunked_key_queries(['Id'], SOBJECT, 'Key__c', ['€' * 1900], QUERY_PATH)
    assert excinfo.value.msg == ("The key %s... is too long to look up: a query for it alone passes Salesforce's limits." % ('€' * 80))


def test_no_keys_no_query():
    assert _soql.chunked_key_queries(['Id'], SOBJECT, 'Key__c', [], QUERY_PATH) == []
