# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The HTTP layer shared by the token request and the REST calls: retries, TLS settings, timeouts,
and failures translated into messages that name the host but never a credential."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
import traceback
import warnings

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import DEFAULT_RETRIES, DEFAULT_TIMEOUT, RETRY_AFTER_MAX
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import HttpError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._requirements import missing_libraries_message
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import url_origin

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import InsecureRequestWarning
    from urllib3.util.retry import Retry
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    Retry = HTTPAdapter = object
    requests = HTTPConnectionPool = HTTPSConnectionPool = None

# Salesforce answers 429/5xx (and 503 maintenance pages) during incidents: worth retrying.
RETRY_STATUSES = (429, 500, 502, 503, 504)
# A JWT-bearer token POST is safe to repeat (each attempt just mints a session), so POST is retried too.
RETRY_METHODS = frozenset(('DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE'))
BACKOFF_FACTOR = 1.0
# A request body at least this large that the server cuts off while it is being sent is probably over the size
# Salesforce accepts (it answers 413 and closes the connection without reading the rest).
LARGE_BODY_BYTES = 1024 * 1024
# No answer of Salesforce's APIs comes near these sizes; a bigger one is refused before it fills the memory.
MAX_ANSWER_BYTES = 100 * 1024 * 1024
MAX_TOKEN_ANSWER_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024


class AnswerTooLarge(Exception):
    def __init__(self, size, declared):
        super().__init__(size)
        self.size = size
        self.declared = declared


DEADLINE_GRACE_SECONDS = 1.0


class AnswerDeadlineExceeded(Exception):
    def __init__(self, seconds):
        super().__init__(seconds)
        self.seconds = seconds


class _AttemptDeadline:
    """The whole-answer timeout of one attempt. The socket timeout only bounds each read, so a server sending a byte
    every few seconds would never time out; at the deadline this shuts down the session's sockets, which ends a read
    that is waiting. Each socket is watched through a duplicate descriptor (shutdown acts on the connection, so it also
    reaches the TLS socket that takes the original over)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._watched = set()
        self._timer = None
        self.expired = False
        self.seconds = self.give_up_at = None

    def begin(self, seconds, give_up_after=None):
        """A request starts: each of its attempts may take this many seconds, and none may run past give_up_after
        seconds from now (the caller's own deadline, such as a deploy's wait_timeout)."""
        self.seconds = seconds
        self.give_up_at = None if give_up_after is None else time.monotonic() + max(0.0, give_up_after)

    def check(self):
        """Raise AnswerDeadlineExceeded when the caller's time is up; else the seconds it has left (None: no limit)."""
        if self.give_up_at is None:
            return None
        remaining = self.give_up_at - time.monotonic()
        if remaining <= 0:
            with self._lock:
                self.expired = True
            raise AnswerDeadlineExceeded(self.seconds)
        return remaining

    def arm(self):
        """Start (or restart, for a retry) the clock of an attempt."""
        self.disarm()
        seconds = self.seconds
        remaining = self.check()
        if remaining is not None:
            seconds = remaining if seconds is None else min(seconds, remaining)
        if not seconds:
            return
        # The grace lets a server that sends nothing at all meet the socket's own read timeout first (its message says
        # so, with the attempts made); the deadline is for one that keeps sending a little.
        timer = threading.Timer(seconds + DEADLINE_GRACE_SECONDS, self._expire)
        timer.daemon = True
        with self._lock:
            self.expired = False
            self._timer = timer
        timer.start()

    def end(self):
        """The request is over (answer read, or failed)."""
        self.disarm()
        self.seconds = self.give_up_at = None

    def disarm(self):
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _expire(self):
        with self._lock:
            self.expired = True
            watched = list(self._watched)
        for handle in watched:
            _shut_down(handle)

    def watch(self, sock):
        """Watch a new connection's socket; returns the handle to give forget() when the connection closes."""
        try:
            # A plain socket on a duplicate descriptor (a TLS socket cannot be duplicated as one).
            handle = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
        except (OSError, AttributeError, ValueError):
            return None
        with self._lock:
            self._watched.add(handle)
            expired = self.expired
        if expired:
            _shut_down(handle)
        return handle

    def forget(self, handle):
        with self._lock:
            self._watched.discard(handle)
        try:
            handle.close()
        except OSError:
            pass


def _shut_down(handle):
    try:
        handle.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the other side


