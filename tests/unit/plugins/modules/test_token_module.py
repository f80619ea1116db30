# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The token module's failure message, run as ansible-core runs a module (arguments in, JSON out), with Salesforce's
answer from a fake HTTP session: Salesforce's words appear escaped."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _options
from ansible_collections.sfjwt.salesforce.plugins.modules import token as token_module
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.auth_helpers import pem, refusal
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeHttp

try:  # ansible-core 2.19+
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.16: the arguments AnsibleModule reads when no file is given
    import contextlib

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def run_token_module(monkeypatch, capsys, args, answer):
    fake = FakeHttp(answer)
    monkeypatch.setattr(_options.AuthOptions, 'http', property(lambda self: fake))
    with patch_module_args(args), pytest.raises(SystemExit):
        token_module.main()
    return json.loads(capsys.readouterr().out)


def test_a_refusal_shows_salesforce_words_escaped(monkeypatch, capsys, tmp_path):
    key_path = tmp_path / 'server.key'
    key_path.write_bytes(pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    answer = refusal('invalid_grant', 'nope\x1b[2J\x1b]0;owned\x07\r\nok: [localhost]\x9b\u202e')
    result = run_token_module(monkeypatch, capsys, {'consumer_key': 'CK', 'username': 'u@acme.example', 'private_key_path': str(key_path),
                                                    'cache': False}, answer)
    assert result['failed'] is True
    assert result['msg'] == (
        'Salesforce at https://login.salesforce.com refused the token request for user u@acme.example and consumer key CK '
        'with HTTP 400 (invalid_grant: nope\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aok: [localhost]\\x9b\\u202e). The assertion was '
        'sent to the token host https://login.salesforce.com with the audience https://login.salesforce.com (derived from '
        'login_url).')
    assert result['salesforce_error_description'] == 'nope\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aok: [localhost]\\x9b\\u202e'
