# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""X.509 certificates as the collection reads them: loading, fingerprints, key matching, dates and names.

Holds the collection's one guarded import of cryptography: the other module_utils take HAS_CRYPTOGRAPHY from here, and
the modules report a missing library through _requirements before anything here is called.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import traceback

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

# A certificate file is a few kilobytes; a certificate file the user names is read only up to this size.
MAX_CERTIFICATE_BYTES = 256 * 1024

# subject option key, NameOID attribute, upper bound from RFC 5280 / PKCS #9.
SUBJECT_FIELDS = (
    ('C', 'COUNTRY_NAME', 2),
    ('ST', 'STATE_OR_PROVINCE_NAME', 128),
    ('L', 'LOCALITY_NAME', 128),
    ('O', 'ORGANIZATION_NAME', 64),
    ('OU', 'ORGANIZATIONAL_UNIT_NAME', 64),
    ('emailAddress', 'EMAIL_ADDRESS', 255),
)
# No text of a certificate subject or of Salesforce metadata may hold these: the C0 controls (line breaks and tabs
# included) and DEL. A line break in a subject breaks every tool that prints it; most of them are not XML at all.
CONTROL_CHARACTER_RE = re.compile('[\x00-\x1f\x7f]')


# ---------------------------------------------------------------- loading

def load_certificate(data):
    """The certificate in a PEM file, or None when the file holds none."""
    try:
        return x509.load_pem_x509_certificate(data)
    except Exception:  # ValueError for garbage; other errors for unsupported encodings
        return None


def load_der_certificate(der):
    """The certificate of DER bytes; raises ValueError when they are not one."""
    return x509.load_der_x509_certificate(der)


def load_pem_or_der_certificate(data):
    """The certificate of a file in either encoding (PEM when it has a BEGIN line); raises ValueError when it holds none."""
    if b'-----BEGIN' in data:
        return x509.load_pem_x509_certificate(data)
    return load_der_certificate(data)


# ---------------------------------------------------------------- fingerprints and keys

def colon_hex(data):
    """AB:CD:... as `openssl x509 -fingerprint` prints it."""
    return ':'.join('%02X' % byte for byte in bytearray(data))


def certificate_fingerprint(cert):
    """SHA-256 fingerprint of the certificate (its DER), in colon_hex."""
    return colon_hex(cert.fingerprint(hashes.SHA256()))


def _public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_sha256(public_key):
    """SHA-256 hex digest of the public key (DER SubjectPublicKeyInfo): identifies a key without revealing it."""
    return hashlib.sha256(_public_der(public_key)).hexdigest()


def belongs_to_key(public_key, private_key):
    return _public_der(public_key) == _public_der(private_key.public_key())


# ---------------------------------------------------------------- dates

def utc_now():
    """Current time in UTC, to the second (X.509 times have no fractions)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def not_before(cert):
    value = getattr(cert, 'not_valid_before_utc', None)  # cryptography >= 42
    return value if value is not None else cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def not_after(cert):
    value = getattr(cert, 'not_valid_after_utc', None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def iso8601(value):
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


# ---------------------------------------------------------------- names

def _name_key(name):
    return sorted((attribute.oid.dotted_string, attribute.value) for attribute in name)


def names_equal(first, second):
    """Same attributes and values; order and string encoding do not matter (openssl and cryptography differ there)."""
    return _name_key(first) == _name_key(second)


def describe_name(name):
    """C=US, O=Acme, CN=x, emailAddress=a@example.com: the short names users wrote in the subject option."""
    short_names = {NameOID.COMMON_NAME.dotted_string: 'CN'}
    short_names.update((getattr(NameOID, attribute).dotted_string, field) for field, attribute, _limit in SUBJECT_FIELDS)
    return ', '.join('%s=%s' % (short_names.get(attribute.oid.dotted_string, attribute.oid.dotted_string), attribute.value)
                     for attribute in name)
