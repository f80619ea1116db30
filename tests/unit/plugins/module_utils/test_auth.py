# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The auth core (_auth) without a network: login_url and audience, the options and identity checked before any request,
refusals held or shared through the token cache, cached sessions, forgetting them, and the in-process memo.

Minting itself (assertion, request, Salesforce's answers and refusal messages) is test_token_request.py's."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import jwt
import pytest
import requests

from cryptography.hazmat.primitives import serialization

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth, _common, _token_cache
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError, HttpError, REFUSAL_SHARE_SECONDS
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import AuthOptions
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._requirements import missing_libraries_message
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.auth_helpers import (
    CONSUMER_KEY, PASSPHRASE, TOKEN, USERNAME, error_message, make_options, pem, refusal, response, success_body,
)


# ---------------------------------------------------------------- login_url and audience

@pytest.mark.parametrize('given, normalized', [
    ('https://acme.my.salesforce.com', 'https://acme.my.salesforce.com'),
    ('https://acme.my.salesforce.com/', 'https://acme.my.salesforce.com'),
    ('  https://Login.Salesforce.com//  ', 'https://login.salesforce.com'),
    ('https://acme.my.salesforce.com/services/oauth2/token', 'https://acme.my.salesforce.com'),
    ('https://localhost:8443/', 'https://localhost:8443'),
    ('https://acme.force.com/customers/', 'https://acme.force.com/customers'),
    ('https://acme.force.com/customers/services/oauth2/token?x=1', 'https://acme.force.com/customers'),
])
def test_normalize_login_url(given, normalized):
    assert _auth.normalize_login_url(given) == normalized


def test_http_login_url_is_refused():
    with pytest.raises(AuthError) as caught:
        _auth.normalize_login_url('http://login.salesforce.com/')
    assert str(caught.value) == ('login_url http://login.salesforce.com/ uses http://, but Salesforce accepts token requests '
                                 'only over HTTPS. Use https://login.salesforce.com.')


def test_http_login_url_message_hides_url_credentials():
    with pytest.raises(AuthError) as caught:
        _auth.normalize_login_url('http://user:Secret-Pw@acme.my.salesforce.com:8080/x/')
    assert str(caught.value) == ('login_url http://acme.my.salesforce.com:8080/x/ uses http://, but Salesforce accepts token '
                                 'requests only over HTTPS. Use https://acme.my.salesforce.com:8080/x.')


def test_https_login_url_with_credentials_is_refused_without_showing_them():
    with pytest.raises(AuthError) as caught:
        _auth.normalize_login_url('https://user:Secret-Pw@acme.my.salesforce.com:8080/x/')
    assert str(caught.value) == ("login_url 'https://acme.my.salesforce.com:8080/x/' holds a user name or password "
                                 "(user:password@); a token request never needs one. Give only the token host, e.g. "
                                 "https://acme.my.salesforce.com:8080.")


def test_http_login_url_message_without_credentials_suggests_https():
    with pytest.raises(AuthError) as caught:
        _auth.normalize_login_url('http://acme.my.salesforce.com:8080/x/')
    assert str(caught.value) == ('login_url http://acme.my.salesforce.com:8080/x/ uses http://, but Salesforce accepts token '
                                 'requests only over HTTPS. Use https://acme.my.salesforce.com:8080/x.')


@pytest.mark.parametrize('given', ['https://[::1', 'https://user:Secret-Pw@localhost:abc', 'https://user:Secret-Pw@[zz]/'])
def test_a_malformed_login_url_is_a_message_without_the_password(given):
    with pytest.raises(AuthError) as caught:
        _auth.normalize_login_url(given)
    assert str(caught.value) == ("login_url %r is not a valid URL (check the host name, brackets and port). Give the token host "
                                 "with its scheme, e.g. https://login.salesforce.com." % given.replace('user:Secret-Pw@', ''))


@pytest.mark.parametrize('given', ['login.salesforce.com', 'ftp://login.salesforce.com', 'https://'])
def test_login_url_without_https_scheme_is_refused(given):
    with pytest.raises(AuthError) as caught:
        _auth.normalize_login_url(given)
    assert str(caught.value) == ('login_url %r is not an https:// URL. Give the token host with its scheme, e.g. '
                                 'https://login.salesforce.com or https://acme.my.salesforce.com.' % given)


def test_approval_url():
    assert _common.approval_url('https://acme.my.salesforce.com/', 'KEY.1', 'https://cb.example/x?y') == (
        'https://acme.my.salesforce.com/services/oauth2/authorize?response_type=code&client_id=KEY.1'
        '&redirect_uri=https%3A%2F%2Fcb.example%2Fx%3Fy')


# ---------------------------------------------------------------- local problems, before any request

@pytest.mark.parametrize('missing, message', [
    ('consumer_key', 'consumer_key is required: the Consumer Key of the Connected App or External Client App. Set the option '
                     'consumer_key (or the variable sfjwt_consumer_key, or the environment variable SFJWT_CONSUMER_KEY).'),
    ('username', 'username is required: the Salesforce username the token is for. Set the option username (or the variable '
                 'sfjwt_username, or the environment variable SFJWT_USERNAME).'),
])
def test_required_options(tmp_path, key_path, missing, message):
    options = make_options(tmp_path, key_path, **{missing: '  '})
    assert error_message(options) == message
    assert options.http.calls == []


@pytest.mark.parametrize('name, value, problem', [
    ('consumer_key', '3MVG9unitTe stConsumerKey', 'contains a space (character 12)'),
    ('consumer_key', ' 3MVG9unitTestConsumerKey', 'starts with a space'),
    ('consumer_key', '3MVG9unitTestConsumerKey\n', 'ends with a line break'),
    ('consumer_key', '3MVG9unit\tTestConsumerKey', 'contains a tab (character 10)'),
    ('consumer_key', '3MVG9unitTestConsumerKey\u00a0', 'ends with whitespace (U+00A0)'),
    ('username', 'integration @acme.example', 'contains a space (character 12)'),
    ('username', 'integration@acme.example ', 'ends with a space'),
])
def test_whitespace_in_consumer_key_or_username_is_refused_without_a_request(tmp_path, key_path, name, value, problem):
    why = {'consumer_key': 'A Consumer Key never contains whitespace: copy it again from the app\'s settings (Consumer Key and '
                           'Secret), without spaces or line breaks.',
           'username': 'A Salesforce username has the form of an e-mail address and never contains whitespace: give it without '
                       'spaces or line breaks.'}[name]
    options = make_options(tmp_path, key_path, **{name: value})
    assert error_message(options) == '%s %r %s. %s' % (name, value, problem, why)
    assert options.http.calls == []
    assert not (tmp_path / 'cache').exists()


def test_real_consumer_key_characters_are_accepted(tmp_path, key_path):
    consumer_key = '3MVG9_XwsRgC.abc_DEF.0123456789xyz'
    options = make_options(tmp_path, key_path, consumer_key=consumer_key, cache=False)
    _auth.get_session(options)
    assert jwt.decode(options.http.calls[0]['data']['assertion'], options={'verify_signature': False})['iss'] == consumer_key


def test_no_key(tmp_path):
    assert error_message(make_options(tmp_path)) == (
        'A private key is required: set private_key_path to the key file (or private_key to the PEM content), or the environment '
        'variable SFJWT_PRIVATE_KEY_PATH (SFJWT_PRIVATE_KEY).')


def test_both_keys(tmp_path, key, key_path):
    assert error_message(make_options(tmp_path, key_path, private_key=pem(key).decode())) == (
        'Both private_key_path and private_key are set (check also the variables sfjwt_private_key_path and sfjwt_private_key '
        'and the environment variables SFJWT_PRIVATE_KEY_PATH and SFJWT_PRIVATE_KEY); give only one.')


def test_missing_key_file(tmp_path):
    path = str(tmp_path / 'nope.key')
    assert error_message(make_options(tmp_path, path)) == (
        'private_key_path %s does not exist. Point it at the key the app\'s certificate was made from '
        '(the sfjwt.salesforce.certificate module creates both).' % path)


def test_key_path_is_a_directory(tmp_path):
    assert error_message(make_options(tmp_path, str(tmp_path))) == (
        'private_key_path %s is a directory; point it at the private key file.' % tmp_path)


def test_encrypted_key_without_passphrase(tmp_path, key):
    path = tmp_path / 'enc.key'
    path.write_bytes(pem(key, PASSPHRASE))
    assert error_message(make_options(tmp_path, str(path))) == (
        'the private key %s is encrypted and no passphrase was given. Set private_key_passphrase.' % path)


def test_wrong_passphrase_is_not_echoed(tmp_path, key):
    path = tmp_path / 'enc.key'
    path.write_bytes(pem(key, PASSPHRASE))
    message = error_message(make_options(tmp_path, str(path), private_key_passphrase='Wrong-Passphrase-123'))
    assert message == 'the passphrase does not open the private key %s (wrong private_key_passphrase).' % path
    assert 'Wrong-Passphrase-123' not in message


def test_not_a_key(tmp_path):
    message = error_message(make_options(tmp_path, private_key='hello'))
    assert message == ('the private_key option is not a PEM private key (no "-----BEGIN" line). '
                       'Give the key file written by the certificate module, or a PEM key.')


@pytest.mark.parametrize('name, value, bounds', [
    ('timeout', 0, 'from 1 to 3600 seconds'),
    ('timeout', 1000000000000, 'from 1 to 3600 seconds'),
    ('timeout', '30', 'from 1 to 3600 seconds'),
    ('retries', -1, 'from 0 to 10'),
    ('retries', 11, 'from 0 to 10'),
    ('retries', True, 'from 0 to 10'),
    ('cache_ttl', 0, 'from 1 to 43200 seconds (12 hours)'),
    ('cache_ttl', 43201, 'from 1 to 43200 seconds (12 hours)'),
])
def test_numeric_limits(tmp_path, key_path, name, value, bounds):
    options = make_options(tmp_path, key_path, **{name: value})
    assert error_message(options) == '%s must be an integer %s (got %r).' % (name, bounds, value)
    assert options.http.calls == [] and not (tmp_path / 'cache').exists()


@pytest.mark.parametrize('name, value', [('timeout', 1), ('timeout', 3600), ('retries', 0), ('retries', 10), ('cache_ttl', 1),
                                         ('cache_ttl', 43200)])
def test_numeric_limits_are_inclusive(tmp_path, key_path, name, value):
    assert _auth.get_session(make_options(tmp_path, key_path, **{name: value})).access_token == TOKEN


def test_missing_ca_path(tmp_path, key_path):
    path = str(tmp_path / 'ca.pem')
    assert error_message(make_options(tmp_path, key_path, ca_path=path)) == (
        'ca_path %s does not exist. Point it at a PEM file with the CA certificate(s) that issued the server\'s certificate.' % path)


# ---------------------------------------------------------------- refusals held or shared through the token cache

RATE_EXCEEDED = ('Salesforce refused the login of integration@acme.example: LOGIN_RATE_EXCEEDED, more than about 3,600 logins '
                 'for this user within an hour. Tokens must be reused, not requested for every task or host. Keep the token '
                 'cache on and use one cache_dir for all runs on this machine. Other tools logging in as the same user count '
                 'too. The limit clears within an hour.')


NOW = 1_900_000_000.0


@pytest.fixture
def frozen_clock(monkeypatch):
    """The token cache's clock stands still, so the end of a back-off and the seconds left are exact."""
    monkeypatch.setattr(_auth, 'TokenCache', functools.partial(_auth.TokenCache, clock=lambda: NOW))


def held_failure(options):
    """The failure record stored in the options' cache directory (the only entry), and the entry's path."""
    entries = [name for name in os.listdir(options.cache_dir) if name.endswith('.json')]
    assert len(entries) == 1
    path = os.path.join(options.cache_dir, entries[0])
    with open(path) as handle:
        return json.load(handle)['failure'], path


def held_note(until, path, seconds):
    return (' This refusal is remembered in the token cache until %s (%d more seconds): until then, tasks on this machine that '
            'need a token for this user and app fail with this message without logging in again. To ask Salesforce sooner, '
            'delete the cache entry %s, or set cache=false.' % (_common.iso_time(until), seconds, path))


@pytest.mark.parametrize('status', [400, 403])
@pytest.mark.usefixtures('frozen_clock')
def test_login_rate_exceeded(tmp_path, key_path, status):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'LOGIN_RATE_EXCEEDED', status=status),))
    message = error_message(options)
    failure, path = held_failure(options)
    assert (failure['at'], failure['until'], _common.RATE_LIMIT_BACKOFF) == (NOW, NOW + 300, 300)
    assert message == RATE_EXCEEDED + held_note(NOW + 300, path, 300)


