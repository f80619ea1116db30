# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""FakeFleet: many fake orgs at once (productions with sandboxes, Dev Hubs with scratch orgs) behind one login host.

    from fake_org.fleet import FakeFleet
    with FakeFleet(tmp_path) as fleet:
        prod = fleet.add_org('acme')                    # its own https://localhost:<port> (prod.url)
        prod.add_user('ci@acme.example.com', admin=True)
        prod.add_app('KEY', certificate_pem, approved_users=['ci@acme.example.com'])
        uat = fleet.add_sandbox(prod, 'uat')            # users copied as ci@acme.example.com.uat, the app too
        hub = fleet.add_org('hub', kind='devhub')
        scratch = fleet.add_scratch_org(hub, 'feature1', signup_username='test-x@example.com')
        ...  # clients: login_url=fleet.login_url (or an org's url), ca_path=fleet.ca_path

Every org shares the fleet's CA (fleet.ca_path). fleet.login_url plays login.salesforce.com and test.salesforce.com:
a token request goes to the org of the assertion's `sub` (usernames are unique over the fleet), which checks it as
its own token endpoint does and answers its own instance_url; any other request goes to the org whose id starts its
bearer token (or its `token` form field, for revoke). A `sub` no org knows: 400 invalid_grant "user hasn't approved
this consumer".

Sandboxes and scratch orgs: see tooling.py for the Tooling API (SandboxInfo, SandboxProcess) and the Dev Hub objects.
A sandbox copy (create or refresh) copies production's users as '<username>.<sandbox name in lower case>' (email
'<email>.invalid'), with the permission sets they hold, and the apps registered with add_app / add_connected_app (their
approved users renamed the same way); External Client Apps and other components deployed through the Metadata API, and
deploy records, are not copied. A refresh keeps the sandbox's URL and org id (deviation: Salesforce gives a refreshed
sandbox a new org id). A deleted sandbox's org stops.

Listening sockets of every org and of the login host are served by one selector thread (SelectorLoop); each
connection still gets a thread of its own while it lasts, so an idle fleet of 200 orgs holds one thread, not 200.

Command line (benchmarks, demos): `PYTHONPATH=tests python -m fake_org.fleet --workdir DIR --orgs N
[--sandboxes-of-first M] [--scratch-orgs K] [--latency S] [--ready-file F]`, see main(); the login host's
GET /_fake/fleet answers the fleet's counters (stats()), POST /_fake/fleet/reset resets them (reset()), POST
/_fake/fleet/latency {"seconds": n} sets the latency (set_latency()).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import selectors
import socket
import ssl
import sys
import threading
import traceback
from pathlib import Path

import trustme

from .faults import TOKEN_PATH
from .identities import ADMIN_CONSUMER_KEY, generate_key_and_certificate, write_private_file
from .ids import ORG_ID_PREFIX, stable_id
from .messages import OAuthError, RestError, json_response, not_found
from .metadata import CONNECTED_APP
from .ready import announce_until_stopped, stop_on_signals
from .server import LOGIN_AUDIENCE, SANDBOX_AUDIENCE, FakeOrg, _TLSServer, _unverified_subject
from .tooling import COMPLETED, ToolingApi, devhub_stores

KINDS = ('production', 'devhub', 'sandbox', 'scratch')
# The login host's admin API, for a fleet in another process (python -m fake_org.fleet): GET answers stats(); POST
# .../reset resets every org's counters, sessions and faults (FakeOrg.reset) and the login host's, then answers stats();
# POST .../latency {"seconds": n} is set_latency(n). Each org keeps its own /_fake/ API (admin.py) on its own URL.
FLEET_ADMIN_PATH = '/_fake/fleet'
FLEET_ACCOUNT_COUNT = 5   # Account records each fleet org seeds: enough to query, cheap for 200 orgs


