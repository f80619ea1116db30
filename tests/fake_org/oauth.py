# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The OAuth endpoints: token (JWT Bearer grant), revoke, userinfo and the identity URL.

The token endpoint checks the assertion in this order, answering the first failure with the error
body Salesforce answers with (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm):

  grant_type          400 unsupported_grant_type  "grant type not supported"
  login rate limit    400 (or 403) invalid_grant  "LOGIN_RATE_EXCEEDED"        (fault switch)
  JWT syntax, alg     400 invalid_grant           "invalid assertion"          (alg must be RS256)
  iss                 400 invalid_client_id       "client identifier invalid"
  signature           400 invalid_grant           "invalid assertion"          (app's certificate)
  aud                 400 invalid_grant           "audience is invalid"
  exp                 400 invalid_grant           "invalid assertion"          (missing / not a number)
                      400 invalid_grant           "expired authorization code" (exp < server clock)
  sub                 400 invalid_grant           "user hasn't approved this consumer" (unknown user)
  org / user active   400 invalid_grant           "inactive organization" / "inactive user"
  app IP policy       400 invalid_grant           "ip restricted"
  approval            400 invalid_grant           "user hasn't approved this consumer"
                      400 invalid_app_access      "user is not admin approved to access this app"
                                                  (apps registered with invalid_app_access=True)

Salesforce grants a few minutes of grace after exp; the fake grants none, so tests are
deterministic (a correct client sends exp <= now + 180 anyway). A far-future exp is accepted, as
Salesforce does.
"""

from __future__ import annotations

import jwt

from .messages import OAuthError, Response, empty_response, json_response

JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

_PYJWT_SIGNATURE_ONLY = {
    'verify_signature': True, 'verify_exp': False, 'verify_nbf': False, 'verify_iat': False, 'verify_aud': False,
    'verify_iss': False, 'verify_sub': False, 'verify_jti': False, 'require': [],
}


def token(org, request) -> Response:
    if request.method != 'POST':
        return OAuthError('invalid_request', 'must use HTTP POST').response()
    try:
        user, app = _authenticate(org, request.form or {})
    except OAuthError as exc:
        return exc.response()
    return json_response(200, org.open_session(user, app))


def _authenticate(org, form: dict) -> tuple:
    if form.get('grant_type') != JWT_BEARER_GRANT:
        raise OAuthError('unsupported_grant_type', 'grant type not supported')
    rate_limit_status = org.faults.login_rate_limit_status
    if rate_limit_status is not None:
        raise OAuthError('invalid_grant', 'LOGIN_RATE_EXCEEDED', status=rate_limit_status)

    assertion = form.get('assertion') or ''
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={'verify_signature': False})
    except jwt.PyJWTError:
        raise OAuthError('invalid_grant', 'invalid assertion')
    if header.get('alg') != 'RS256':
        raise OAuthError('invalid_grant', 'invalid assertion')

    app = org.find_app(claims.get('iss'))
    if app is None:
        raise OAuthError('invalid_client_id', 'client identifier invalid')
    if app.public_key is None:
        raise OAuthError('invalid_grant', 'invalid assertion')
    try:
        jwt.decode(assertion, key=app.public_key, algorithms=['RS256'], options=_PYJWT_SIGNATURE_ONLY)
    except jwt.PyJWTError:
        raise OAuthError('invalid_grant', 'invalid assertion')

    audience = claims.get('aud')
    audiences = audience if isinstance(audience, list) else [audience]
    if org.accepted_audience not in audiences:
        raise OAuthError('invalid_grant', 'audience is invalid')

    expires = claims.get('exp')
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        raise OAuthError('invalid_grant', 'invalid assertion')
    if expires < org.now():
        raise OAuthError('invalid_grant', 'expired authorization code')

    user = org.find_user(claims.get('sub'))
    if user is None:
        raise OAuthError('invalid_grant', "user hasn't approved this consumer")
    if not user.org_active:
        raise OAuthError('invalid_grant', 'inactive organization')
    if not user.active:
        raise OAuthError('invalid_grant', 'inactive user')
    if app.ip_restricted:
        raise OAuthError('invalid_grant', 'ip restricted')
    if not app.approves(user):
        if app.admin_approved and app.invalid_app_access:
            raise OAuthError('invalid_app_access', 'user is not admin approved to access this app')
        raise OAuthError('invalid_grant', "user hasn't approved this consumer")
    return user, app


def revoke(org, request) -> Response:
    """POST form token=... (GET ?token=... works too): 200 when the session existed, else 400 invalid_token."""
    source = request.form if request.method == 'POST' else request.query
    if org.close_session((source or {}).get('token') or ''):
        return empty_response(200)
    return OAuthError('invalid_token', 'invalid token').response()


def userinfo(org, request) -> Response:
    session = org.session_for(request.bearer_token())
    if session is None:
        return _bad_token()
    return json_response(200, org.identity(session, userinfo_format=True))


def identity(org, request, org_id: str, user_id: str) -> Response:
    session = org.session_for(request.bearer_token())
    if session is None:
        return _bad_token()
    if org_id != org.org_id or user_id != session['user_id']:
        return Response(404, b'Bad_Id', 'text/plain;charset=UTF-8')
    return json_response(200, org.identity(session, userinfo_format=False))


def _bad_token() -> Response:
    # What the identity service answers for a missing, expired or revoked token (observed behaviour).
    return Response(403, b'Bad_OAuth_Token', 'text/plain;charset=UTF-8')