@pytest.mark.usefixtures('frozen_clock')
def test_login_rate_exceeded_is_remembered_for_every_later_caller(tmp_path, key, key_path):
    """Later tasks for the identity fail with the refusal without asking Salesforce, also with the key given otherwise."""
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'LOGIN_RATE_EXCEEDED'),))
    first = error_message(options)
    failure, path = held_failure(options)
    # the record holds the message and Salesforce's answer, nothing secret, and is private like the tokens
    assert failure == {'message': RATE_EXCEEDED, 'at': NOW, 'until': NOW + 300,
                       'details': {'status_code': 400, 'salesforce_error': 'invalid_grant',
                                   'salesforce_error_description': 'LOGIN_RATE_EXCEEDED', 'refusal': 'rate_limit'}}
    assert os.stat(path).st_mode & 0o777 == 0o600
    later = make_options(tmp_path, private_key=pem(key).decode(), answers=(response(body=success_body()),))
    for dummy in range(3):
        with pytest.raises(AuthError) as caught:
            _auth.get_session(later)
        assert caught.value.message == first
        assert caught.value.details == failure['details']
    assert later.http.calls == []
    # as the message says, deleting the entry asks again
    os.unlink(path)
    assert _auth.get_session(later).access_token == TOKEN
    assert len(later.http.calls) == 1


