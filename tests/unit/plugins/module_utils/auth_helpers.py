# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the auth core's tests (test_auth.py, test_token_request.py) build their cases from: an identity, key PEMs,
Salesforce's token answers and refusals, a FakeHttp in place of the HTTP session. The key fixtures are in conftest.py."""

from __future__ import annotations

import json

import pytest
import requests

from cryptography.hazmat.primitives import serialization

from ansible_collections.sfjwt.salesforce.plugins.module_utils import _auth
from ansible_collections.sfjwt.salesforce.plugins.module_utils._common import SalesforceAuthError
from ansible_collections.sfjwt.salesforce.plugins.module_utils._options import AuthOptions

CONSUMER_KEY = '3MVG9unitTestConsumerKey'
USERNAME = 'integration@acme.example'
PASSPHRASE = 'Unit-Passphrase-7f3e9'
TOKEN = '00DUNIT0000001!AQ0AQSecretAccessTokenValue'
ID_URL = 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6eAAC'


def pem(key, passphrase=None):
    encryption = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def response(status=200, body=None, text=None, content_type='application/json;charset=UTF-8', headers=None, reason=None):
    """A requests.Response as the HTTP layer would return it."""
    result = requests.Response()
    result.status_code = status
    result.reason = reason
    if body is not None:
        result._content = json.dumps(body).encode('utf-8')
    else:
        result._content = (text or '').encode('utf-8')
    if content_type:
        result.headers['Content-Type'] = content_type
    result.headers.update(headers or {})
    result.encoding = 'utf-8'
    return result


def success_body(**overrides):
    body = {'access_token': TOKEN, 'scope': 'api', 'instance_url': 'https://acme.my.salesforce.com',
            'id': ID_URL, 'token_type': 'Bearer'}
    body.update(overrides)
    return body


def refusal(error, description, status=400, headers=None):
    return response(status, body={'error': error, 'error_description': description}, headers=headers)


class FakeHttp:
    """Stands in for the requests.Session: records each request, answers from a list (or raises)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append(dict(kwargs, method=method, url=url))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def make_options(tmp_path, key_path=None, answers=(), **overrides):
    values = dict(consumer_key=CONSUMER_KEY, username=USERNAME, private_key_path=key_path,
                  cache_dir=str(tmp_path / 'cache'))
    values.update(overrides)
    options = AuthOptions(**values)
    options.http = FakeHttp(*(answers or (response(body=success_body()),)))
    return options


def error_message(options):
    with pytest.raises(SalesforceAuthError) as caught:
        _auth.get_session(options)
    return str(caught.value)