class SelectorLoop:
    """Serve the listening sockets of many socketservers from one thread; each accepted connection is handled by the
    server's own process_request (a thread per connection for ThreadingHTTPServer)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending = []   # (operation, server, done event), applied by the loop thread
        self._selector = None
        self._wake_reader = self._wake_writer = None
        self._thread = None
        self._stopping = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name='fake-fleet-selector', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the selector; servers still registered are no longer served (not closed)."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake()
        self._thread.join()
        self._thread = None
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()
        self._selector = self._wake_reader = self._wake_writer = None

    def add(self, server) -> None:
        server.socket.setblocking(False)   # a connection gone between select and accept must not block the loop
        self._submit('add', server)

    def remove(self, server) -> None:
        """Stop serving `server`; once this returns, the loop no longer touches its socket."""
        self._submit('remove', server)

    def _submit(self, operation: str, server) -> None:
        if self._thread is None:
            if operation == 'add':
                raise RuntimeError('the selector loop is not running: start it first')
            return   # nothing is served while it is stopped
        done = threading.Event()
        with self._lock:
            self._pending.append((operation, server, done))
        if threading.current_thread() is self._thread:
            self._apply_pending()
        else:
            self._wake()
            done.wait()

    def _wake(self) -> None:
        try:
            self._wake_writer.send(b'x')
        except BlockingIOError:
            pass   # the loop is awake already

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for operation, server, done in pending:
            if operation == 'add':
                self._selector.register(server.socket, selectors.EVENT_READ, server)
            else:
                try:
                    self._selector.unregister(server.socket)
                except (KeyError, ValueError):
                    pass
            done.set()

    def _run(self) -> None:
        while not self._stopping:
            for key, _events in self._selector.select():
                if key.data is None:
                    try:
                        while self._wake_reader.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                try:
                    key.data._handle_request_noblock()   # pylint: disable=protected-access
                except Exception:   # a bug must not stop every org of the fleet
                    traceback.print_exc()
            self._apply_pending()
        self._apply_pending()


class _LoginHost:
    """login.salesforce.com / test.salesforce.com of the fleet: what _TLSServer needs of an org (serve, now, log_line)."""

    def __init__(self, fleet: 'FakeFleet'):
        self.fleet = fleet
        self._lock = threading.Lock()
        self.requests = 0
        self.token_requests = 0            # every token request the login host received
        self.unrouted_token_requests = 0   # those no org answered (unknown sub)
        self._stopping = threading.Event()

    def now(self) -> float:
        return datetime.datetime.now(datetime.timezone.utc).timestamp()

    def log_line(self, message: str) -> None:
        if self.fleet.verbose:
            sys.stderr.write('fake-fleet login host: %s\n' % message)

    def serve(self, request):
        if request.path.rstrip('/') in (FLEET_ADMIN_PATH, FLEET_ADMIN_PATH + '/reset', FLEET_ADMIN_PATH + '/latency'):
            return self._admin(request)
        is_token = request.path == TOKEN_PATH and request.method == 'POST'
        with self._lock:
            self.requests += 1
            self.token_requests += is_token
        if is_token:
            org = self.fleet.org_of_user(_unverified_subject((request.form or {}).get('assertion')))
        else:
            token = request.bearer_token() or (request.form or {}).get('token') or request.query.get('token') or ''
            org = self.fleet.org_by_id(token.split('!')[0])
        if org is not None:
            return org.serve(request)   # the org's own faults, latency, log and counters apply
        if self.fleet.latency and self._stopping.wait(self.fleet.latency):
            return None
        if is_token:
            with self._lock:
                self.unrouted_token_requests += 1
            return OAuthError('invalid_grant', "user hasn't approved this consumer").response()
        return not_found().response()

    def _admin(self, request):
        """The fleet's admin API (not recorded, not counted, no latency): see FLEET_ADMIN_PATH."""
        endpoint = request.path.rstrip('/')
        if endpoint == FLEET_ADMIN_PATH and request.method == 'GET':
            return json_response(200, self.fleet.stats())
        if endpoint == FLEET_ADMIN_PATH + '/reset' and request.method == 'POST':
            self.fleet.reset()
            return json_response(200, self.fleet.stats())
        if endpoint == FLEET_ADMIN_PATH + '/latency' and request.method == 'POST':
            seconds = (request.json or {}).get('seconds') if isinstance(request.json, dict) else None
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                return json_response(400, {'error': 'send {"seconds": a number >= 0}'})
            self.fleet.set_latency(seconds)
            return json_response(200, self.fleet.stats())
        return json_response(405, {'error': 'use GET %s, POST %s/reset or POST %s/latency {"seconds": n}'
                                            % (FLEET_ADMIN_PATH, FLEET_ADMIN_PATH, FLEET_ADMIN_PATH)})

    def reset(self) -> None:
        with self._lock:
            self.requests = self.token_requests = self.unrouted_token_requests = 0


@dataclasses.dataclass
class _Member:
    org: FakeOrg
    kind: str
    source: str | None = None         # the production (sandbox) or Dev Hub (scratch org) it comes from
    sandbox_name: str | None = None


