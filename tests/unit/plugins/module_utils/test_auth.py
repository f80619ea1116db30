# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The auth core without a network: assertion, request, answer parsing, error messages, cache use."""

from __future__ import annotations

import datetime
import email.utils
import functools
import json
import os
import subprocess
import sys
from urllib.parse import parse_qs

import jwt
import pytest
import requests

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.sfjwt.salesforce.plugins.module_utils import _auth, _token_cache, _token_request
from ansible_collections.sfjwt.salesforce.plugins.module_utils._auth import SalesforceAuthError
from ansible_collections.sfjwt.salesforce.plugins.module_utils._http import HttpError
from ansible_collections.sfjwt.salesforce.plugins.module_utils._keys import public_key_fingerprint
from ansible_collections.sfjwt.salesforce.plugins.module_utils._options import AuthOptions
from ansible_collections.sfjwt.salesforce.plugins.module_utils._requirements import missing_libraries_message

CONSUMER_KEY = '3MVG9unitTestConsumerKey'
USERNAME = 'integration@acme.example'
PASSPHRASE = 'Unit-Passphrase-7f3e9'
TOKEN = '00DUNIT0000001!AQ0AQSecretAccessTokenValue'
ID_URL = 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6eAAC'


@pytest.fixture(scope='module')
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope='module')
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key, passphrase=None):
    encryption = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def certificate_pem(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'unit')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def key_path(tmp_path, key):
    path = tmp_path / 'server.key'
    path.write_bytes(pem(key))
    path.chmod(0o600)
    return str(path)


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


# ---------------------------------------------------------------- login_url and audience

@pytest.mark.parametrize('login_url, audience', [
    ('https://login.salesforce.com', 'https://login.salesforce.com'),
    ('https://test.salesforce.com', 'https://test.salesforce.com'),
    ('https://TEST.salesforce.com/', 'https://test.salesforce.com'),
    ('https://acme--uat.sandbox.my.salesforce.com', 'https://test.salesforce.com'),
    ('https://acme.my.salesforce.com', 'https://login.salesforce.com'),
    ('https://acme.my.site.com', 'https://login.salesforce.com'),
    ('https://sandbox.my.salesforce.com.evil.example', 'https://login.salesforce.com'),
])
def test_default_audience(login_url, audience):
    assert _auth.default_audience(login_url) == audience


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
    with pytest.raises(SalesforceAuthError) as caught:
        _auth.normalize_login_url('http://login.salesforce.com/')
    assert str(caught.value) == ('login_url http://login.salesforce.com/ uses http://, but Salesforce accepts token requests '
                                 'only over HTTPS. Use https://login.salesforce.com.')


def test_http_login_url_message_hides_url_credentials():
    with pytest.raises(SalesforceAuthError) as caught:
        _auth.normalize_login_url('http://user:Secret-Pw@acme.my.salesforce.com:8080/x/')
    assert str(caught.value) == ("login_url 'http://acme.my.salesforce.com:8080/x/' holds a user name or password "
                                 "(user:password@); a token request never needs one. Give only the token host, e.g. "
                                 "https://acme.my.salesforce.com:8080.")


def test_http_login_url_message_without_credentials_suggests_https():
    with pytest.raises(SalesforceAuthError) as caught:
        _auth.normalize_login_url('http://acme.my.salesforce.com:8080/x/')
    assert str(caught.value) == ('login_url http://acme.my.salesforce.com:8080/x/ uses http://, but Salesforce accepts token '
                                 'requests only over HTTPS. Use https://acme.my.salesforce.com:8080/x.')


@pytest.mark.parametrize('given', ['https://[::1', 'https://user:Secret-Pw@localhost:abc', 'https://user:Secret-Pw@[zz]/'])
def test_a_malformed_login_url_is_a_message_without_the_password(given):
    with pytest.raises(SalesforceAuthError) as caught:
        _auth.normalize_login_url(given)
    assert str(caught.value) == ("login_url %r is not a valid URL (check the host name, brackets and port). Give the token host "
                                 "with its scheme, e.g. https://login.salesforce.com." % given.replace('user:Secret-Pw@', ''))


