# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What the other module_utils share: the error base class, the auth core's error and session, and the defaults and
constants more than one of them names.

Standard library only, and of this collection only _salesforce_facts (standard library only as well): any module_utils
may import it without a cycle, and a cached token (the lookup, a worker) loads nothing heavy for it
(tests/unit/plugins/module_utils/test_import_graph.py keeps it so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import quote, urlsplit

from ansible_collections.sfjwt.salesforce.plugins.module_utils._salesforce_facts import is_final_refusal

# Option defaults (the doc fragments document the same values; _options builds the argument specs from them).
DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
DEFAULT_TTL = 600
# A Retry-After header is honoured, but never with a wait longer than this (seconds).
RETRY_AFTER_MAX = 60

# A rate-limit refusal (LOGIN_RATE_EXCEEDED, HTTP 429) is remembered in the token cache for min(cache_ttl, this many
# seconds): every caller for the identity gets it without logging in, since each attempt would prolong the lockout.
RATE_LIMIT_BACKOFF = 300
# A refusal that asking again cannot change (an unknown consumer key, invalid_grant) is given for this many seconds to
# the callers for the identity that arrive meanwhile (the next hosts of the same task), without logging them in: each
# attempt would be refused the same and count against the user's logins. Never longer, so a fix can be tried at once.
REFUSAL_SHARE_SECONDS = 2

SESSION_FIELDS = ('access_token', 'instance_url', 'id', 'org_id', 'user_id', 'scope', 'token_type', 'issued_at')


# -- errors -------------------------------------------------------------------------------------------

class SalesforceError(Exception):
    """A failure the user can act on. ``message`` says what happened and what to do, and never holds a secret;
    ``details`` are machine-readable facts for the failed result (status codes, Salesforce's errors).

    A module turns one into its failed result with _api_module.fail_with, the lookup into AnsibleLookupError(message).
    """

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})

    @property
    def msg(self):
        return self.message


class ResultError(SalesforceError):
    """A SalesforceError whose details are given as keywords: the fields of the failed module result."""

    def __init__(self, message, /, **details):
        super().__init__(message, details)


class SalesforceAuthError(SalesforceError):
    """A token could not be obtained.

    ``details`` holds status_code, salesforce_error and salesforce_error_description when Salesforce answered.
    ``hold`` (seconds) marks a rate-limit refusal that the token cache keeps for every later caller (see
    RATE_LIMIT_BACKOFF); a refusal asking again cannot change is shared for a moment (see REFUSAL_SHARE_SECONDS).
    """

    def __init__(self, message, details=None, shareable=False, hold=None):
        super().__init__(message, details)
        self.shareable = shareable
        self.hold = hold

    def cache_record(self):
        """What concurrent waiters on the token cache get instead of asking again (only for answers from the server).
        Holds no secret: it is stored in the cache."""
        if not self.shareable:
            return None
        record = {'message': self.message, 'details': self.details}
        if self.hold:
            record['hold'] = self.hold
        elif self.final_refusal():
            record['share'] = REFUSAL_SHARE_SECONDS
        return record

    def final_refusal(self):
        """Whether Salesforce refused the request for a reason that asking again cannot change (not an outage)."""
        return is_final_refusal(self.details.get('status_code'), self.details.get('salesforce_error'))

    @classmethod
    def from_record(cls, record, note=''):
        message = record.get('message') or 'The token request failed.'
        return cls(message + note, details=record.get('details'))


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
    segments = [segment for segment in urlsplit(identity_url or '').path.split('/') if segment]
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
