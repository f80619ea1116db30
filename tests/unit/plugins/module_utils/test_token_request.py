# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Minting a token (_token_request) without a network: the assertion, the request, the answer's checks, and the message
for each of Salesforce's refusals (certificate and clock-skew hints, token host and audience), outages and odd answers.

Driven through _auth.get_session as the plugins call it; the cache, sessions and memo are test_auth.py's."""

from __future__ import annotations

import datetime
import email.utils
from urllib.parse import parse_qs

import jwt
import pytest
import requests

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth, _token_request
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._http import build_http_session
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._keys import public_key_fingerprint
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.auth_helpers import (
    CONSUMER_KEY, ID_URL, PASSPHRASE, TOKEN, USERNAME, error_message, make_options, pem, refusal, response, success_body,
)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.local_tls_server import local_server, read_request, send_answer


def certificate_pem(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'unit')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert, cert.public_bytes(serialization.Encoding.PEM)


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


def test_form_is_url_encoded_by_requests(tmp_path, key_path):
    """The POST body requests builds from data= is a form: grant_type and assertion only."""
    options = make_options(tmp_path, key_path, cache=False)
    _auth.get_session(options)
    prepared = requests.Request('POST', 'https://x/services/oauth2/token', data=options.http.calls[0]['data']).prepare()
    form = parse_qs(prepared.body)
    assert sorted(form) == ['assertion', 'grant_type']


# ---------------------------------------------------------------- Salesforce's refusals

# What every invalid_grant refusal ends with when its explanation does not already name both (the default login_url).
SENT_DEFAULT = ('The assertion was sent to the token host https://login.salesforce.com with the audience '
                'https://login.salesforce.com (derived from login_url).')


@pytest.mark.parametrize('answer, message', [
    (refusal('invalid_client_id', 'client identifier invalid'),
     'Salesforce at https://login.salesforce.com does not know the consumer key 3MVG9unitTestConsumerKey (invalid_client_id: '
     'client identifier invalid). Check that consumer_key is the app\'s Consumer Key and that login_url points at the org '
     'that has the app; a new app can take up to 10 minutes to become usable.'),
    (refusal('invalid_app_access', 'user is not admin approved to access this app'),
     'User integration@acme.example may not use the app with consumer key 3MVG9unitTestConsumerKey (invalid_app_access: '
     'user is not admin approved to access this app). The app admits only admin-approved users: assign the user a profile '
     'or permission set listed in the app\'s policies (Permitted Users: "Admin approved users are pre-authorized").'),
], ids=['invalid_client_id', 'not admin approved'])
def test_unknown_app_and_not_admin_approved(tmp_path, key_path, answer, message):
    assert error_message(make_options(tmp_path, key_path, answers=(answer,))) == message


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


@pytest.mark.parametrize('description', ['audience is invalid', 'Audience validation failed'])
def test_audience_invalid(tmp_path, key_path, description):
    options = make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com', audience='https://acme.my.salesforce.com',
                           answers=(refusal('invalid_grant', description),))
    assert error_message(options) == (
        'Salesforce at https://acme.my.salesforce.com rejected the audience https://acme.my.salesforce.com (invalid_grant: %s) '
        '(set, not derived from login_url). The audience (aud claim) is not the token host: it is https://login.salesforce.com for '
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
        'the app, or use the key the uploaded certificate was made from. %s' % (
            ':'.join('%02X' % byte for byte in bytes.fromhex(public_key_fingerprint(key))), SENT_DEFAULT))


def invalid_assertion_message(tmp_path, key_path, certificate_key, file_name):
    """The message for 'invalid assertion' with certificate_path set to a certificate of certificate_key; that
    certificate's path and SHA-256 fingerprint."""
    cert, data = certificate_pem(certificate_key)
    cert_path = tmp_path / file_name
    cert_path.write_bytes(data)
    fingerprint = ':'.join('%02X' % b for b in cert.fingerprint(hashes.SHA256()))
    options = make_options(tmp_path, key_path, certificate_path=str(cert_path), answers=(refusal('invalid_grant', 'invalid assertion'),))
    return error_message(options), cert_path, fingerprint


def test_invalid_assertion_with_matching_certificate(tmp_path, key, key_path):
    message, cert_path, fingerprint = invalid_assertion_message(tmp_path, key_path, key, 'server.crt')
    assert ('The certificate %s (SHA-256 fingerprint %s) belongs to this key: that is the one to upload. '
            % (cert_path, fingerprint)) in message