@pytest.mark.usefixtures('frozen_clock')
def test_remembered_refusal_expires(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'LOGIN_RATE_EXCEEDED'), response(body=success_body())))
    error_message(options)
    failure, path = held_failure(options)
    with open(path, 'w') as handle:  # as if the back-off had passed
        json.dump({'version': 1, 'failure': dict(failure, at=failure['at'] - 300, until=failure['at'])}, handle)
    assert _auth.get_session(options).access_token == TOKEN
    assert len(options.http.calls) == 2


@pytest.mark.usefixtures('frozen_clock')
def test_remembered_refusal_is_bounded_by_cache_ttl(tmp_path, key_path):
    options = make_options(tmp_path, key_path, cache_ttl=45, answers=(refusal('invalid_grant', 'LOGIN_RATE_EXCEEDED'),))
    message = error_message(options)
    failure, path = held_failure(options)
    assert failure['until'] == NOW + 45
    assert message == RATE_EXCEEDED + held_note(NOW + 45, path, 45)


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The token cache's clock, moved by the test."""
    clock = Clock()
    monkeypatch.setattr(_auth, 'TokenCache', functools.partial(_auth.TokenCache, clock=clock))
    return clock


@pytest.mark.parametrize('answer', [
    refusal('unknown_error', 'retry your request', status=500),
    response(503, text='<html><title>Maintenance</title></html>', content_type='text/html'),
    requests.exceptions.ConnectTimeout('boom'),
], ids=['500', '503 page', 'timeout'])
def test_outages_are_not_remembered(tmp_path, key_path, clock, answer):
    """Outages pass: the next task asks again, at once."""
    options = make_options(tmp_path, key_path, answers=(answer, response(body=success_body())))
    message = error_message(options)
    assert 'remembered' not in message
    clock.now += 0.1
    assert _auth.get_session(options).access_token == TOKEN
    assert len(options.http.calls) == 2


