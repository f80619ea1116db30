# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What the other module_utils share: the auth core's session, and the defaults and constants more than one of them
names (the errors are in _errors).

Standard library only, and nothing of this collection: any module_utils may import it without a cycle, and a cached
token (the lookup, a worker) loads nothing heavy for it (tests/unit/plugins/module_utils/test_import_graph.py keeps it so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import quote, urlsplit

# Option defaults (the doc fragments document the same values; _options builds the argument specs from them).
DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
DEFAULT_TTL = 600
# A Retry-After header is honoured, but never with a wait longer than this (seconds).
RETRY_AFTER_MAX = 60

# A rate-limit refusal (LOGIN_RATE_EXCEEDED, HTTP 429) is remembered in the token cache for min(cache_ttl, this many
# seconds): every caller for the identity gets it without logging in, since each attempt would prolong the lockout.
RATE_LIMIT_BACKOFF = 300

SESSION_FIELDS = ('access_token', 'instance_url', 'id', 'org_id', 'user_id', 'scope', 'token_type', 'issued_at')


# -- the session --------------------------------------------------------------------------------------

@dataclass
class TokenSession:
    """An access token and what came with it. repr() never shows the token."""

    access_token: str = field(repr=False)
    instance_url: str
    id: Optional[str] = None
    org_id: Optional[str] = None
    user_id: Optional[str] = None
    scope: Optional[str] = None
    token_type: Optional[str] = None
    issued_at: Optional[str] = None
    from_cache: bool = False
    extra: dict = field(default_factory=dict)
    cache_key: Optional[str] = field(default=None, repr=False, compare=False)

    def as_result(self):
        """The module's result keys (issued_at only when Salesforce sent it)."""
        result = {name: getattr(self, name) for name in SESSION_FIELDS}
        if result['issued_at'] is None:
            del result['issued_at']
        result['from_cache'] = self.from_cache
        return result

    def to_cache(self):
        return {name: getattr(self, name) for name in SESSION_FIELDS}

    @classmethod
    def from_cache_entry(cls, data, extra=None, from_cache=True, cache_key=None):
        values = {name: data.get(name) for name in SESSION_FIELDS}
        return cls(from_cache=from_cache, extra=dict(extra or {}), cache_key=cache_key, **values)


def split_identity_url(identity_url):
    """(org_id, user_id): the last two path segments of the id URL https://login.salesforce.com/id/<org>/<user>."""
    try:
        path = urlsplit(identity_url or '').path
    except ValueError:   # a bracket that is no IPv6 address: the answer's id is not a URL
        return None, None
    segments = [segment for segment in path.split('/') if segment]
    if len(segments) < 2:
        return None, None
    return segments[-2], segments[-1]


def approval_url(login_url, consumer_key, callback_url=None):
    """The one-time browser approval URL for the app, on the token host as _auth.normalize_login_url gives it
    (a trailing slash is dropped); redirect_uri must be the app's callback URL."""
    return '%s/services/oauth2/authorize?response_type=code&client_id=%s&redirect_uri=%s' % (
        (login_url or '').rstrip('/'), quote(consumer_key or '', safe=''),
        quote(callback_url, safe='') if callback_url else '<callback URL>')


def iso_time(timestamp):
    """UTC, to the second, as messages show times."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
