# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Salesforce-shaped record ids: a 3-character key prefix, 12 characters, and the 3-character case checksum."""

from __future__ import annotations

import hashlib
import secrets
import string

_CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'
_BODY_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase

ORG_ID_PREFIX = '00D'
USER_ID_PREFIX = '005'
ACCOUNT_ID_PREFIX = '001'
QUERY_LOCATOR_PREFIX = '01g'
PERMISSION_SET_ID_PREFIX = '0PS'
ASSIGNMENT_ID_PREFIX = '0Pa'
DEPLOY_ID_PREFIX = '0Af'
INTEGRATION_SETTING_ID_PREFIX = 'a0B'


def with_checksum(id15: str) -> str:
    """Turn a case-sensitive 15-character id into the 18-character form the API returns."""
    suffix = ''
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start:start + 5]) if char in string.ascii_uppercase)
        suffix += _CHECKSUM_ALPHABET[bits]
    return id15 + suffix


def make_id(prefix: str, body12: str) -> str:
    if len(prefix) != 3 or len(body12) != 12:
        raise ValueError('an id is a 3-character prefix and a 12-character body')
    return with_checksum(prefix + body12)


def stable_id(prefix: str, seed: str) -> str:
    """The same seed (e.g. a username) always gives the same id, across restarts of the fake org."""
    number = int.from_bytes(hashlib.sha256(seed.encode('utf-8')).digest(), 'big')
    body = ''
    for _index in range(12):
        number, digit = divmod(number, len(_BODY_ALPHABET))
        body += _BODY_ALPHABET[digit]
    return make_id(prefix, body)


def sequential_id(prefix: str, number: int) -> str:
    return make_id(prefix, '%012d' % number)


def random_id(prefix: str) -> str:
    return make_id(prefix, ''.join(secrets.choice(_BODY_ALPHABET) for _index in range(12)))