FINAL_REFUSALS = [
    refusal('invalid_client_id', 'client identifier invalid'),
    refusal('invalid_grant', "user hasn't approved this consumer"),
    refusal('invalid_grant', 'invalid assertion'),
    refusal('invalid_grant', 'audience is invalid'),
    refusal('invalid_grant', 'inactive user'),
    refusal('invalid_app_access', 'user is not admin approved to access this app'),
]
FINAL_REFUSAL_IDS = ['invalid_client_id', 'not approved', 'invalid assertion', 'audience', 'inactive user', 'invalid_app_access']


@pytest.mark.parametrize('answer', FINAL_REFUSALS, ids=FINAL_REFUSAL_IDS)
def test_final_refusal_reaches_the_tasks_arriving_meanwhile_without_a_login(tmp_path, key, key_path, clock, answer):
    """A bad consumer key with 50 hosts and 25 forks: the workers that start while the refusal is fresh get it, without
    logging in again (the refusal would be the same, and each counts against the user's logins)."""
    first = make_options(tmp_path, key_path, answers=(answer,))
    with pytest.raises(AuthError) as refused:
        _auth.get_session(first)
    clock.now += REFUSAL_SHARE_SECONDS - 0.5
    other = make_options(tmp_path, private_key=pem(key).decode(), answers=(response(body=success_body()),))
    with pytest.raises(AuthError) as caught:
        _auth.get_session(other)
    assert (caught.value.message, caught.value.details) == (refused.value.message, refused.value.details)
    assert 'remembered' not in caught.value.message
    assert other.http.calls == []
    # Not held: once the moment has passed (a later run, after the user fixed the cause), the next task asks again.
    clock.now += 0.5
    assert _auth.get_session(other).access_token == TOKEN
    assert len(other.http.calls) == 1


def test_a_task_waiting_for_the_app_to_apply_asks_again(tmp_path, key_path, clock):
    """The token module's propagation_timeout runs it again while Salesforce does not know the app yet: each try asks."""
    options = make_options(tmp_path, key_path, share_recent_refusals=False,
                           answers=(refusal('invalid_client_id', 'client identifier invalid'), response(body=success_body())))
    error_message(options)
    clock.now += 1
    assert _auth.get_session(options).access_token == TOKEN
    assert len(options.http.calls) == 2


