# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Loading the RSA private key (module_utils/core/_keys): what loads, and the message for each key that cannot be used."""

from __future__ import annotations

import hashlib
import re

import pytest

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._keys import (
    MIN_RSA_KEY_SIZE, load_rsa_private_key, public_key_fingerprint)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.auth_helpers import PASSPHRASE, pem

SOURCE = 'the private key /etc/sfjwt/server.key'
NEEDS_RSA = '; Salesforce signs the JWT Bearer Flow with RS256 and needs an RSA key of at least 2048 bits.'


def traditional(key, passphrase=None):
    encryption = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, encryption)


def refusal(pem_data, passphrase=None):
    with pytest.raises(InputError) as caught:
        load_rsa_private_key(pem_data, passphrase, source=SOURCE)
    return str(caught.value)


def same_key(loaded, key):
    return loaded.private_numbers() == key.private_numbers()


# ---------------------------------------------------------------- what loads

@pytest.mark.parametrize('encode', [lambda data: data, lambda data: data.decode('ascii')], ids=['bytes', 'text'])
def test_an_unencrypted_key_loads_from_bytes_or_text(key, encode):
    loaded = load_rsa_private_key(encode(pem(key)))
    assert isinstance(loaded, rsa.RSAPrivateKey) and same_key(loaded, key)


def test_a_traditional_rsa_key_loads(key):
    assert same_key(load_rsa_private_key(traditional(key)), key)


@pytest.mark.parametrize('make', [pem, traditional], ids=['pkcs8', 'traditional'])
@pytest.mark.parametrize('passphrase', [PASSPHRASE, PASSPHRASE.encode()], ids=['text', 'bytes'])
def test_an_encrypted_key_loads_with_its_passphrase(key, make, passphrase):
    assert same_key(load_rsa_private_key(make(key, PASSPHRASE), passphrase), key)


def test_a_passphrase_beyond_ascii_opens_its_key(key):
    assert same_key(load_rsa_private_key(pem(key, 'pässwörd-\u263a'), 'pässwörd-\u263a'), key)


@pytest.mark.parametrize('wrap', [
    lambda data: data.replace(b'\n', b'\r\n'),
    lambda data: b'# the key for the integration user\n\n' + data + b'\n\n',
], ids=['crlf', 'surrounding-text'])
def test_a_key_with_windows_line_ends_or_text_around_it_loads(key, wrap):
    assert same_key(load_rsa_private_key(wrap(pem(key))), key)


def test_a_file_with_the_certificate_and_the_key_loads_the_key(certificate_material):
    both = (certificate_material['pem'] + certificate_material['key_pem']).encode('ascii')
    expected = serialization.load_pem_private_key(certificate_material['key_pem'].encode('ascii'), None)
    assert same_key(load_rsa_private_key(both), expected)


def test_a_key_of_exactly_the_minimum_size_loads(key):
    assert MIN_RSA_KEY_SIZE == 2048
    assert load_rsa_private_key(pem(key)).key_size == 2048


# ---------------------------------------------------------------- what does not