class _WatchedConnectionMixin:
    """A urllib3 connection whose socket the session's deadline watches, and whose every request (an attempt: a retry
    is a new request) starts the attempt's clock. The TCP connect is bounded by the connect timeout, and Python's TLS
    handshake takes the socket timeout as a deadline for the whole handshake."""

    deadline = None
    _deadline_handle = None

    def connect(self):
        super().connect()
        self._watch(getattr(self, 'sock', None))

    def request(self, *args, **kwargs):  # pylint: disable=arguments-differ
        self._start_attempt()
        return super().request(*args, **kwargs)

    def request_chunked(self, *args, **kwargs):  # urllib3 1.26 sends a chunked body with this instead of request()
        self._start_attempt()
        return super().request_chunked(*args, **kwargs)

    def _start_attempt(self):
        if self.deadline is not None:
            self._watch(getattr(self, 'sock', None))
            self.deadline.arm()

    def _watch(self, sock):
        if sock is not None and self.deadline is not None and self._deadline_handle is None:
            self._deadline_handle = self.deadline.watch(sock)

    def close(self):
        try:
            super().close()
        finally:
            handle, self._deadline_handle = self._deadline_handle, None
            if handle is not None:
                self.deadline.forget(handle)


def _watched_pool_classes(deadline):
    """Connection pool classes for one session whose connections its deadline watches."""
    classes = {}
    for scheme, pool_class in (('http', HTTPConnectionPool), ('https', HTTPSConnectionPool)):
        connection_class = type('Watched' + pool_class.ConnectionCls.__name__, (_WatchedConnectionMixin, pool_class.ConnectionCls),
                                {'deadline': deadline})
        classes[scheme] = type('Watched' + pool_class.__name__, (pool_class,), {'ConnectionCls': connection_class})
    return classes


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter with pools (direct and through a proxy) whose connections the session's deadline watches."""

    def __init__(self, deadline, **kwargs):
        self.deadline = deadline
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _watched_pool_classes(self.deadline)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _watched_pool_classes(self.deadline)
        return manager


class _SalesforceRetry(Retry):
    """urllib3 Retry that caps Retry-After and reports each retry through an optional callback."""

    def __init__(self, *args, **kwargs):
        self.on_retry = kwargs.pop('on_retry', None)
        self.deadline = kwargs.pop('deadline', None)
        super().__init__(*args, **kwargs)

    def new(self, **kw):
        retry = super().new(**kw)
        retry.on_retry = self.on_retry
        retry.deadline = self.deadline
        return retry

    def get_retry_after(self, response):
        retry_after = super().get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, RETRY_AFTER_MAX)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        retry = super().increment(method=method, url=url, response=response, error=error, _pool=_pool, _stacktrace=_stacktrace)
        if self.deadline is not None:
            self.deadline.check()  # no pause and no retry once the caller's time is up
        if self.on_retry is not None:
            if response is not None and getattr(response, 'status', None):
                reason = 'HTTP %s' % response.status
            else:
                reason = _short_reason(error)
            where = url_origin('%s://%s:%s' % (getattr(_pool, 'scheme', 'https'), _pool.host, _pool.port)) if _pool is not None else 'the server'
            path = (url or '').split('?', 1)[0]
            self.on_retry('%s %s%s failed (%s); retry %d of %d.'
                          % (method or 'request', where, path, reason, len(retry.history), len(retry.history) + (retry.total or 0)))
        return retry


def _short_reason(error):
    if error is None:
        return 'no answer'
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return 'DNS lookup failed'
        if isinstance(cause, ConnectionRefusedError):
            return 'connection refused'
        if isinstance(cause, ConnectionResetError):
            return 'connection reset'
        if isinstance(cause, (socket.timeout, TimeoutError)) or type(cause).__name__.endswith('TimeoutError'):
            return 'timed out'
    return type(error).__name__


class SalesforceHttpSession(requests.Session if HAS_REQUESTS else object):
    """A requests.Session whose requests default to the configured timeout and TLS verification, where the timeout
    bounds each attempt as a whole (connecting, sending, the complete answer), and an answer over max_bytes is
    refused while it is read."""

    def __init__(self, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES):
        super().__init__()
        self.default_timeout = timeout
        self.retries = retries
        self.deadline = _AttemptDeadline()

    def request(self, method, url, *args, max_bytes=MAX_ANSWER_BYTES, give_up_after=None, **kwargs):  # pylint: disable=arguments-differ
        kwargs.setdefault('timeout', self.default_timeout)
        # Passed per request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a Session's verify,
        # which would silently ignore ca_path. (With verify=True those variables still apply, as users expect.)
        kwargs.setdefault('verify', self.verify)
        # A redirect's body is read whole by requests, past the size cap and with a fresh timeout per hop: never follow.
        kwargs['allow_redirects'] = False
        headers_only = kwargs.pop('stream', False)  # the caller reads (or ignores) the body itself
        self.deadline.begin(attempt_seconds(kwargs['timeout'], _body_size(kwargs.get('data'), kwargs.get('files'))),
                            give_up_after)
        try:
            response = super().request(method, url, *args, stream=True, **kwargs)
            if not headers_only:
                _read_answer(response, max_bytes)
            if self.deadline.expired:
                # Cut off at the deadline, the answer can look complete (headers ended by the hang-up): it is not.
                response.close()
                raise AnswerDeadlineExceeded(self.deadline.seconds)
            return response
        except (AnswerTooLarge, AnswerDeadlineExceeded):
            raise
        except Exception as exc:
            if self.deadline.expired:
                raise AnswerDeadlineExceeded(self.deadline.seconds) from exc
            raise
        finally:
            self.deadline.end()