class FakeFleet:
    """Many FakeOrgs sharing one CA, one selector thread and a login host (see the module docstring).

    Settable at any time: sandbox_polls_to_finish (2: reads of a running SandboxProcess until it completes; 0:
    copies complete at once), require_activation_group (False: ActivationUserGroupId is not required).
    """

    def __init__(self, workdir, latency: float = 0.0, *, account_count: int = FLEET_ACCOUNT_COUNT, host: str = '127.0.0.1',
                 verbose: bool = False):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.latency = float(latency)
        self.account_count = account_count
        self.verbose = verbose
        self.sandbox_polls_to_finish = 2
        self.require_activation_group = False
        self._host = host
        self.ca = trustme.CA()
        self.ca_path = str(self.workdir / 'fake-fleet-ca.pem')
        self.ca.cert_pem.write_to_path(self.ca_path)
        self._loop = SelectorLoop()
        self._lock = threading.RLock()
        self._members = {}   # name -> _Member, in creation order
        self._instances = 0
        self._login_host = _LoginHost(self)
        self._login_server = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> 'FakeFleet':
        if self._login_server is not None:
            return self
        self._loop.start()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert('localhost', '127.0.0.1').configure_cert(context)
        self._login_host._stopping.clear()   # pylint: disable=protected-access
        self._login_server = _TLSServer((self._host, 0), context, self._login_host)
        self._loop.add(self._login_server)
        with self._lock:
            members = list(self._members.values())
        for member in members:
            member.org.start()
        return self

    def stop(self) -> None:
        if self._login_server is None:
            return
        with self._lock:
            members = list(self._members.values())
        for member in members:
            member.org.stop()
        self._login_host._stopping.set()   # pylint: disable=protected-access
        self._loop.remove(self._login_server)
        self._login_server.server_close()
        self._login_server = None
        self._loop.stop()

    def __enter__(self) -> 'FakeFleet':
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def login_url(self) -> str:
        if self._login_server is None:
            raise RuntimeError('the fake fleet is not started')
        return 'https://localhost:%d' % self._login_server.server_address[1]

    # -- the orgs -------------------------------------------------------------------------------

    @property
    def orgs(self) -> dict:
        """{name: FakeOrg}: sandboxes as '<production>-<sandbox>', scratch orgs by their name."""
        with self._lock:
            return {name: member.org for name, member in self._members.items()}

    def kind(self, org) -> str:
        """'production', 'devhub', 'sandbox' or 'scratch'."""
        return self._member(org).kind

    def source(self, org) -> str | None:
        """The name of the production a sandbox comes from, or of the Dev Hub of a scratch org; None for others."""
        return self._member(org).source

    def org_of_user(self, username) -> FakeOrg | None:
        if not isinstance(username, str):
            return None
        with self._lock:
            members = list(self._members.values())
        for member in members:
            if member.org.has_user(username):
                return member.org
        return None

    def org_by_id(self, org_id: str) -> FakeOrg | None:
        with self._lock:
            for member in self._members.values():
                if member.org.org_id == org_id:
                    return member.org
        return None

    def add_org(self, name: str, kind: str = 'production', edition: str = 'Enterprise Edition', instance_name: str = 'NA1',
                daily_api_max: int | None = None) -> FakeOrg:
        """A started production org (kind 'devhub': also a Dev Hub, with ScratchOrgInfo / ActiveScratchOrg); both have the
        Tooling API's sandbox objects."""
        if kind not in ('production', 'devhub'):
            raise ValueError("kind must be 'production' or 'devhub' (sandboxes: add_sandbox, scratch orgs: add_scratch_org), got %r" % kind)
        org = self._new_org(name, edition=edition, instance_name=instance_name, daily_api_max=daily_api_max)
        org.tooling = ToolingApi(self, org)
        if kind == 'devhub':
            org.data.add_objects(devhub_stores())
        return self._enlist(name, _Member(org, kind))

    def add_sandbox(self, prod, name: str, license_type: str = 'DEVELOPER', status: str = COMPLETED, description: str | None = None,
                    auto_activate: bool = True) -> FakeOrg | None:
        """Create sandbox `name` of `prod` as a Tooling API POST of SandboxInfo does; status 'Completed' (the default)
        copies it at once and returns its org, 'Pending' / 'Processing' leave it running (reads of its SandboxProcess
        advance it) and return None."""
        prod = self._production(prod)
        if status not in ('Pending', 'Processing', COMPLETED):
            raise ValueError("status must be 'Pending', 'Processing' or 'Completed', got %r" % status)
        try:
            prod.tooling.create({'SandboxName': name, 'LicenseType': license_type, 'AutoActivate': auto_activate,
                                 'Description': description}, status=status)
        except RestError as exc:
            raise ValueError(str(exc)) from None
        return self.orgs.get(sandbox_key(prod, name))

    def refresh_sandbox(self, prod, name: str) -> FakeOrg:
        """Refresh sandbox `name` of `prod` to completion at once (a SandboxProcess row, Completed): see copy_sandbox."""
        prod = self._production(prod)
        try:
            prod.tooling.refresh(name, status=COMPLETED)
        except RestError as exc:
            raise ValueError(str(exc)) from None
        return self.orgs[sandbox_key(prod, name)]

    def delete_sandbox(self, prod, name: str) -> None:
        """What a Tooling API DELETE of its SandboxInfo does."""
        self._production(prod).tooling.delete(name)

    def add_scratch_org(self, hub, name: str, signup_username: str | None = None, status: str = 'Active', expires_in_days: int = 7,
                        edition: str = 'Developer') -> FakeOrg | None:
        """A scratch org of Dev Hub `hub`: ScratchOrgInfo (and, when Active, ActiveScratchOrg) rows in the hub; an Active
        one is a started org whose admin user signup_username (default test-<name>@example.com) the hub's apps
        registered with add_app approve, audience https://test.salesforce.com. Other statuses return None."""
        hub = self._org(hub)
        if self.kind(hub) != 'devhub':
            raise ValueError('%s is not a Dev Hub: add it with add_org(name, kind=\'devhub\')' % hub.name)
        if status not in ('Active', 'Expired', 'Deleted'):
            raise ValueError("status must be 'Active', 'Expired' or 'Deleted', got %r" % status)
        signup_username = signup_username or 'test-%s@example.com' % name.lower()
        expiration = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=expires_in_days)).isoformat()
        apps = [app for app in hub.apps.values() if app.source == 'api']
        org = None
        if status == 'Active':
            org = self._new_org(name, edition='Developer Edition', instance_name=self._next_instance(), is_sandbox=True)
            org.add_user(signup_username, admin=True)
            for app in apps:
                org.register_app(dataclasses.replace(app, approved_users=app.approved_users | {signup_username}))
            self._enlist(name, _Member(org, 'scratch', source=hub.name))
        scratch_id = (org.org_id if org is not None else stable_id(ORG_ID_PREFIX, 'sfjwt.salesforce fake org ' + name))[:15]
        info_id = hub.data.put_record('ScratchOrgInfo', {
            'OrgName': name, 'SignupUsername': signup_username, 'LoginUrl': org.url if org is not None else None, 'ScratchOrg': scratch_id,
            'ExpirationDate': expiration, 'Status': status, 'Edition': edition,
            'ConnectedAppConsumerKey': apps[0].consumer_key if apps else None})
        if org is not None:
            hub.data.put_record('ActiveScratchOrg', {'ScratchOrg': scratch_id, 'ScratchOrgInfoId': info_id, 'SignupUsername': signup_username,
                                                     'Edition': edition, 'ExpirationDate': expiration})
        return org

    def add_admin(self, org, certificate_pem, consumer_key: str = ADMIN_CONSUMER_KEY, username: str | None = None) -> str:
        """An admin user (default admin@<org name>.example.com; it may deploy) and the app `consumer_key` with this
        certificate approving it; the username."""
        org = self._org(org)
        username = username or 'admin@%s.example.com' % org.name
        org.add_user(username, admin=True)
        org.add_app(consumer_key, certificate_pem, admin_approved=True, approved_users=[username])
        return username

    # -- counters and switches --------------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        """Seconds added to every request of every org and of the login host."""
        self.latency = float(seconds)
        for org in self.orgs.values():
            org.set_latency(self.latency)

    def token_requests(self) -> int:
        """Token requests over the fleet: every org's (those routed by the login host included) and the login host's
        that no org answered."""
        return self._login_host.unrouted_token_requests + sum(org.token_requests for org in self.orgs.values())

    def api_usage(self) -> int:
        """REST API calls over the fleet since the orgs' last reset."""
        return sum(org.data.api_usage for org in self.orgs.values())

    def reset(self) -> None:
        """FakeOrg.reset() on every org (counters, request logs, sessions, faults), the latency put back, and the login
        host's counters zeroed; users, apps, sandboxes and scratch orgs stay."""
        for org in self.orgs.values():
            org.reset()
            org.set_latency(self.latency)
        self._login_host.reset()

    def stats(self) -> dict:
        """{"login_url", "token_requests", "api_usage", "login_host_token_requests", "latency", "orgs": {name: {"kind",
        "url", "token_requests", "api_usage", "daily_api_max", "daily_api_remaining"}}}."""
        with self._lock:
            members = dict(self._members)
        orgs = {name: {'kind': member.kind, 'url': member.org.url if member.org.started else None,
                       'token_requests': member.org.token_requests, 'api_usage': member.org.data.api_usage,
                       'daily_api_max': member.org.daily_api_max, 'daily_api_remaining': member.org.daily_api_remaining}
                for name, member in members.items()}
        return {'login_url': self.login_url if self._login_server is not None else None, 'token_requests': self.token_requests(),
                'api_usage': sum(org['api_usage'] for org in orgs.values()), 'login_host_token_requests': self.login_host_token_requests,
                'latency': self.latency, 'orgs': orgs}

    @property
    def login_host_token_requests(self) -> int:
        """Token requests the login host received (routed or not)."""
        return self._login_host.token_requests

    # -- sandbox copies (tooling.ToolingApi calls these) -------------------------------------------

    def copy_sandbox(self, prod: FakeOrg, name: str, license_type: str) -> FakeOrg:
        """Build sandbox `name` of `prod`, or wipe and re-copy it (a refresh): see the module docstring."""
        key = sandbox_key(prod, name)
        with self._lock:
            member = self._members.get(key)
            if member is None:
                sandbox = self._new_org(key, edition=prod.organization_type, instance_name=self._next_instance(), is_sandbox=True)
                self._enlist(key, _Member(sandbox, 'sandbox', source=prod.name, sandbox_name=name))
            else:
                sandbox = member.org
                sandbox.restore_defaults()   # users, apps, deployed components, deploys, sessions, limits: gone
                sandbox.set_latency(self.latency)
        _copy(prod, sandbox, name)
        return sandbox

    def sandbox_deleted(self, prod: FakeOrg, name: str) -> None:
        with self._lock:
            member = self._members.pop(sandbox_key(prod, name), None)
        if member is not None:
            member.org.stop()

    # -- internals ----------------------------------------------------------------------------------

    def _new_org(self, name: str, edition: str, instance_name: str, is_sandbox: bool = False, daily_api_max: int | None = None) -> FakeOrg:
        if not isinstance(name, str) or not name:
            raise ValueError('an org name must be a non-empty string')
        with self._lock:
            if name in self._members:
                raise ValueError('the fleet has an org named %s already' % name)
        options = {} if daily_api_max is None else {'daily_api_max': daily_api_max}
        org = FakeOrg(self.workdir, account_count=self.account_count, ca=self.ca, ca_path=self.ca_path, name=name,
                      instance_name=instance_name, is_sandbox=is_sandbox, organization_type=edition, listener=self._loop,
                      accepted_audience=SANDBOX_AUDIENCE if is_sandbox else LOGIN_AUDIENCE, host=self._host, verbose=self.verbose,
                      **options)
        org.set_latency(self.latency)
        return org

    def _enlist(self, name: str, member: _Member) -> FakeOrg:
        with self._lock:
            if name in self._members:
                raise ValueError('the fleet has an org named %s already' % name)
            self._members[name] = member
        if self._login_server is not None:
            member.org.start()
        return member.org

    def _next_instance(self) -> str:
        with self._lock:
            self._instances += 1
            return 'CS%d' % self._instances

    def _member(self, org) -> _Member:
        name = org.name if isinstance(org, FakeOrg) else org
        with self._lock:
            member = self._members.get(name)
        if member is None or (isinstance(org, FakeOrg) and member.org is not org):
            raise ValueError('no org %s in the fleet; it has: %s' % (name, ', '.join(self._members) or 'none'))
        return member

    def _org(self, org) -> FakeOrg:
        return self._member(org).org

    def _production(self, org) -> FakeOrg:
        member = self._member(org)
        if member.kind not in ('production', 'devhub'):
            raise ValueError('%s is a %s: only a production org (or Dev Hub) has sandboxes' % (member.org.name, member.kind))
        return member.org