@pytest.mark.parametrize('given', ['login.salesforce.com', 'ftp://login.salesforce.com', 'https://'])
def test_login_url_without_https_scheme_is_refused(given):
    with pytest.raises(SalesforceAuthError) as caught:
        _auth.normalize_login_url(given)
    assert str(caught.value) == ('login_url %r is not an https:// URL. Give the token host with its scheme, e.g. '
                                 'https://login.salesforce.com or https://acme.my.salesforce.com.' % given)


def test_approval_url():
    assert _auth.approval_url('https://acme.my.salesforce.com/', 'KEY.1', 'https://cb.example/x?y') == (
        'https://acme.my.salesforce.com/services/oauth2/authorize?response_type=code&client_id=KEY.1'
        '&redirect_uri=https%3A%2F%2Fcb.example%2Fx%3Fy')


# ---------------------------------------------------------------- the assertion and the request

def test_assertion_is_rs256_with_required_claims(tmp_path, key, key_path):
    identity = _auth.prepare(make_options(tmp_path, key_path, login_url='https://acme--uat.sandbox.my.salesforce.com'))
    assertion = _token_request.build_assertion(identity, now=1_900_000_000)
    assert jwt.get_unverified_header(assertion)['alg'] == 'RS256'
    claims = jwt.decode(assertion, key.public_key(), algorithms=['RS256'], audience='https://test.salesforce.com',
                        options={'verify_exp': False, 'verify_iat': False})
    assert claims == {'iss': CONSUMER_KEY, 'sub': USERNAME, 'aud': 'https://test.salesforce.com',
                      'iat': 1_900_000_000, 'exp': 1_900_000_180}


def test_assertion_lifetime_never_exceeds_180_seconds(tmp_path, key_path):
    identity = _auth.prepare(make_options(tmp_path, key_path))
    claims = jwt.decode(_token_request.build_assertion(identity, now=1000, lifetime=3600), options={'verify_signature': False})
    assert claims['exp'] - claims['iat'] == 180
    claims = jwt.decode(_token_request.build_assertion(identity, now=1000, lifetime=60), options={'verify_signature': False})
    assert claims['exp'] - claims['iat'] == 60


def test_token_request_and_answer(tmp_path, key, key_path):
    options = make_options(tmp_path, key_path, cache=False, login_url='https://acme.my.salesforce.com/',
                           answers=(response(body=success_body(issued_at='1717000000000', signature='sig')),))
    session = _auth.get_session(options)
    [call] = options.http.calls
    assert call['method'] == 'POST'
    assert call['url'] == 'https://acme.my.salesforce.com/services/oauth2/token'
    assert call['headers'] == {'Accept': 'application/json'}
    assert call['allow_redirects'] is False
    assert call['data']['grant_type'] == 'urn:ietf:params:oauth:grant-type:jwt-bearer'
    claims = jwt.decode(call['data']['assertion'], key.public_key(), algorithms=['RS256'], audience='https://login.salesforce.com')
    assert claims['iss'] == CONSUMER_KEY and claims['sub'] == USERNAME
    assert session.as_result() == {
        'access_token': TOKEN, 'instance_url': 'https://acme.my.salesforce.com', 'id': ID_URL,
        'org_id': '00Dxx0000001gPLEAY', 'user_id': '005xx000001Sv6eAAC', 'scope': 'api', 'token_type': 'Bearer',
        'issued_at': '1717000000000', 'from_cache': False,
    }
    assert TOKEN not in repr(session)


def test_issued_at_only_when_sent(tmp_path, key_path):
    session = _auth.get_session(make_options(tmp_path, key_path, cache=False))
    assert 'issued_at' not in session.as_result()


def test_explicit_audience_is_used(tmp_path, key_path):
    options = make_options(tmp_path, key_path, cache=False, login_url='https://acme.my.site.com',
                           audience='https://site.force.com/customers/')
    _auth.get_session(options)
    claims = jwt.decode(options.http.calls[0]['data']['assertion'], options={'verify_signature': False})
    assert claims['aud'] == 'https://site.force.com/customers'


def test_encrypted_key_content(tmp_path, key):
    options = make_options(tmp_path, private_key=pem(key, PASSPHRASE).decode(), private_key_passphrase=PASSPHRASE, cache=False)
    assert _auth.get_session(options).access_token == TOKEN


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


# ---------------------------------------------------------------- Salesforce's refusals

# What every invalid_grant refusal ends with when its explanation does not already name both (the default login_url).
SENT_DEFAULT = ('The assertion was sent to the token host https://login.salesforce.com with the audience '
                'https://login.salesforce.com (derived from login_url).')


