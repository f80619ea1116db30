# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the auth core's tests (test_auth.py, test_token_request.py) build their cases from: an identity, key PEMs,
Salesforce's token answers and refusals (the stand-ins are in fakes.py, the key fixtures in conftest.py)."""

from __future__ import annotations

import pytest

from cryptography.hazmat.primitives import serialization

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError, InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import AuthOptions
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeHttp, response

CONSUMER_KEY = '3MVG9unitTestConsumerKey'
USERNAME = 'integration@acme.example'
PASSPHRASE = 'Unit-Passphrase-7f3e9'
TOKEN = '00DUNIT0000001!AQ0AQSecretAccessTokenValue'
ID_URL = 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6eAAC'


def pem(key, passphrase=None):
    encryption = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def success_body(**overrides):
    body = {'access_token': TOKEN, 'scope': 'api', 'instance_url': 'https://acme.my.salesforce.com',
            'id': ID_URL, 'token_type': 'Bearer'}
    body.update(overrides)
    return body


def refusal(error, description, status=400, headers=None):
    return response(status, body={'error': error, 'error_description': description}, headers=headers)


def make_options(tmp_path, key_path=None, answers=(), **overrides):
    values = dict(consumer_key=CONSUMER_KEY, username=USERNAME, private_key_path=key_path,
                  cache_dir=str(tmp_path / 'cache'))
    values.update(overrides)
    options = AuthOptions(**values)
    options.http = FakeHttp(*(answers or (response(body=success_body()),)))
    return options


def error_message(options):
    """The message get_session fails with: an AuthError, or an InputError for a key that cannot be used."""
    with pytest.raises((AuthError, InputError)) as caught:
        _auth.get_session(options)
    return str(caught.value)
