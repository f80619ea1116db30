# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The auth core: Salesforce OAuth 2.0 JWT Bearer Flow, shared by the token module, the token lookup
and the rest module.

Loads the key, builds and signs the assertion (PyJWT, RS256), POSTs it to <login_url>/services/oauth2/token,
parses the answer, and turns every refusal into a message that says what happened and what to do.
``get_session`` reuses tokens through the on-disk cache (see _token_cache) so that concurrent Ansible
workers for one identity mint one token between them.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import json
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import quote, urlsplit

try:
    import jwt
    HAS_PYJWT = True
    PYJWT_IMPORT_ERROR = None
except ImportError:
    HAS_PYJWT = False
    PYJWT_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.sfjwt.salesforce.plugins.module_utils._http import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    RETRY_AFTER_MAX,
    HttpError,
    retries_used,
    send,
    url_origin,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils._keys import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    KeyLoadError,
    load_rsa_private_key,
    public_key_fingerprint,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils._options import env_var, var_name
from ansible_collections.sfjwt.salesforce.plugins.module_utils._token_cache import (
    DEFAULT_LOCK_TIMEOUT,
    SharedFailure,
    TokenCache,
    TokenCacheError,
    cache_key,
)

if HAS_CRYPTOGRAPHY:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
TOKEN_PATH = '/services/oauth2/token'
PRODUCTION_AUDIENCE = 'https://login.salesforce.com'
SANDBOX_AUDIENCE = 'https://test.salesforce.com'
EXPERIENCE_CLOUD_AUDIENCE = 'https://site.force.com/customers'
# Salesforce documents exp as "within 3 minutes".
ASSERTION_LIFETIME = 180
# Clock differences up to this many seconds are reported as "in agreement".
CLOCK_TOLERANCE = 5
# A rate-limit refusal (LOGIN_RATE_EXCEEDED, HTTP 429) is remembered in the token cache for min(cache_ttl, this many
# seconds): every caller for the identity gets it without logging in, since each attempt would prolong the lockout.
RATE_LIMIT_BACKOFF = 300

SESSION_FIELDS = ('access_token', 'instance_url', 'id', 'org_id', 'user_id', 'scope', 'token_type', 'issued_at')


class SalesforceAuthError(Exception):
    """A token could not be obtained. The message is for the user and never holds a secret.

    ``details`` holds machine-readable facts for results (status_code, salesforce_error,
    salesforce_error_description) when Salesforce answered. ``hold`` (seconds) marks a rate-limit refusal that
    the token cache keeps for every later caller (see RATE_LIMIT_BACKOFF).
    """

    def __init__(self, message, details=None, shareable=False, hold=None):
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})
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
        return record

    @classmethod
    def from_record(cls, record, note=''):
        message = record.get('message') or 'The token request failed.'
        return cls(message + note, details=record.get('details'))


def missing_requirements():
    """[(library, traceback)] of the Python libraries the auth core needs but cannot import."""
    missing = []
    if not HAS_CRYPTOGRAPHY:
        missing.append(('cryptography', CRYPTOGRAPHY_IMPORT_ERROR))
    if not HAS_PYJWT:
        missing.append(('PyJWT', PYJWT_IMPORT_ERROR))
    if not HAS_REQUESTS:
        missing.append(('requests', REQUESTS_IMPORT_ERROR))
    return missing


# -- URLs and audience --------------------------------------------------------------------------------

def normalize_login_url(login_url):
    """'https://host[:port][/site-prefix]' from what the user gave; refuses anything but https://.

    A trailing slash and a trailing /services/... path (people paste the token URL) are dropped; any other
    path is kept, because an Experience Cloud site can live under a path prefix (https://acme.force.com/customers).
    """
    value = (login_url or '').strip()
    if not value:
        raise SalesforceAuthError('login_url is empty. Set it to the token host, e.g. https://login.salesforce.com, '
                                  'https://test.salesforce.com or your My Domain (https://acme.my.salesforce.com).')
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == 'http':
        shown = url_origin(value) + parts.path  # never echo user:password@ from a URL
        raise SalesforceAuthError('login_url %s uses http://, but Salesforce accepts token requests only over HTTPS. '
                                  'Use https://%s.' % (shown, shown[len('http://'):].rstrip('/')))
    if scheme != 'https' or not parts.hostname:
        raise SalesforceAuthError('login_url %r is not an https:// URL. Give the token host with its scheme, e.g. '
                                  'https://login.salesforce.com or https://acme.my.salesforce.com.' % value)
    try:
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        raise SalesforceAuthError('login_url %r has an invalid port.' % value) from None
    path = parts.path
    services = path.find('/services/')
    if services >= 0:
        path = path[:services]
    path = path.rstrip('/')
    return url_origin(value) + path