@pytest.mark.parametrize('data', [b'', '', b'hello', b'\x00\x01\x02', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'])
def test_what_is_not_pem_is_refused(data):
    assert refusal(data) == (SOURCE + ' is not a PEM private key (no "-----BEGIN" line). Give the key file written by the '
                             'certificate module, or a PEM key.')


def test_a_der_key_is_refused_as_not_pem(key):
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert refusal(der).startswith(SOURCE + ' is not a PEM private key')


def test_a_certificate_is_refused_as_not_a_key(certificate_material):
    assert refusal(certificate_material['pem']) == (
        SOURCE + ' holds a certificate, not a private key. Point it at the private key file.')


@pytest.mark.parametrize('data', [
    b'-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n',
    b'-----BEGIN PRIVATE KEY-----\n' + b'A' * 100 + b'\n-----END PRIVATE KEY-----\n',
    b'-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n',
])
def test_a_damaged_pem_is_refused(data):
    assert refusal(data) == SOURCE + ' could not be read as a PEM private key (damaged or not a key).'


def test_a_truncated_key_is_refused(key):
    data = pem(key)
    assert refusal(data[:len(data) // 2] + b'\n-----END PRIVATE KEY-----\n') == (
        SOURCE + ' could not be read as a PEM private key (damaged or not a key).')


@pytest.mark.parametrize('make', [pem, traditional], ids=['pkcs8', 'traditional'])
@pytest.mark.parametrize('passphrase', [None, ''])
def test_an_encrypted_key_without_a_passphrase_asks_for_one(key, make, passphrase):
    assert refusal(make(key, PASSPHRASE), passphrase) == (
        SOURCE + ' is encrypted and no passphrase was given. Set private_key_passphrase.')


@pytest.mark.parametrize('make', [pem, traditional], ids=['pkcs8', 'traditional'])
def test_a_wrong_passphrase_is_named_and_never_shown(key, make):
    message = refusal(make(key, PASSPHRASE), 'Wrong-Guess-42')
    assert message == 'the passphrase does not open %s (wrong private_key_passphrase).' % SOURCE
    assert 'Wrong-Guess-42' not in message and PASSPHRASE not in message


def test_an_empty_passphrase_is_no_passphrase(key):
    assert same_key(load_rsa_private_key(pem(key), ''), key)
    assert same_key(load_rsa_private_key(pem(key), b''), key)


def test_a_damaged_unencrypted_key_is_damaged_even_with_a_passphrase():
    assert refusal(b'-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n', PASSPHRASE) == (
        SOURCE + ' could not be read as a PEM private key (damaged or not a key).')


def test_a_passphrase_for_an_unencrypted_key_is_refused(key):
    assert refusal(pem(key), PASSPHRASE) == (
        SOURCE + ' is not encrypted, but a passphrase was given. Remove private_key_passphrase, or encrypt the key.')


@pytest.mark.parametrize('cipher', ['DES-CBC', 'BF-CBC', 'RC2-CBC', 'aes-128-cbc'])
def test_a_key_encrypted_with_an_unsupported_cipher_is_not_blamed_on_the_passphrase(key, cipher):
    data = re.sub(rb'DEK-Info: [^,]+', b'DEK-Info: ' + cipher.encode(), traditional(key, PASSPHRASE))
    assert refusal(data, PASSPHRASE) == (
        '%s is encrypted with %s, which the cryptography library does not open. Encrypt it again with AES (openssl pkey '
        '-in <key> -aes256 -out <new key>), or let the certificate module write a new key.' % (SOURCE, cipher))


def test_what_cryptography_cannot_handle_otherwise_is_an_unsupported_format(key, monkeypatch):
    def unsupported(data, password=None, **kwargs):
        raise UnsupportedAlgorithm('unsupported key type')
    monkeypatch.setattr(serialization, 'load_pem_private_key', unsupported)
    assert refusal(pem(key)) == SOURCE + ' could not be read as a PEM private key (unsupported format).'


@pytest.fixture(scope='module')
def other_kinds():
    return {
        'an EC': ec.generate_private_key(ec.SECP256R1()),
        'an Ed25519': ed25519.Ed25519PrivateKey.generate(),
        'an Ed448': ed448.Ed448PrivateKey.generate(),
        'a DSA': dsa.generate_private_key(2048),
        'a non-RSA': x25519.X25519PrivateKey.generate(),
    }


@pytest.mark.parametrize('kind', ['an EC', 'an Ed25519', 'an Ed448', 'a DSA', 'a non-RSA'])
def test_a_key_that_is_not_rsa_is_refused_by_its_kind(other_kinds, kind):
    assert refusal(pem(other_kinds[kind])) == SOURCE + ' is %s key' % kind + NEEDS_RSA


@pytest.mark.parametrize('bits', [1024, 2047])
def test_a_short_rsa_key_is_refused_with_its_size(bits):
    short = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    assert refusal(pem(short)) == (SOURCE + ' is an RSA key of %d bits; at least 2048 bits are required. Create a new key '
                                   '(certificate module with regenerate_key=true).' % bits)


def test_the_default_source_is_the_private_key():
    with pytest.raises(InputError) as caught:
        load_rsa_private_key(b'not a key')
    assert str(caught.value).startswith('the private key is not a PEM private key')


# ---------------------------------------------------------------- the fingerprint

def test_the_fingerprint_is_the_sha256_of_the_public_key_info(key, other_key):
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert public_key_fingerprint(key) == hashlib.sha256(spki).hexdigest()
    assert public_key_fingerprint(key) != public_key_fingerprint(other_key)


def test_the_fingerprint_is_the_same_for_the_key_however_it_was_stored(key):
    assert public_key_fingerprint(load_rsa_private_key(pem(key, PASSPHRASE), PASSPHRASE)) == public_key_fingerprint(key)
