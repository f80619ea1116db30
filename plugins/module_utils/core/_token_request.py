# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The minting half of the auth core (see _auth, which imports this on a cache miss only).

Loads and checks the key, builds and signs the assertion (PyJWT, RS256), POSTs it to <login_url>/services/oauth2/token,
parses the answer, and turns every refusal into a message that says what happened and what to do.
"""

from __future__ import annotations

import os
import time

try:
    import jwt
except ImportError:  # reported by _requirements before a token is minted
    jwt = None

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._answers import (
    html_title,
    json_body,
    looks_like_html,
    oauth_error,
    server_time,
    status_text,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import (
    RATE_LIMIT_BACKOFF,
    TokenSession,
    approval_url,
    iso_time,
    split_identity_url,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError, HttpError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._http import (
    MAX_TOKEN_ANSWER_BYTES,
    retries_used,
    send,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import read_regular_file
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._keys import (
    load_rsa_private_key,
    public_key_fingerprint,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._requirements import TO_MINT_A_TOKEN, missing_libraries_message
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import (
    EXPERIENCE_CLOUD_AUDIENCE,
    PRODUCTION_AUDIENCE,
    SANDBOX_AUDIENCE,
    login_refusal,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._token_fields import access_token_problem, instance_url_origin
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import INVALID_URL, json_type, url_origin
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import (
    MAX_CERTIFICATE_BYTES,
    belongs_to_key,
    certificate_fingerprint,
    colon_hex,
    load_pem_or_der_certificate,
)

GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
# Salesforce documents exp as "within 3 minutes".
ASSERTION_LIFETIME = 180
# Clock differences up to this many seconds are reported as "in agreement".
CLOCK_TOLERANCE = 5


def load_key(identity):
    """Parse and check the identity's private key once (an RSA key Salesforce accepts); returns it."""
    if identity.key is None:
        missing = missing_libraries_message(TO_MINT_A_TOKEN)
        if missing:
            raise AuthError(missing)
        identity.key = load_rsa_private_key(identity.key_pem, identity.key_passphrase, source=identity.key_source)
    return identity.key


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
    token = jwt.encode(claims, load_key(identity), algorithm='RS256')
    return token.decode('ascii') if isinstance(token, bytes) else token


# -- the request --------------------------------------------------------------------------------------

def request_token(options, identity, now=None):
    """POST a fresh assertion and return a TokenSession (from_cache=False). Never consults the cache."""
    assertion = build_assertion(identity, now=now)
    try:
        response = send(options.http, 'POST', identity.token_url,
                        data={'grant_type': GRANT_TYPE, 'assertion': assertion},
                        headers={'Accept': 'application/json'},
                        allow_redirects=False, max_bytes=MAX_TOKEN_ANSWER_BYTES)
    except HttpError as exc:
        raise AuthError(str(exc), shareable=True) from None
    return parse_token_response(options, identity, response)


def parse_token_response(options, identity, response):
    """A TokenSession from a 200 answer, else AuthError with the message for this answer.

    The answer is checked before anything uses it (the caller caches only what this returns): ``access_token`` must be a
    non-empty string of visible ASCII characters, ``instance_url`` an https:// origin (host and port only), ``id`` a string
    if present. Anything else is refused as "not a Salesforce token answer", so a token is never sent to http://, a file
    or another host's path. The informational fields ``scope`` and ``token_type`` are dropped when they are not strings,
    ``issued_at`` when it is neither a string nor a whole number: nothing depends on them.
    """
    body = json_body(response)
    status = response.status_code
    if isinstance(body, dict) and status == 200 and (body.get('access_token') or ('access_token' in body and not body.get('error'))):
        access_token = _checked_access_token(identity, response, body.get('access_token'))
        instance_url = _checked_instance_url(identity, response, body)
        identity_url = body.get('id')
        if identity_url is not None and not isinstance(identity_url, str):
            raise _not_a_token_answer(identity, response, 'id is %s, not a string (the identity URL '
                                      'https://login.salesforce.com/id/<org id>/<user id>)' % json_type(identity_url))
        org_id, user_id = split_identity_url(identity_url)
        issued_at = body.get('issued_at')
        if isinstance(issued_at, bool) or not isinstance(issued_at, (str, int)):
            issued_at = None
        return TokenSession(access_token=access_token, instance_url=instance_url, id=identity_url,
                            org_id=org_id, user_id=user_id, scope=_optional_text(body.get('scope')),
                            token_type=_optional_text(body.get('token_type')),
                            issued_at=str(issued_at) if issued_at is not None else None)
    raise _error_for(options, identity, response, body)