def sandbox_key(prod: FakeOrg, name: str) -> str:
    """The fleet's name of a sandbox: '<production>-<sandbox>'."""
    return '%s-%s' % (prod.name, name)


def _copy(prod: FakeOrg, sandbox: FakeOrg, name: str) -> None:
    """Copy users and registered apps from `prod` into `sandbox` (not deployed External Client Apps)."""
    suffix = '.' + name.lower()
    for username in sorted(prod.users):
        user = prod.find_user(username)
        sandbox.add_user(username + suffix, active=user.active, permission_sets=user.permission_sets, org_active=user.org_active,
                         admin=user.admin, name=user.name, email=user.email + '.invalid')
    for app in prod.apps.values():
        renamed = dataclasses.replace(app, approved_users=frozenset(username + suffix for username in app.approved_users))
        if app.source == 'api':
            sandbox.register_app(renamed)
        elif app.source.startswith(CONNECTED_APP + ':'):
            app_name = app.source.split(':', 1)[1]
            for permission_set in sorted(app.permission_sets):
                sandbox.data.save_permission_set(permission_set)
            sandbox.app_registry.save_component(CONNECTED_APP, app_name, prod.deployed_component(CONNECTED_APP, app_name) or {})
            sandbox.app_registry.register(renamed, app.source)