def test_invalid_assertion_with_foreign_certificate(tmp_path, other_key, key_path):
    message, cert_path, fingerprint = invalid_assertion_message(tmp_path, key_path, other_key, 'other.crt')
    assert ('The certificate %s (SHA-256 fingerprint %s) does not belong to this key either: make a new certificate from this '
            'key (the sfjwt.salesforce.certificate module does). ' % (cert_path, fingerprint)) in message


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
                                     'audience https://test.salesforce.com (set, not derived from login_url).'),
])
def test_every_invalid_grant_names_the_token_host_and_the_audience(tmp_path, key, key_path, description, explanation,
                                                                   audience, sent):
    options = make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com/', audience=audience,
                           answers=(refusal('invalid_grant', description),))
    fingerprint = ':'.join('%02X' % byte for byte in bytes.fromhex(public_key_fingerprint(key)))
    assert error_message(options) == '%s %s' % (explanation.format(fingerprint=fingerprint), sent)


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


def test_refusal_details(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(refusal('invalid_grant', 'inactive user'),))
    with pytest.raises(AuthError) as caught:
        _auth.get_session(options)
    assert caught.value.details == {'status_code': 400, 'salesforce_error': 'invalid_grant',
                                    'salesforce_error_description': 'inactive user', 'refusal': 'inactive_user'}


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


# ---------------------------------------------------------------- outages, pages and redirects

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


@pytest.mark.parametrize('answer, message', [
    (response(500, body={'error': 'unknown_error', 'error_description': 'retry your request'}, reason='Internal Server Error'),
     'Salesforce\'s token endpoint https://login.salesforce.com answered HTTP 500 Internal Server Error (unknown_error: retry '
     'your request). Salesforce may be down for maintenance or having an incident (see https://status.salesforce.com); try '
     'again later, or raise retries.'),
    (response(200, text='<!DOCTYPE html><html><title>Login | Acme Portal</title></html>', content_type='text/html', reason='OK'),
     'https://login.salesforce.com answered the token request with HTTP 200 OK, a page titled "Login | Acme Portal", not '
     'Salesforce\'s JSON answer. login_url must be a Salesforce token host (https://login.salesforce.com, '
     'https://test.salesforce.com, your My Domain or Experience Cloud site), not a web page or proxy; during Salesforce '
     'maintenance this is a maintenance page, so try again later.'),
    (response(200, text='access_token=abc', content_type='text/plain', reason='OK'),
     'https://login.salesforce.com answered the token request with HTTP 200 OK and a body that is not JSON (text/plain, '
     '16 bytes). Check that login_url is a Salesforce token host.'),
    (response(302, text='', content_type=None, headers={'Location': 'https://acme.my.salesforce.com/services/oauth2/token'},
              reason='Found'),
     'https://login.salesforce.com answered the token request with a redirect (HTTP 302 Found) to '
     'https://acme.my.salesforce.com. Set login_url to the host that answers directly, probably https://acme.my.salesforce.com.'),
], ids=['server error with a JSON body', 'HTML page with 200', 'body not JSON', 'redirect'])
def test_answers_that_are_neither_a_token_nor_a_refusal(tmp_path, key_path, answer, message):
    assert error_message(make_options(tmp_path, key_path, answers=(answer,))) == message


def test_network_failure_message_passes_through(tmp_path, key_path):
    options = make_options(tmp_path, key_path, answers=(requests.exceptions.ConnectTimeout('boom'),))
    options.http.default_timeout = 7
    options.http.retries = 2
    assert error_message(options) == (
        'https://login.salesforce.com did not answer within 7 seconds (after 3 attempts). Raise the timeout option, or check the '
        'network path (proxy, firewall) to the host.')


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


def test_a_token_answer_over_a_mebibyte_is_not_read(tmp_path, key_path, fails_within_five_seconds):
    """A real token answer is under 2 kB; a huge one (the doctor and every login read it) is refused at 1 MiB."""
    def huge_token_answer(raw, context):
        connection = context.wrap_socket(raw, server_side=True)
        if read_request(connection) is not None:
            send_answer(connection, 200, b'{"access_token": "' + b'x' * (2 * 1024 * 1024) + b'"}')

    with local_server(huge_token_answer) as (url, ca_path):
        options = make_options(tmp_path, key_path, cache=False, login_url=url, retries=0)
        options.http = build_http_session(ca_path=ca_path, retries=0, timeout=5)
        message = error_message(options)
    assert message.startswith('%s sent an answer of 2097172 bytes, 2.0 MiB, over the 1048576 bytes, 1.0 MiB this request '
                              'accepts' % url)
