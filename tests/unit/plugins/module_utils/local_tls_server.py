# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A throw-away TLS server on 127.0.0.1 (trustme CA) for unit tests of what the HTTP layer reports."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading

import trustme


@contextlib.contextmanager
def local_server(behaviour):
    """A server on 127.0.0.1 for one test; yields (url, CA file). behaviour(raw socket, TLS context) serves a connection."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert('127.0.0.1').configure_cert(context)
    listener = socket.create_server(('127.0.0.1', 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                raw, dummy = listener.accept()
            except OSError:
                continue
            with raw:
                try:
                    behaviour(raw, context)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with ca.cert_pem.tempfile() as ca_path:
            yield 'https://127.0.0.1:%d' % listener.getsockname()[1], ca_path
    finally:
        stop.set()
        thread.join(5)
        listener.close()


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