def _optional_text(value):
    return value if isinstance(value, str) else None


def _not_a_token_answer(identity, response, problem):
    return AuthError('The answer of %s to the token request is not a Salesforce token answer: %s. Check that '
                     'login_url is a Salesforce token host (https://login.salesforce.com, https://test.salesforce.com, '
                     'your My Domain or Experience Cloud site), not a proxy or another service; no token was kept.'
                     % (identity.login_url, problem), details={'status_code': response.status_code}, shareable=True)


def _checked_access_token(identity, response, value):
    """The access token, if it is one (see _token_fields: the cache checks what it reads back the same way)."""
    problem = access_token_problem(value)
    if problem:
        raise _not_a_token_answer(identity, response, problem)
    return value


def _checked_instance_url(identity, response, body):
    """'https://host[:port]' from the answer's instance_url, which must be an https:// origin and nothing more."""
    origin, problem = instance_url_origin(body.get('instance_url'))
    if problem:
        raise _not_a_token_answer(identity, response, problem)
    return origin


def _fail(message, response, error=None, description=None, hold=None):
    details = {'status_code': response.status_code}
    if error is not None:
        details['salesforce_error'] = error
    if description is not None:
        details['salesforce_error_description'] = description
    refusal = login_refusal(error, description) if error is not None else None
    if refusal is not None:
        details['refusal'] = refusal.code
    return AuthError(message, details=details, shareable=True, hold=hold)


def _error_for(options, identity, response, body):
    status = response.status_code
    where = identity.login_url
    if 300 <= status < 400:
        location = response.headers.get('Location')
        target = url_origin(location) if location and '://' in location else None
        target = None if target == INVALID_URL else target
        return _fail('%s answered the token request with a redirect (%s)%s. Set login_url to the host that answers '
                     'directly%s.' % (where, status_text(response), (' to %s' % target) if target else '',
                                      (', probably %s' % target) if target else ''), response)
    error, description = oauth_error(body)
    rate_text = ' '.join(filter(None, (error, description))) if body is not None else (response.text or '')[:2000]
    if 'login_rate_exceeded' in rate_text.lower():
        return _fail(_rate_exceeded_message(options, identity), response, error, description, hold=RATE_LIMIT_BACKOFF)
    retried = retries_used(response)
    after = (' after %d %s' % (retried, 'retry' if retried == 1 else 'retries')) if retried else ''
    title = html_title(response.text, 120) if looks_like_html(response) else None
    page = (', a page titled "%s"' % title) if title else (', an HTML page' if looks_like_html(response) else '')
    if error:
        page = ' (%s%s)' % (error, (': %s' % description) if description else '')
    if status == 429:
        return _fail('Salesforce\'s token endpoint %s answered %s%s%s: too many requests. Wait a few minutes and try again; '
                     'keep the token cache on (cache=true) so tokens are reused.' % (where, status_text(response), after, page),
                     response, error, description, hold=RATE_LIMIT_BACKOFF)
    if status >= 500:
        return _fail('Salesforce\'s token endpoint %s answered %s%s%s. Salesforce may be down for maintenance or having an '
                     'incident (see https://status.salesforce.com); try again later, or raise retries.'
                     % (where, status_text(response), after, page), response, error, description)
    if error:
        return _fail(_salesforce_error_message(options, identity, response, error, description), response, error, description)
    if looks_like_html(response):
        return _fail('%s answered the token request with %s%s, not Salesforce\'s JSON answer. login_url must be a Salesforce '
                     'token host (https://login.salesforce.com, https://test.salesforce.com, your My Domain or Experience '
                     'Cloud site), not a web page or proxy; during Salesforce maintenance this is a maintenance page, so '
                     'try again later.' % (where, status_text(response), page), response)
    if body is None:
        content_type = printable(response.headers.get('Content-Type') or 'no content type')
        return _fail('%s answered the token request with %s and a body that is not JSON (%s, %d bytes). Check that login_url '
                     'is a Salesforce token host.' % (where, status_text(response), content_type, len(response.content or b'')),
                     response)
    return _fail('%s answered the token request with %s and JSON without an access token or an error. Check that login_url '
                 'is a Salesforce token host.' % (where, status_text(response)), response)