@pytest.mark.parametrize('details, share', [
    ({'status_code': 400, 'salesforce_error': 'invalid_client_id'}, REFUSAL_SHARE_SECONDS),
    ({'status_code': 400, 'salesforce_error': 'invalid_grant'}, REFUSAL_SHARE_SECONDS),
    ({'status_code': 400, 'salesforce_error': 'unknown_error'}, None),
    ({'status_code': 500, 'salesforce_error': 'invalid_grant'}, None),
    ({'status_code': 503}, None),
    ({}, None),
])
def test_only_refusals_retrying_cannot_fix_are_shared(details, share):
    record = AuthError('x', details=details, shareable=True).cache_record()
    assert record.get('share') == share
    rate_limited = AuthError('x', details=details, shareable=True, hold=300).cache_record()
    assert (rate_limited['hold'], 'share' in rate_limited) == (300, False)


@pytest.mark.usefixtures('frozen_clock')
def test_too_many_requests(tmp_path, key_path):
    """429 is rate limiting too: remembered like LOGIN_RATE_EXCEEDED."""
    answer = response(429, text='slow down', content_type='text/plain', reason='Too Many Requests')
    options = make_options(tmp_path, key_path, answers=(answer, response(body=success_body())))
    message = error_message(options)
    failure, path = held_failure(options)
    assert message == (
        'Salesforce\'s token endpoint https://login.salesforce.com answered HTTP 429 Too Many Requests: too many requests. Wait a '
        'few minutes and try again; keep the token cache on (cache=true) so tokens are reused.' + held_note(NOW + 300, path, 300))
    assert error_message(options) == message
    assert len(options.http.calls) == 1


# ---------------------------------------------------------------- the cache through the public API

def test_second_session_comes_from_cache(tmp_path, key_path):
    options = make_options(tmp_path, key_path)
    first = _auth.get_session(options)
    second = _auth.get_session(options)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.as_result() == dict(first.as_result(), from_cache=True)
    assert len(options.http.calls) == 1
    entries = sorted(os.listdir(tmp_path / 'cache'))
    assert entries == [first.cache_key + '.json', first.cache_key + '.lock']


def test_identity_parts_make_separate_entries(tmp_path, key_path, other_key):
    options = make_options(tmp_path, key_path)
    keys = {_auth.get_session(options).cache_key}
    for change in ({'username': 'other@acme.example'}, {'consumer_key': 'OtherKey'}, {'login_url': 'https://acme.my.salesforce.com'},
                   {'audience': 'https://test.salesforce.com'}, {'private_key_path': None, 'private_key': pem(other_key).decode()}):
        changed = make_options(tmp_path, key_path, **change)
        session = _auth.get_session(changed)
        assert not session.from_cache
        keys.add(session.cache_key)
    assert len(keys) == 6


def test_same_key_from_file_and_from_variable_share_the_entry(tmp_path, key_path, key):
    """lookup('file') drops the trailing newline and Windows editors add CR: the same key still finds the same token."""
    first = _auth.get_session(make_options(tmp_path, key_path))
    for variant in (pem(key).decode().strip(), pem(key).decode().replace('\n', '\r\n') + '\n'):
        options = make_options(tmp_path, private_key=variant)
        session = _auth.get_session(options)
        assert (session.from_cache, session.cache_key, options.http.calls) == (True, first.cache_key, [])


def test_changed_key_file_is_a_new_identity(tmp_path, key_path, other_key):
    first = _auth.get_session(make_options(tmp_path, key_path))
    with open(key_path, 'wb') as handle:
        handle.write(pem(other_key))
    options = make_options(tmp_path, key_path)
    session = _auth.get_session(options)
    assert (session.from_cache, len(options.http.calls)) == (False, 1)
    assert session.cache_key != first.cache_key


def test_wrong_passphrase_never_finds_the_right_ones_entry(tmp_path, key):
    key_file = tmp_path / 'encrypted.key'
    key_file.write_bytes(pem(key, PASSPHRASE))
    assert not _auth.get_session(make_options(tmp_path, str(key_file), private_key_passphrase=PASSPHRASE)).from_cache
    options = make_options(tmp_path, str(key_file), private_key_passphrase='Not-The-Passphrase')
    assert error_message(options) == ('the passphrase does not open the private key %s (wrong private_key_passphrase).' % key_file)
    assert options.http.calls == []
    options = make_options(tmp_path, str(key_file))
    assert error_message(options) == ('the private key %s is encrypted and no passphrase was given. Set private_key_passphrase.'
                                      % key_file)