def default_audience(login_url):
    """The aud claim Salesforce expects for a token host: the sandbox audience for test.salesforce.com and sandbox
    My Domains, else the production one. (Experience Cloud sites need https://site.force.com/customers, set explicitly.)"""
    host = (urlsplit(login_url if '://' in (login_url or '') else 'https://%s' % login_url).hostname or '').lower()
    if host == 'test.salesforce.com' or host.endswith('.sandbox.my.salesforce.com'):
        return SANDBOX_AUDIENCE
    return PRODUCTION_AUDIENCE


def token_url(login_url):
    return normalize_login_url(login_url) + TOKEN_PATH


def approval_url(login_url, consumer_key, callback_url=None):
    """The one-time browser approval URL for the app (redirect_uri must be the app's callback URL)."""
    return '%s/services/oauth2/authorize?response_type=code&client_id=%s&redirect_uri=%s' % (
        normalize_login_url(login_url), quote(consumer_key or '', safe=''),
        quote(callback_url, safe='') if callback_url else '<callback URL>')


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


# -- preparing a request ------------------------------------------------------------------------------

@dataclass
class Identity:
    """Validated options for one token request. Holds the key object: never log or return it."""

    consumer_key: str
    username: str
    login_url: str
    audience: str
    audience_derived: bool
    key: object = field(repr=False)
    key_fingerprint: str
    cache_key: str

    @property
    def token_url(self):
        return self.login_url + TOKEN_PATH