def _rate_exceeded_message(options, identity):
    cache_state = ('The token cache is off (cache=false): turn it on. ' if not options.cache else
                   'Keep the token cache on and use one cache_dir for all runs on this machine. ')
    return ('Salesforce refused the login of %s: LOGIN_RATE_EXCEEDED, more than about 3,600 logins for this user within '
            'an hour. Tokens must be reused, not requested for every task or host. %sOther tools logging in as the same '
            'user count too. The limit clears within an hour.' % (identity.username, cache_state))


def _salesforce_error_message(options, identity, response, error, description):
    message = _explain_refusal(options, identity, response, error, description)
    audience = identity.audience
    names_both = identity.login_url in message and ('audience %s' % audience in message or 'audience (%s)' % audience in message)
    if (error or '').lower() == 'invalid_grant' and not names_both:
        # A wrong audience can hide behind any invalid_grant description: always say what was sent where.
        message += (' The assertion was sent to the token host %s with the audience %s (%s).'
                    % (identity.login_url, audience,
                       'derived from login_url' if identity.audience_derived else 'set, not derived from login_url'))
    return message


def _explain_refusal(options, identity, response, error, description):
    refusal = login_refusal(error, description)
    code = refusal.code if refusal else None
    said = '(%s%s)' % (error, (': %s' % description) if description else '')
    user, key, where = identity.username, identity.consumer_key, identity.login_url
    if code == 'unknown_consumer_key':
        return ('Salesforce at %s does not know the consumer key %s %s. Check that consumer_key is the app\'s Consumer Key '
                'and that login_url points at the org that has the app; a new app can take up to 10 minutes to become '
                'usable.' % (where, key, said))
    if code == 'not_admin_approved':
        return ('User %s may not use the app with consumer key %s %s. The app admits only admin-approved users: assign the '
                'user a profile or permission set listed in the app\'s policies (Permitted Users: "Admin approved users are '
                'pre-authorized").' % (user, key, said))
    if code == 'not_approved':
        return ('User %s has not approved the app with consumer key %s %s. Either pre-authorize the user: in the app\'s '
                'OAuth policies set Permitted Users to "Admin approved users are pre-authorized" and assign the user a '
                'profile or permission set of the app; or approve the app once, logged in as %s, in a browser: %s '
                '(redirect_uri must be the app\'s callback URL). The same error comes when the token host (%s) and the '
                'audience (%s) are for different kinds of org (production or sandbox).'
                % (user, key, said, user, approval_url(where, key), where, identity.audience))
    if code == 'audience':
        source = 'derived from login_url' if identity.audience_derived else 'set, not derived from login_url'
        return ('Salesforce at %s rejected the audience %s %s (%s). The audience (aud claim) is not the token host: it is %s '
                'for production and developer orgs, %s for sandboxes and %s for Experience Cloud sites, even when login_url '
                'is a My Domain. Set the audience option accordingly.'
                % (where, identity.audience, said, source, PRODUCTION_AUDIENCE, SANDBOX_AUDIENCE, EXPERIENCE_CLOUD_AUDIENCE))
    if code == 'invalid_assertion':
        return ('Salesforce could not verify the assertion for consumer key %s and user %s %s: the certificate uploaded to the '
                'app ("Use digital signatures") does not belong to this private key. %sUpload the certificate made from this '
                'key to the app, or use the key the uploaded certificate was made from.'
                % (key, user, said, _certificate_hint(options, identity)))
    if code == 'expired_assertion':
        return ('Salesforce rejected the assertion as expired %s. The assertion is valid for %d seconds by this machine\'s clock; %s'
                % (said, ASSERTION_LIFETIME, _clock_skew_hint(response)))
    if code == 'ip_restricted':
        return ('Salesforce refused the login of %s from this machine\'s IP address %s. Add the machine\'s public IP address '
                'to the Login IP Ranges of the user\'s profile, or relax IP restrictions in the app\'s policies '
                '(IP Relaxation).' % (user, said))
    if code == 'inactive_user':
        return 'User %s is inactive in the org at %s %s. Activate the user, or use another username.' % (user, where, said)
    if code == 'inactive_org':
        return ('The org at %s is inactive %s (an expired trial, or a locked or deleted org). Check that login_url points at '
                'the right org.' % (where, said))
    return ('Salesforce at %s refused the token request for user %s and consumer key %s with %s %s.'
            % (where, user, key, status_text(response), said))


