# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The checks a session's fields pass before anything uses them: in Salesforce's token answer (_token_request) and again
in an entry read back from the token cache (_token_cache), which may have been written by an older release that checked
less. Standard library only and light to import: the cache reads entries in every Ansible worker.

Each check returns the problem in a few words (naming the field and its JSON type, never its value: it may be a token),
or None when the value is fine.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import SESSION_FIELDS
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import json_type

HOST_NAME_RE = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$')


def access_token_problem(value):
    """Why value is not an access token: it must be a non-empty string of visible ASCII characters (it goes into a header)."""
    if not isinstance(value, str):
        return 'access_token is %s, not a string' % json_type(value)
    if not value:
        return 'access_token is empty'
    if not all('!' <= char <= '~' for char in value):
        return 'access_token holds whitespace, a control character or a non-ASCII character (its value is not shown)'
    return None


def _valid_host(host):
    if HOST_NAME_RE.match(host):
        return True
    import ipaddress   # only for what is not a host name: most sessions never need it
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def instance_url_origin(value):
    """(origin, None) for an instance_url that is an https:// origin and nothing more, as 'https://host[:port]', else
    (None, problem). A token is never sent to http://, a file or another host's path."""
    if value is None:
        return None, 'instance_url is missing'
    if not isinstance(value, str):
        return None, 'instance_url is %s, not a string' % json_type(value)
    if not value:
        return None, 'instance_url is empty'
    if any(char.isspace() or unicodedata.category(char) == 'Cc' for char in value):
        return None, 'instance_url holds whitespace or a control character'
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return None, 'instance_url has an invalid host or port'
    if parts.scheme.lower() != 'https':
        return None, ('instance_url starts with %s://, not https://' % parts.scheme if parts.scheme and '://' in value
                      else 'instance_url is not an https:// URL')
    if '@' in parts.netloc:
        return None, 'instance_url holds user information (user@ before the host)'
    if not parts.hostname:
        return None, 'instance_url has no host'
    if '\\' in value or not _valid_host(parts.hostname):
        return None, 'instance_url has a host that is not a valid host name'
    origin = 'https://%s' % parts.netloc
    for present, part in ((parts.path not in ('', '/'), 'a path'), (parts.query or '?' in value, 'a query'),
                          (parts.fragment or '#' in value, 'a fragment')):
        if present:
            return None, 'instance_url %s has %s: it must be an origin only (https://host or https://host:port)' % (origin, part)
    return origin, None


def cached_session_problem(session):
    """Why a session read back from the token cache must not be used, or None: the checks of the token answer, and
    every other field a string or null, as parse_token_response stores them."""
    if not isinstance(session, dict):
        return 'the session is %s, not an object' % json_type(session)
    problem = access_token_problem(session.get('access_token'))
    if problem:
        return problem
    origin, problem = instance_url_origin(session.get('instance_url'))
    if problem:
        return problem
    if origin != session['instance_url']:
        return 'instance_url is not stored as an origin (https://host or https://host:port)'
    for name in SESSION_FIELDS[2:]:
        value = session.get(name)
        if value is not None and not isinstance(value, str):
            return '%s is %s, not a string' % (name, json_type(value))
    return None
