# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What the collection knows about Salesforce itself, in one place: ids, API versions, the kinds of token host and the
audience each needs, and how Salesforce words each login refusal. A new Salesforce rule is one edit here.

Standard library only: the auth core, which serves cached tokens without cryptography or requests, imports it.
"""

from __future__ import annotations

import re
from collections import namedtuple
from urllib.parse import urlsplit

# -- ids -----------------------------------------------------------------------------------------------

ORG_ID_RE = re.compile(r'^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?\Z')
ID_SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'


def org_id_from_token(access_token):
    """The org id an access token starts with ('00D...!...'), or None."""
    match = re.match(r'^(00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)!', access_token or '')
    return match.group(1) if match else None


def id18(sf_id):
    """The 18-character form of a Salesforce id (case-insensitive): tokens carry 15 characters, id URLs 18."""
    if len(sf_id) != 15:
        return sf_id
    suffix = ''
    for start in (0, 5, 10):
        bits = sum(1 << index for index, char in enumerate(sf_id[start:start + 5]) if 'A' <= char <= 'Z')
        suffix += ID_SUFFIX_CHARS[bits]
    return sf_id + suffix


# -- API versions ---------------------------------------------------------------------------------------

LATEST = 'latest'
# 'NN.N' (or 'vNN.N', as in REST paths): Salesforce's API versions run from 20.0 up, one minor digit.
API_VERSION_RE = re.compile(r'[vV]?([1-9][0-9]{1,2})\.([0-9])\Z')


def parse_api_version(text):
    """(major, minor) of 'NN.N' or 'vNN.N'; None for anything else (any type)."""
    match = API_VERSION_RE.match(text.strip()) if isinstance(text, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def format_api_version(version):
    """'62.0' from (62, 0)."""
    return '%d.%d' % version


def latest_api_version(versions):
    """The highest of the API versions given as text ('62.0'), skipping anything that is not one; None if none is."""
    parsed = [version for version in (parse_api_version(text) for text in versions) if version is not None]
    return format_api_version(max(parsed)) if parsed else None


# -- token hosts and audiences ----------------------------------------------------------------------------

PRODUCTION_AUDIENCE = 'https://login.salesforce.com'
SANDBOX_AUDIENCE = 'https://test.salesforce.com'
EXPERIENCE_CLOUD_AUDIENCE = 'https://site.force.com/customers'

# (how a host name ends or what it is, what it says of the org, the audience it needs or None when the name does not
# tell), first match wins.
HOST_KINDS = (
    ('=login.salesforce.com', 'the production login host', PRODUCTION_AUDIENCE),
    ('=test.salesforce.com', 'the sandbox login host', SANDBOX_AUDIENCE),
    ('.sandbox.my.salesforce.com', 'a sandbox My Domain', SANDBOX_AUDIENCE),
    ('.my.site.com', 'an Experience Cloud site', EXPERIENCE_CLOUD_AUDIENCE),
    ('.force.com', 'an Experience Cloud site', EXPERIENCE_CLOUD_AUDIENCE),
    ('.my.salesforce.com', 'a production My Domain', PRODUCTION_AUDIENCE),
    ('.salesforce.mil', 'a Government Cloud host', None),
    ('.salesforce-gov.com', 'a Government Cloud host', None),
    ('.salesforce.us', 'a Government Cloud host', None),
)
UNKNOWN_HOST_KIND = 'not a Salesforce host name (a test server, proxy or custom domain)'


def host_kind(host):
    """(what the token host's name says of the org behind it, the audience that kind needs or None)."""
    host = (host or '').lower().rstrip('.')
    for pattern, kind, audience in HOST_KINDS:
        if host == pattern[1:] if pattern.startswith('=') else host.endswith(pattern):
            return kind, audience
    return UNKNOWN_HOST_KIND, None


def default_audience(login_url):
    """The aud claim for a token host when the user sets none: the sandbox audience for sandbox hosts, else production's.
    An Experience Cloud site's audience is never guessed: it must be set (audience)."""
    host = urlsplit(login_url if '://' in (login_url or '') else 'https://%s' % login_url).hostname
    return SANDBOX_AUDIENCE if host_kind(host)[1] == SANDBOX_AUDIENCE else PRODUCTION_AUDIENCE


# -- login refusals ----------------------------------------------------------------------------------------

# code: the collection's name for it (results, the doctor's cause_code, the provision role); errors: Salesforce's
# error codes that mean it; texts: words of its error_description that mean it (lower case); awaits_propagation: it also
# comes while Salesforce has not yet applied a deployed app's settings (up to 10 minutes), so waiting may cure it.
LoginRefusal = namedtuple('LoginRefusal', 'code errors texts awaits_propagation')

# First match wins: the order matters where Salesforce's words overlap.
LOGIN_REFUSALS = (
    LoginRefusal('rate_limit', (), ('login_rate_exceeded',), False),
    LoginRefusal('unknown_consumer_key', ('invalid_client_id',), ('client identifier invalid',), True),
    LoginRefusal('not_admin_approved', ('invalid_app_access',), ('admin approved',), False),
    LoginRefusal('not_approved', (), ('approved this consumer',), False),
    LoginRefusal('audience', (), ('audience',), False),
    LoginRefusal('invalid_assertion', (), ('invalid assertion',), True),
    LoginRefusal('expired_assertion', (), ('expired',), False),
    LoginRefusal('ip_restricted', (), ('ip restricted', 'ip restriction'), False),
    LoginRefusal('inactive_user', (), ('inactive user',), False),
    LoginRefusal('inactive_org', (), ('inactive org',), False),
)

# Salesforce's error codes for a refusal that asking again cannot change (an outage can: 429 and 5xx are not refusals).
FINAL_REFUSAL_ERRORS = ('invalid_client_id', 'invalid_client', 'invalid_grant', 'invalid_app_access')


def login_refusal(error, description):
    """The LoginRefusal Salesforce's error and error_description name, or None for words this table does not know."""
    error = str(error or '').lower()
    text = '%s %s' % (error, str(description or '').lower())
    for refusal in LOGIN_REFUSALS:
        if error in refusal.errors or any(words in text for words in refusal.texts):
            return refusal
    return None


def is_final_refusal(status_code, error):
    """Whether an answer with this HTTP status and OAuth error is a refusal that asking again cannot change."""
    return (isinstance(status_code, int) and not isinstance(status_code, bool) and 400 <= status_code < 500
            and status_code != 429 and str(error or '').lower() in FINAL_REFUSAL_ERRORS)
