# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A throw-away TLS server (trustme CA) for unit tests of what the HTTP layer and the doctor report."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time

import trustme


@contextlib.contextmanager
def tls_server(behaviour, host='127.0.0.1', ca=None):
    """A TLS server on host (127.0.0.1 or ::1) for one test, its certificate issued by ca (a trustme.CA); yields
    (url, CA file, the connections' count). behaviour(raw socket, TLS context) serves each connection, one at a time."""
    ca = ca or trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(context)
    listener = socket.create_server((host, 0), family=socket.AF_INET6 if ':' in host else socket.AF_INET)
    listener.settimeout(0.2)
    stop = threading.Event()
    served = []

    def serve():
        while not stop.is_set():
            try:
                raw, dummy = listener.accept()
            except OSError:
                continue
            served.append(1)
            with raw:
                raw.settimeout(10)
                try:
                    behaviour(raw, context)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with ca.cert_pem.tempfile() as ca_path:
            yield 'https://%s:%d' % ('[%s]' % host if ':' in host else host, listener.getsockname()[1]), ca_path, served
    finally:
        stop.set()
        thread.join(15)
        listener.close()


@contextlib.contextmanager
def local_server(behaviour):
    """tls_server on 127.0.0.1; yields (url, CA file)."""
    with tls_server(behaviour) as (url, ca_path, dummy):
        yield url, ca_path


def read_request(connection, whole=True):
    """The request's headers, and its body too when ``whole`` (by Content-Length); None when the client hung up."""
    received = b''
    while b'\r\n\r\n' not in received:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        received += chunk
    head, body = received.split(b'\r\n\r\n', 1)
    lengths = [line.split(b':', 1)[1] for line in head.split(b'\r\n') if line.lower().startswith(b'content-length:')]
    while whole and len(body) < int(lengths[0] if lengths else 0):
        chunk = connection.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head


def send_answer(connection, status, body, reason=b'Status'):
    connection.sendall(b'HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s'
                       % (status, reason, len(body), body))
    connection.close()


TOO_LARGE = b'[{"errorCode":"REQUEST_ENTITY_TOO_LARGE","message":"the request body is too large"}]'


def answer_413_and_close(raw, context):
    """What Salesforce (and the fake org) do with a request over the size limit: answer 413 after the headers, hang up."""
    connection = context.wrap_socket(raw, server_side=True)
    if read_request(connection, whole=False) is not None:
        send_answer(connection, 413, TOO_LARGE, b'Request Entity Too Large')


def read_all_then_answer_413(raw, context):
    """A proxy with a size limit that reads the whole request before it refuses it."""
    connection = context.wrap_socket(raw, server_side=True)
    if read_request(connection) is not None:
        send_answer(connection, 413, TOO_LARGE, b'Request Entity Too Large')


def answers(*statuses):
    """A behaviour for tls_server: the n-th connection's request (read whole: no reset for unread data) gets
    statuses[n] (the last one after that), with a JSON body {"answer": n}; every connection is closed after its answer."""
    count = []

    def behaviour(raw, context):
        connection = context.wrap_socket(raw, server_side=True)
        if read_request(connection) is None:
            return
        count.append(statuses[min(len(count), len(statuses) - 1)])
        send_answer(connection, count[-1], b'{"answer": %d}' % len(count))
    return behaviour


def too_large_messages(url, size, attempts):
    """What a request body over Salesforce's limit gives when the connection breaks, by how the client's Python and OpenSSL
    see the server hang up: while sending, or (urllib3 reading the answer after that) a reset while reading it. Python
    3.13 may read the 413 answer itself instead (see test_rest.py)."""
    return (
        'The connection to %s was closed while the request body (%s) was being sent. The body is probably '
        'too large for Salesforce, which refuses a request over its size limit with HTTP 413 (Request Entity Too Large) and '
        'closes the connection without reading the rest: send less data per request (split the records over several calls; '
        'upload large files in parts).' % (url, size),
        'The connection to %s was reset or closed before a complete answer came (after %d attempts); the request body was '
        '%s. If the server cut it off for its size, it is too large for Salesforce (HTTP 413 Request Entity Too Large): '
        'send less data per request. Otherwise a proxy, firewall or load balancer may be dropping connections; try again, '
        'or raise the retries option.' % (url, attempts, size))


def trickle(connection, data, pause=0.1, seconds=20):
    """Send data a byte at a time, a pause between bytes (each read of the client succeeds; the whole takes long);
    stops when the client hangs up."""
    started = time.monotonic()
    for byte in data:
        if time.monotonic() - started > seconds:
            return
        connection.sendall(bytes([byte]))
        time.sleep(pause)


ANSWER_HEAD = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n'


def trickle_answer_head(raw, context):
    """A server that sends its answer's headers a byte at a time."""
    connection = context.wrap_socket(raw, server_side=True)
    if read_request(connection) is not None:
        trickle(connection, b'HTTP/1.1 200 OK\r\n' + b'X-Slow: ' + b'.' * 5000 + b'\r\n\r\n')


def trickle_answer_body(raw, context):
    """A server that answers at once and then sends the body a byte at a time."""
    connection = context.wrap_socket(raw, server_side=True)
    if read_request(connection) is not None:
        connection.sendall(ANSWER_HEAD)
        trickle(connection, b'{"a": "' + b'.' * 4990 + b'"}')


def trickle_handshake(raw, context):
    """A server that sends its part of the TLS handshake a byte at a time."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_side=True)
    incoming.write(raw.recv(65536))
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    trickle(raw, outgoing.read())


def endless_answer(raw, context):
    """A server that answers at once with a chunked body that never ends."""
    connection = context.wrap_socket(raw, server_side=True)
    if read_request(connection) is None:
        return
    connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n')
    chunk = b'x' * 65536
    for dummy in range(1000):
        connection.sendall(b'%x\r\n%s\r\n' % (len(chunk), chunk))


def declared_huge_answer(raw, context):
    """A server whose answer says it is 500 MB long."""
    connection = context.wrap_socket(raw, server_side=True)
    if read_request(connection) is not None:
        connection.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 524288000\r\n\r\n{')