def refusal(error, description, status=400, headers=None):
    return response(status, body={'error': error, 'error_description': description}, headers=headers)


def test_invalid_client_id(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_client_id', 'client identifier invalid'),))
    assert error_message(options) == (
        'Salesforce at https://login.salesforce.com does not know the consumer key 3MVG9unitTestConsumerKey (invalid_client_id: '
        'client identifier invalid). Check that consumer_key is the app\'s Consumer Key and that login_url points at the org '
        'that has the app; a new app can take up to 10 minutes to become usable.')


def test_not_approved_gives_approval_url(tmp_path, key_path):
    options = make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com',
                           answers=(refusal('invalid_grant', "user hasn't approved this consumer"),))
    assert error_message(options) == (
        "User integration@acme.example has not approved the app with consumer key 3MVG9unitTestConsumerKey (invalid_grant: "
        "user hasn't approved this consumer). Either pre-authorize the user: in the app's OAuth policies set Permitted Users "
        "to \"Admin approved users are pre-authorized\" and assign the user a profile or permission set of the app; or approve "
        "the app once, logged in as integration@acme.example, in a browser: https://acme.my.salesforce.com/services/oauth2/"
        "authorize?response_type=code&client_id=3MVG9unitTestConsumerKey&redirect_uri=<callback URL> (redirect_uri must be "
        "the app's callback URL). The same error comes when the token host (https://acme.my.salesforce.com) and the audience "
        "(https://login.salesforce.com) are for different kinds of org (production or sandbox).")


def test_not_admin_approved(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_app_access', 'user is not admin approved to access this app'),))
    assert error_message(options) == (
        'User integration@acme.example may not use the app with consumer key 3MVG9unitTestConsumerKey (invalid_app_access: '
        'user is not admin approved to access this app). The app admits only admin-approved users: assign the user a profile '
        'or permission set listed in the app\'s policies (Permitted Users: "Admin approved users are pre-authorized").')


@pytest.mark.parametrize('description', ['audience is invalid', 'Audience validation failed'])
def test_audience_invalid(tmp_path, key_path, description):
    options = make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com', audience='https://acme.my.salesforce.com',
                           answers=(refusal('invalid_grant', description),))
    assert error_message(options) == (
        'Salesforce at https://acme.my.salesforce.com rejected the audience https://acme.my.salesforce.com (invalid_grant: %s) '
        '(set by the audience option). The audience (aud claim) is not the token host: it is https://login.salesforce.com for '
        'production and developer orgs, https://test.salesforce.com for sandboxes and https://site.force.com/customers for '
        'Experience Cloud sites, even when login_url is a My Domain. Set the audience option accordingly.' % description)


def test_audience_invalid_derived(tmp_path, key_path):
    options = make_options(tmp_path, key_path, login_url='https://test.salesforce.com',
                           answers=(refusal('invalid_grant', 'audience is invalid'),))
    assert 'rejected the audience https://test.salesforce.com (invalid_grant: audience is invalid) (derived from login_url)' \
        in error_message(options)


def test_invalid_assertion_names_public_key_fingerprint(tmp_path, key, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'invalid assertion'),))
    assert error_message(options) == (
        'Salesforce could not verify the assertion for consumer key 3MVG9unitTestConsumerKey and user integration@acme.example '
        '(invalid_grant: invalid assertion): the certificate uploaded to the app ("Use digital signatures") does not belong '
        'to this private key. This key\'s public key SHA-256 fingerprint is %s. Upload the certificate made from this key to '
        'the app, or use the key the uploaded certificate was made from. %s' % (public_key_fingerprint(key), SENT_DEFAULT))


def test_invalid_assertion_with_matching_certificate(tmp_path, key, key_path):
    cert, data = certificate_pem(key)
    cert_path = tmp_path / 'server.crt'
    cert_path.write_bytes(data)
    fingerprint = ':'.join('%02X' % b for b in cert.fingerprint(hashes.SHA256()))
    options = make_options(tmp_path, key_path, certificate_path=str(cert_path), answers=(refusal('invalid_grant', 'invalid assertion'),))
    assert ('The certificate %s (SHA-256 fingerprint %s) belongs to this key: that is the one to upload. '
            % (cert_path, fingerprint)) in error_message(options)


