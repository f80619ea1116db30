# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pytest fixtures for the fake org.

- fake_org_server (session): one started FakeOrg per test session (per xdist worker).
- fake_org (function): that server reset to its defaults (no users, no apps, no faults, no
  sessions, seeded records, login audience), so tests do not see each other.
- fake_org_app (function): an RSA key and a self-signed certificate written to tmp_path, registered as
  the admin-approved app SFJWTTESTCONSUMERKEY0001 pre-authorizing permission set SFJWT_Integration,
  held by user integration@example.com.
- fake_org_admin (function): an admin user admin@example.com (it may deploy metadata) and the app
  SFJWTFAKEORGADMINAPP0001 with a second RSA key and certificate, written to tmp_path, approving it.
- fake_fleet (function): a started FakeFleet (fleet.py: many orgs, one login host, sandboxes, scratch orgs) in
  tmp_path, stopped after the test; it has no org until the test adds some. fleet_admin_material() gives the admin
  key (a 0600 file) and certificate to register with fleet.add_admin(org, cert_pem) on each org.

generate_key_and_certificate and write_private_file live in identities; they are imported here for the
tests and benchmarks that take them from this module.
"""

from __future__ import annotations

import functools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from .identities import ADMIN_CONSUMER_KEY, generate_key_and_certificate, write_private_file
from .fleet import FakeFleet
from .server import FakeOrg

DEFAULT_CONSUMER_KEY = 'SFJWTTESTCONSUMERKEY0001'
DEFAULT_USERNAME = 'integration@example.com'
DEFAULT_PERMISSION_SET = 'SFJWT_Integration'
ADMIN_USERNAME = 'admin@example.com'

__all__ = ['ADMIN_CONSUMER_KEY', 'ADMIN_USERNAME', 'DEFAULT_CONSUMER_KEY', 'DEFAULT_PERMISSION_SET', 'DEFAULT_USERNAME', 'FakeOrgAdmin',
           'FakeOrgApp', 'fake_fleet', 'fake_org', 'fake_org_admin', 'fake_org_app', 'fake_org_server', 'fleet_admin_material',
           'generate_key_and_certificate', 'write_private_file']


@functools.lru_cache(maxsize=None)
def _test_material() -> tuple:
    # One RSA key for the whole session: generating a key per test costs more than the test.
    return generate_key_and_certificate()


@functools.lru_cache(maxsize=None)
def _admin_material() -> tuple:
    return generate_key_and_certificate('sfjwt-fake-org-admin')


@dataclass
class FakeOrgApp:
    org: FakeOrg
    key_path: Path
    cert_path: Path
    consumer_key: str
    username: str
    private_key_pem: bytes
    certificate_pem: bytes

    @property
    def url(self) -> str:
        return self.org.url

    @property
    def ca_path(self) -> str:
        return self.org.ca_path

    def sfjwt_env(self, **more) -> dict:
        """This app and user as the SFJWT_* environment (an AWX credential's way); more=None drops a variable."""
        env = {'SFJWT_CONSUMER_KEY': self.consumer_key, 'SFJWT_USERNAME': self.username, 'SFJWT_PRIVATE_KEY_PATH': str(self.key_path),
               'SFJWT_LOGIN_URL': self.url, 'SFJWT_CA_PATH': self.ca_path}
        env.update(more)
        return {name: value for name, value in env.items() if value is not None}

    def assertion(self, key_pem: bytes | None = None, headers: dict | None = None, **claims) -> str:
        """A signed assertion for this app and user; keyword arguments override claims (None removes one)."""
        payload = {'iss': self.consumer_key, 'sub': self.username, 'aud': self.org.accepted_audience, 'exp': int(time.time()) + 180}
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key_pem or self.private_key_pem, algorithm='RS256', headers=headers)


@dataclass
class FakeOrgAdmin(FakeOrgApp):
    """The admin identity: username admin@example.com, consumer key SFJWTFAKEORGADMINAPP0001, its key and certificate."""


def _write_material(directory: Path, key_pem: bytes, cert_pem: bytes) -> tuple:
    directory.mkdir()
    key_path = directory / 'server.key'
    cert_path = directory / 'server.crt'
    write_private_file(key_path, key_pem)
    cert_path.write_bytes(cert_pem)
    return key_path, cert_path


@pytest.fixture(scope='session')
def fake_org_server(tmp_path_factory):
    org = FakeOrg(tmp_path_factory.mktemp('fake-org')).start()
    yield org
    org.stop()


@pytest.fixture
def fake_org(fake_org_server) -> FakeOrg:
    fake_org_server.restore_defaults()
    return fake_org_server


@pytest.fixture
def fake_org_app(fake_org, tmp_path) -> FakeOrgApp:
    key_pem, cert_pem = _test_material()
    key_path, cert_path = _write_material(tmp_path / 'fake-org-app', key_pem, cert_pem)
    fake_org.add_user(DEFAULT_USERNAME, permission_sets=[DEFAULT_PERMISSION_SET])
    fake_org.add_app(DEFAULT_CONSUMER_KEY, cert_pem, admin_approved=True, permission_sets=[DEFAULT_PERMISSION_SET])
    return FakeOrgApp(org=fake_org, key_path=key_path, cert_path=cert_path, consumer_key=DEFAULT_CONSUMER_KEY,
                      username=DEFAULT_USERNAME, private_key_pem=key_pem, certificate_pem=cert_pem)


@pytest.fixture
def fake_org_admin(fake_org, tmp_path) -> FakeOrgAdmin:
    key_pem, cert_pem = _admin_material()
    key_path, cert_path = _write_material(tmp_path / 'fake-org-admin', key_pem, cert_pem)
    fake_org.add_user(ADMIN_USERNAME, admin=True)
    fake_org.add_app(ADMIN_CONSUMER_KEY, cert_pem, admin_approved=True, approved_users=[ADMIN_USERNAME])
    return FakeOrgAdmin(org=fake_org, key_path=key_path, cert_path=cert_path, consumer_key=ADMIN_CONSUMER_KEY,
                        username=ADMIN_USERNAME, private_key_pem=key_pem, certificate_pem=cert_pem)


@functools.lru_cache(maxsize=None)
def _fleet_admin_key_path() -> Path:
    key_pem, _cert_pem = _admin_material()
    key_path = Path(tempfile.mkdtemp(prefix='sfjwt-fleet-admin-')) / 'admin.key'
    write_private_file(key_path, key_pem)
    return key_path


def fleet_admin_material() -> tuple:
    """(key path, certificate PEM bytes) of the admin identity for fleets: one key per test process (mode 0600), the same
    as fake_org_admin's; register it on an org with fleet.add_admin(org, cert_pem)."""
    return _fleet_admin_key_path(), _admin_material()[1]


@pytest.fixture
def fake_fleet(tmp_path) -> FakeFleet:
    fleet = FakeFleet(tmp_path / 'fake-fleet').start()
    yield fleet
    fleet.stop()