# -- command line ---------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m fake_org.fleet', description='Run a fleet of fake Salesforce orgs on 127.0.0.1.')
    parser.add_argument('--workdir', required=True, type=Path, help='directory for the CA (ca_path) and the admin key')
    parser.add_argument('--orgs', type=int, default=1, help='production orgs org001, org002, ... (default: 1)')
    parser.add_argument('--sandboxes-of-first', type=int, default=0, metavar='M', help='sandboxes sb1..sbM of org001 (default: 0)')
    parser.add_argument('--scratch-orgs', type=int, default=0, metavar='K',
                        help='scratch orgs scratch1..scratchK of org001, then a Dev Hub (default: 0)')
    parser.add_argument('--latency', type=float, default=0.0, help='seconds added to every request (default: 0)')
    parser.add_argument('--ready-file', type=Path, help='write the ready JSON line here too (atomically)')
    parser.add_argument('--verbose', action='store_true', help='log every request to stderr')
    args = parser.parse_args(argv)
    if args.orgs < 1 or args.sandboxes_of_first < 0 or args.scratch_orgs < 0 or args.latency < 0:
        parser.error('--orgs must be at least 1; --sandboxes-of-first, --scratch-orgs and --latency at least 0')
    return args


def build(fleet: FakeFleet, orgs: int, sandboxes: int = 0, scratch_orgs: int = 0) -> dict:
    """Populate a started fleet as the command line does; the ready JSON without pid."""
    key_pem, cert_pem = generate_key_and_certificate('sfjwt-fake-fleet-admin')
    key_path = fleet.workdir / 'admin.key'
    write_private_file(key_path, key_pem)
    (fleet.workdir / 'admin.crt').write_bytes(cert_pem)
    key_path = str(key_path.resolve())
    listed = []

    def entry(org, username):
        kind = {'devhub': 'production'}.get(fleet.kind(org), fleet.kind(org))
        listed.append({'name': org.name, 'kind': kind, 'url': org.url, 'username': username, 'consumer_key': ADMIN_CONSUMER_KEY,
                       'private_key_path': key_path, 'audience': org.accepted_audience})

    first = None
    for number in range(1, orgs + 1):
        org = fleet.add_org('org%03d' % number, kind='devhub' if number == 1 and scratch_orgs else 'production')
        entry(org, fleet.add_admin(org, cert_pem))
        first = first or org
    for number in range(1, sandboxes + 1):
        sandbox = fleet.add_sandbox(first, 'sb%d' % number)
        entry(sandbox, 'admin@%s.example.com.sb%d' % (first.name, number))
    for number in range(1, scratch_orgs + 1):
        name = 'scratch%d' % number
        scratch = fleet.add_scratch_org(first, name, signup_username='admin@%s.example.com' % name)
        entry(scratch, 'admin@%s.example.com' % name)
    return {'login_url': fleet.login_url, 'ca_path': str(Path(fleet.ca_path).resolve()),
            'admin': {'username': 'admin@%s.example.com' % first.name, 'consumer_key': ADMIN_CONSUMER_KEY, 'private_key_path': key_path},
            'orgs': listed}


def main(argv=None) -> int:
    args = parse_args(argv)
    stop = stop_on_signals()
    fleet = FakeFleet(args.workdir, verbose=args.verbose).start()
    try:
        ready = build(fleet, args.orgs, args.sandboxes_of_first, args.scratch_orgs)
        fleet.set_latency(args.latency)
        announce_until_stopped(ready, args.ready_file, stop)
    finally:
        fleet.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