def test_invalid_assertion_with_foreign_certificate(tmp_path, other_key, key_path):
    cert, data = certificate_pem(other_key)
    cert_path = tmp_path / 'other.crt'
    cert_path.write_bytes(data)
    fingerprint = ':'.join('%02X' % b for b in cert.fingerprint(hashes.SHA256()))
    options = make_options(tmp_path, key_path, certificate_path=str(cert_path), answers=(refusal('invalid_grant', 'invalid assertion'),))
    assert ('The certificate %s (SHA-256 fingerprint %s) does not belong to this key either: make a new certificate from this '
            'key (the sfjwt.salesforce.certificate module does). ' % (cert_path, fingerprint)) in error_message(options)


@pytest.mark.parametrize('server_offset, expected', [
    (600, 'this machine\'s clock is 600 seconds behind Salesforce\'s'),
    (-420, 'this machine\'s clock is 420 seconds ahead of Salesforce\'s'),
])
def test_expired_reports_clock_skew(tmp_path, key_path, monkeypatch, server_offset, expected):
    local = 1_900_000_000
    monkeypatch.setattr(_token_request.time, 'time', lambda: local)
    date = email.utils.formatdate(local + server_offset, usegmt=True)
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'expired authorization code', headers={'Date': date}),))
    server = datetime.datetime.fromtimestamp(local + server_offset, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    assert error_message(options) == (
        'Salesforce rejected the assertion as expired (invalid_grant: expired authorization code). The assertion is valid for '
        '180 seconds by this machine\'s clock; %s (local time 2030-03-17T17:46:40Z, Salesforce\'s Date header %s). '
        'Synchronize this machine\'s clock (NTP, chrony or systemd-timesyncd) and try again. %s' % (expected, server, SENT_DEFAULT))


def test_expired_without_skew(tmp_path, key_path, monkeypatch):
    monkeypatch.setattr(_token_request.time, 'time', lambda: 1_900_000_000)
    date = email.utils.formatdate(1_900_000_001, usegmt=True)
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'expired authorization code', headers={'Date': date}),))
    assert 'this machine\'s clock agrees with Salesforce\'s within 1 seconds' in error_message(options)


def test_expired_without_date_header(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'expired authorization code'),))
    assert error_message(options).endswith(
        'Salesforce\'s answer carried no usable Date header to compare clocks with. Check that this machine\'s clock is '
        'synchronized (NTP, chrony or systemd-timesyncd) and try again. %s' % SENT_DEFAULT)


# What every invalid_grant refusal ends with when its explanation does not already name both (login_url is a My Domain).
SENT_MY_DOMAIN = ('The assertion was sent to the token host https://acme.my.salesforce.com with the audience '
                  'https://login.salesforce.com (derived from login_url).')


@pytest.mark.parametrize('description, message', [
    ('ip restricted', 'Salesforce refused the login of integration@acme.example from this machine\'s IP address '
                      '(invalid_grant: ip restricted). Add the machine\'s public IP address to the Login IP Ranges of the '
                      'user\'s profile, or relax IP restrictions in the app\'s policies (IP Relaxation).'),
    ('inactive user', 'User integration@acme.example is inactive in the org at https://acme.my.salesforce.com '
                      '(invalid_grant: inactive user). Activate the user, or use another username.'),
    ('inactive organization', 'The org at https://acme.my.salesforce.com is inactive (invalid_grant: inactive organization) '
                              '(an expired trial, or a locked or deleted org). Check that login_url points at the right org.'),
    ('authentication failure', 'Salesforce at https://acme.my.salesforce.com refused the token request for user '
                               'integration@acme.example and consumer key 3MVG9unitTestConsumerKey with HTTP 400 Bad Request '
                               '(invalid_grant: authentication failure).'),
])
def test_other_refusals(tmp_path, key_path, description, message):
    answer = refusal('invalid_grant', description)
    answer.reason = 'Bad Request'
    options = make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com', answers=(answer,))
    assert error_message(options) == '%s %s' % (message, SENT_MY_DOMAIN)


