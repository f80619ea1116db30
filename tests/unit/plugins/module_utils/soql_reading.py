# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading SOQL back as Salesforce does, for the tests of the queries the collection builds (test_soql.py) and the
scripted org that answers them (test_records.py)."""

from __future__ import annotations

import datetime
import json
import re

import requests

from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import INSTANCE

SOBJECT = 'Setting__c'
QUERY_PATH = '/services/data/v62.0/query'
UTC = datetime.timezone.utc
PLUS_ONE = datetime.timezone(datetime.timedelta(hours=1))
UNESCAPE = {'\\': '\\', "'": "'", '"': '"', 'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f'}


def parse_literals(text):
    """The values of a SOQL list of literals ('a', 1, true, null), as Salesforce reads it."""
    values = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in ' ,':
            index += 1
        elif char == "'":
            index += 1
            value = ''
            while text[index] != "'":
                if text[index] == '\\':
                    value += UNESCAPE[text[index + 1]]
                    index += 2
                else:
                    assert text[index] not in '\n\r\t\b\f', 'raw control character in a literal'
                    value += text[index]
                    index += 1
            values.append(value)
            index += 1
        else:
            end = text.find(',', index)
            end = len(text) if end < 0 else end
            values.append(json.loads(text[index:end].strip()))
            index = end
    return values


def in_list(soql):
    """(select, sobject, field, values) of SELECT ... FROM x WHERE f IN (...)."""
    match = re.match(r"^SELECT (.+?) FROM (\w+) WHERE (\w+) IN \((.*)\)\Z", soql, re.S)
    assert match, soql
    return match.group(1).split(', '), match.group(2), match.group(3), parse_literals(match.group(4))


def request_uri(soql, path=QUERY_PATH):
    """The request URI of GET path?q=soql exactly as requests sends it."""
    return requests.Request('GET', INSTANCE + path, params={'q': soql}).prepare().path_url


def keys_of(count, template='k%03d'):
    return [template % number for number in range(count)]
