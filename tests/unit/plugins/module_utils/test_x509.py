# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The X.509 helpers every module_utils shares: loaders, fingerprints, key matching, dates, names, the import guard."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID, ObjectIdentifier

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _x509
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._keys import public_key_fingerprint

START = datetime.datetime(2030, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope='module')
def cert(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'sfjwt-x509')])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(START)
            .not_valid_after(START + datetime.timedelta(days=90)).sign(key, hashes.SHA256()))


def test_colon_hex_is_openssl_s_fingerprint_format():
    assert _x509.colon_hex(b'\x00\x0a\xab\xff') == '00:0A:AB:FF'
    assert _x509.colon_hex(b'') == ''


def test_certificate_fingerprint_is_the_sha256_of_the_der(cert):
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    expected = ':'.join(digest[index:index + 2] for index in range(0, 64, 2))
    assert _x509.certificate_fingerprint(cert) == expected


def test_public_key_sha256_identifies_the_key(key, cert):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert _x509.public_key_sha256(cert.public_key()) == hashlib.sha256(der).hexdigest()
    assert public_key_fingerprint(key) == _x509.public_key_sha256(key.public_key())


def test_belongs_to_key(key, other_key, cert):
    assert _x509.belongs_to_key(cert.public_key(), key)
    assert not _x509.belongs_to_key(cert.public_key(), other_key)


def test_loaders(cert, key):
    pem = cert.public_bytes(serialization.Encoding.PEM)
    der = cert.public_bytes(serialization.Encoding.DER)
    assert _x509.load_certificate(pem) == cert
    assert _x509.load_certificate(der) is None
    assert _x509.load_certificate(b'garbage') is None
    assert _x509.load_der_certificate(der) == cert
    assert _x509.load_pem_or_der_certificate(pem) == cert
    assert _x509.load_pem_or_der_certificate(der) == cert
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for data in (b'garbage', b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key_pem):
        with pytest.raises(ValueError):
            _x509.load_pem_or_der_certificate(data)
    with pytest.raises(ValueError):
        _x509.load_der_certificate(b'garbage')


def test_dates(cert):
    assert _x509.not_before(cert) == START
    assert _x509.not_after(cert) == START + datetime.timedelta(days=90)
    assert _x509.iso8601(_x509.not_after(cert)) == '2030-08-30T12:00:00Z'
    two_hours_east = datetime.timezone(datetime.timedelta(hours=2))
    assert _x509.iso8601(datetime.datetime(2030, 6, 1, 14, 0, 5, 999, tzinfo=two_hours_east)) == '2030-06-01T12:00:05Z'
    now = _x509.utc_now()
    assert now.microsecond == 0 and now.utcoffset() == datetime.timedelta(0)


def test_names():
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, 'US'), x509.NameAttribute(NameOID.COMMON_NAME, 'app'),
                      x509.NameAttribute(NameOID.EMAIL_ADDRESS, 'a@example.com'),
                      x509.NameAttribute(ObjectIdentifier('1.2.3.4'), 'other')])
    assert _x509.describe_name(name) == 'C=US, CN=app, emailAddress=a@example.com, 1.2.3.4=other'
    assert _x509.names_equal(name, x509.Name(list(reversed(list(name)))))
    assert not _x509.names_equal(name, x509.Name(list(name)[:2]))


def _in_a_fresh_python(code):
    """Run code in a new interpreter with this one's import path; returns what it printed as JSON."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    output = subprocess.run([sys.executable, '-c', code], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def test_without_cryptography_every_module_util_still_imports():
    """The modules must load to report the missing library with its install command (_requirements)."""
    found = _in_a_fresh_python(
        'import json, sys\n'
        'sys.modules["cryptography"] = None\n'
        'from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _x509, _keys\n'
        'from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _certificate, _metadata, _app_metadata\n'
        'print(json.dumps([_x509.HAS_CRYPTOGRAPHY, _keys.HAS_CRYPTOGRAPHY, _x509.CRYPTOGRAPHY_IMPORT_ERROR]))\n')
    assert found[:2] == [False, False]
    assert 'ImportError' in found[2] or 'ModuleNotFoundError' in found[2]


def test_metadata_and_token_requests_do_not_load_the_certificate_backend():
    loaded = _in_a_fresh_python(
        'import json, sys\n'
        'from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _token_request\n'
        'from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata, _app_metadata\n'
        'print(json.dumps(sorted(name.rsplit(".", 1)[1] for name in sys.modules if ".module_utils." in name)))\n')
    assert '_x509' in loaded and '_certificate' not in loaded
