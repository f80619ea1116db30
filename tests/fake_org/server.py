# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""FakeOrg: the org's state and public API, and the HTTPS server that exposes it.

A request goes: _Handler (HTTP parsing) -> FakeOrg.serve (log, counters, faults) -> the endpoint
modules (oauth, rest -> deploy, admin) -> back to _Handler, which writes the answer.
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import hashlib
import hmac
import json
import re
import secrets
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jwt
import trustme

from . import admin, oauth, rest, soap
from .apps import OrgApps, owner_of
from .data import OrgData, api_call_list
from .deploy import Deployments, change_component
from .faults import TOKEN_PATH, Faults
from .identities import App, User
from .ids import ORG_ID_PREFIX, stable_id
from .messages import Request, Response, RestError, json_response, not_found
from .metadata import CONNECTED_APP, ECA, ECA_GLOBAL_OAUTH

LOGIN_AUDIENCE = 'https://login.salesforce.com'
SANDBOX_AUDIENCE = 'https://test.salesforce.com'

MAX_BODY_BYTES = 32 * 1024 * 1024
# Salesforce's front end refuses a longer request URI (path and query string as sent) with HTTP 414.
MAX_URI_BYTES = 16384
URI_TOO_LONG_PAGE = b'<h1>Bad Message 414</h1><pre>reason: URI Too Long</pre>'
# A deploy carries a zip of up to 39 MB (deploy.MAX_ZIP_BYTES decides); the request may be a little larger.
MAX_DEPLOY_BODY_BYTES = 64 * 1024 * 1024
DEPLOY_PATH_MARK = '/metadata/deployRequest'
DEVELOPER_EDITION = 'Developer Edition'
_HANDSHAKE_TIMEOUT = 10
_IDENTITY_PATH = re.compile(r'^/id/(?P<org_id>00D[0-9A-Za-z]{15})/(?P<user_id>005[0-9A-Za-z]{15})$')

MAINTENANCE_PAGE = b"""<!DOCTYPE html>
<html><head><title>Salesforce - Maintenance</title></head>
<body><h1>Down for maintenance</h1>
<p>Salesforce is temporarily unavailable due to scheduled maintenance. Please try again later.</p></body></html>
"""


