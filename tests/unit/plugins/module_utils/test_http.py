# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The HTTP layer: retry configuration and the messages for failed requests."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError, ReadTimeoutError

from ansible_collections.sfjwt.salesforce.plugins.module_utils import _http
from ansible_collections.sfjwt.salesforce.plugins.module_utils._http import HttpError, describe_request_error, url_origin

URL = 'https://acme.my.salesforce.com:8443/services/oauth2/token?secret=never-shown'


def wrapped(reason, outer=requests.exceptions.ConnectionError):
    """An exception chain as requests raises it after urllib3 gave up."""
    return outer(MaxRetryError(None, '/services/oauth2/token', reason))


def test_url_origin():
    assert url_origin(URL) == 'https://acme.my.salesforce.com:8443'
    assert url_origin('https://user:pw@host/x') == 'https://host'
    assert url_origin('https://[::1]:9/x') == 'https://[::1]:9'
    assert url_origin('HTTPS://Host:443/x') == 'https://host'


def test_dns_failure():
    reason = NameResolutionError('acme.my.salesforce.com', None, socket.gaierror(-2, 'Name or service not known'))
    assert describe_request_error(wrapped(reason), URL, retries=3) == (
        'Cannot resolve the host name of https://acme.my.salesforce.com:8443 (DNS lookup failed). Check the URL (login_url or '
        'instance_url) and this machine\'s DNS and proxy settings.')


def test_connection_refused():
    inner = ConnectionRefusedError(111, 'Connection refused')
    reason = NewConnectionError(None, 'Failed to establish a new connection: [Errno 111] Connection refused')
    reason.__cause__ = inner
    assert describe_request_error(wrapped(reason), URL, retries=2) == (
        'The connection to https://acme.my.salesforce.com:8443 was refused (after 3 attempts): nothing accepts connections on '
        'that port. Check the URL (host and port) and any firewall or proxy in between.')


def test_connection_reset():
    error = requests.exceptions.ConnectionError(ProtocolError('Connection aborted.', ConnectionResetError(104, 'reset')))
    assert describe_request_error(error, URL, retries=0) == (
        'The connection to https://acme.my.salesforce.com:8443 was reset or closed before a complete answer came. A proxy, '
        'firewall or load balancer may be dropping connections; try again, or raise the retries option.')


def test_read_timeout_after_retries():
    error = wrapped(ReadTimeoutError(None, '/x', 'Read timed out. (read timeout=5)'))
    assert describe_request_error(error, URL, timeout=5, retries=3) == (
        'https://acme.my.salesforce.com:8443 did not answer within 5 seconds (after 4 attempts). Raise the timeout option, or '
        'check the network path (proxy, firewall) to the host.')


def test_certificate_verification_failure_suggests_ca_path():
    cause = ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')
    cause.verify_message = 'unable to get local issuer certificate'
    error = wrapped(cause, outer=requests.exceptions.SSLError)
    assert describe_request_error(error, URL) == (
        'TLS certificate verification failed for https://acme.my.salesforce.com:8443: unable to get local issuer certificate. '
        'If the server presents a certificate from a private or corporate CA (for example a TLS-inspecting proxy), set ca_path '
        'to a PEM file of that CA; validate_certs=false turns verification off (never do that in production).')


def test_other_tls_failure():
    cause = ssl.SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number')
    cause.reason = 'WRONG_VERSION_NUMBER'
    assert describe_request_error(wrapped(cause, outer=requests.exceptions.SSLError), URL) == (
        'The TLS handshake with https://acme.my.salesforce.com:8443 failed: wrong version number. Check that the URL is an '
        'https:// Salesforce endpoint and that no proxy interferes with TLS.')


def test_no_query_string_in_messages():
    for error in (wrapped(ReadTimeoutError(None, '/x', 'timeout')), requests.exceptions.ConnectionError('x'), ValueError('y')):
        assert 'never-shown' not in describe_request_error(error, URL)


def test_send_translates_and_keeps_other_errors():
    class Session:
        default_timeout = 3
        retries = 1

        def __init__(self, error):
            self.error = error

        def request(self, method, url, **kwargs):
            raise self.error

    with pytest.raises(HttpError) as caught:
        _http.send(Session(requests.exceptions.ReadTimeout('x')), 'GET', URL)
    assert str(caught.value).startswith('https://acme.my.salesforce.com:8443 did not answer within 3 seconds (after 2 attempts).')
    with pytest.raises(KeyError):
        _http.send(Session(KeyError('programming error')), 'GET', URL)


def test_refused_connection_for_real():
    """Against a closed local port: requests + urllib3 retries, then one clear message."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    session = _http.build_http_session(retries=1, timeout=5)
    with pytest.raises(HttpError) as caught:
        _http.send(session, 'POST', 'https://127.0.0.1:%d/services/oauth2/token' % port, data={'a': 'b'})
    assert str(caught.value) == (
        'The connection to https://127.0.0.1:%d was refused (after 2 attempts): nothing accepts connections on that port. '
        'Check the URL (host and port) and any firewall or proxy in between.' % port)


def test_retries_are_reported_and_retry_after_is_capped():
    notes = []
    session = _http.build_http_session(retries=2, on_retry=notes.append)
    retry = session.get_adapter('https://x').max_retries

    class Pool:
        scheme, host, port = 'https', 'acme.my.salesforce.com', 443

    class Answer:
        status = 503
        headers = {'Retry-After': '3600'}

        def get_redirect_location(self):
            return None

    after = retry.increment(method='POST', url='/services/oauth2/token?x=1', response=Answer(), _pool=Pool())
    assert notes == ['POST https://acme.my.salesforce.com/services/oauth2/token failed (HTTP 503); retry 1 of 2.']
    assert after.on_retry is retry.on_retry
    assert after.get_retry_after(Answer()) == _http.RETRY_AFTER_MAX


def test_retry_methods_can_be_limited():
    retry = _http.build_http_session(retry_methods=('GET', 'PUT')).get_adapter('https://x').max_retries
    assert retry.allowed_methods == frozenset(('GET', 'PUT'))
    assert 'POST' in _http.build_http_session().get_adapter('https://x').max_retries.allowed_methods
