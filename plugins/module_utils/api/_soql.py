# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""SOQL built from values, never templated by users: names are checked as API names, values become escaped literals
(typed by their field when the describe tells), and keys are read in chunks that keep each query under Salesforce's two
limits, 100,000 characters per statement and 16,384 bytes per request URI (a longer GET .../query?q= is refused with
HTTP 414). The record and record_info modules build their queries here.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
from urllib.parse import quote_plus, urlencode

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._record_values import DATE_RE, NUMBER_TYPES, as_datetime, as_number

# \Z, not $: $ also matches before a final newline.
API_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]{0,119}\Z')
ORDER_BY_RE = re.compile(r'^\s*[A-Za-z][A-Za-z0-9_.]{0,119}(\s+(ASC|DESC))?(\s+NULLS\s+(FIRST|LAST))?'
                         r'(\s*,\s*[A-Za-z][A-Za-z0-9_.]{0,119}(\s+(ASC|DESC))?(\s+NULLS\s+(FIRST|LAST))?)*\s*$', re.I)
# Salesforce's limits.
MAX_SOQL_CHARS = 100000
MAX_URI_BYTES = 16384
MAX_QUERY_LIMIT = 50000
# The control characters SOQL string literals escape, and the escapes.
SOQL_ESCAPES = {'\\': '\\\\', "'": "\\'", '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f'}


def api_name(value, what):
    if not isinstance(value, str) or not API_NAME_RE.match(value):
        raise InputError('%s %r is not a Salesforce API name (letters, digits and underscores, starting with a letter; '
                         'for example Account, Key__c or ns__Setting__c).' % (what, value))
    return value


