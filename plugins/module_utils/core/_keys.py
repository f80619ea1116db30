# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Loading the RSA private key, with errors a user can act on; shared by every module and plugin."""

from __future__ import annotations

import re

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import HAS_CRYPTOGRAPHY, public_key_sha256

if HAS_CRYPTOGRAPHY:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

MIN_RSA_KEY_SIZE = 2048


# Ciphers of a traditional ("Proc-Type: 4,ENCRYPTED", "DEK-Info: <cipher>,<iv>") PEM key that cryptography opens, as
# it reads their names (OpenSSL also takes them in lower case; cryptography does not).
OPENED_LEGACY_CIPHERS = ('AES-128-CBC', 'AES-192-CBC', 'AES-256-CBC', 'DES-EDE3-CBC')


def _legacy_cipher(pem):
    """The cipher a traditional encrypted PEM key names in its DEK-Info header, or None."""
    match = re.search(rb'^DEK-Info:\s*([A-Za-z0-9-]{1,40})\s*,', pem, re.M)
    return match.group(1).decode('ascii') if match else None


def _as_bytes(value):
    if isinstance(value, bytes):
        return value
    return value.encode('utf-8')


def load_rsa_private_key(pem, passphrase=None, source='the private key'):
    """Parse a PEM private key and check it is an RSA key Salesforce accepts.

    ``source`` names where the key came from (a path, or "the private_key option") for messages.
    """
    pem = _as_bytes(pem)
    password = _as_bytes(passphrase) if passphrase else None
    if b'-----BEGIN' not in pem:
        raise InputError('%s is not a PEM private key (no "-----BEGIN" line). '
                         'Give the key file written by the certificate module, or a PEM key.' % source)
    if b'-----BEGIN CERTIFICATE' in pem and b'PRIVATE KEY-----' not in pem:
        raise InputError('%s holds a certificate, not a private key. Point it at the private key file.' % source)
    encrypted = b'ENCRYPTED' in pem
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except TypeError:
        if encrypted:
            raise InputError('%s is encrypted and no passphrase was given. Set private_key_passphrase.' % source) from None
        raise InputError('%s is not encrypted, but a passphrase was given. '
                         'Remove private_key_passphrase, or encrypt the key.' % source) from None
    except ValueError:
        cipher = _legacy_cipher(pem)
        if cipher and cipher not in OPENED_LEGACY_CIPHERS:
            raise InputError('%s is encrypted with %s, which the cryptography library does not open. Encrypt it again '
                             'with AES (openssl pkey -in <key> -aes256 -out <new key>), or let the certificate module '
                             'write a new key.' % (source, cipher)) from None
        if encrypted and password is not None:
            raise InputError('the passphrase does not open %s (wrong private_key_passphrase).' % source) from None
        raise InputError('%s could not be read as a PEM private key (damaged or not a key).' % source) from None
    except Exception:  # cryptography raises assorted errors for unsupported encodings
        raise InputError('%s could not be read as a PEM private key (unsupported format).' % source) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InputError('%s is %s key; Salesforce signs the JWT Bearer Flow with RS256 and needs an RSA key '
                         'of at least %d bits.' % (source, _key_kind(key), MIN_RSA_KEY_SIZE))
    if key.key_size < MIN_RSA_KEY_SIZE:
        raise InputError('%s is an RSA key of %d bits; at least %d bits are required. '
                         'Create a new key (certificate module with regenerate_key=true).'
                         % (source, key.key_size, MIN_RSA_KEY_SIZE))
    return key


def _key_kind(key):
    for kind, name in ((ec.EllipticCurvePrivateKey, 'an EC'), (ed25519.Ed25519PrivateKey, 'an Ed25519'),
                       (ed448.Ed448PrivateKey, 'an Ed448'), (dsa.DSAPrivateKey, 'a DSA')):
        if isinstance(key, kind):
            return name
    return 'a non-RSA'


def public_key_fingerprint(key):
    """SHA-256 hex digest of the private key's public key (see _x509.public_key_sha256)."""
    return public_key_sha256(key.public_key())
