# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Record values compared as Salesforce returns them (numbers as numbers, booleans, dates, datetimes and times by their
value, 15- and 18-character Ids as one, an empty text as null), so that a rerun with the same records changes nothing;
and values made JSON for a write.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import id18

DATE_RE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
DATETIME_RE = re.compile(r'^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$')
# A number as text (what templating makes of a number); not nan, inf, 0x10 or 1_000.
NUMBER_RE = re.compile(r'^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$')
ID15_RE = re.compile(r'^[A-Za-z0-9]{15}$')


def as_datetime(value):
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if not isinstance(value, str):
        return None
    match = DATETIME_RE.match(value.strip().upper())
    if not match:
        return None
    day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or '0')[:6].ljust(6, '0'))
    offset = datetime.timezone.utc
    try:
        if zone and zone != 'Z':
            sign = -1 if zone[0] == '-' else 1
            digits = zone[1:].replace(':', '')
            # An offset of 24 hours or more is a ValueError too.
            offset = datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return datetime.datetime.strptime(day, '%Y-%m-%d').replace(hour=int(hour), minute=int(minute), second=int(second or 0),
                                                                   microsecond=micro, tzinfo=offset)
    except ValueError:
        return None


def as_number(value):
    """A float for a number or a number's text (Salesforce stores numbers as doubles); None otherwise, booleans included."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or (isinstance(value, str) and not NUMBER_RE.match(value)):
        return None
    try:
        return float(value)
    except (OverflowError, ValueError):
        return None


def _same_id(short, full):
    """Whether an 18-character Id is a 15-character one with its case-checksum suffix (lookups return 18 characters)."""
    return len(full) == 18 and full[:15] == short and bool(ID15_RE.match(short)) and id18(short) == full


NUMBER_TYPES = ('double', 'int', 'long', 'currency', 'percent')
TEXT_TYPES = ('string', 'textarea', 'email', 'phone', 'url', 'picklist', 'multipicklist', 'combobox', 'encryptedstring',
              'id', 'reference')


TIME_RE = re.compile(r'^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?Z?$', re.I)


def _as_bool(value):
    """A checkbox value: booleans, their text (as -e and CSV give them), and null or '' for false (Salesforce stores false)."""
    if isinstance(value, bool):
        return value
    if value in (None, ''):
        return False
    if isinstance(value, str) and value.strip().lower() in ('true', 'false'):
        return value.strip().lower() == 'true'
    return None


def _as_text(value):
    """What a text field holds for a value: booleans and numbers as Salesforce writes them."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _as_time(value):
    match = TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    hour, minute, second, millis = match.groups()
    return int(hour), int(minute), int(second or 0), int((millis or '0').ljust(3, '0'))


def same_typed_value(current, desired, field_type):
    """same_value for a field of a known describe type: a checkbox, a number, a text, a time compare as that type."""
    if field_type == 'boolean':
        left, right = _as_bool(desired), _as_bool(current)
        return left is not None and left == right
    if field_type in NUMBER_TYPES:
        if desired in ('', None) or current in ('', None):
            return desired in ('', None) and current in ('', None)
        left, right = as_number(desired), as_number(current)
        return left is not None and right is not None and left == right
    if field_type in TEXT_TYPES:
        left, right = _as_text(desired), _as_text(current)
        return (left in ('', None) and right in ('', None)) or left == right or (
            isinstance(left, str) and isinstance(right, str) and (_same_id(left, right) or _same_id(right, left)))
    if field_type == 'time':
        left, right = _as_time(desired), _as_time(current)
        return (left is not None and left == right) or (desired in ('', None) and current in ('', None))
    return same_value(current, desired)


def same_value(current, desired):
    """Whether Salesforce's value equals the desired one, comparing as Salesforce stores values (type unknown)."""
    if desired in ('', None) and current in ('', None):
        return True
    if isinstance(desired, bool) or isinstance(current, bool):
        return isinstance(desired, bool) and isinstance(current, bool) and desired == current
    if not (isinstance(desired, str) and isinstance(current, str)):
        # A number and a number, or a number and a text (templating gives text): compared by value, both ways.
        left, right = as_number(desired), as_number(current)
        if left is not None and right is not None:
            return left == right
    if isinstance(desired, datetime.date) and not isinstance(desired, datetime.datetime):
        desired = desired.isoformat()
    if isinstance(desired, str) and isinstance(current, str):
        if desired == current or _same_id(desired, current) or _same_id(current, desired):
            return True
        if DATE_RE.match(desired) or DATE_RE.match(current):
            return False
        left, right = as_datetime(desired), as_datetime(current)
        return left is not None and right is not None and left == right
    if isinstance(desired, datetime.datetime):
        right = as_datetime(current)
        return right is not None and as_datetime(desired) == right
    return desired == current


def json_value(value):
    """A value as it is sent in JSON (dates and datetimes as Salesforce's text forms)."""
    if isinstance(value, datetime.datetime):
        return value.isoformat() if value.tzinfo else value.isoformat() + 'Z'
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