@pytest.mark.parametrize('description, explanation', [
    ('invalid assertion', 'Salesforce could not verify the assertion for consumer key 3MVG9unitTestConsumerKey and user '
                          'integration@acme.example (invalid_grant: invalid assertion): the certificate uploaded to the app '
                          '("Use digital signatures") does not belong to this private key. This key\'s public key SHA-256 '
                          'fingerprint is {fingerprint}. Upload the certificate made from this key to the app, or use the key '
                          'the uploaded certificate was made from.'),
    ('expired authorization code', 'Salesforce rejected the assertion as expired (invalid_grant: expired authorization code). '
                                   'The assertion is valid for 180 seconds by this machine\'s clock; Salesforce\'s answer '
                                   'carried no usable Date header to compare clocks with. Check that this machine\'s clock '
                                   'is synchronized (NTP, chrony or systemd-timesyncd) and try again.'),
    ('ip restricted', 'Salesforce refused the login of integration@acme.example from this machine\'s IP address '
                      '(invalid_grant: ip restricted). Add the machine\'s public IP address to the Login IP Ranges of the '
                      'user\'s profile, or relax IP restrictions in the app\'s policies (IP Relaxation).'),
    ('a description nobody documented', 'Salesforce at https://acme.my.salesforce.com refused the token request for user '
                                        'integration@acme.example and consumer key 3MVG9unitTestConsumerKey with HTTP 400 '
                                        '(invalid_grant: a description nobody documented).'),
])
@pytest.mark.parametrize('audience, sent', [
    (None, SENT_MY_DOMAIN),
    ('https://test.salesforce.com/', 'The assertion was sent to the token host https://acme.my.salesforce.com with the '
                                     'audience https://test.salesforce.com (set by the audience option).'),
])
def test_every_invalid_grant_names_the_token_host_and_the_audience(tmp_path, key, key_path, description, explanation,
                                                                   audience, sent):
    options = make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com/', audience=audience,
                           answers=(refusal('invalid_grant', description),))
    assert error_message(options) == '%s %s' % (explanation.format(fingerprint=public_key_fingerprint(key)), sent)


@pytest.mark.parametrize('description', ["user hasn't approved this consumer", 'audience is invalid'])
def test_a_refusal_that_names_the_token_host_and_the_audience_does_not_repeat_them(tmp_path, key_path, description):
    options = make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com',
                           answers=(refusal('invalid_grant', description),))
    message = error_message(options)
    assert 'The assertion was sent to' not in message
    assert 'https://acme.my.salesforce.com' in message and 'https://login.salesforce.com' in message


def test_only_invalid_grant_gets_the_token_host_and_the_audience(tmp_path, key_path):
    options = make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com',
                           answers=(refusal('invalid_app_access', 'user is not admin approved to access this app'),))
    assert 'The assertion was sent to' not in error_message(options)


def test_a_generic_refusal_names_the_audience_even_when_it_is_the_token_host(tmp_path, key_path):
    answer = refusal('invalid_grant', 'authentication failure')
    answer.reason = 'Bad Request'
    assert error_message(make_options(tmp_path, key_path, answers=(answer,))) == (
        'Salesforce at https://login.salesforce.com refused the token request for user integration@acme.example and consumer '
        'key 3MVG9unitTestConsumerKey with HTTP 400 Bad Request (invalid_grant: authentication failure). %s' % SENT_DEFAULT)


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
            'delete the cache entry %s, or set cache=false.' % (_auth.iso_time(until), seconds, path))


@pytest.mark.parametrize('status', [400, 403])
@pytest.mark.usefixtures('frozen_clock')
def test_login_rate_exceeded(tmp_path, key_path, status):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'LOGIN_RATE_EXCEEDED', status=status),))
    message = error_message(options)
    failure, path = held_failure(options)
    assert (failure['at'], failure['until'], _auth.RATE_LIMIT_BACKOFF) == (NOW, NOW + 300, 300)
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
                                   'salesforce_error_description': 'LOGIN_RATE_EXCEEDED'}}
    assert os.stat(path).st_mode & 0o777 == 0o600
    later = make_options(tmp_path, private_key=pem(key).decode(), answers=(response(body=success_body()),))
    for dummy in range(3):
        with pytest.raises(SalesforceAuthError) as caught:
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


