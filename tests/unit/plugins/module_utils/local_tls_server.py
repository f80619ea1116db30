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


def answer_413_and_close(raw, context):
    """What Salesforce (and the fake org) do with a request over the size limit: answer 413 after the headers, hang up."""
    connection = context.wrap_socket(raw, server_side=True)
    received = b''
    while b'\r\n\r\n' not in received:
        received += connection.recv(65536)
    body = b'[{"errorCode":"REQUEST_ENTITY_TOO_LARGE","message":"the request body is too large"}]'
    connection.sendall(b'HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\nContent-Length: %d\r\n'
                       b'Connection: close\r\n\r\n%s' % (len(body), body))
    connection.close()
