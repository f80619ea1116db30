# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Users and OAuth apps (Connected Apps / External Client Apps) of the fake org, and the RSA keys and certificates
the tests, the demo and the admin identity use."""

from __future__ import annotations

import base64
import binascii
import datetime
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .ids import USER_ID_PREFIX, stable_id

# The app of the admin identity (python -m fake_org --admin, the fake_org_admin fixture).
ADMIN_CONSUMER_KEY = 'SFJWTFAKEORGADMINAPP0001'


@dataclass(frozen=True)
class User:
    """A user. permission_sets: those given to add_user (the org also creates their PermissionSet records and
    assignments); the token endpoint sees the user with the permission sets of all its assignments. Only an
    admin may deploy metadata."""

    username: str
    active: bool = True
    permission_sets: frozenset = frozenset()
    org_active: bool = True
    user_id: str = ''
    admin: bool = False
    name: str = ''
    email: str = ''

    @classmethod
    def create(cls, username, active=True, permission_sets=(), org_active=True, admin=False, name=None, email=None) -> 'User':
        if not isinstance(username, str) or not username.strip():
            raise ValueError('username must be a non-empty string')
        for value, option in ((name, 'name'), (email, 'email')):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError('%s must be a non-empty string' % option)
        return cls(username=username, active=bool(active), permission_sets=frozenset(_names(permission_sets, 'permission_sets')),
                   org_active=bool(org_active), user_id=stable_id(USER_ID_PREFIX, username), admin=bool(admin),
                   name=name or username.split('@')[0], email=email or username)


@dataclass(frozen=True)
class App:
    """An app enabled for the JWT Bearer flow: a consumer key and the certificate uploaded to it.

    Authorization follows the app's OAuth policy: a user is approved when listed in approved_users
    (approved once in a browser), or when the app is admin-approved ("Admin approved users are
    pre-authorized") and the user holds one of the app's permission sets.
    """

    consumer_key: str
    certificate_pem: str | None
    public_key: object = field(default=None, compare=False, repr=False)
    admin_approved: bool = True
    permission_sets: frozenset = frozenset()
    approved_users: frozenset = frozenset()
    ip_restricted: bool = False
    # Orgs answer an unassigned user of an admin-approved app with invalid_app_access instead of
    # "user hasn't approved this consumer"; tests opt in to that answer with this flag.
    invalid_app_access: bool = False
    source: str = 'api'

    @classmethod
    def create(cls, consumer_key, certificate_pem, admin_approved=True, permission_sets=(), approved_users=(),
               ip_restricted=False, invalid_app_access=False, source='api') -> 'App':
        """Register an app; raises ValueError when the certificate cannot be read."""
        if not isinstance(consumer_key, str) or not consumer_key.strip():
            raise ValueError('consumer_key must be a non-empty string')
        pem = normalize_certificate(certificate_pem)
        public_key = load_public_key(pem)
        return cls(consumer_key=consumer_key, certificate_pem=pem, public_key=public_key, admin_approved=bool(admin_approved),
                   permission_sets=frozenset(_names(permission_sets, 'permission_sets')),
                   approved_users=frozenset(_names(approved_users, 'approved_users')),
                   ip_restricted=bool(ip_restricted), invalid_app_access=bool(invalid_app_access), source=source)

    def approves(self, user: User) -> bool:
        if user.username in self.approved_users:
            return True
        return self.admin_approved and bool(self.permission_sets & user.permission_sets)


def normalize_certificate(certificate) -> str:
    """Accept PEM, or the bare base64 body that retrieved metadata shows, and return PEM text."""
    if isinstance(certificate, bytes):
        certificate = certificate.decode('ascii', errors='replace')
    if not isinstance(certificate, str) or not certificate.strip():
        raise ValueError('the certificate is empty')
    text = certificate.strip()
    if '-----BEGIN' in text:
        return text + '\n'
    body = re.sub(r'\s+', '', text)
    try:
        base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError('the certificate is neither PEM nor a base64 body: %s' % exc)
    return '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' % '\n'.join(textwrap.wrap(body, 64))


def load_public_key(pem: str):
    try:
        return x509.load_pem_x509_certificate(pem.encode('ascii')).public_key()
    except ValueError as exc:
        raise ValueError('the certificate is not a readable X.509 PEM certificate: %s' % exc)


def _names(values, option) -> list:
    if isinstance(values, str):
        values = [values]
    names = list(values or ())
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError('%s must be a list of non-empty strings' % option)
    return names


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


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to a new or truncated file with mode 0600 (a private key)."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)
    os.chmod(str(path), 0o600)   # an existing file keeps its mode through O_TRUNC