def test_login_rate_exceeded_in_rest_style_body_without_cache(tmp_path, key_path):
    answer = response(403, body=[{'errorCode': 'LOGIN_RATE_EXCEEDED', 'message': 'too many logins'}])
    options = make_options(tmp_path, key_path, cache=False, answers=(answer,))
    message = error_message(options)
    assert message.endswith('The token cache is off (cache=false): turn it on. Other tools logging in as the same user count '
                            'too. The limit clears within an hour.')
    # without the cache nothing is remembered: every call asks
    assert error_message(options) == message
    assert len(options.http.calls) == 2
    assert not (tmp_path / 'cache').exists()


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
    with pytest.raises(SalesforceAuthError) as refused:
        _auth.get_session(first)
    clock.now += _auth.REFUSAL_SHARE_SECONDS - 0.5
    other = make_options(tmp_path, private_key=pem(key).decode(), answers=(response(body=success_body()),))
    with pytest.raises(SalesforceAuthError) as caught:
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
    ({'status_code': 400, 'salesforce_error': 'invalid_client_id'}, _auth.REFUSAL_SHARE_SECONDS),
    ({'status_code': 400, 'salesforce_error': 'invalid_grant'}, _auth.REFUSAL_SHARE_SECONDS),
    ({'status_code': 400, 'salesforce_error': 'unknown_error'}, None),
    ({'status_code': 500, 'salesforce_error': 'invalid_grant'}, None),
    ({'status_code': 503}, None),
    ({}, None),
])
def test_only_refusals_retrying_cannot_fix_are_shared(details, share):
    record = SalesforceAuthError('x', details=details, shareable=True).cache_record()
    assert record.get('share') == share
    rate_limited = SalesforceAuthError('x', details=details, shareable=True, hold=300).cache_record()
    assert (rate_limited['hold'], 'share' in rate_limited) == (300, False)


def test_maintenance_page_after_retries(tmp_path, key_path):
    answer = response(503, text='<html><head><title>Down for\n Maintenance</title></head><body>sorry</body></html>',
                      content_type='text/html', reason='Service Unavailable')

    class Raw:
        class retries:  # noqa: N801 - mimics urllib3's Retry object
            history = ('one', 'two', 'three')
    answer.raw = Raw
    assert error_message(make_options(tmp_path, key_path, answers=(answer,))) == (
        'Salesforce\'s token endpoint https://login.salesforce.com answered HTTP 503 Service Unavailable after 3 retries, a page '
        'titled "Down for Maintenance". Salesforce may be down for maintenance or having an incident (see '
        'https://status.salesforce.com); try again later, or raise retries.')


def test_server_error_with_json_body(tmp_path, key_path):
    answer = refusal('unknown_error', 'retry your request', status=500)
    answer.reason = 'Internal Server Error'
    assert error_message(make_options(tmp_path, key_path, answers=(answer,))) == (
        'Salesforce\'s token endpoint https://login.salesforce.com answered HTTP 500 Internal Server Error (unknown_error: retry '
        'your request). Salesforce may be down for maintenance or having an incident (see https://status.salesforce.com); try '
        'again later, or raise retries.')


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


def test_html_page_with_200(tmp_path, key_path):
    answer = response(200, text='<!DOCTYPE html><html><title>Login | Acme Portal</title></html>', content_type='text/html', reason='OK')
    assert error_message(make_options(tmp_path, key_path, answers=(answer,))) == (
        'https://login.salesforce.com answered the token request with HTTP 200 OK, a page titled "Login | Acme Portal", not '
        'Salesforce\'s JSON answer. login_url must be a Salesforce token host (https://login.salesforce.com, '
        'https://test.salesforce.com, your My Domain or Experience Cloud site), not a web page or proxy; during Salesforce '
        'maintenance this is a maintenance page, so try again later.')


def test_non_json_body(tmp_path, key_path):
    answer = response(200, text='access_token=abc', content_type='text/plain', reason='OK')
    assert error_message(make_options(tmp_path, key_path, answers=(answer,))) == (
        'https://login.salesforce.com answered the token request with HTTP 200 OK and a body that is not JSON (text/plain, '
        '16 bytes). Check that login_url is a Salesforce token host.')


def test_redirect(tmp_path, key_path):
    answer = response(302, text='', content_type=None, headers={'Location': 'https://acme.my.salesforce.com/services/oauth2/token'},
                      reason='Found')
    assert error_message(make_options(tmp_path, key_path, answers=(answer,))) == (
        'https://login.salesforce.com answered the token request with a redirect (HTTP 302 Found) to '
        'https://acme.my.salesforce.com. Set login_url to the host that answers directly, probably https://acme.my.salesforce.com.')