# A request body is given this many bytes a second on top of the timeout (a deploy's zip on a slow uplink).
UPLOAD_BYTES_PER_SECOND = 64 * 1024


def attempt_seconds(timeout, body_size=0):
    """How long one attempt may take: the timeout (the read part of a (connect, read) pair), plus time to send a
    large body."""
    if isinstance(timeout, (tuple, list)):
        timeout = timeout[-1]
    if timeout is None:
        return None
    return float(timeout) + body_size / float(UPLOAD_BYTES_PER_SECOND)


def _body_size(data, files):
    """Bytes of a request body given as data (bytes or text) and multipart files ((name, content, type) parts)."""
    parts = [data] + [part[1] if isinstance(part, (tuple, list)) and len(part) > 1 else part for part in (files or {}).values()]
    return sum(len(part) for part in parts if isinstance(part, (bytes, bytearray, str)))


def _read_answer(response, max_bytes):
    """Read the answer's body as requests would (decoded), refusing it once it passes max_bytes."""
    declared = str(response.headers.get('Content-Length') or '').strip()
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise AnswerTooLarge(int(declared), True)
    chunks, size = [], 0
    for chunk in response.iter_content(_READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            response.close()
            raise AnswerTooLarge(size, False)
        chunks.append(chunk)
    # What Response.content would hold had requests read the body itself (it does the same without stream=True).
    response._content = b''.join(chunks)  # pylint: disable=protected-access
    response._content_consumed = True  # pylint: disable=protected-access


def build_http_session(validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, on_retry=None,
                       retry_methods=RETRY_METHODS):
    """A requests.Session for Salesforce: urllib3 retries with backoff on connection errors and 429/5xx
    (Retry-After honoured), TLS verification against ca_path or the system store, a default timeout.

    Answers with a retryable status are returned after the last retry (not raised), so the caller can
    say what the server sent. on_retry(message) is called before each retry. retry_methods are the methods
    retried after a read error or a retryable status (connection failures are retried for every method).
    """
    if not HAS_REQUESTS:
        raise HttpError(missing_libraries_message(('requests',)) or 'the Python library "requests" cannot be imported')
    session = SalesforceHttpSession(timeout=timeout, retries=retries)
    retry = _SalesforceRetry(
        total=retries, connect=retries, read=retries, status=retries, other=0,
        backoff_factor=BACKOFF_FACTOR,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset(retry_methods),
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
        on_retry=on_retry,
        deadline=session.deadline,
    )
    adapter = _WatchedAdapter(session.deadline, max_retries=retry)
    session.mount('https://', adapter)
    session.mount('http://', adapter)
    if not validate_certs:
        session.verify = False
        # The user turned verification off explicitly; urllib3's per-request warning would only be noise.
        warnings.simplefilter('ignore', InsecureRequestWarning)
    elif ca_path:
        session.verify = ca_path
    else:
        session.verify = True
    return session


def retries_used(response):
    """How many retries urllib3 made before this response (0 when unknown)."""
    retries = getattr(getattr(response, 'raw', None), 'retries', None)
    history = getattr(retries, 'history', None)
    return len(history) if history else 0


def send(session, method, url, **kwargs):
    """session.request(), with requests' exceptions turned into an HttpError carrying a user-facing message.
    max_bytes (MAX_ANSWER_BYTES unless given) caps the answer; give_up_after=None is no caller deadline."""
    if 'give_up_after' in kwargs and kwargs['give_up_after'] is None:
        del kwargs['give_up_after']
    try:
        return session.request(method, url, **kwargs)
    except AnswerDeadlineExceeded as exc:
        raise HttpError('%s did not send a complete answer within %s second%s (the timeout bounds each attempt as a whole, '
                        'not only each read). Raise the timeout option if the answer is large or the network slow; otherwise '
                        'the server (or a proxy in between) is stalling.'
                        % (url_origin(url), _seconds_text(exc.seconds), '' if exc.seconds == 1 else 's')) from None
    except AnswerTooLarge as exc:
        limit = _size_text(kwargs.get('max_bytes', MAX_ANSWER_BYTES))
        size = ('of %s, over' % _size_text(exc.size)) if exc.declared else 'larger than'
        raise HttpError('%s sent an answer %s the %s this request accepts (no Salesforce answer comes near it); it was '
                        'not read. Check that the URL is a Salesforce endpoint; for a REST call, ask for less at a time '
                        '(fewer fields, a LIMIT, smaller batches).' % (url_origin(url), size, limit)) from None
    except Exception as exc:  # requests / urllib3 / ssl raise a wide variety; all become one clear message
        if HAS_REQUESTS and not isinstance(exc, (requests.RequestException, OSError, ValueError)):
            raise
        raise HttpError(describe_request_error(exc, url, timeout=kwargs.get('timeout', getattr(session, 'default_timeout', None)),
                                               retries=getattr(session, 'retries', None))) from None


def _seconds_text(seconds):
    return ('%d' % seconds) if float(seconds).is_integer() else ('%.1f' % seconds)


def _causes(exc):
    """The exception and everything it wraps (urllib3 nests reasons in .reason, args, __cause__ and __context__)."""
    seen = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        yield current
        pending.append(getattr(current, 'reason', None))
        pending.extend(arg for arg in getattr(current, 'args', ()) if isinstance(arg, BaseException))
        pending.append(current.__cause__)
        pending.append(current.__context__)


def _ssl_reason(cause):
    reason = getattr(cause, 'verify_message', None) or getattr(cause, 'reason', None)
    if isinstance(reason, str) and reason:
        return reason.replace('_', ' ').lower() if reason.isupper() else reason
    text = str(cause)
    return text[:200] if text else type(cause).__name__


def _frames(exc):
    """(file name, function name) of each frame the exception passed through, outermost first."""
    frames = []
    trace = getattr(exc, '__traceback__', None)
    while trace is not None:
        code = trace.tb_frame.f_code
        frames.append((os.path.basename(code.co_filename), code.co_name))
        trace = trace.tb_next
    return frames


_SENDING_FRAMES = (('client.py', 'send'), ('ssl.py', 'sendall'), ('ssl.py', 'send'), ('ssl.py', 'write'))


def _broken_connection_frames(causes):
    """The frames of each low-level connection failure among the causes (not certificate verification)."""
    return [_frames(cause) for cause in causes
            if isinstance(cause, (ConnectionError, ssl.SSLError)) and not isinstance(cause, ssl.SSLCertVerificationError)]


def _during_handshake(causes):
    return any(name == 'do_handshake' for frames in _broken_connection_frames(causes) for dummy, name in frames)


def _broken_while_sending(causes):
    """True when the connection broke while the request was being written, i.e. after the TLS handshake.

    urllib3 wraps a failure of the handshake and one of sending the body in the same SSLError; only where the
    underlying error was raised (ssl's do_handshake, or http.client's / ssl's send) tells them apart.
    """
    if _during_handshake(causes):
        return False
    return any(frame in _SENDING_FRAMES for frames in _broken_connection_frames(causes) for frame in frames)


def body_size_text(request):
    """'N bytes' (with MiB when large) of a prepared request's body, or None when it has none."""
    size = _prepared_body_size(request)
    return _size_text(size) if size else None


def request_body_size(exc):
    """Bytes of the body of the request that failed (requests attaches the prepared request), or None."""
    for cause in _causes(exc):
        size = _prepared_body_size(getattr(cause, 'request', None))
        if size is not None:
            return size
    return None


def _prepared_body_size(request):
    headers = getattr(request, 'headers', None)
    if request is None or headers is None:
        return None
    length = str(headers.get('Content-Length') or '')
    if length.isdigit():
        return int(length)
    body = getattr(request, 'body', None)
    if isinstance(body, str):
        return len(body.encode('utf-8'))
    if isinstance(body, (bytes, bytearray)):
        return len(body)
    return None


def _size_text(size):
    if size >= 1024 * 1024:
        return '%d bytes, %.1f MiB' % (size, size / (1024.0 * 1024))
    return '%d bytes' % size


def too_large_hint(size):
    return ('The body is probably too large for Salesforce, which refuses a request over its size limit with HTTP 413 '
            '(Request Entity Too Large) and closes the connection without reading the rest: send less data per request '
            '(split the records over several calls; upload large files in parts).' if size >= LARGE_BODY_BYTES else
            'A proxy, firewall or load balancer may be dropping connections; try again, or raise the retries option.')


def describe_request_error(exc, url, timeout=None, retries=None):
    """A message for a failed request naming the host, what went wrong and what to do."""
    origin = url_origin(url)
    causes = list(_causes(exc))
    body_size = request_body_size(exc)
    if body_size and _broken_while_sending(causes):
        # The handshake succeeded; the server (or a proxy) hung up while the body was on its way.
        return ('The connection to %s was closed while the request body (%s) was being sent. %s'
                % (origin, _size_text(body_size), too_large_hint(body_size)))
    attempts = ''
    if retries:
        attempts = ' (after %d attempts)' % (retries + 1)

    def has(kind):
        return any(isinstance(cause, kind) for cause in causes)

    def named(*names):
        return any(type(cause).__name__ in names for cause in causes)

    ssl_errors = [cause for cause in causes if isinstance(cause, ssl.SSLError)]
    cert_errors = [cause for cause in ssl_errors if isinstance(cause, ssl.SSLCertVerificationError)]
    if cert_errors or (HAS_REQUESTS and has(requests.exceptions.SSLError) and
                       any('CERTIFICATE_VERIFY_FAILED' in str(cause) for cause in causes)):
        reason = _ssl_reason(cert_errors[0]) if cert_errors else 'certificate verify failed'
        return ('TLS certificate verification failed for %s: %s. If the server presents a certificate from a private '
                'or corporate CA (for example a TLS-inspecting proxy), set ca_path (or the variable sfjwt_ca_path, or the '
                'environment variable SFJWT_CA_PATH) to a PEM file of that CA; validate_certs=false turns verification off '
                '(never do that in production).' % (origin, reason))
    if ssl_errors or (HAS_REQUESTS and has(requests.exceptions.SSLError)):
        reason = _ssl_reason(ssl_errors[0]) if ssl_errors else 'handshake failed'
        return ('The TLS handshake with %s failed: %s. Check that the URL is an https:// Salesforce endpoint '
                'and that no proxy interferes with TLS.' % (origin, reason))
    if has(socket.gaierror) or named('NameResolutionError', 'LocationParseError'):
        return ('Cannot resolve the host name of %s (DNS lookup failed). Check the URL (login_url or instance_url) '
                'and this machine\'s DNS and proxy settings.' % origin)
    if HAS_REQUESTS and has(requests.exceptions.ProxyError):
        return ('The proxy failed to connect to %s%s. Check the HTTPS_PROXY / NO_PROXY environment variables '
                'and the proxy itself.' % (origin, attempts))
    if (HAS_REQUESTS and has(requests.exceptions.Timeout)) or has(socket.timeout) or has(TimeoutError) or \
            named('ConnectTimeoutError', 'ReadTimeoutError'):
        seconds = (' within %s second%s' % (timeout, '' if timeout == 1 else 's')) if timeout else ''
        return ('%s did not answer%s%s. Raise the timeout option, or check the network path (proxy, firewall) '
                'to the host.' % (origin, seconds, attempts))
    if has(ConnectionRefusedError):
        return ('The connection to %s was refused%s: nothing accepts connections on that port. Check the URL '
                '(host and port) and any firewall or proxy in between.' % (origin, attempts))
    if has(ConnectionResetError) or has(BrokenPipeError) or named('RemoteDisconnected', 'ProtocolError', 'ChunkedEncodingError'):
        if body_size and body_size >= LARGE_BODY_BYTES and not _during_handshake(causes):
            # urllib3 ignores a connection reset while sending and fails when reading the answer instead.
            return ('The connection to %s was reset or closed before a complete answer came%s; the request body was %s. '
                    'If the server cut it off for its size, it is too large for Salesforce (HTTP 413 Request Entity Too '
                    'Large): send less data per request. Otherwise a proxy, firewall or load balancer may be dropping '
                    'connections; try again, or raise the retries option.' % (origin, attempts, _size_text(body_size)))
        return ('The connection to %s was reset or closed before a complete answer came%s. A proxy, firewall or '
                'load balancer may be dropping connections; try again, or raise the retries option.' % (origin, attempts))
    if HAS_REQUESTS and has(requests.exceptions.InvalidURL):
        return 'The URL %s is not valid. Check the host name.' % origin
    if has(ValueError) and not has(OSError):
        return 'The request to %s could not be sent: %s' % (origin, type(exc).__name__)
    return ('The request to %s failed%s: %s. Check the URL and the network path to the host.'
            % (origin, attempts, type(causes[-1] if len(causes) > 1 else exc).__name__))
