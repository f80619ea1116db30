# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What messages show of a URL, and of a value in an answer. Standard library only: _auth, which serves cached tokens,
imports it."""

from __future__ import annotations

from urllib.parse import urlsplit


def url_origin(url):
    """'https://host[:port]' of a URL: what messages show of a URL (never a path, query or credential)."""
    parts = urlsplit(url)
    host = parts.hostname or ''
    if ':' in host:
        host = '[%s]' % host
    scheme = (parts.scheme or 'https').lower()
    if parts.port and (scheme, parts.port) not in (('https', 443), ('http', 80)):
        host = '%s:%d' % (host, parts.port)
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
