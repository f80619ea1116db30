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
"""

from __future__ import annotations

import datetime
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .server import FakeOrg

DEFAULT_CONSUMER_KEY = 'SFJWTTESTCONSUMERKEY0001'
DEFAULT_USERNAME = 'integration@example.com'
DEFAULT_PERMISSION_SET = 'SFJWT_Integration'


def generate_key_and_certificate(common_name: str = 'sfjwt-fake-org-test', key_size: int = 2048, days: int = 365) -> tuple:
    """Return (private key PEM, self-signed certificate PEM), as the manual openssl procedure makes them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


@functools.lru_cache(maxsize=None)
def _test_material() -> tuple:
    # One RSA key for the whole session: generating a key per test costs more than the test.
    return generate_key_and_certificate()


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

    def assertion(self, key_pem: bytes | None = None, headers: dict | None = None, **claims) -> str:
        """A signed assertion for this app and user; keyword arguments override claims (None removes one)."""
        payload = {'iss': self.consumer_key, 'sub': self.username, 'aud': self.org.accepted_audience, 'exp': int(time.time()) + 180}
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key_pem or self.private_key_pem, algorithm='RS256', headers=headers)


def write_private_file(path: Path, data: bytes) -> None:
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)


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
    directory = tmp_path / 'fake-org-app'
    directory.mkdir()
    key_path = directory / 'server.key'
    cert_path = directory / 'server.crt'
    write_private_file(key_path, key_pem)
    cert_path.write_bytes(cert_pem)
    fake_org.add_user(DEFAULT_USERNAME, permission_sets=[DEFAULT_PERMISSION_SET])
    fake_org.add_app(DEFAULT_CONSUMER_KEY, cert_pem, admin_approved=True, permission_sets=[DEFAULT_PERMISSION_SET])
    return FakeOrgApp(org=fake_org, key_path=key_path, cert_path=cert_path, consumer_key=DEFAULT_CONSUMER_KEY,
                      username=DEFAULT_USERNAME, private_key_pem=key_pem, certificate_pem=cert_pem)
