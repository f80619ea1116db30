# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What messages show of a URL, and of a value in an answer. Standard library only: _auth, which serves cached tokens,
imports it."""

from __future__ import annotations

from urllib.parse import urlsplit


INVALID_URL = 'an invalid URL'


def url_origin(url):
    """'https://host[:port]' of a URL: what messages show of a URL (never a path, query or credential). A URL that does
    not parse (a port out of range, a bracket that is no IPv6 address) gives INVALID_URL: servers send URLs too (a
    redirect's Location), and a message about them must not fail."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return INVALID_URL
    host = parts.hostname or ''
    if ':' in host:
        host = '[%s]' % host
    scheme = (parts.scheme or 'https').lower()
    if port and (scheme, port) not in (('https', 443), ('http', 80)):
        host = '%s:%d' % (host, port)
    return '%s://%s' % (scheme, host)


def json_type(value):
    """How a JSON value's type is named in messages, never the value itself (it may be a token)."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, list):
        return 'a list'
    if isinstance(value, dict):
        return 'an object'
    return 'a %s' % type(value).__name__


def without_userinfo(url):
    """(the URL as messages may show it, whether it held an @): what lies between the scheme and the URL's last @ is
    dropped. A password may hold '/', '?' or '#', so the last @ counts, not the end of the authority; a path with an @
    loses more than the password, which is fine for a message. Never use the result to send a request."""
    if not isinstance(url, str) or '@' not in url:
        return url, False
    scheme, separator, rest = url.partition('://')
    if not separator:
        return url.rpartition('@')[2], True
    return scheme + separator + rest.rpartition('@')[2], True
