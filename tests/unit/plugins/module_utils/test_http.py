# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The HTTP layer: retry configuration and the messages for failed requests."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
import trustme
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _http
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import HttpError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._http import describe_request_error
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import url_origin
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.local_tls_server import (
    answer_413_and_close, answers, declared_huge_answer, endless_answer, local_server, read_request, tls_server, too_large_messages,
    trickle_answer_body, trickle_answer_head, trickle_handshake)

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
        '(or the variable sfjwt_ca_path, or the environment variable SFJWT_CA_PATH) to a PEM file of that CA; '
        'validate_certs=false turns verification off (never do that in production).')


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


@pytest.mark.parametrize('method', ['GET', 'POST'])
def test_a_503_then_a_200_is_retried_for_real(method):
    """By behaviour, against a server: the 503 is asked again (POST too: a token request is safe to repeat)."""
    notes = []
    with tls_server(answers(503, 200)) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=2, timeout=10, on_retry=notes.append)
        response = _http.send(session, method, url + '/services/oauth2/token', data={'a': 'b'} if method == 'POST' else None)
    assert (response.status_code, response.json(), len(served)) == (200, {'answer': 2}, 2)
    assert _http.retries_used(response) == 1 and len(notes) == 1


def test_without_retries_the_503_is_the_answer():
    with tls_server(answers(503, 200)) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=10)
        response = _http.send(session, 'GET', url + '/services/data/')
    assert (response.status_code, len(served)) == (503, 1)


def test_a_server_certificate_from_another_ca_is_refused_for_real():
    """TLS verification by behaviour: the server's certificate is issued by a CA the session does not trust."""
    with tls_server(answers(200)) as (url, dummy_ca_path, served):
        with trustme.CA().cert_pem.tempfile() as other_ca:
            session = _http.build_http_session(ca_path=other_ca, retries=0, timeout=10)
            with pytest.raises(HttpError) as caught:
                _http.send(session, 'GET', url + '/services/data/')
    assert str(caught.value).startswith('TLS certificate verification failed for %s: ' % url), str(caught.value)
    assert 'ca_path' in str(caught.value)


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


# ---------------------------------------------------------------- a connection closed while the body is sent

# Well above what the loopback socket buffers take in before the server has hung up.
LARGE_BODY = 16 * 1024 * 1024


def not_tls(raw, context):  # pylint: disable=unused-argument
    raw.recv(1024)
    raw.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')


def hang_up(raw, context):  # pylint: disable=unused-argument
    raw.recv(16)  # the rest of the ClientHello is left unread: the close sends a reset in the middle of the handshake


def test_body_cut_off_by_the_server_is_reported_with_its_size_not_as_a_handshake_failure():
    with local_server(answer_413_and_close) as (url, ca_path):
        session = _http.build_http_session(ca_path=ca_path, retries=2, timeout=10)
        try:
            response = _http.send(session, 'POST', url + '/services/data/v62.0/sobjects/Account', data=b'x' * LARGE_BODY,
                                  headers={'Content-Type': 'application/json'})
        except HttpError as exc:
            assert str(exc) in too_large_messages(url, '16777216 bytes, 16.0 MiB', attempts=3)
        else:   # Python 3.13: urllib3 reads the answer after the broken send (the REST client explains it: test_rest.py)
            assert response.status_code == 413


def test_handshake_failure_with_a_large_body_is_still_a_handshake_failure():
    with local_server(not_tls) as (url, ca_path):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=10)
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'POST', url + '/x', data=b'x' * LARGE_BODY)
    assert str(caught.value) == (
        'The TLS handshake with %s failed: wrong version number. Check that the URL is an https:// Salesforce endpoint and that '
        'no proxy interferes with TLS.' % url)


def test_reset_during_the_handshake_says_nothing_about_the_body():
    with local_server(hang_up) as (url, ca_path):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=10)
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'POST', url + '/x', data=b'x' * LARGE_BODY)
    assert str(caught.value) == (
        'The connection to %s was reset or closed before a complete answer came. A proxy, firewall or load balancer may be '
        'dropping connections; try again, or raise the retries option.' % url)


def raised_in(filename, function, error):
    """error, raised from a function named like the standard library's (the frames tell where a connection broke)."""
    namespace = {}
    exec(compile('def %s(error):\n    raise error\n' % function, filename, 'exec'), namespace)  # pylint: disable=exec-used
    try:
        namespace[function](error)
    except type(error) as exc:
        return exc
    raise AssertionError('not raised')


