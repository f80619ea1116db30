# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures shared by the module_utils unit tests."""

from __future__ import annotations

import datetime
import sys

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.auth_helpers import pem
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import deadline


@pytest.fixture
def fails_within_five_seconds():
    """A read or open that blocks (a FIFO without a writer), or work that takes quadratic time on a hostile input,
    fails the test instead of hanging the run."""
    with deadline(5):
        yield


@pytest.fixture(scope='session')
def key():
    """An RSA key for the whole session: generating one costs more than most tests."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope='session')
def other_key():
    """A second RSA key, for "another key" cases."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_path(tmp_path, key):
    """The key as an unencrypted PKCS#8 PEM file, mode 0600, as the certificate module writes it."""
    path = tmp_path / 'server.key'
    path.write_bytes(pem(key))
    path.chmod(0o600)
    return str(path)


@pytest.fixture(scope='session')
def certificate_material():
    """A self-signed certificate valid for 30 days and its key: pem, body (base64 without BEGIN/END), fingerprint, key_pem, der.
    One per test session: generating an RSA key costs more than most tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'sfjwt-unit')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode('ascii')
    return {
        'pem': pem,
        'body': ''.join(line for line in pem.splitlines() if not line.startswith('-----')),
        'fingerprint': ':'.join('%02X' % b for b in cert.fingerprint(hashes.SHA256())),
        'key_pem': key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode('ascii'),
        'der': cert.public_bytes(serialization.Encoding.DER),
    }


@pytest.fixture
def certificate_pem(certificate_material):
    """The certificate of certificate_material as PEM text (what app_metadata takes)."""
    return certificate_material['pem']


@pytest.fixture
def hide_libraries(monkeypatch):
    """hide_libraries('PyJWT', ...): the named requirements become unimportable (None in sys.modules, as Python does for a
    module it cannot find) for the modules the collection imports from them, until the test ends."""
    from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._requirements import REQUIREMENTS

    def hide(*names):
        modules = dict(REQUIREMENTS)
        for name in names:
            for module in modules[name]:
                monkeypatch.setitem(sys.modules, module, None)
    return hide


@pytest.fixture(autouse=True)
def forget_remembered_sessions():
    """Each test starts with an empty in-process memo of sessions (_auth._MEMO), as each Ansible worker does."""
    from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth
    _auth._MEMO.clear()
    yield
    _auth._MEMO.clear()