def test_network_failure_message_passes_through(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(requests.exceptions.ConnectTimeout('boom'),))
    options.http.default_timeout = 7
    options.http.retries = 2
    assert error_message(options) == (
        'https://login.salesforce.com did not answer within 7 seconds (after 3 attempts). Raise the timeout option, or check the '
        'network path (proxy, firewall) to the host.')


def test_refusal_details(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'inactive user'),))
    with pytest.raises(SalesforceAuthError) as caught:
        _auth.get_session(options)
    assert caught.value.details == {'status_code': 400, 'salesforce_error': 'invalid_grant',
                                    'salesforce_error_description': 'inactive user'}


def test_no_secret_in_any_message(tmp_path, key):
    """Every refusal message, with an encrypted key given as content: no token, key, passphrase or assertion in it."""
    key_pem = pem(key, PASSPHRASE).decode()
    refusals = [refusal('invalid_grant', text) for text in (
        "user hasn't approved this consumer", 'audience is invalid', 'invalid assertion', 'expired authorization code',
        'ip restricted', 'inactive user', 'LOGIN_RATE_EXCEEDED', 'whatever')]
    for answer in refusals:
        options = make_options(tmp_path, private_key=key_pem, private_key_passphrase=PASSPHRASE, cache=False, answers=(answer,))
        message = error_message(options)
        assertion = options.http.calls[0]['data']['assertion']
        for secret in (PASSPHRASE, key_pem[40:120], assertion, assertion.split('.')[2]):
            assert secret not in message


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
        'from ansible_collections.sfjwt.salesforce.plugins.module_utils import _auth, _options\n'
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
    with pytest.raises(SalesforceAuthError):
        _auth.get_session(options)
    clock.now += _auth.REFUSAL_SHARE_SECONDS
    assert _auth.get_session(options).access_token == TOKEN


# ---------------------------------------------------------------- answers that are not Salesforce token answers

def assert_nothing_cached(tmp_path, options):
    """No token in the cache directory, and the next call asks Salesforce again."""
    cache = tmp_path / 'cache'
    for entry in (cache.iterdir() if cache.exists() else ()):
        if entry.is_file():
            text = entry.read_text()
            assert TOKEN not in text and '"session"' not in text
    calls = len(options.http.calls)
    options.http.answers = [response(body=success_body())]
    session = _auth.get_session(options)
    assert session.from_cache is False and session.instance_url == 'https://acme.my.salesforce.com'
    assert len(options.http.calls) == calls + 1


@pytest.mark.parametrize('instance_url, problem', [
    ('http://acme.my.salesforce.com', 'http://'),
    ('file:///etc/passwd', 'file://'),
    ('acme.my.salesforce.com', 'not an https:// URL'),
    ('https://', 'no host'),
    ('https://user:secret@acme.my.salesforce.com', 'user information'),
    ('https://evil.example\\@acme.my.salesforce.com', 'user information'),
    ('https://acme.my.salesforce.com/services/data', 'path'),
    ('https://acme.my.salesforce.com/?x=1', 'query'),
    ('https://acme.my.salesforce.com#x', 'fragment'),
    ('https://acme.my.salesforce.com:99999', 'port'),
    ('https://acme.my.salesforce.com\n', 'control character'),
    ('https://acme my.salesforce.com', 'whitespace'),
    ('', 'empty'),
    (None, 'missing'),
    (42, 'a number'),
    (['https://acme.my.salesforce.com'], 'a list'),
    ({'url': 'https://acme.my.salesforce.com'}, 'an object'),
], ids=lambda value: repr(value)[:40])
def test_instance_url_must_be_an_https_origin(tmp_path, key_path, instance_url, problem):
    """A token sent along to http://, file:// or another host's path would leak: such an answer is refused, not cached."""
    body = success_body(instance_url=instance_url)
    options = make_options(tmp_path, key_path, answers=(response(body=body),))
    message = error_message(options)
    assert message.startswith('The answer of https://login.salesforce.com to the token request is not a Salesforce token '
                              'answer: instance_url ')
    assert problem in message
    assert 'Check that login_url' in message
    assert TOKEN not in message and 'secret' not in message
    assert_nothing_cached(tmp_path, options)