def _require(options, name, what):
    value = getattr(options, name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SalesforceAuthError('%s is required: %s. Set the option %s (or the environment variable %s; lookups also read '
                                  'the variable %s).' % (name, what, name, env_var(name), var_name(name)))
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
    raise SalesforceAuthError('%s %r %s. %s' % (name, value, where, _NO_WHITESPACE[name]))


def _load_key(options):
    if options.private_key_path and options.private_key:
        raise SalesforceAuthError('Both private_key_path and private_key are set (check also %s and %s); give only one.'
                                  % (env_var('private_key_path'), env_var('private_key')))
    if options.private_key:
        pem, source = options.private_key, 'the private_key option'
    elif options.private_key_path:
        path = os.path.expanduser(options.private_key_path)
        source = 'the private key %s' % path
        try:
            with open(path, 'rb') as handle:
                pem = handle.read()
        except FileNotFoundError:
            raise SalesforceAuthError('private_key_path %s does not exist. Point it at the key the app\'s certificate was '
                                      'made from (the sfjwt.salesforce.certificate module creates both).' % path) from None
        except IsADirectoryError:
            raise SalesforceAuthError('private_key_path %s is a directory; point it at the private key file.' % path) from None
        except PermissionError:
            raise SalesforceAuthError('private_key_path %s is not readable by this user. Make the key readable by the user '
                                      'running the task (keep it mode 0600).' % path) from None
        except OSError as exc:
            raise SalesforceAuthError('Cannot read private_key_path %s: %s.' % (path, exc.strerror or type(exc).__name__)) from None
    else:
        raise SalesforceAuthError('A private key is required: set private_key_path to the key file (or private_key to the '
                                  'PEM content), or the environment variable %s (%s).'
                                  % (env_var('private_key_path'), env_var('private_key')))
    try:
        return load_rsa_private_key(pem, options.private_key_passphrase, source=source)
    except KeyLoadError as exc:
        raise SalesforceAuthError(str(exc)) from None


def prepare(options):
    """Validate the options and load the key: everything that can fail before talking to Salesforce."""
    missing = missing_requirements()
    if missing:
        raise SalesforceAuthError('The Python library %s is required on the host that runs this task (pip install %s).'
                                  % (missing[0][0], missing[0][0]))
    consumer_key = _require(options, 'consumer_key', 'the Consumer Key of the Connected App or External Client App')
    username = _require(options, 'username', 'the Salesforce username the token is for')
    for name in ('consumer_key', 'username'):
        _refuse_whitespace(name, getattr(options, name))
    login_url = normalize_login_url(options.login_url)
    for name, minimum in (('timeout', 1), ('retries', 0), ('cache_ttl', 1)):
        value = getattr(options, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise SalesforceAuthError('%s must be an integer of at least %d (got %r).' % (name, minimum, value))
    if options.validate_certs and options.ca_path and not os.path.exists(os.path.expanduser(options.ca_path)):
        raise SalesforceAuthError('ca_path %s does not exist. Point it at a PEM file with the CA certificate(s) that '
                                  'issued the server\'s certificate.' % options.ca_path)
    audience = (options.audience or '').strip().rstrip('/')
    audience_derived = not audience
    if audience_derived:
        audience = default_audience(login_url)
    key = _load_key(options)
    fingerprint = public_key_fingerprint(key)
    return Identity(consumer_key=consumer_key, username=username, login_url=login_url, audience=audience,
                    audience_derived=audience_derived, key=key, key_fingerprint=fingerprint,
                    cache_key=cache_key(login_url, audience, consumer_key, username, fingerprint))


def build_assertion(identity, now=None, lifetime=ASSERTION_LIFETIME):
    """The signed JWT: header alg RS256; claims iss, sub, aud, iat, exp (at most 180 s ahead)."""
    issued = int(now if now is not None else time.time())
    claims = {
        'iss': identity.consumer_key,
        'sub': identity.username,
        'aud': identity.audience,
        'iat': issued,
        'exp': issued + min(int(lifetime), ASSERTION_LIFETIME),
    }
    token = jwt.encode(claims, identity.key, algorithm='RS256')
    return token.decode('ascii') if isinstance(token, bytes) else token


# -- the request --------------------------------------------------------------------------------------

def request_token(options, identity, now=None):
    """POST a fresh assertion and return a TokenSession (from_cache=False). Never consults the cache."""
    assertion = build_assertion(identity, now=now)
    try:
        response = send(options.http, 'POST', identity.token_url,
                        data={'grant_type': GRANT_TYPE, 'assertion': assertion},
                        headers={'Accept': 'application/json'},
                        allow_redirects=False)
    except HttpError as exc:
        raise SalesforceAuthError(str(exc), shareable=True) from None
    return parse_token_response(options, identity, response)


def _json_body(response):
    text = response.text or ''
    content_type = (response.headers.get('Content-Type') or '').lower()
    if 'json' not in content_type and not text.lstrip().startswith(('{', '[')):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _html_title(text):
    match = re.search(r'<title[^>]*>(.*?)</title>', text or '', re.IGNORECASE | re.DOTALL)
    if not match:
        return None
    title = ' '.join(html.unescape(match.group(1)).split())
    return title[:120] or None


def _looks_like_html(response):
    content_type = (response.headers.get('Content-Type') or '').lower()
    head = (response.text or '')[:512].lstrip().lower()
    return 'html' in content_type or head.startswith(('<!doctype html', '<html')) or '<html' in head


def _status_text(response):
    reason = (response.reason or '').strip()
    return 'HTTP %d%s' % (response.status_code, (' ' + reason) if reason else '')


def parse_token_response(options, identity, response):
    """A TokenSession from a 200 answer, else SalesforceAuthError with the message for this answer."""
    body = _json_body(response)
    status = response.status_code
    if isinstance(body, dict) and status == 200 and body.get('access_token'):
        if not body.get('instance_url'):
            raise SalesforceAuthError('%s answered with an access token but no instance_url; this is not a Salesforce token '
                                      'endpoint as expected. Check login_url.' % identity.login_url, shareable=True)
        org_id, user_id = split_identity_url(body.get('id'))
        issued_at = body.get('issued_at')
        return TokenSession(access_token=body['access_token'], instance_url=body['instance_url'].rstrip('/'), id=body.get('id'),
                            org_id=org_id, user_id=user_id, scope=body.get('scope'), token_type=body.get('token_type'),
                            issued_at=str(issued_at) if issued_at is not None else None)
    raise _error_for(options, identity, response, body)


def _fail(message, response, error=None, description=None, hold=None):
    details = {'status_code': response.status_code}
    if error is not None:
        details['salesforce_error'] = error
    if description is not None:
        details['salesforce_error_description'] = description
    return SalesforceAuthError(message, details=details, shareable=True, hold=hold)


def _error_for(options, identity, response, body):
    status = response.status_code
    where = identity.login_url
    if 300 <= status < 400:
        location = response.headers.get('Location')
        target = url_origin(location) if location and '://' in location else None
        return _fail('%s answered the token request with a redirect (%s)%s. Set login_url to the host that answers '
                     'directly%s.' % (where, _status_text(response), (' to %s' % target) if target else '',
                                      (', probably %s' % target) if target else ''), response)
    error = description = None
    if isinstance(body, dict):
        error = _text(body.get('error') or body.get('errorCode'))
        description = _text(body.get('error_description') or body.get('message'))
    elif isinstance(body, list) and body and isinstance(body[0], dict):
        error = _text(body[0].get('errorCode') or body[0].get('error'))
        description = _text(body[0].get('message') or body[0].get('error_description'))
    rate_text = ' '.join(filter(None, (error, description))) if body is not None else (response.text or '')[:2000]
    if 'login_rate_exceeded' in rate_text.lower():
        return _fail(_rate_exceeded_message(options, identity), response, error, description, hold=RATE_LIMIT_BACKOFF)
    retried = retries_used(response)
    after = (' after %d %s' % (retried, 'retry' if retried == 1 else 'retries')) if retried else ''
    title = _html_title(response.text) if _looks_like_html(response) else None
    page = (', a page titled "%s"' % title) if title else (', an HTML page' if _looks_like_html(response) else '')
    if error:
        page = ' (%s%s)' % (error, (': %s' % description) if description else '')
    if status == 429:
        return _fail('Salesforce\'s token endpoint %s answered %s%s%s: too many requests. Wait a few minutes and try again; '
                     'keep the token cache on (cache=true) so tokens are reused.' % (where, _status_text(response), after, page),
                     response, error, description, hold=RATE_LIMIT_BACKOFF)
    if status >= 500:
        return _fail('Salesforce\'s token endpoint %s answered %s%s%s. Salesforce may be down for maintenance or having an '
                     'incident (see https://status.salesforce.com); try again later, or raise retries.'
                     % (where, _status_text(response), after, page), response, error, description)
    if error:
        return _fail(_salesforce_error_message(options, identity, response, error, description), response, error, description)
    if _looks_like_html(response):
        return _fail('%s answered the token request with %s%s, not Salesforce\'s JSON answer. login_url must be a Salesforce '
                     'token host (https://login.salesforce.com, https://test.salesforce.com, your My Domain or Experience '
                     'Cloud site), not a web page or proxy; during Salesforce maintenance this is a maintenance page, so '
                     'try again later.' % (where, _status_text(response), page), response)
    if body is None:
        content_type = response.headers.get('Content-Type') or 'no content type'
        return _fail('%s answered the token request with %s and a body that is not JSON (%s, %d bytes). Check that login_url '
                     'is a Salesforce token host.' % (where, _status_text(response), content_type, len(response.content or b'')),
                     response)
    return _fail('%s answered the token request with %s and JSON without an access token or an error. Check that login_url '
                 'is a Salesforce token host.' % (where, _status_text(response)), response)


def _text(value):
    if value is None:
        return None
    return str(value)[:500]


def _rate_exceeded_message(options, identity):
    cache_state = ('The token cache is off (cache=false): turn it on. ' if not options.cache else
                   'Keep the token cache on and use one cache_dir for all runs on this machine. ')
    return ('Salesforce refused the login of %s: LOGIN_RATE_EXCEEDED, more than about 3,600 logins for this user within '
            'an hour. Tokens must be reused, not requested for every task or host. %sOther tools logging in as the same '
            'user count too. The limit clears within an hour.' % (identity.username, cache_state))


def _salesforce_error_message(options, identity, response, error, description):
    code = (error or '').lower()
    text = (description or '').lower()
    said = '(%s%s)' % (error, (': %s' % description) if description else '')
    user, key, where = identity.username, identity.consumer_key, identity.login_url
    if code == 'invalid_client_id' or 'client identifier invalid' in text:
        return ('Salesforce at %s does not know the consumer key %s %s. Check that consumer_key is the app\'s Consumer Key '
                'and that login_url points at the org that has the app; a new app can take up to 10 minutes to become '
                'usable.' % (where, key, said))
    if code == 'invalid_app_access' or 'admin approved' in text:
        return ('User %s may not use the app with consumer key %s %s. The app admits only admin-approved users: assign the '
                'user a profile or permission set listed in the app\'s policies (Permitted Users: "Admin approved users are '
                'pre-authorized").' % (user, key, said))
    if 'approved this consumer' in text:
        return ('User %s has not approved the app with consumer key %s %s. Either pre-authorize the user: in the app\'s '
                'OAuth policies set Permitted Users to "Admin approved users are pre-authorized" and assign the user a '
                'profile or permission set of the app; or approve the app once, logged in as %s, in a browser: %s '
                '(redirect_uri must be the app\'s callback URL). The same error comes when the token host (%s) and the '
                'audience (%s) are for different kinds of org (production or sandbox).'
                % (user, key, said, user, approval_url(where, key), where, identity.audience))
    if 'audience' in text:
        source = 'derived from login_url' if identity.audience_derived else 'set by the audience option'
        return ('Salesforce at %s rejected the audience %s %s (%s). The audience (aud claim) is not the token host: it is %s '
                'for production and developer orgs, %s for sandboxes and %s for Experience Cloud sites, even when login_url '
                'is a My Domain. Set the audience option accordingly.'
                % (where, identity.audience, said, source, PRODUCTION_AUDIENCE, SANDBOX_AUDIENCE, EXPERIENCE_CLOUD_AUDIENCE))
    if 'invalid assertion' in text:
        return ('Salesforce could not verify the assertion for consumer key %s and user %s %s: the certificate uploaded to the '
                'app ("Use digital signatures") does not belong to this private key. %sUpload the certificate made from this '
                'key to the app, or use the key the uploaded certificate was made from.'
                % (key, user, said, _certificate_hint(options, identity)))
    if 'expired' in text:
        return ('Salesforce rejected the assertion as expired %s. The assertion is valid for %d seconds by this machine\'s clock; %s'
                % (said, ASSERTION_LIFETIME, _clock_skew_hint(response)))
    if 'ip restricted' in text or 'ip restriction' in text:
        return ('Salesforce refused the login of %s from this machine\'s IP address %s. Add the machine\'s public IP address '
                'to the Login IP Ranges of the user\'s profile, or relax IP restrictions in the app\'s policies '
                '(IP Relaxation).' % (user, said))
    if 'inactive user' in text:
        return 'User %s is inactive in the org at %s %s. Activate the user, or use another username.' % (user, where, said)
    if 'inactive org' in text:
        return ('The org at %s is inactive %s (an expired trial, or a locked or deleted org). Check that login_url points at '
                'the right org.' % (where, said))
    return ('Salesforce at %s refused the token request for user %s and consumer key %s with %s %s.'
            % (where, user, key, _status_text(response), said))


def _colon_hex(digest):
    return ':'.join('%02X' % byte for byte in digest)


def _certificate_hint(options, identity):
    own = 'This key\'s public key SHA-256 fingerprint is %s. ' % identity.key_fingerprint
    path = options.certificate_path
    if not path:
        return own
    path = os.path.expanduser(path)
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
        certificate = (x509.load_pem_x509_certificate(data) if b'-----BEGIN' in data else x509.load_der_x509_certificate(data))
    except OSError as exc:
        return '%sThe certificate_path %s could not be read (%s). ' % (own, path, exc.strerror or type(exc).__name__)
    except ValueError:
        return '%sThe certificate_path %s is not an X.509 certificate. ' % (own, path)
    fingerprint = _colon_hex(certificate.fingerprint(hashes.SHA256()))
    public_der = certificate.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if hashlib.sha256(public_der).hexdigest() == identity.key_fingerprint:
        return ('The certificate %s (SHA-256 fingerprint %s) belongs to this key: that is the one to upload. '
                % (path, fingerprint))
    return ('The certificate %s (SHA-256 fingerprint %s) does not belong to this key either: make a new certificate from '
            'this key (the sfjwt.salesforce.certificate module does). ' % (path, fingerprint))


def _iso(timestamp):
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _clock_skew_hint(response, local_now=None):
    local_now = time.time() if local_now is None else local_now
    date_header = response.headers.get('Date')
    server_now = None
    if date_header:
        try:
            server_now = email.utils.parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError):
            server_now = None
    if server_now is None:
        return ('Salesforce\'s answer carried no usable Date header to compare clocks with. Check that this machine\'s clock '
                'is synchronized (NTP, chrony or systemd-timesyncd) and try again.')
    skew = int(round(local_now - server_now))
    times = '(local time %s, Salesforce\'s Date header %s)' % (_iso(local_now), _iso(server_now))
    if abs(skew) <= CLOCK_TOLERANCE:
        return ('this machine\'s clock agrees with Salesforce\'s within %d seconds %s, so the clock is not the cause. '
                'Try again; if it persists, check for a proxy delaying requests by minutes.' % (abs(skew), times))
    return ('this machine\'s clock is %d seconds %s Salesforce\'s %s. Synchronize this machine\'s clock (NTP, chrony or '
            'systemd-timesyncd) and try again.' % (abs(skew), 'ahead of' if skew > 0 else 'behind', times))


# -- the public API: sessions with the cache ---------------------------------------------------------

def build_http_session(options):
    """The configured requests.Session (retries, TLS verification, timeout) also used for REST calls."""
    return options.http


def _lock_timeout(options):
    # The lock holder may spend a full retry sequence (connect + read timeouts, capped Retry-After waits) minting.
    return max(DEFAULT_LOCK_TIMEOUT, 2 * options.timeout * (options.retries + 1) + options.retries * RETRY_AFTER_MAX)


def _token_cache(options):
    return TokenCache(options.cache_dir, ttl=options.cache_ttl, lock_timeout=_lock_timeout(options))


def _held_note(cache, key, record):
    """What a remembered rate-limit refusal adds to its message: until when, and how to ask sooner."""
    until = record.get('until')
    if not isinstance(until, (int, float)):
        return ''
    seconds = max(1, int(round(until - cache.clock())))
    return (' This refusal is remembered in the token cache until %s (%d more second%s): until then, tasks on this machine '
            'that need a token for this user and app fail with this message without logging in again. To ask Salesforce '
            'sooner, delete the cache entry %s, or set cache=false.'
            % (_iso(until), seconds, '' if seconds == 1 else 's', cache.entry_path(key)))


def get_session(options):
    """A TokenSession for the options' identity: from the cache while fresh, else minted (once per identity at a time).

    A rate-limit refusal is remembered for min(cache_ttl, RATE_LIMIT_BACKOFF) seconds: meanwhile every call for the
    identity fails with it without asking Salesforce (unless cache=false)."""
    identity = prepare(options)
    if not options.cache:
        return request_token(options, identity)
    cache = _token_cache(options)
    try:
        entry, from_cache = cache.get_or_mint(identity.cache_key, lambda: request_token(options, identity).to_cache())
    except SharedFailure as exc:
        raise SalesforceAuthError.from_record(exc.record, note=_held_note(cache, identity.cache_key, exc.record)) from None
    except TokenCacheError as exc:
        raise SalesforceAuthError(str(exc)) from None
    return TokenSession.from_cache_entry(entry['session'], extra=entry.get('extra'), from_cache=from_cache, cache_key=identity.cache_key)


def invalidate_session(options, session):
    """Forget a cached token the API rejected (401 INVALID_SESSION_ID); a newer token cached meanwhile is kept.
    Returns True if an entry was dropped."""
    if not options.cache or not session.cache_key:
        return False
    try:
        return _token_cache(options).invalidate(session.cache_key, session.access_token)
    except TokenCacheError as exc:
        raise SalesforceAuthError(str(exc)) from None


def update_session_extra(options, session, **values):
    """Keep JSON-serializable ``values`` (e.g. api_version) with the session, in memory and in its cache entry.
    Returns True if the cache entry was updated."""
    session.extra.update(values)
    if not options.cache or not session.cache_key:
        return False
    try:
        return _token_cache(options).update_extra(session.cache_key, session.access_token, values)
    except TokenCacheError as exc:
        raise SalesforceAuthError(str(exc)) from None