def test_passphrase_in_the_cache_key_is_stretched(monkeypatch, key, other_key):
    """Entry names appear in messages: a passphrase guess must cost a PBKDF2 run salted by the key, as for the key file."""
    calls = []
    real = _auth.hashlib.pbkdf2_hmac
    monkeypatch.setattr(_auth.hashlib, 'pbkdf2_hmac', lambda *args: calls.append(args) or real(*args))
    encrypted = pem(key, PASSPHRASE)
    digest = _auth.key_digest(encrypted, PASSPHRASE)
    _auth.key_digest(pem(other_key, PASSPHRASE), PASSPHRASE)
    assert [(name, secret, iterations) for name, secret, _salt, iterations in calls] == [('sha256', PASSPHRASE.encode(), 2048)] * 2
    assert calls[0][2] != calls[1][2]
    assert digest == _auth.key_digest(encrypted, PASSPHRASE.encode()) != _auth.key_digest(encrypted, PASSPHRASE + 'x')
    calls.clear()
    assert _auth.key_digest(encrypted, None) == _auth.key_digest(encrypted, '') != digest
    assert calls == []


def test_missing_library_is_reported_when_a_token_is_needed(tmp_path, key_path, hide_libraries):
    options = make_options(tmp_path, key_path)
    token = _auth.get_session(options).access_token
    hide_libraries('PyJWT')
    assert _auth.get_session(options).access_token == token   # a cached token needs no PyJWT
    options = make_options(tmp_path, key_path, cache=False)
    assert error_message(options) == missing_libraries_message()
    assert 'missing: PyJWT. ' in error_message(options)
    assert options.http.calls == []


def test_bad_key_creates_no_cache_directory(tmp_path):
    key_file = tmp_path / 'not-a-key.pem'
    key_file.write_text('-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n')
    options = make_options(tmp_path, str(key_file))
    assert error_message(options) == ('the private key %s could not be read as a PEM private key (damaged or not a key).' % key_file)
    assert (options.http.calls, (tmp_path / 'cache').exists()) == ([], False)


def test_cache_hit_imports_no_third_party_library(tmp_path, key_path):
    """A cache hit runs in every Ansible worker process that templates the lookup: it must not import requests,
    cryptography or PyJWT (about 70 ms) or check the RSA key (about 35 ms). Checked in a fresh interpreter."""
    options = make_options(tmp_path, key_path)
    token = _auth.get_session(options).access_token
    script = (
        'import sys\n'
        'from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth, _options\n'
        'session = _auth.get_session(_options.AuthOptions(consumer_key=sys.argv[1], username=sys.argv[2], '
        'private_key_path=sys.argv[3], cache_dir=sys.argv[4]))\n'
        'heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("requests", "urllib3", "cryptography", "jwt")'
        ' or name.endswith("._token_request"))\n'
        'print(session.from_cache, session.access_token == sys.argv[5], heavy)\n'
    )
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    result = subprocess.run([sys.executable, '-c', script, CONSUMER_KEY, USERNAME, key_path, str(tmp_path / 'cache'), token],
                            capture_output=True, text=True, env=environment, check=False)
    assert (result.returncode, result.stderr) == (0, '')
    assert result.stdout == 'True True []\n'


def test_cache_off_always_requests(tmp_path, key_path):
    options = make_options(tmp_path, key_path, cache=False)
    assert not _auth.get_session(options).from_cache
    assert not _auth.get_session(options).from_cache
    assert len(options.http.calls) == 2
    assert not (tmp_path / 'cache').exists()


def test_invalidate_then_new_token(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(response(body=success_body()), response(body=success_body(access_token='00DNEW!x'))))
    old = _auth.get_session(options)
    assert _auth.invalidate_session(options, old) is True
    new = _auth.get_session(options)
    assert (new.access_token, new.from_cache) == ('00DNEW!x', False)
    # the stale session cannot evict the newer token that replaced it
    assert _auth.invalidate_session(options, old) is False
    assert _auth.get_session(options).access_token == '00DNEW!x'
    assert len(options.http.calls) == 2


def test_update_session_extra(tmp_path, key_path):
    options = make_options(tmp_path, key_path)
    session = _auth.get_session(options)
    assert _auth.update_session_extra(options, session, api_version='61.0') is True
    assert session.extra == {'api_version': '61.0'}
    assert _auth.get_session(options).extra == {'api_version': '61.0'}