def _certificate_hint(options, identity):
    key = load_key(identity)
    # Colon-separated, as every fingerprint the collection shows (certificates, the doctor's report).
    own = 'This key\'s public key SHA-256 fingerprint is %s. ' % colon_hex(bytes.fromhex(public_key_fingerprint(key)))
    path = options.certificate_path
    if not path:
        return own
    path = os.path.expanduser(path)
    try:
        data = read_regular_file(path, MAX_CERTIFICATE_BYTES, follow_links=True)
        certificate = load_pem_or_der_certificate(data)
    except OSError as exc:
        return '%sThe certificate_path %s could not be read (%s). ' % (own, path, exc.strerror or type(exc).__name__)
    except ValueError as exc:
        return '%sThe certificate_path %s was not read: %s. ' % (own, path, exc)
    fingerprint = certificate_fingerprint(certificate)
    if belongs_to_key(certificate.public_key(), key):
        return ('The certificate %s (SHA-256 fingerprint %s) belongs to this key: that is the one to upload. '
                % (path, fingerprint))
    return ('The certificate %s (SHA-256 fingerprint %s) does not belong to this key either: make a new certificate from '
            'this key (the sfjwt.salesforce.certificate module does). ' % (path, fingerprint))


def _clock_skew_hint(response, local_now=None):
    local_now = time.time() if local_now is None else local_now
    server_now = server_time(response)
    if server_now is None:
        return ('Salesforce\'s answer carried no usable Date header to compare clocks with. Check that this machine\'s clock '
                'is synchronized (NTP, chrony or systemd-timesyncd) and try again.')
    skew = int(round(local_now - server_now))
    times = '(local time %s, Salesforce\'s Date header %s)' % (iso_time(local_now), iso_time(server_now))
    if abs(skew) <= CLOCK_TOLERANCE:
        return ('this machine\'s clock agrees with Salesforce\'s within %d seconds %s, so the clock is not the cause. '
                'Try again; if it persists, check for a proxy delaying requests by minutes.' % (abs(skew), times))
    return ('this machine\'s clock is %d seconds %s Salesforce\'s %s. Synchronize this machine\'s clock (NTP, chrony or '
            'systemd-timesyncd) and try again.' % (abs(skew), 'ahead of' if skew > 0 else 'behind', times))
