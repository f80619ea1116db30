# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Record values compared as Salesforce returns them (module_utils/api/_record_values)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _record_values as record_values
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.soql_reading import PLUS_ONE, UTC


# -- value comparison ------------------------------------------------------------------------------------

@pytest.mark.parametrize('current, desired, same', [
    (1, 1, True), (1.0, 1, True), (1, 1.0, True), (500.0, 500, True), (1.5, 1.5, True), (1.5, 1.25, False),
    ('1', 1, True),          # a text field holding 1
    (500.0, '500', True),    # a number given as text (templating)
    (1.5, '1.50', True),
    (1.0, 'one', False), (1.0, 'nan', False), (1.0, '1_0', False), (1.0, 10 ** 400, False),
    ('1', '1.0', False),     # two texts are compared as texts
    (1.2345678901234568e16, 12345678901234567, True),  # Salesforce keeps doubles
    (True, 1, False), (1, True, False), (False, 0, False), (0, False, False), (1.0, True, False), (True, 'true', False),
    (True, True, True), (False, False, True), (True, False, False),
    (None, '', True), ('', None, True), (None, None, True), ('', '', True),
    (None, 0, False), (0, None, False), (None, False, False), (False, None, False), (None, 'x', False), ('x', None, False),
    ('abc', 'abc', True), ('abc', 'ABC', False), ('abc', 'abc ', False),
    ('2024-01-01', '2024-01-01', True), ('2024-01-01', datetime.date(2024, 1, 1), True), ('2024-01-02', datetime.date(2024, 1, 1), False),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01', False), ('2024-01-01', '2024-01-01T00:00:00Z', False),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T00:00:00Z', True),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T01:00:00+01:00', True),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T01:00:00+0100', True),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T00:00:00', True),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01 00:00', True),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T00:00:01Z', False),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T00:00:00.001Z', False),
    ('2024-01-01T00:00:00.000+0000', datetime.datetime(2024, 1, 1), True),
    ('2024-01-01T00:00:00.000+0000', datetime.datetime(2024, 1, 1, 1, tzinfo=PLUS_ONE), True),
    ('2024-01-01T00:00:00.000+0000', datetime.datetime(2024, 1, 1, 1, tzinfo=UTC), False),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T00:00:00+24:00', False),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T00:00:00-99:99', False),
    ('2024-01-01T00:00:00.000+0000', '2024-02-30T00:00:00Z', False),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T25:00:00Z', False),
    (None, datetime.datetime(2024, 1, 1), False),
    ('001A0000006Vm9rIAC', '001A0000006Vm9r', True),   # a lookup returns 18 characters; a 15-character Id is the same record
    ('001A0000006Vm9rIAC', '001A0000006Vm9rIAC', True),
    ('001A0000006Vm9rAAA', '001A0000006Vm9r', False),  # not its checksum: a text that only starts alike
    ('001A0000006Vm9RIAC', '001A0000006Vm9r', False),
    ('001a0000006Vm9rIAC', '001A0000006Vm9r', False),
])
def test_same_value(current, desired, same):
    assert record_values.same_value(current, desired) is same


def test_json_value():
    assert record_values.json_value(datetime.datetime(2024, 1, 1, 1)) == '2024-01-01T01:00:00Z'
    assert record_values.json_value(datetime.datetime(2024, 1, 1, 1, tzinfo=PLUS_ONE)) == '2024-01-01T01:00:00+01:00'
    assert record_values.json_value(datetime.date(2024, 1, 31)) == '2024-01-31'
    assert record_values.json_value('x') == 'x'