@pytest.mark.parametrize('access_token, problem', [
    ('', 'empty'),
    ('00D!AQ with space', 'whitespace'),
    ('00D!AQ\ttab', 'whitespace'),
    ('00D!AQ\x00nul', 'control character'),
    ('00D!AQ\u00e9', 'non-ASCII'),
    (12345, 'a number'),
    (True, 'a boolean'),
    (['00D!AQ'], 'a list'),
    ({'value': '00D!AQ'}, 'an object'),
], ids=lambda value: repr(value)[:40])
def test_access_token_must_be_a_non_empty_string_without_whitespace(tmp_path, key_path, access_token, problem):
    options = make_options(tmp_path, key_path, answers=(response(body=success_body(access_token=access_token)),))
    message = error_message(options)
    assert message.startswith('The answer of https://login.salesforce.com to the token request is not a Salesforce token '
                              'answer: access_token ')
    assert problem in message
    if isinstance(access_token, str) and access_token:
        assert access_token not in message and '00D!AQ' not in message
    assert_nothing_cached(tmp_path, options)


@pytest.mark.parametrize('identity_url, problem', [
    (12345, 'a number'), (['https://login.salesforce.com/id/00D/005'], 'a list'), ({'org': '00D'}, 'an object'),
], ids=['number', 'list', 'object'])
def test_id_must_be_a_string(tmp_path, key_path, identity_url, problem):
    options = make_options(tmp_path, key_path, answers=(response(body=success_body(id=identity_url)),))
    message = error_message(options)
    assert message.startswith('The answer of https://login.salesforce.com to the token request is not a Salesforce token '
                              'answer: id is %s, not a string' % problem)
    assert TOKEN not in message
    assert_nothing_cached(tmp_path, options)


def test_optional_fields_that_are_not_strings_are_dropped(tmp_path, key_path):
    body = success_body(scope=['api'], token_type={'type': 'Bearer'}, issued_at=[1717000000000])
    session = _auth.get_session(make_options(tmp_path, key_path, cache=False, answers=(response(body=body),)))
    assert (session.scope, session.token_type, session.issued_at) == (None, None, None)
    assert 'issued_at' not in session.as_result()
    body = success_body(issued_at=1717000000000, id=None)
    session = _auth.get_session(make_options(tmp_path, key_path, cache=False, answers=(response(body=body),)))
    assert (session.issued_at, session.id, session.org_id) == ('1717000000000', None, None)


@pytest.mark.parametrize('instance_url, expected', [
    ('https://acme.my.salesforce.com/', 'https://acme.my.salesforce.com'),
    ('https://127.0.0.1:8443', 'https://127.0.0.1:8443'),
    ('https://[::1]:8443/', 'https://[::1]:8443'),
])
def test_https_origins_are_accepted(tmp_path, key_path, instance_url, expected):
    options = make_options(tmp_path, key_path, answers=(response(body=success_body(instance_url=instance_url)),))
    assert _auth.get_session(options).instance_url == expected


def test_http_error_is_shareable():
    error = SalesforceAuthError('x', shareable=True)
    assert error.cache_record() == {'message': 'x', 'details': {}}
    assert SalesforceAuthError('local').cache_record() is None
    assert str(SalesforceAuthError.from_record({'message': 'x', 'details': {'status_code': 503}})) == 'x'


def test_options_build_one_http_session_with_their_settings():
    options = AuthOptions(validate_certs=False, timeout=9, retries=1)
    session = options.http
    assert session is options.http
    assert (session.verify, session.default_timeout) == (False, 9)
    assert isinstance(HttpError('x'), Exception)


def test_form_is_url_encoded_by_requests(tmp_path, key_path):
    """The POST body requests builds from data= is a form: grant_type and assertion only."""
    options = make_options(tmp_path, key_path, cache=False)
    _auth.get_session(options)
    prepared = requests.Request('POST', 'https://x/services/oauth2/token', data=options.http.calls[0]['data']).prepare()
    form = parse_qs(prepared.body)
    assert sorted(form) == ['assertion', 'grant_type']


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


def test_cached_session_never_asks_salesforce_nor_creates_the_cache(tmp_path, key_path):
    options = make_options(tmp_path, key_path)
    assert _auth.cached_session(options) is None
    assert not os.path.exists(tmp_path / 'cache') and options.http.calls == []
    minted = _auth.get_session(options)
    cached = _auth.cached_session(make_options(tmp_path, key_path))
    assert cached.access_token == minted.access_token and cached.from_cache is True
    assert _auth.cached_session(make_options(tmp_path, key_path, cache=False)) is None


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