def test_invalidate_without_cache_is_a_no_op(tmp_path, key_path):
    options = make_options(tmp_path, key_path, cache=False)
    session = _auth.get_session(options)
    assert _auth.invalidate_session(options, session) is False
    assert _auth.update_session_extra(options, session, api_version='61.0') is False
    assert session.extra == {'api_version': '61.0'}


def test_failure_is_not_cached_for_later_calls(tmp_path, key_path, clock):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'inactive user'), response(body=success_body())))
    with pytest.raises(AuthError):
        _auth.get_session(options)
    clock.now += REFUSAL_SHARE_SECONDS
    assert _auth.get_session(options).access_token == TOKEN


# ---------------------------------------------------------------- errors, the HTTP session, forgetting, cached_session

def test_http_error_is_shareable():
    error = AuthError('x', shareable=True)
    assert error.cache_record() == {'message': 'x', 'details': {}}
    assert AuthError('local').cache_record() is None
    assert str(AuthError.from_record({'message': 'x', 'details': {'status_code': 503}})) == 'x'


def test_options_build_one_http_session_with_their_settings():
    options = AuthOptions(validate_certs=False, timeout=9, retries=1)
    session = options.http
    assert session is options.http
    assert (session.verify, session.default_timeout) == (False, 9)
    assert isinstance(HttpError('x'), Exception)


def test_forget_session_drops_the_identitys_entry_only(tmp_path, key_path, other_key):
    options = make_options(tmp_path, key_path)
    session = _auth.get_session(options)
    other = make_options(tmp_path, None, private_key=pem(other_key).decode())
    kept = _auth.get_session(other)
    assert _auth.forget_session(options, check_mode=True) is True
    assert os.path.exists(tmp_path / 'cache' / (session.cache_key + '.json')), 'check mode removes nothing'
    assert _auth.forget_session(options) is True
    assert not os.path.exists(tmp_path / 'cache' / (session.cache_key + '.json'))
    assert os.path.exists(tmp_path / 'cache' / (kept.cache_key + '.json'))
    assert _auth.forget_session(options) is False
    assert _auth.forget_session(options, check_mode=True) is False
    # nothing was asked of Salesforce to forget, and the next session is a new login
    assert len(options.http.calls) == 1
    assert _auth.get_session(make_options(tmp_path, key_path)).from_cache is False


def test_forget_session_without_a_cache_directory_creates_none(tmp_path, key_path):
    options = make_options(tmp_path, key_path)
    assert _auth.forget_session(options) is False
    assert not os.path.exists(tmp_path / 'cache')


def test_cached_session_never_asks_salesforce_nor_creates_the_cache(tmp_path, key_path):
    options = make_options(tmp_path, key_path)
    assert _auth.cached_session(options) is None
    assert not os.path.exists(tmp_path / 'cache') and options.http.calls == []
    minted = _auth.get_session(options)
    cached = _auth.cached_session(make_options(tmp_path, key_path))
    assert cached.access_token == minted.access_token and cached.from_cache is True
    assert _auth.cached_session(make_options(tmp_path, key_path, cache=False)) is None


@pytest.mark.parametrize('bad', [{'instance_url': 'http://acme.my.salesforce.com'}, {'instance_url': 42},
                                 {'access_token': ['t']}, {'scope': {'api': True}}],
                         ids=['http instance_url', 'instance_url a number', 'access_token a list', 'scope an object'])
def test_a_cached_session_that_fails_the_answer_checks_is_dropped_and_a_fresh_login_happens(tmp_path, key_path, bad):
    # As an entry written before the answer was checked, still within its cache_ttl.
    options = make_options(tmp_path, key_path, answers=(response(body=success_body()), response(body=success_body())))
    minted = _auth.get_session(options)
    path = os.path.join(options.cache_dir, minted.cache_key + '.json')
    with open(path) as handle:
        entry = json.load(handle)
    entry['session'].update(bad)
    with open(path, 'w') as handle:
        json.dump(entry, handle)
    _auth._MEMO.clear()   # another worker process
    assert _auth.cached_session(options) is None
    assert not os.path.exists(path)
    _auth._MEMO.clear()
    with open(path, 'w') as handle:
        json.dump(entry, handle)
    session = _auth.get_session(options)
    assert (session.from_cache, session.instance_url, session.access_token) == (False, 'https://acme.my.salesforce.com', TOKEN)
    assert len(options.http.calls) == 2
    with open(path) as handle:
        assert json.load(handle)['session'] == minted.to_cache()