def soql_literal(value):
    """A SOQL literal for a value: strings quoted and escaped, numbers and booleans as they are, null."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError('%r is not a number Salesforce stores.' % value)
        # Plain digits: SOQL takes no exponent (repr gives 1e+16, 1e-05).
        return format(decimal.Decimal(repr(value)), 'f')
    if isinstance(value, decimal.Decimal):
        # Salesforce numbers have at most 18 digits: an exponent beyond that is no number it stores (and 1e999999999
        # written out would take a gigabyte).
        if not value.is_finite() or abs(value.adjusted()) > 40:
            raise InputError('%s is not a number Salesforce stores.' % shown(str(value)))
        return format(value, 'f')
    if isinstance(value, datetime.datetime):
        return _format_datetime(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        for char in value:
            if char < ' ' and char not in SOQL_ESCAPES:
                raise InputError('%s holds the control character %r, which a SOQL string cannot hold.' % (shown(value), char))
        return "'%s'" % ''.join(SOQL_ESCAPES.get(char, char) for char in value)
    raise InputError('%r (a %s) cannot be compared in SOQL; give a string, a number, a boolean or null.'
                     % (value, type(value).__name__))


def typed_literal(value, field_type=None):
    """A SOQL literal for a value compared with a field of the given describe type: dates, datetimes, numbers and
    booleans unquoted (as SOQL wants them, also when given as text), anything else in a text field quoted."""
    if value is None or field_type is None:
        return soql_literal(value)
    if field_type in NUMBER_TYPES and as_number(value) is not None:
        return soql_literal(value if isinstance(value, (int, float)) else decimal.Decimal(value.strip()))
    if field_type == 'boolean' and isinstance(value, str) and value.strip().lower() in ('true', 'false'):
        return value.strip().lower()
    if field_type == 'date':
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value.isoformat()
        if isinstance(value, str) and DATE_RE.match(value.strip()):
            return value.strip()
    if field_type == 'datetime':
        moment = as_datetime(value)
        if moment is not None:
            return _format_datetime(moment)
    if field_type not in NUMBER_TYPES + ('boolean', 'date', 'datetime', 'time') and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        return soql_literal(str(value))   # a number given for a text field (an external id typed as a number)
    return soql_literal(value)


def _format_datetime(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def where_clause(where, types=None):
    """'A = 'x' AND B IN (1, 2)' from {field: value or list of values}; types: {lower field name: describe type}."""
    if not where:
        return ''
    if not isinstance(where, dict):
        raise InputError('where must be a mapping of field names to values.')
    parts = []
    for field in sorted(where, key=str):
        api_name(field, 'where field')
        value = where[field]
        if isinstance(value, (list, tuple)):
            if not value:
                raise InputError('where %s is an empty list: no record can match it.' % field)
            parts.append('%s IN (%s)' % (field, ', '.join(typed_literal(item, (types or {}).get(field.lower())) for item in value)))
        else:
            parts.append('%s = %s' % (field, typed_literal(value, (types or {}).get(field.lower()))))
    return ' AND '.join(parts)


def uri_length(path, soql):
    """Bytes of the request URI of GET <path>?q=<soql>, as requests encodes it."""
    return len(path) + 1 + len(urlencode({'q': soql}))


def chunked_key_queries(select, sobject, key_field, keys, query_path, key_type=None):
    """SOQL statements reading the given keys, each within the SOQL and URI limits; keys in their given order."""
    head = 'SELECT %s FROM %s WHERE %s IN (' % (', '.join(select), sobject, key_field)
    # Lengths are counted as the statement grows (encoding is character by character, so the parts' lengths add up):
    # measuring every candidate statement again made thousands of keys take seconds.
    empty = (len(head) + 1, uri_length(query_path, head + ')'))
    separator = (2, len(quote_plus(', ')))
    queries = []
    current = []
    chars, size = empty
    for key in keys:
        literal = typed_literal(key, key_type)
        added = (len(literal), len(quote_plus(literal)))
        if current and (chars + separator[0] + added[0] > MAX_SOQL_CHARS or size + separator[1] + added[1] > MAX_URI_BYTES):
            queries.append(head + ', '.join(current) + ')')
            current = []
            chars, size = empty
        if current:
            chars, size = chars + separator[0], size + separator[1]
        chars, size = chars + added[0], size + added[1]
        if chars > MAX_SOQL_CHARS or size > MAX_URI_BYTES:
            raise InputError('The key %s is too long to look up: a query for it alone passes Salesforce\'s limits.'
                             % shown(key))
        current.append(literal)
    if current:
        queries.append(head + ', '.join(current) + ')')
    return queries


def shown(value, limit=80):
    """A value as messages show it: JSON for what is not a string, cut at ``limit`` characters."""
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + '...'


# ---------------------------------------------------------------------------------------------- record_info

def info_query(sobject, fields, where=None, where_soql=None, order_by=None, limit=None, types=None):
    """The SOQL of record_info; types ({lower field name: describe type}) decide how where values are written."""
    api_name(sobject, 'sobject')
    if not isinstance(fields, (list, tuple)) or not fields:
        raise InputError('fields must name at least one field, for example [Id, Name].')
    for field in fields:
        if not isinstance(field, str) or not re.match(r'^[A-Za-z][A-Za-z0-9_]{0,119}(\.[A-Za-z][A-Za-z0-9_]{0,119}){0,4}\Z', field):
            raise InputError('field %r is not a Salesforce field name (Name, Key__c, or a relationship path such as '
                             'Owner.Name).' % (field,))
    if where_soql and not balanced(where_soql):
        raise InputError('where_soql %s has unbalanced parentheses or an unclosed string: it is added in parentheses with '
                         'AND, and must not close them.' % shown(where_soql))
    soql = 'SELECT %s FROM %s' % (', '.join(fields), sobject)
    conditions = [part for part in (where_clause(where, types), '(%s)' % where_soql.strip() if where_soql and where_soql.strip() else '')
                  if part]
    if conditions:
        soql += ' WHERE ' + ' AND '.join(conditions)
    if order_by:
        if not ORDER_BY_RE.match(order_by):
            raise InputError('order_by %r is not a SOQL ORDER BY list (for example "Name ASC, CreatedDate DESC").' % (order_by,))
        soql += ' ORDER BY ' + order_by.strip()
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_QUERY_LIMIT:
            raise InputError('limit must be from 1 to %d (got %r).' % (MAX_QUERY_LIMIT, limit))
        soql += ' LIMIT %d' % limit
    if len(soql) > MAX_SOQL_CHARS:
        raise InputError('The query has %d characters; Salesforce takes at most %d. Narrow where.' % (len(soql), MAX_SOQL_CHARS))
    # The path of API versions NN.N; a longer request URI is refused with HTTP 414.
    size = uri_length('/services/data/vNN.N/query', soql)
    if size > MAX_URI_BYTES:
        raise InputError('The query takes %d bytes in the request URI; Salesforce takes at most %d. Narrow where.' % (size, MAX_URI_BYTES))
    return soql


def balanced(soql):
    """Whether every parenthesis outside string literals is closed, never below zero, and every string literal ends."""
    depth = 0
    quoted = escaped = False
    for char in soql:
        if quoted:
            if escaped:
                escaped = False
            elif char == '\\':
                escaped = True
            elif char == "'":
                quoted = False
        elif char == "'":
            quoted = True
        elif char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quoted