class FakeOrg:
    """A Salesforce org on https://localhost:<port>, for the tests, the demo and the benchmarks.

    Users and apps are registered with add_user / add_app / add_connected_app, or deployed through the REST
    Metadata API (deploy.py) by an admin user; the fault switches (fail_next, slow_next, reset_next, non_json_next,
    expire_session_next, set_latency, rate_limit_logins, clock_offset) make it misbehave on purpose.

    Settable at any time (restore_defaults() puts back the constructor's values):
      propagation_delay                 seconds before a deployed OAuth change reaches the token endpoint (0.0)
      hold_deploys                      new deploys stay InProgress until canceled (False)
      deploy_polls_to_finish            the GET of a deploy that answers its final state (2: Pending, InProgress, final)
      allow_oauth_secrets_via_metadata  the org setting deploying ExtlClntAppGlobalOauthSettings needs (True)
      is_sandbox, organization_type     the Organization row; a deploy is "in production" unless the org is a sandbox
                                        or a Developer Edition (organization_type defaults to Enterprise Edition)
    """

    def __init__(self, workdir, batch_size: int = 2000, account_count: int = 2500, *, accepted_audience: str = LOGIN_AUDIENCE,
                 host: str = '127.0.0.1', port: int = 0, verbose: bool = False, propagation_delay: float = 0.0,
                 is_sandbox: bool = False, organization_type: str = 'Enterprise Edition',
                 allow_oauth_secrets_via_metadata: bool = True, hold_deploys: bool = False, deploy_polls_to_finish: int = 2,
                 ca: trustme.CA | None = None, ca_path: str | None = None, name: str | None = None, instance_name: str | None = None,
                 listener=None, daily_api_max: int = rest.DAILY_API_MAX):
        """ca / ca_path: a CA shared with other orgs (a fleet) and the file that already holds its PEM; name: the
        Organization's Name, also the seed of its id (orgs of a fleet need distinct ids); instance_name: the
        Organization's InstanceName (default NA1, CS1 for a sandbox); listener: an object with add(server) /
        remove(server) that serves the listening socket (fleet.SelectorLoop) instead of a thread of the org's own."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.accepted_audience = accepted_audience
        self._default_audience = accepted_audience
        self.clock_offset = 0.0
        self.verbose = verbose
        self.name = name
        self.instance_name = instance_name
        self.org_id = stable_id(ORG_ID_PREFIX, 'sfjwt.salesforce fake org' if name is None else 'sfjwt.salesforce fake org ' + name)
        self._default_daily_api_max = int(daily_api_max)
        self.daily_api_max = int(daily_api_max)
        self._api_spent = 0   # calls counted before the last set of daily_api_remaining
        self.tooling = None   # a fleet's tooling.ToolingApi on a production org: the /tooling/ resources
        self.faults = Faults()
        self.data = OrgData(self.now, account_count=account_count, batch_size=batch_size)
        self.app_registry = OrgApps()
        self.deploys = Deployments()
        self._default_settings = {'propagation_delay': float(propagation_delay), 'hold_deploys': bool(hold_deploys),
                                  'deploy_polls_to_finish': int(deploy_polls_to_finish),
                                  'allow_oauth_secrets_via_metadata': bool(allow_oauth_secrets_via_metadata)}
        self.propagation_delay = float(propagation_delay)
        self.hold_deploys = bool(hold_deploys)
        self.deploy_polls_to_finish = int(deploy_polls_to_finish)
        self.allow_oauth_secrets_via_metadata = bool(allow_oauth_secrets_via_metadata)
        self._is_sandbox = bool(is_sandbox)
        self._organization_type = organization_type
        self._default_organization = (self._is_sandbox, organization_type)
        self._put_organization()

        self._lock = threading.RLock()
        self._users = {}
        self._granted = {}   # username -> {permission set name: assignment id} created by add_user
        self.sessions = {}
        self.received = []
        self._token_requests = Counter()
        self._issued_tokens = []
        self._signing_secret = secrets.token_bytes(32)

        self._host = host
        self._port = port
        self._ca = ca or trustme.CA()
        self._server_cert = self._ca.issue_cert('localhost', '127.0.0.1')
        if ca is not None and ca_path is not None:
            self.ca_path = str(ca_path)
        else:
            self.ca_path = str(self.workdir / 'fake-org-ca.pem')
            self._ca.cert_pem.write_to_path(self.ca_path)
        self._listener = listener
        self._server = None
        self._thread = None
        self._stopping = threading.Event()
        # Requests sleeping on latency / slow_next wait on this; reset() and stop() set it, so a request
        # abandoned by its client (timed out) cannot wake up later and consume the next test's faults.
        self._wakeup = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> 'FakeOrg':
        if self._server is not None:
            return self
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_cert.configure_cert(context)
        self._stopping.clear()
        self._wakeup = threading.Event()
        self._server = _TLSServer((self._host, self._port), context, self)
        if self._listener is not None:
            self._listener.add(self._server)
            return self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={'poll_interval': 0.1},
                                        name='fake-org-%d' % self.port, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._wakeup.set()
        if self._thread is None:
            self._listener.remove(self._server)
        else:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        self._server = None
        self._thread = None

    def __enter__(self) -> 'FakeOrg':
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError('the fake org is not started')
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return 'https://localhost:%d' % self.port

    @property
    def batch_size(self) -> int:
        return self.data.batch_size

    def now(self) -> float:
        """The server's clock: the Date header, exp checks and deploy times use it; clock_offset emulates skew."""
        return time.time() + self.clock_offset

    # -- the organization -----------------------------------------------------------------------

    @property
    def is_sandbox(self) -> bool:
        return self._is_sandbox

    @is_sandbox.setter
    def is_sandbox(self, value: bool) -> None:
        self._is_sandbox = bool(value)
        self._put_organization()

    @property
    def organization_type(self) -> str:
        return self._organization_type

    @organization_type.setter
    def organization_type(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError('organization_type must be a non-empty string, e.g. Enterprise Edition')
        self._organization_type = value
        self._put_organization()

    @property
    def is_production(self) -> bool:
        """Deploy rules of production orgs apply (tests, rollbackOnError): not a sandbox, not a Developer Edition."""
        return not self._is_sandbox and self._organization_type != DEVELOPER_EDITION

    def settings(self) -> dict:
        return {'propagation_delay': self.propagation_delay, 'hold_deploys': self.hold_deploys,
                'deploy_polls_to_finish': self.deploy_polls_to_finish,
                'allow_oauth_secrets_via_metadata': self.allow_oauth_secrets_via_metadata, 'is_sandbox': self.is_sandbox,
                'organization_type': self.organization_type, 'accepted_audience': self.accepted_audience,
                'clock_offset': self.clock_offset}

    def _put_organization(self) -> None:
        instance_name = self.instance_name or ('CS1' if self._is_sandbox else 'NA1')
        self.data.put_organization({'Name': self.name or 'sfjwt fake org', 'IsSandbox': self._is_sandbox,
                                    'OrganizationType': self._organization_type, 'InstanceName': instance_name,
                                    'NamespacePrefix': None}, self.org_id)

    # -- daily API limits ------------------------------------------------------------------------

    @property
    def daily_api_remaining(self) -> int:
        """What GET limits answers as DailyApiRequests.Remaining: every REST API call since the last reset takes one."""
        return max(self.daily_api_max - self._api_spent - self.data.api_usage, 0)

    @daily_api_remaining.setter
    def daily_api_remaining(self, value: int) -> None:
        self._api_spent = self.daily_api_max - int(value) - self.data.api_usage

    # -- users and apps -----------------------------------------------------------------------

    def add_user(self, username: str, active: bool = True, permission_sets=(), org_active: bool = True, admin: bool = False,
                 name: str | None = None, email: str | None = None) -> User:
        """Register (or replace) a user; its permission sets become PermissionSet records and assignments."""
        return self.register_user(User.create(username, active=active, permission_sets=permission_sets, org_active=org_active,
                                              admin=admin, name=name, email=email))

    def add_app(self, consumer_key: str, certificate_pem, admin_approved: bool = True, permission_sets=(), approved_users=(),
                ip_restricted: bool = False, invalid_app_access: bool = False) -> App:
        """Register (or replace) an app, in effect at once; certificate_pem is PEM text or bytes, or the bare base64 body."""
        return self.register_app(App.create(consumer_key, certificate_pem, admin_approved=admin_approved,
                                            permission_sets=permission_sets, approved_users=approved_users,
                                            ip_restricted=ip_restricted, invalid_app_access=invalid_app_access))

    def add_connected_app(self, name: str, consumer_key: str, certificate_pem, permission_sets=(), admin_approved: bool = True,
                          label: str | None = None, contact_email: str = 'admin@example.com') -> App:
        """An existing Connected App `name` (made before Spring '26), in effect at once; deploys can update it.

        Its permission sets get PermissionSet records, as the app's policy can only name existing ones.
        """
        if not isinstance(name, str) or not name:
            raise ValueError('name must be a non-empty string')
        app = App.create(consumer_key, certificate_pem, admin_approved=admin_approved, permission_sets=permission_sets)
        owner = owner_of(CONNECTED_APP, name)
        holder = self.app_registry.owner(consumer_key)
        if holder not in (None, owner, 'api'):
            raise ValueError('consumer key %s is already used by %s' % (consumer_key, holder))
        for permission_set in sorted(app.permission_sets):
            self.data.save_permission_set(permission_set)
        self.app_registry.save_component(CONNECTED_APP, name, {
            'contactEmail': contact_email, 'label': label or name, 'permissionSetName': sorted(app.permission_sets),
            'oauthConfig': {'callbackUrl': 'https://login.salesforce.com/services/oauth2/success', 'certificate': app.certificate_pem,
                            'consumerKey': consumer_key, 'isAdminApproved': 'true' if admin_approved else 'false', 'scopes': ['Api']},
        })
        return self.app_registry.register(dataclasses.replace(app, source=owner), owner)

    def register_user(self, user: User) -> User:
        with self._lock:
            self._users[user.username] = user
            self.data.put_user(user)
            granted = self._granted.setdefault(user.username, {})
            for permission_set in sorted(user.permission_sets):
                permission_set_id, _created = self.data.save_permission_set(permission_set)
                assignment_id, created = self.data.assign(user.user_id, permission_set_id)
                if created:
                    granted[permission_set] = assignment_id
            for permission_set in sorted(set(granted) - user.permission_sets):
                self.data.unassign(granted.pop(permission_set))
        return user

    def register_app(self, app: App) -> App:
        return self.app_registry.register(app)

    def assign_permission_set(self, username: str, permission_set: str) -> str:
        """Give a registered user a permission set (its record is created when missing), as an admin in Setup would."""
        user = self.find_user(username)
        if user is None:
            raise ValueError('no user %s' % username)
        permission_set_id, _created = self.data.save_permission_set(permission_set)
        return self.data.assign(user.user_id, permission_set_id)[0]

    @property
    def users(self) -> dict:
        with self._lock:
            return dict(self._users)

    @property
    def apps(self) -> dict:
        """{consumer key: App} of every app the token endpoint knows now (deployed changes count once in effect)."""
        return self.app_registry.effective(self.now())

    def has_user(self, username) -> bool:
        with self._lock:
            return isinstance(username, str) and username in self._users

    def find_user(self, username) -> User | None:
        """The user, with the permission sets of all its assignments (add_user's and those made over REST)."""
        with self._lock:
            user = self._users.get(username) if isinstance(username, str) else None
            if user is None:
                return None
            return dataclasses.replace(user, permission_sets=frozenset(self.data.permission_sets_of(user.user_id)))

    def find_app(self, consumer_key) -> App | None:
        """The app's version in effect now: the newest whose effective_at <= now (see apps.py)."""
        if not isinstance(consumer_key, str):
            return None
        return self.app_registry.find(consumer_key, self.now())

    def deployed_component(self, metadata_type: str, name: str) -> dict | None:
        """The fields of a component deploys saved (ExternalClientApplication, ExtlClntAppGlobalOauthSettings, ...)."""
        return self.app_registry.component(metadata_type, name)

    def change_component(self, metadata_type: str, name: str, changed_by: str | None = None, **changes) -> dict:
        """Change a deployed component as someone would in Setup (a drift): see deploy.change_component.

        e.g. org.change_component('ExtlClntAppOauthConfigurablePolicies', 'Acme_oauthPlcy', permittedUsersPolicyType='AllSelfAuthorized')
        """
        return change_component(self, metadata_type, name, changes, changed_by)

    def eca_consumer_key(self, eca_name: str) -> str | None:
        """The consumer key of a deployed External Client App (generated when its deploy left it out)."""
        if self.app_registry.component(ECA, eca_name) is None:
            return None
        return (self.app_registry.linked(ECA_GLOBAL_OAUTH, eca_name)[1] or {}).get('consumerKey')

    # -- deploys ------------------------------------------------------------------------------

    @property
    def deployments(self) -> list:
        """The deploy log: see deploy_log()."""
        return self.deploy_log()

    def deploy_log(self) -> list:
        """Every deploy, oldest first: {"id", "status", "done", "deployOptions" (as received), "options" (with defaults),
        "members" (the zip's entries), "files" (the same without directory entries), "package_xml" (text or None),
        "username", "user_id", "polls", "deployResult" (with details)}."""
        return self.deploys.log()

    # -- sessions -----------------------------------------------------------------------------

    def open_session(self, user: User, app: App) -> dict:
        """Start a session and return the token endpoint's success body."""
        issued_at = str(int(self.now() * 1000))
        access_token = '%s!AQ%s' % (self.org_id, secrets.token_urlsafe(72))
        identity_url = '%s/id/%s/%s' % (self.url, self.org_id, user.user_id)
        digest = hmac.new(self._signing_secret, (identity_url + issued_at).encode('utf-8'), hashlib.sha256).digest()
        with self._lock:
            self.sessions[access_token] = {'username': user.username, 'consumer_key': app.consumer_key,
                                           'issued_at': issued_at, 'user_id': user.user_id}
            self._issued_tokens.append(access_token)
        return {'access_token': access_token, 'signature': base64.b64encode(digest).decode('ascii'), 'scope': 'api',
                'instance_url': self.url, 'id': identity_url, 'token_type': 'Bearer', 'issued_at': issued_at}

    def issued_access_tokens(self) -> list:
        """Every access token handed out since the last reset, closed sessions' too: what a test searches for leaks."""
        with self._lock:
            return list(self._issued_tokens)

    def session_for(self, access_token) -> dict | None:
        with self._lock:
            session = self.sessions.get(access_token) if access_token else None
            return dict(session) if session else None

    def close_session(self, access_token: str) -> bool:
        with self._lock:
            return self.sessions.pop(access_token, None) is not None

    def revoke_all_sessions(self) -> int:
        with self._lock:
            count = len(self.sessions)
            self.sessions.clear()
        return count

    def identity(self, session: dict, userinfo_format: bool) -> dict:
        identity_url = '%s/id/%s/%s' % (self.url, self.org_id, session['user_id'])
        urls = {name: '%s/services/data/v{version}/%s' % (self.url, name) for name in ('query', 'sobjects', 'limits')}
        urls['rest'] = '%s/services/data/v{version}/' % self.url
        common = {'user_id': session['user_id'], 'organization_id': self.org_id, 'active': True, 'user_type': 'STANDARD',
                  'email': session['username'], 'urls': urls}
        if userinfo_format:
            return {'sub': identity_url, 'preferred_username': session['username'], 'nickname': session['username'].split('@')[0],
                    'name': session['username'], 'email_verified': True, **common}
        return {'id': identity_url, 'asserted_user': True, 'username': session['username'],
                'display_name': session['username'], **common}

    # -- counters and the request log ---------------------------------------------------------

    @property
    def token_requests(self) -> int:
        """POSTs to the token endpoint, whatever their outcome (faults included)."""
        with self._lock:
            return sum(self._token_requests.values())

    def token_requests_by(self, username: str) -> int:
        with self._lock:
            return self._token_requests.get(username, 0)

    def received_log(self) -> list:
        """Every request but /_fake/ ones, oldest first: {"method", "path", "query", "headers" (bearer tokens redacted),
        "form", "json" (the parsed body, e.g. the records an sObject Collections call sent), "status"}."""
        with self._lock:
            return [dict(entry) for entry in self.received]

    def api_calls(self) -> Counter:
        """REST API calls per endpoint since the last reset: Counter {(method, normalized path): count}.

        Every authenticated request under /services/data/vXX.X is one call (whatever its status; a 401 for a missing
        or dead session is none, nor is a 414). The path drops /services/data/vXX.X, the query string and every segment
        that is a record id or query locator (rest.normalized_path): ('GET', '/query') counts first and next pages,
        ('PATCH', '/composite/sobjects/Integration_Setting__c/Key__c') upserts, ('POST', '/composite/sobjects') creates,
        ('PATCH', '/composite/sobjects') updates, ('DELETE', '/composite/sobjects') deletes,
        ('GET', '/sobjects/Account/describe') a describe, ('PATCH', '/sobjects/Account') a single-record update.
        """
        return self.data.api_calls()

    def records(self, sobject: str, include_deleted: bool = False) -> list:
        """Copies of the records of an object (e.g. Integration_Setting__c), in insertion order; deleted ones too on request."""
        return self.data.records_of(sobject, include_deleted)

    def add_records(self, sobject: str, records: list) -> list:
        """Insert records (field dictionaries) as the REST API would validate them, all or none, without counting an
        API call and without the 200-record limit; return their ids. reset() removes them again."""
        return self.data.add_records(sobject, records)

    def stats(self) -> dict:
        apps = sorted(self.apps)
        with self._lock:
            by_user = {user: count for user, count in self._token_requests.items() if user is not None}
            return {'token_requests': sum(self._token_requests.values()), 'token_requests_by_user': by_user,
                    'sessions': len(self.sessions), 'requests': len(self.received), 'api_usage': self.data.api_usage,
                    'api_calls': api_call_list(self.data.api_calls()),
                    'users': sorted(self._users), 'admins': sorted(name for name, user in self._users.items() if user.admin),
                    'apps': apps, 'pending_apps': [key for key, _seconds in self.app_registry.pending(self.now())],
                    'external_client_apps': sorted(self.app_registry.names(ECA)),
                    'connected_apps': sorted(self.app_registry.names(CONNECTED_APP)),
                    'permission_sets': sorted(self.data.permission_set_names()), 'deployments': len(self.deploys),
                    'accepted_audience': self.accepted_audience, 'clock_offset': self.clock_offset, 'settings': self.settings(),
                    'faults': self.faults.snapshot()}

    def reset(self) -> None:
        """Forget counters, the request log, faults, clock offset, sessions and record changes; keep users and apps.

        Requests still sleeping on a fault are dropped without an answer.
        """
        wakeup, self._wakeup = self._wakeup, threading.Event()
        wakeup.set()
        self.faults.clear()
        self.data.reset()
        with self._lock:
            self._api_spent = 0
            self.clock_offset = 0.0
            self.sessions.clear()
            self._issued_tokens.clear()
            self.received.clear()
            self._token_requests.clear()

    def restore_defaults(self) -> None:
        """reset(), and also remove every user, app, deployed component, permission set, assignment and deploy, and
        put back the accepted audience and the constructor's settings (propagation_delay, hold_deploys, ...)."""
        self.reset()
        self.deploys.clear()
        self.app_registry.clear()
        with self._lock:
            self._users.clear()
            self._granted.clear()
            self.data.clear_setup()
            self.accepted_audience = self._default_audience
            self.daily_api_max = self._default_daily_api_max
            for name, value in self._default_settings.items():
                setattr(self, name, value)
            self._is_sandbox, self._organization_type = self._default_organization
            self._put_organization()

    # -- fault switches (see faults.Faults) ---------------------------------------------------

    def fail_next(self, count: int, status: int = 500, html: bool = False, path_prefix: str = TOKEN_PATH) -> None:
        self.faults.fail_next(count, status=status, html=html, path_prefix=path_prefix)

    def slow_next(self, count: int, seconds: float, path_prefix: str = TOKEN_PATH) -> None:
        self.faults.slow_next(count, seconds, path_prefix=path_prefix)

    def reset_next(self, count: int, path_prefix: str = TOKEN_PATH) -> None:
        self.faults.reset_next(count, path_prefix=path_prefix)

    def non_json_next(self, count: int, path_prefix: str = TOKEN_PATH) -> None:
        self.faults.non_json_next(count, path_prefix=path_prefix)

    def set_latency(self, seconds: float) -> None:
        self.faults.set_latency(seconds)

    def rate_limit_logins(self, enabled: bool = True, status: int = 400) -> None:
        self.faults.rate_limit_logins(enabled, status=status)

    def expire_session_next(self, count: int = 1, path_prefix: str = '/services/data') -> None:
        """The next `count` matching requests first end the caller's session: they get 401 INVALID_SESSION_ID."""
        self.faults.expire_session_next(count, path_prefix=path_prefix)

    # -- request pipeline ---------------------------------------------------------------------

    def serve(self, request: Request) -> Response | None:
        """Answer one request; None means: drop the connection without an answer."""
        if request.path.startswith(admin.PREFIX):
            return admin.handle(self, request)
        entry = self._record(request)
        if len(request.target) > MAX_URI_BYTES:   # the front end refuses it: no fault, no API call, no endpoint
            with self._lock:
                entry['status'] = 414
            return Response(414, URI_TOO_LONG_PAGE, 'text/html;charset=iso-8859-1')
        response = self._faulty_response(request)
        if response is None and not self._stopping.is_set():
            response = self._route(request)
        if response is _DROP:
            response = None
        with self._lock:
            entry['status'] = response.status if response is not None else None
        return response

    def _record(self, request: Request) -> dict:
        headers = {name: ('Bearer <redacted>' if name.lower() == 'authorization' else value) for name, value in request.headers.items()}
        form, query = request.form, dict(request.query)
        if request.path == '/services/oauth2/revoke':   # the token to revoke is a live access token
            form = dict(form, token='<redacted>') if form and 'token' in form else form
            query = dict(query, token='<redacted>') if 'token' in query else query
        entry = {'method': request.method, 'path': request.path, 'query': query, 'headers': headers,
                 'form': dict(form) if form is not None else None, 'json': request.json, 'status': None}
        username = None
        if request.path == TOKEN_PATH and request.method == 'POST':
            username = _unverified_subject((request.form or {}).get('assertion'))
        with self._lock:
            self.received.append(entry)
            if request.path == TOKEN_PATH and request.method == 'POST':
                self._token_requests[username] += 1
        return entry

    def _faulty_response(self, request: Request):
        """Apply the fault switches; return a Response to send instead of the real one, _DROP, or None."""
        path = request.path
        wakeup = self._wakeup
        latency = self.faults.latency
        if latency and wakeup.wait(latency):
            return _DROP
        slow = self.faults.take('slow', path)
        if slow is not None and wakeup.wait(slow['seconds']):
            return _DROP
        if self.faults.take('reset', path) is not None:
            return _DROP
        if self.faults.take('expire_session', path) is not None:
            self.close_session(request.bearer_token() or (soap.session_id(request) if path.startswith(soap.PREFIX) else None) or '')
        fail = self.faults.take('fail', path)
        if fail is not None:
            return _error_page(path, fail['status'], fail['html'])
        if self.faults.take('non_json', path) is not None:
            return Response(200, b'<<fake org: this body is deliberately not JSON>>\n', 'text/plain;charset=UTF-8')
        return None

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == TOKEN_PATH:
            return oauth.token(self, request)
        if path == '/services/oauth2/revoke':
            return oauth.revoke(self, request)
        if path == '/services/oauth2/userinfo':
            return oauth.userinfo(self, request)
        match = _IDENTITY_PATH.match(path)
        if match:
            return oauth.identity(self, request, match.group('org_id'), match.group('user_id'))
        if path == rest.API_PREFIX or path.startswith(rest.API_PREFIX + '/'):
            return rest.handle(self, request)
        if path.startswith(soap.PREFIX):
            return soap.handle(self, request)
        return not_found().response()

    def log_line(self, message: str) -> None:
        if self.verbose:
            sys.stderr.write('fake-org: %s\n' % message)


_DROP = Response(0)   # sentinel: close the connection without answering


def _error_page(path: str, status: int, html: bool) -> Response:
    if html:
        return Response(status, MAINTENANCE_PAGE, 'text/html;charset=UTF-8')
    if path.startswith('/services/oauth2/'):
        return json_response(status, {'error': 'unknown_error', 'error_description': 'retry your request'})
    code = 'SERVER_UNAVAILABLE' if status == 503 else 'UNKNOWN_EXCEPTION'
    return RestError(status, code, 'An unexpected error occurred (fake org fault, HTTP %d). Please retry.' % status).response()


def _unverified_subject(assertion) -> str | None:
    try:
        subject = jwt.decode(assertion or '', options={'verify_signature': False}).get('sub')
    except jwt.PyJWTError:
        return None
    return subject if isinstance(subject, str) else None


class _TLSServer(ThreadingHTTPServer):
    """One thread per connection; the TLS handshake runs in that thread, never in the accept loop."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, ssl_context: ssl.SSLContext, org: FakeOrg):
        self.ssl_context = ssl_context
        self.org = org
        super().__init__(address, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); loopback needs none.
        socketserver.TCPServer.server_bind(self)
        self.server_name = 'localhost'
        self.server_port = self.server_address[1]

    def finish_request(self, request, client_address):
        try:
            request.settimeout(_HANDSHAKE_TIMEOUT)
            # Headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK add 40 ms a request.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return   # e.g. a client that does not trust our CA: its handshake fails, as it should
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            try:
                connection.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return   # clients that time out or go away are part of the tests
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'FakeSalesforce'
    timeout = 30   # idle keep-alive connections end after this

    def answer(self):
        org = self.server.org
        try:
            request = self._read_request()
            if request is None:
                return
            response = org.serve(request)
            if response is None:
                self._drop_connection()
                return
            self._send(response)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True
        except Exception:   # a bug in the fake org: answer 500 like Salesforce would, and show the traceback
            traceback.print_exc()
            self.close_connection = True
            self._send(RestError(500, 'UNKNOWN_EXCEPTION', 'fake org internal error, see its stderr').response())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = answer

    def _read_request(self) -> Request | None:
        body = self._read_body()
        if body is None:
            return None
        url = urlsplit(self.path)
        content_type = (self.headers.get('Content-Type') or '').split(';')[0].strip().lower()
        request = Request(method=self.command, path=url.path, query=dict(parse_qsl(url.query, keep_blank_values=True)),
                          headers=dict(self.headers.items()), body=body, target=self.path)
        if content_type == 'application/x-www-form-urlencoded':
            request.form = dict(parse_qsl(body.decode('utf-8', errors='replace'), keep_blank_values=True))
        elif body and (content_type in ('', 'application/json') or content_type.endswith('+json')):
            try:
                request.json = json.loads(body.decode('utf-8'))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                request.json_error = 'The request body is not valid JSON: %s' % exc
        return request

    def _read_body(self) -> bytes | None:
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            self._refuse(400, 'Content-Length is not a number')
            return None
        limit = self._body_limit()
        if length > limit:
            self._refuse(413, 'the request body is larger than %d bytes' % limit)
            return None
        return self.rfile.read(length) if length > 0 else b''

    def _body_limit(self) -> int:
        return MAX_DEPLOY_BODY_BYTES if DEPLOY_PATH_MARK in self.path.split('?')[0] else MAX_BODY_BYTES

    def _read_chunked(self) -> bytes | None:
        chunks = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk_size = int(line.split(b';')[0].strip() or b'0', 16)
            except ValueError:
                self._refuse(400, 'malformed chunked body')
                return None
            if chunk_size == 0:
                while self.rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                    pass   # trailers
                return b''.join(chunks)
            size += chunk_size
            if size > self._body_limit():
                self._refuse(413, 'the request body is larger than %d bytes' % self._body_limit())
                return None
            chunks.append(self.rfile.read(chunk_size))
            self.rfile.readline(1024)

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        code = 'REQUEST_ENTITY_TOO_LARGE' if status == 413 else 'BAD_REQUEST'
        self._send(RestError(status, code, message).response())

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header('Content-Type', response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header('Content-Length', str(len(response.body)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD' and response.body:
            self.wfile.write(response.body)

    def _drop_connection(self) -> None:
        # SO_LINGER 0 + close without a TLS close_notify: the client sees a TCP reset mid-request.
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        self.connection.close()

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.server.org.now() if timestamp is None else timestamp, usegmt=True)

    def log_message(self, format, *args):
        self.server.org.log_line('%s %s' % (self.address_string(), format % args))