def test_a_hard_linked_key_is_read(tmp_path, key_path):
    # Links are allowed for the key the user names (unlike files found in a project): a hard link too.
    os.link(key_path, str(tmp_path / 'other-name.key'))
    options = make_options(tmp_path, key_path)
    assert _auth.get_session(options).access_token == TOKEN


# ---------------------------------------------------------------- the in-process memo

def count_key_reads(monkeypatch):
    reads = []
    original = _auth.read_regular_file

    def counting(path, *args, **kwargs):
        reads.append(path)
        return original(path, *args, **kwargs)
    monkeypatch.setattr(_auth, 'read_regular_file', counting)
    return reads


def test_the_same_process_asking_again_reads_neither_key_nor_cache(tmp_path, key_path, clock, monkeypatch):
    options = make_options(tmp_path, key_path)
    first = _auth.get_session(options)
    reads = count_key_reads(monkeypatch)
    monkeypatch.setattr(_token_cache.TokenCache, '_read_raw', lambda self, key: pytest.fail('the cache entry was read'))
    again = [_auth.get_session(options) for dummy in range(3)]
    assert reads == []
    assert [session.access_token for session in again] == [TOKEN] * 3 and all(session.from_cache for session in again)
    assert first.from_cache is False and len(options.http.calls) == 1


def test_a_changed_key_file_is_another_identity(tmp_path, key_path, other_key, clock):
    options = make_options(tmp_path, key_path, answers=(response(body=success_body()),
                                                        response(body=success_body(access_token=TOKEN + 'B'))))
    assert _auth.get_session(options).access_token == TOKEN
    replacement = tmp_path / 'replacement.key'
    replacement.write_bytes(pem(other_key))
    replacement.chmod(0o600)
    os.replace(str(replacement), str(key_path))   # a new key under the same name, as the certificate module writes it
    assert _auth.get_session(options).access_token == TOKEN + 'B'
    assert len(options.http.calls) == 2


def test_a_changed_passphrase_is_another_identity(tmp_path, key, clock):
    path = tmp_path / 'encrypted.key'
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b'right-passphrase')))
    path.chmod(0o600)
    options = make_options(tmp_path, str(path), private_key_passphrase='right-passphrase')
    assert _auth.get_session(options).access_token == TOKEN
    options.private_key_passphrase = 'wrong-passphrase'
    assert 'the passphrase does not open' in error_message(options)


def test_an_expired_session_is_not_served_from_the_memo(tmp_path, key_path, clock):
    options = make_options(tmp_path, key_path, answers=(response(body=success_body()),
                                                        response(body=success_body(access_token=TOKEN + 'B'))))
    assert _auth.get_session(options).access_token == TOKEN
    clock.now += options.cache_ttl - 1
    assert _auth.get_session(options).access_token == TOKEN
    clock.now += 1
    assert _auth.get_session(options).access_token == TOKEN + 'B'


def test_invalidated_and_forgotten_sessions_leave_the_memo(tmp_path, key_path, clock):
    options = make_options(tmp_path, key_path, answers=(response(body=success_body()),
                                                        response(body=success_body(access_token=TOKEN + 'B')),
                                                        response(body=success_body(access_token=TOKEN + 'C'))))
    first = _auth.get_session(options)
    assert _auth.invalidate_session(options, first) is True
    assert _auth.get_session(options).access_token == TOKEN + 'B'
    assert _auth.forget_session(options) is True
    assert _auth.get_session(options).access_token == TOKEN + 'C'


def test_extra_values_reach_the_memo(tmp_path, key_path, clock):
    options = make_options(tmp_path, key_path)
    _auth.update_session_extra(options, _auth.get_session(options), api_version='62.0')
    assert _auth.get_session(options).extra == {'api_version': '62.0'}


def test_without_the_cache_nothing_is_remembered(tmp_path, key_path):
    options = make_options(tmp_path, key_path, cache=False)
    _auth.get_session(options)
    _auth.get_session(options)
    assert len(options.http.calls) == 2 and _auth._MEMO == {}


@pytest.mark.parametrize('error, description, pending', [
    ('invalid_client_id', 'client identifier invalid', True),
    ('invalid_grant', 'invalid assertion', True),
    ('invalid_grant', "user hasn't approved this consumer", False),
    ('invalid_app_access', 'user is not admin approved to access this app', False),
    ('invalid_grant', 'audience is invalid', False),
    ('invalid_grant', 'expired authorization code', False),
    (None, None, False),
])
def test_awaiting_propagation(error, description, pending):
    details = {'salesforce_error': error, 'salesforce_error_description': description}
    assert _auth.awaiting_propagation(details) is pending
