# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The auth core: Salesforce OAuth 2.0 JWT Bearer Flow, shared by the token module, the token lookup, every module
that calls the org's API (rest, metadata_deploy, record, record_info) and the doctor.

This module validates the options, names the identity (user, app, token host, audience, key) and serves
sessions from the on-disk token cache (see _token_cache), so that concurrent Ansible workers for one identity
mint one token between them. It imports no third-party library: a cache hit must stay cheap in every worker
process. Minting (key loading, signing with PyJWT, the POST with requests, every refusal turned into a message
that says what to do) lives in _token_request, imported on a cache miss.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import (
    RETRY_AFTER_MAX,
    TokenSession,
    iso_time,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import (
    MAX_RETRIES,
    MAX_TIMEOUT,
    SENT_TEXT_OPTIONS,
    env_var,
    refuse_unprintable,
    var_name,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._token_cache import (
    DEFAULT_LOCK_TIMEOUT,
    MAX_TTL,
    SharedFailure,
    TokenCache,
    cache_key,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import read_regular_file
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import default_audience, login_refusal
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import url_origin, without_userinfo

TOKEN_PATH = '/services/oauth2/token'
# PBKDF2-HMAC-SHA256 iterations for the passphrase in a cache key: what the certificate module (cryptography) and
# OpenSSL use for the PKCS#8 keys they encrypt, so a cache entry name is no cheaper to test guesses against.
PASSPHRASE_ITERATIONS = 2048
# A PEM private key of the largest RSA size is under 4 KiB; anything far larger is not one.
MAX_KEY_BYTES = 1024 * 1024

MAX_PROPAGATION_TIMEOUT = 3600


def awaiting_propagation(details):
    """Whether a refusal (AuthError.details) is one that goes away once a deployed app's settings apply (the
    app unknown, or its new certificate not used yet: _salesforce_facts.LOGIN_REFUSALS)."""
    refusal = login_refusal(details.get('salesforce_error'), details.get('salesforce_error_description'))
    return bool(refusal and refusal.awaits_propagation)


# -- URLs and audience --------------------------------------------------------------------------------

def normalize_login_url(login_url):
    """'https://host[:port][/site-prefix]' from what the user gave; refuses anything but https://.

    A trailing slash and a trailing /services/... path (people paste the token URL) are dropped; any other
    path is kept, because an Experience Cloud site can live under a path prefix (https://acme.force.com/customers).
    """
    value = (login_url or '').strip()
    if not value:
        raise AuthError('login_url is empty. Set it to the token host, e.g. https://login.salesforce.com, '
                        'https://test.salesforce.com or your My Domain (https://acme.my.salesforce.com).')
    shown = _without_credentials(value)
    try:
        parts = urlsplit(value)
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        raise AuthError('login_url %r is not a valid URL (check the host name, brackets and port). Give the token '
                        'host with its scheme, e.g. https://login.salesforce.com.' % shown) from None
    scheme = parts.scheme.lower()
    if scheme == 'http':
        shown = url_origin(value) + parts.path
        raise AuthError('login_url %s uses http://, but Salesforce accepts token requests only over HTTPS. '
                        'Use https://%s.' % (shown, shown[len('http://'):].rstrip('/')))
    if scheme != 'https' or not parts.hostname:
        raise AuthError('login_url %r is not an https:// URL. Give the token host with its scheme, e.g. '
                        'https://login.salesforce.com or https://acme.my.salesforce.com.' % shown)
    if parts.username is not None or parts.password is not None:
        raise AuthError('login_url %r holds a user name or password (user:password@); a token request never '
                        'needs one. Give only the token host, e.g. https://%s.' % (shown, url_origin(value).split('://', 1)[1]))
    path = parts.path
    services = path.find('/services/')
    if services >= 0:
        path = path[:services]
    path = path.rstrip('/')
    return url_origin(value) + path


def _without_credentials(url):
    """The URL as messages may show it: no user:password@ (see _urls.without_userinfo)."""
    return without_userinfo(url)[0]


# -- preparing a request ------------------------------------------------------------------------------

@dataclass
class Identity:
    """Validated options for one token request. Holds the key's PEM and passphrase: never log or return it.

    The key is parsed (and its RSA parameters checked, the costly part) only when a token is minted:
    _token_request.load_key fills in ``key``.
    """

    consumer_key: str
    username: str
    login_url: str
    audience: str
    audience_derived: bool
    key_pem: bytes = field(repr=False)
    key_passphrase: Optional[str] = field(repr=False)
    key_source: str          # where the key came from, for messages: "the private key <path>" or "the private_key option"
    cache_key: str
    key: object = field(default=None, repr=False)

    @property
    def token_url(self):
        return self.login_url + TOKEN_PATH


def _require(options, name, what):
    value = getattr(options, name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise AuthError('%s is required: %s. Set the option %s (or the variable %s, or the environment variable '
                        '%s).' % (name, what, name, var_name(name), env_var(name)))
    return value.strip() if isinstance(value, str) else value


def _whitespace_name(character):
    if character == ' ':
        return 'a space'
    if character == '\t':
        return 'a tab'
    if character in '\r\n':
        return 'a line break'
    return 'whitespace (U+%04X)' % ord(character)


# Why whitespace cannot belong in the value, and how to give it right.
_NO_WHITESPACE = {
    'consumer_key': 'A Consumer Key never contains whitespace: copy it again from the app\'s settings (Consumer Key and '
                    'Secret), without spaces or line breaks.',
    'username': 'A Salesforce username has the form of an e-mail address and never contains whitespace: give it without '
                'spaces or line breaks.',
}


def _refuse_whitespace(name, value):
    """Refuse a value with whitespace anywhere: Salesforce would only answer with a refusal that counts as a login."""
    if not isinstance(value, str):
        return
    position = next((index for index, character in enumerate(value) if character.isspace()), None)
    if position is None:
        return
    character = _whitespace_name(value[position])
    if not value[:position]:
        where = 'starts with %s' % character
    elif not value[position:].strip():
        where = 'ends with %s' % character
    else:
        where = 'contains %s (character %d)' % (character, position + 1)
    raise AuthError('%s %r %s. %s' % (name, value, where, _NO_WHITESPACE[name]))


def _read_key(options):
    """(PEM bytes, source): the key as given, not parsed yet."""
    if options.private_key_path and options.private_key:
        raise AuthError('Both private_key_path and private_key are set (check also the variables %s and %s and the '
                        'environment variables %s and %s); give only one.'
                        % (var_name('private_key_path'), var_name('private_key'), env_var('private_key_path'),
                           env_var('private_key')))
    if options.private_key:
        pem, source = options.private_key, 'the private_key option'
    elif options.private_key_path:
        path = os.path.expanduser(options.private_key_path)
        source = 'the private key %s' % path
        if os.path.isdir(path):
            raise AuthError('private_key_path %s is a directory; point it at the private key file.' % path)
        try:
            pem = read_regular_file(path, MAX_KEY_BYTES, follow_links=True)
        except FileNotFoundError:
            raise AuthError('private_key_path %s does not exist. Point it at the key the app\'s certificate was '
                            'made from (the sfjwt.salesforce.certificate module creates both).' % path) from None
        except PermissionError:
            raise AuthError('private_key_path %s is not readable by this user. Make the key readable by the user '
                            'running the task (keep it mode 0600).' % path) from None
        except OSError as exc:
            raise AuthError('Cannot read private_key_path %s: %s.' % (path, exc.strerror or type(exc).__name__)) from None
        except ValueError as exc:
            raise AuthError('private_key_path %s was not read: %s. Point it at the private key file.' % (path, exc)) from None
    else:
        raise AuthError('A private key is required: set private_key_path to the key file (or private_key to the '
                        'PEM content), or the environment variable %s (%s).'
                        % (env_var('private_key_path'), env_var('private_key')))
    return (pem.encode('utf-8') if isinstance(pem, str) else pem), source


def key_digest(pem, passphrase):
    """Names the key in the cache key without parsing it: SHA-256 of the PEM (line endings and surrounding whitespace
    normalized, so a key from its file and the same key pasted into a variable match) and of the passphrase, so that a
    wrong passphrase never finds the entry a right one made. A changed key file changes the digest.

    Cache entry names appear in messages: the passphrase goes in stretched (PBKDF2, salted by the key), so that testing
    a guess against a name costs as much as testing it against the key file."""
    key_hash = hashlib.sha256(b'sfjwt private key\0' + pem.replace(b'\r\n', b'\n').strip()).digest()
    stretched = b''
    if passphrase:
        secret = passphrase if isinstance(passphrase, bytes) else passphrase.encode('utf-8')
        stretched = hashlib.pbkdf2_hmac('sha256', secret, key_hash, PASSPHRASE_ITERATIONS)
    return hashlib.sha256(key_hash + b'\0' + stretched).hexdigest()


def prepare(options):
    """Validate the options and read the key file: what can be checked cheaply, before the cache and Salesforce.
    (The key itself is checked when a token is minted; see _token_request.load_key.)"""
    consumer_key = _require(options, 'consumer_key', 'the Consumer Key of the Connected App or External Client App')
    username = _require(options, 'username', 'the Salesforce username the token is for')
    for name in ('consumer_key', 'username'):
        _refuse_whitespace(name, getattr(options, name))
    for name in SENT_TEXT_OPTIONS:
        refuse_unprintable(name, getattr(options, name))
    login_url = normalize_login_url(options.login_url)
    for name, minimum, maximum, unit in (('timeout', 1, MAX_TIMEOUT, ' seconds'), ('retries', 0, MAX_RETRIES, ''),
                                         ('cache_ttl', 1, MAX_TTL, ' seconds (%d hours)' % (MAX_TTL // 3600))):
        value = getattr(options, name)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise AuthError('%s must be an integer from %d to %d%s (got %r).' % (name, minimum, maximum, unit, value))
    if options.validate_certs and options.ca_path:
        ca_path = os.path.expanduser(options.ca_path)
        if not os.path.exists(ca_path):
            raise AuthError('ca_path %s does not exist. Point it at a PEM file with the CA certificate(s) that '
                            'issued the server\'s certificate.' % options.ca_path)
        if not (os.path.isfile(ca_path) or os.path.isdir(ca_path)):   # a FIFO would hang the TLS setup
            raise AuthError('ca_path %s is neither a file nor a directory. Point it at a PEM file with the CA '
                            'certificate(s) that issued the server\'s certificate.' % options.ca_path)
    audience = (options.audience or '').strip().rstrip('/')
    audience_derived = not audience
    if audience_derived:
        audience = default_audience(login_url)
    pem, source = _read_key(options)
    passphrase = options.private_key_passphrase
    return Identity(consumer_key=consumer_key, username=username, login_url=login_url, audience=audience,
                    audience_derived=audience_derived, key_pem=pem, key_passphrase=passphrase, key_source=source,
                    cache_key=cache_key(login_url, audience, consumer_key, username, key_digest(pem, passphrase)))


# -- the public API: sessions with the cache ---------------------------------------------------------

def _lock_timeout(options):
    # The lock holder may spend a full retry sequence (connect + read timeouts, capped Retry-After waits) minting.
    return max(DEFAULT_LOCK_TIMEOUT, 2 * options.timeout * (options.retries + 1) + options.retries * RETRY_AFTER_MAX)


def _token_cache(options):
    return TokenCache(options.cache_dir, ttl=options.cache_ttl, lock_timeout=_lock_timeout(options))


def _token_request():
    """The minting half of the auth core, imported on a cache miss only: requests, cryptography and PyJWT take about
    70 ms to import in each Ansible worker process, and checking an RSA key about 35 ms more; a cache hit needs neither."""
    from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _token_request as minting
    return minting


def _held_note(cache, key, record):
    """What a remembered rate-limit refusal adds to its message: until when, and how to ask sooner."""
    until = record.get('until')
    if not isinstance(until, (int, float)):
        return ''
    seconds = max(1, int(round(until - cache.clock())))
    return (' This refusal is remembered in the token cache until %s (%d more second%s): until then, tasks on this machine '
            'that need a token for this user and app fail with this message without logging in again. To ask Salesforce '
            'sooner, delete the cache entry %s, or set cache=false.'
            % (iso_time(until), seconds, '' if seconds == 1 else 's', cache.entry_path(key)))


def _existing_cache(options):
    """(identity, the token cache) when caching is on and its directory exists, else (identity, None): for reads that must
    never create the directory."""
    identity = prepare(options)
    if not options.cache:
        return identity, None
    cache = _token_cache(options)
    return identity, (cache if os.path.isdir(cache.directory) else None)


def cached_session(options):
    """The fresh session cached for the options' identity, or None: never asks Salesforce, never creates the cache
    directory (what the token module does in check mode)."""
    identity, cache = _existing_cache(options)
    if cache is None:
        return None
    entry = cache.read(identity.cache_key)
    if entry is None:
        return None
    return TokenSession.from_cache_entry(entry['session'], extra=entry.get('extra'), from_cache=True, cache_key=identity.cache_key)


def get_session(options):
    """A TokenSession for the options' identity: from the cache while fresh, else minted (once per identity at a time).

    A rate-limit refusal is remembered for min(cache_ttl, RATE_LIMIT_BACKOFF) seconds: meanwhile every call for the
    identity fails with it without asking Salesforce (unless cache=false). A refusal that asking again cannot change
    answers the calls arriving within REFUSAL_SHARE_SECONDS, except those that ask again on purpose
    (options.share_recent_refusals false). Calls in one process after the first are answered from the memo (see _MEMO)."""
    memo_key = _memo_key(options)
    remembered = _remembered_session(options, memo_key)
    if remembered is not None:
        return remembered
    identity = prepare(options)
    if not options.cache:
        return _token_request().request_token(options, identity)
    cache = _token_cache(options)
    try:
        entry, from_cache = cache.get_or_mint(identity.cache_key, lambda: _token_request().request_token(options, identity).to_cache(),
                                              before_mint=lambda: _token_request().load_key(identity),
                                              share_recent=options.share_recent_refusals)
    except SharedFailure as exc:
        raise AuthError.from_record(exc.record, note=_held_note(cache, identity.cache_key, exc.record)) from None
    if memo_key is not None:
        if len(_MEMO) >= MEMO_SIZE:
            _MEMO.clear()
        _MEMO[memo_key] = (entry, identity.cache_key)
    return TokenSession.from_cache_entry(entry['session'], extra=entry.get('extra'), from_cache=from_cache, cache_key=identity.cache_key)


# -- the memo: one process asking again -------------------------------------------------------------

# A worker process asks for one identity's session again and again: a lookup in a loop, an API module in a loop run in the
# worker. Reading and hashing the key file and reading the cache entry is most of what such a call costs. The memo keeps
# the cache entry a call got, named without reading the key: the key file by path, device, inode, size and mtime_ns (a
# changed file is another identity), an inline key and the passphrase by their SHA-256. It serves an entry only while the
# cache would (same clock, same cache_ttl), and forgets what invalidate_session and forget_session drop. It lives as long
# as the process: for a worker, one task on one host. Only with the cache on: cache=false asks Salesforce every time.
_MEMO = {}
MEMO_SIZE = 64


def _digest(value):
    if value is None:
        return None
    return hashlib.sha256(value if isinstance(value, bytes) else value.encode('utf-8')).hexdigest()


def _memo_key(options):
    """What names the options' identity and cache without reading the key file, or None (no memo for these options)."""
    if not options.cache or bool(options.private_key_path) == bool(options.private_key):
        return None
    if options.private_key_path:
        path = os.path.abspath(os.path.expanduser(options.private_key_path))
        try:
            info = os.stat(path)
        except OSError:
            return None
        key = ('file', path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    else:
        key = ('pem', _digest(options.private_key))
    # Every option prepare() checks is part of the name: an entry stands for options that passed those checks.
    return (options.consumer_key, options.username, options.login_url, options.audience, key,
            _digest(options.private_key_passphrase), options.cache_dir, options.cache_ttl, options.validate_certs,
            options.ca_path, options.timeout, options.retries)


def _remembered_session(options, memo_key):
    remembered = _MEMO.get(memo_key) if memo_key is not None else None
    if remembered is None:
        return None
    entry, cache_key = remembered
    if not _token_cache(options).is_fresh(entry):
        del _MEMO[memo_key]
        return None
    return TokenSession.from_cache_entry(entry['session'], extra=entry.get('extra'), from_cache=True, cache_key=cache_key)


def _forget_remembered(cache_key, access_token=None):
    for memo_key, (entry, remembered_key) in list(_MEMO.items()):
        if remembered_key == cache_key and (access_token is None or entry['session'].get('access_token') == access_token):
            del _MEMO[memo_key]


def invalidate_session(options, session):
    """Forget a cached token the API rejected (401 INVALID_SESSION_ID); a newer token cached meanwhile is kept.
    Returns True if an entry was dropped."""
    if not options.cache or not session.cache_key:
        return False
    _forget_remembered(session.cache_key, session.access_token)
    return _token_cache(options).invalidate(session.cache_key, session.access_token)


def forget_session(options, check_mode=False):
    """Drop the cached session of the options' identity, whatever it holds (after a key rotation: the old key's tokens
    are not used again). Reads the key file, never parses it, never asks Salesforce. Returns True if an entry was (or,
    in check mode, would be) dropped."""
    identity, cache = _existing_cache(options)
    if cache is None:
        return False
    if not check_mode:
        _forget_remembered(identity.cache_key)
    if check_mode:
        return os.path.lexists(cache.entry_path(identity.cache_key))
    return cache.invalidate(identity.cache_key)


def update_session_extra(options, session, **values):
    """Keep JSON-serializable ``values`` (e.g. api_version) with the session, in memory and in its cache entry.
    Returns True if the cache entry was updated."""
    session.extra.update(values)
    if not options.cache or not session.cache_key:
        return False
    for entry, remembered_key in _MEMO.values():
        if remembered_key == session.cache_key and entry['session'].get('access_token') == session.access_token:
            entry['extra'] = dict(entry.get('extra') or {}, **values)
    return _token_cache(options).update_extra(session.cache_key, session.access_token, values)