def failed_request(cause, body, outer=requests.exceptions.SSLError):
    prepared = requests.Request('POST', URL, data=body).prepare()
    return outer(MaxRetryError(None, '/services/oauth2/token', Urllib3SSLError(cause)), request=prepared)


def test_small_body_cut_off_is_not_called_too_large():
    cause = raised_in('/usr/lib/python3/ssl.py', 'sendall', ssl.SSLEOFError(8, 'EOF occurred in violation of protocol'))
    assert describe_request_error(failed_request(cause, b'{"Name": "Acme"}'), URL, retries=3) == (
        'The connection to https://acme.my.salesforce.com:8443 was closed while the request body (16 bytes) was being sent. '
        'A proxy, firewall or load balancer may be dropping connections; try again, or raise the retries option.')


def test_connection_reset_while_sending_over_plain_sockets():
    cause = raised_in('/usr/lib/python3/http/client.py', 'send', ConnectionResetError(104, 'Connection reset by peer'))
    error = failed_request(cause, 'é' * (LARGE_BODY // 2), outer=requests.exceptions.ConnectionError)
    assert describe_request_error(error, URL).startswith(
        'The connection to https://acme.my.salesforce.com:8443 was closed while the request body (16777216 bytes, 16.0 MiB) '
        'was being sent. The body is probably too large for Salesforce')


def test_reset_when_reading_the_answer_to_a_large_body_mentions_its_size():
    """urllib3 ignores a reset while sending and fails reading the answer: the size is given as a possible cause."""
    error = requests.exceptions.ConnectionError(ProtocolError('Connection aborted.', ConnectionResetError(104, 'reset')),
                                                request=requests.Request('POST', URL, data=b'x' * LARGE_BODY).prepare())
    assert describe_request_error(error, URL, retries=0) == (
        'The connection to https://acme.my.salesforce.com:8443 was reset or closed before a complete answer came; the request '
        'body was 16777216 bytes, 16.0 MiB. If the server cut it off for its size, it is too large for Salesforce (HTTP 413 '
        'Request Entity Too Large): send less data per request. Otherwise a proxy, firewall or load balancer may be dropping '
        'connections; try again, or raise the retries option.')


def test_handshake_failure_is_told_apart_by_where_it_was_raised():
    cause = raised_in('/usr/lib/python3/ssl.py', 'do_handshake', ssl.SSLEOFError(8, 'EOF occurred in violation of protocol'))
    assert describe_request_error(failed_request(cause, b'x' * LARGE_BODY), URL).startswith(
        'The TLS handshake with https://acme.my.salesforce.com:8443 failed: EOF occurred in violation of protocol')


def stalled_message(url, seconds):
    return ('%s did not send a complete answer within %s second%s (the timeout bounds each attempt as a whole, not only '
            'each read). Raise the timeout option if the answer is large or the network slow; otherwise the server (or a '
            'proxy in between) is stalling.' % (url_origin(url), seconds, '' if seconds == 1 else 's'))


@pytest.mark.parametrize('behaviour', [trickle_answer_head, trickle_answer_body], ids=['headers', 'body'])
def test_a_server_sending_a_byte_at_a_time_is_timed_out_as_a_whole(behaviour, fails_within_five_seconds):
    """Each byte comes well within the timeout, so only a deadline for the whole attempt ends the request."""
    with tls_server(behaviour) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=1)
        started = time.monotonic()
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'GET', url + '/services/data/')
        elapsed = time.monotonic() - started
    assert str(caught.value) == stalled_message(url, 1)
    assert 2 <= elapsed < 4


def test_a_handshake_sent_a_byte_at_a_time_is_timed_out_by_the_socket(fails_within_five_seconds):
    """Python's TLS handshake treats the socket timeout as a deadline for the whole handshake."""
    with tls_server(trickle_handshake) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=1)
        started = time.monotonic()
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'GET', url + '/services/data/')
        elapsed = time.monotonic() - started
    assert str(caught.value).startswith('%s did not answer within 1 second. Raise the timeout option' % url_origin(url))
    assert elapsed < 3


def test_a_silent_server_meets_the_read_timeout_first(fails_within_five_seconds):
    """Nothing sent at all: the socket's read timeout ends the attempt (and says so), not the whole-answer deadline."""
    def silent(raw, context):
        connection = context.wrap_socket(raw, server_side=True)
        if read_request(connection) is not None:
            time.sleep(3)

    with tls_server(silent) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=1)
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'GET', url + '/services/data/')
    assert str(caught.value).startswith('%s did not answer within 1 second. Raise the timeout option' % url_origin(url))


def test_retries_do_not_stretch_a_stall_without_bound(fails_within_five_seconds):
    """With retries, a stalling server costs at most (retries + 1) whole-answer deadlines."""
    with tls_server(trickle_answer_head) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=1, timeout=1)
        started = time.monotonic()
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'GET', url + '/services/data/')
        elapsed = time.monotonic() - started
    # The test server serves one connection at a time, so the retry may also fail another way (a reset): the bound
    # is what counts.
    assert url_origin(url) in str(caught.value)
    assert elapsed < 2 * (1 + _http.DEADLINE_GRACE_SECONDS) + 1


def test_the_deadline_allows_time_to_send_a_large_body():
    assert _http.attempt_seconds(30) == 30
    assert _http.attempt_seconds(30, _http.UPLOAD_BYTES_PER_SECOND * 10) == 40
    assert _http.attempt_seconds((5, 20), 3) == 20 + 3.0 / _http.UPLOAD_BYTES_PER_SECOND
    assert _http.attempt_seconds(None) is None
    zip_part = ('deploy.zip', b'z' * 1000, 'application/zip')
    assert _http._body_size(None, {'json': (None, '{}', 'application/json'), 'file': zip_part}) == 1002
    assert _http._body_size('abc', None) == 3 and _http._body_size({'form': 'dict'}, None) == 0


def test_an_answer_that_never_ends_is_refused_at_the_cap(fails_within_five_seconds):
    with tls_server(endless_answer) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=30)
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'GET', url + '/services/data/', max_bytes=1024 * 1024)
    assert str(caught.value) == (
        '%s sent an answer larger than the 1048576 bytes, 1.0 MiB this request accepts (no Salesforce answer comes near '
        'it); it was not read. Check that the URL is a Salesforce endpoint; for a REST call, ask for less at a time '
        '(fewer fields, a LIMIT, smaller batches).' % url_origin(url))


def test_an_answer_declared_too_large_is_not_read(fails_within_five_seconds):
    with tls_server(declared_huge_answer) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=30)
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'GET', url + '/services/data/')
    assert str(caught.value).startswith('%s sent an answer of 524288000 bytes, 500.0 MiB, over the 104857600 bytes, '
                                        '100.0 MiB this request accepts' % url_origin(url))


def test_a_complete_answer_is_read_and_the_connection_reused():
    with tls_server(answers(200)) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=5)
        response = _http.send(session, 'GET', url + '/services/data/')
        assert response.json() == {'answer': 1} and response.content == b'{"answer": 1}'
        assert not session.deadline.expired and session.deadline.seconds is None


def test_the_callers_own_deadline_ends_the_request_retries_included(fails_within_five_seconds):
    """A deploy's wait_timeout: no attempt runs past it, and no retry (nor its pause) starts after it."""
    with tls_server(trickle_answer_head) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=3, timeout=30)
        started = time.monotonic()
        with pytest.raises(HttpError) as caught:
            _http.send(session, 'GET', url + '/services/data/', give_up_after=1.5)
        elapsed = time.monotonic() - started
    assert str(caught.value) == stalled_message(url, 30)
    assert 1.5 <= elapsed < 3.5 and len(served) == 1


def test_a_redirect_is_never_followed_even_when_asked(fails_within_five_seconds):
    """requests would read each hop's body whole (past the size cap) and give each hop a fresh timeout."""
    def redirect(raw, context):
        connection = context.wrap_socket(raw, server_side=True)
        if read_request(connection) is not None:
            connection.sendall(b'HTTP/1.1 302 Found\r\nLocation: /services/data/\r\nContent-Length: 2\r\n'
                               b'Connection: close\r\n\r\n{}')
            connection.close()

    with tls_server(redirect) as (url, ca_path, served):
        session = _http.build_http_session(ca_path=ca_path, retries=0, timeout=5)
        response = _http.send(session, 'GET', url + '/services/data/', allow_redirects=True)
    assert (response.status_code, response.headers['Location'], len(served)) == (302, '/services/data/', 1)
