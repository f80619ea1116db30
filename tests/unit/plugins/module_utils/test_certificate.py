# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backend of the certificate module: decisions, builders and results, without Ansible around them."""

from __future__ import annotations

import base64
import datetime
import fcntl
import os
import signal
import stat

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _certificate as backend
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _certificate_options as certificate_options
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import remove_stale_temp_files, write_file_atomic
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeFileModule

NOW = datetime.datetime(2030, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def options(**overrides):
    params = {
        'private_key_path': '/srv/sf/key.pem', 'certificate_path': '/srv/sf/cert.pem', 'csr_path': None,
        'key_size': 2048, 'private_key_passphrase': None, 'common_name': 'integration', 'subject': None,
        'valid_days': 365, 'renew_before_days': 30, 'force': False, 'regenerate_key': False, 'backup': False,
        'mode': None, 'owner': None, 'group': None,
    }
    params.update(overrides)
    return params


def cert_for(key, subject, not_before, days):
    """A self-signed certificate with a chosen validity window (the module only issues them from now)."""
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before)
            .not_valid_after(not_before + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))


# ---------------------------------------------------------------- option validation

@pytest.mark.parametrize('overrides, message', [
    ({'common_name': '  '}, 'common_name is empty'),
    ({'common_name': 'x' * 65}, 'common_name is 65 characters long; X.509 allows at most 64.'),
    ({'subject': {'C': 'USA'}}, 'subject.C must be a two-letter ISO 3166 country code such as US or DE, not "USA".'),
    ({'subject': {'C': 'U1'}}, 'subject.C must be a two-letter ISO 3166 country code'),
    ({'subject': {'O': 'o' * 65}}, 'subject.O is 65 characters long; X.509 allows at most 64.'),
    ({'subject': {'emailAddress': 'nobody'}}, 'subject.emailAddress "nobody" is not an e-mail address'),
    ({'subject': {'emailAddress': 'jörg@example.com'}}, 'is not an e-mail address (ASCII, with an @)'),
    ({'valid_days': 0}, 'valid_days must be between 1 and 36500, not 0.'),
    ({'valid_days': -5}, 'valid_days must be between 1 and 36500, not -5.'),
    ({'valid_days': 36501}, 'valid_days must be between 1 and 36500'),
    ({'renew_before_days': -1}, 'renew_before_days must be 0 or more, not -1.'),
    ({'renew_before_days': 365}, 'renew_before_days (365) must be smaller than valid_days (365)'),
    ({'valid_days': 10, 'renew_before_days': 30}, 'renew_before_days (30) must be smaller than valid_days (10)'),
    ({'private_key_passphrase': 'p' * 1024}, 'private_key_passphrase is too long; at most 1023 bytes'),
    ({'certificate_path': '/srv/sf/key.pem'}, 'private_key_path and certificate_path are the same file (/srv/sf/key.pem)'),
    ({'csr_path': '/srv/sf/./cert.pem'}, 'certificate_path and csr_path are the same file'),
])
def test_validate_options_rejects(overrides, message):
    with pytest.raises(InputError) as exc:
        certificate_options.validate_options(options(**overrides))
    assert message in str(exc.value)


def test_validate_options_accepts_full_subject_and_ignores_empty_values():
    certificate_options.validate_options(options(subject={'C': 'de', 'ST': 'Berlin', 'L': 'Berlin', 'O': 'Acme', 'OU': '',
                                                          'emailAddress': 'ops@example.com'}, renew_before_days=0, valid_days=1))


@pytest.mark.parametrize('overrides, message', [
    ({'common_name': 'integration\n'}, 'common_name holds the control character U+000A at position 12'),
    ({'common_name': 'inte\x00gration'}, 'common_name holds the control character U+0000 at position 5'),
    ({'subject': {'C': 'US\n'}}, 'subject.C holds the control character U+000A at position 3'),
    ({'subject': {'O': 'Acme\rInc'}}, 'subject.O holds the control character U+000D at position 5'),
    ({'subject': {'OU': 'Ops\x7f'}}, 'subject.OU holds the control character U+007F at position 4'),
    ({'subject': {'ST': '\tBerlin'}}, 'subject.ST holds the control character U+0009 at position 1'),
    ({'subject': {'L': 'Ber\x1blin'}}, 'subject.L holds the control character U+001B at position 4'),
    ({'subject': {'emailAddress': 'ops@example.com\n'}}, 'subject.emailAddress holds the control character U+000A at position 16'),
])
def test_control_characters_in_the_subject_are_refused_naming_the_option(overrides, message):
    with pytest.raises(InputError) as exc:
        certificate_options.validate_options(options(**overrides))
    assert str(exc.value) == message + '; a certificate subject can only hold printable text on one line. Remove it.'


def test_country_code_is_matched_to_its_very_end():
    assert certificate_options.COUNTRY_RE.match('US') and not certificate_options.COUNTRY_RE.match('US\n')


def test_passphrase_never_in_validation_messages():
    with pytest.raises(InputError) as exc:
        certificate_options.validate_options(options(private_key_passphrase='s3cret-' + 'p' * 1100))
    assert 's3cret' not in str(exc.value)


# ---------------------------------------------------------------- names

def test_build_subject_uses_openssl_order_and_skips_empty():
    name = backend.build_subject('app', {'emailAddress': 'a@example.com', 'O': 'Acme', 'C': 'US', 'OU': '', 'L': None})
    assert [(attr.oid, attr.value) for attr in name] == [
        (NameOID.COUNTRY_NAME, 'US'), (NameOID.ORGANIZATION_NAME, 'Acme'), (NameOID.COMMON_NAME, 'app'),
        (NameOID.EMAIL_ADDRESS, 'a@example.com')]
    assert backend.describe_name(name) == 'C=US, O=Acme, CN=app, emailAddress=a@example.com'


def test_names_equal_ignores_order_but_not_values():
    first = backend.build_subject('app', {'O': 'Acme', 'C': 'US'})
    reordered = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'app'), x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Acme'),
                           x509.NameAttribute(NameOID.COUNTRY_NAME, 'US')])
    assert backend.names_equal(first, reordered)
    assert not backend.names_equal(first, backend.build_subject('app', {'O': 'Acme'}))
    assert not backend.names_equal(first, backend.build_subject('app', {'O': 'Acme Inc', 'C': 'US'}))


# ---------------------------------------------------------------- builders and facts

def test_certificate_is_self_signed_sha256_end_entity(key):
    subject = backend.build_subject('app', {'O': 'Acme'})
    cert = backend.build_certificate(key, subject, 90, NOW)
    assert cert.subject == subject and cert.issuer == subject
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert backend.not_before(cert) == NOW
    assert backend.not_after(cert) == NOW + datetime.timedelta(days=90)
    assert cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca is False
    ski = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER).value
    aki = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    assert aki.key_identifier == ski.digest
    key.public_key().verify(cert.signature, cert.tbs_certificate_bytes, backend_padding(), cert.signature_hash_algorithm)
    assert backend.belongs_to_key(cert.public_key(), key)
    assert 0 < cert.serial_number < 2 ** 160


def backend_padding():
    from cryptography.hazmat.primitives.asymmetric import padding
    return padding.PKCS1v15()


def test_serial_numbers_are_random(key):
    subject = backend.build_subject('app')
    assert backend.build_certificate(key, subject, 1, NOW).serial_number != backend.build_certificate(key, subject, 1, NOW).serial_number


def test_certificate_facts(key):
    cert = backend.build_certificate(key, backend.build_subject('app'), 365, NOW)
    facts = backend.certificate_facts(cert)
    der = cert.public_bytes(serialization.Encoding.DER)
    assert facts['certificate'].startswith('-----BEGIN CERTIFICATE-----\n')
    assert facts['certificate_body'] == base64.b64encode(der).decode()
    assert '\n' not in facts['certificate_body'] and 'BEGIN' not in facts['certificate_body']
    assert facts['fingerprint_sha256'] == ':'.join('%02X' % b for b in cert.fingerprint(hashes.SHA256()))
    assert len(facts['fingerprint_sha256']) == 32 * 3 - 1
    assert facts['serial_number'] == cert.serial_number
    assert facts['not_before'] == '2030-06-01T12:00:00Z'
    assert facts['not_after'] == '2031-06-01T12:00:00Z'


def test_private_key_pem_encrypted_only_with_passphrase(key):
    plain = backend.private_key_pem(key)
    assert plain.startswith(b'-----BEGIN PRIVATE KEY-----')
    encrypted = backend.private_key_pem(key, 'correct horse')
    assert encrypted.startswith(b'-----BEGIN ENCRYPTED PRIVATE KEY-----')
    loaded = serialization.load_pem_private_key(encrypted, password=b'correct horse')
    assert backend.belongs_to_key(loaded.public_key(), key)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(encrypted, password=b'wrong')


def test_csr_matches_key_and_subject(key, other_key):
    subject = backend.build_subject('app', {'C': 'US'})
    csr = backend.build_csr(key, subject)
    assert csr.is_signature_valid
    assert backend.csr_renewal_reason(csr, key, subject) is None
    assert backend.csr_renewal_reason(csr, other_key, subject) == 'it does not belong to the private key'
    assert backend.csr_renewal_reason(csr, key, backend.build_subject('app')) == \
        'its subject is C=US, CN=app, the options ask for CN=app'


def test_loaders_return_none_for_garbage(key):
    assert backend.load_certificate(b'not a certificate') is None
    assert backend.load_csr(b'-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n') is None
    assert backend.load_certificate(backend.private_key_pem(key)) is None


# ---------------------------------------------------------------- renewal decisions

def test_certificate_kept_when_everything_matches(key):
    subject = backend.build_subject('app')
    cert = cert_for(key, subject, NOW - datetime.timedelta(days=100), 365)
    assert backend.certificate_renewal_reason(cert, key, subject, 365, 30, NOW) is None


def test_certificate_renewed_when_it_expires_within_renew_before_days(key):
    subject = backend.build_subject('app')
    cert = cert_for(key, subject, NOW - datetime.timedelta(days=340), 365)  # 25 days left
    reason = backend.certificate_renewal_reason(cert, key, subject, 365, 30, NOW)
    assert reason == 'it expires on 2030-06-26T12:00:00Z, within renew_before_days (30)'
    assert backend.certificate_renewal_reason(cert, key, subject, 365, 20, NOW) is None


def test_certificate_renewal_boundary_and_zero_days(key):
    subject = backend.build_subject('app')
    exactly = cert_for(key, subject, NOW - datetime.timedelta(days=335), 365)  # exactly 30 days left
    assert backend.certificate_renewal_reason(exactly, key, subject, 365, 30, NOW) is not None
    expired = cert_for(key, subject, NOW - datetime.timedelta(days=366), 365)
    assert 'within renew_before_days (0)' in backend.certificate_renewal_reason(expired, key, subject, 365, 0, NOW)
    assert backend.certificate_renewal_reason(exactly, key, subject, 365, 0, NOW) is None


def test_certificate_renewed_for_another_key_subject_or_validity(key, other_key):
    subject = backend.build_subject('app', {'O': 'Acme'})
    cert = cert_for(key, subject, NOW, 365)
    assert backend.certificate_renewal_reason(cert, other_key, subject, 365, 30, NOW) == 'it does not belong to the private key'
    assert backend.certificate_renewal_reason(cert, key, backend.build_subject('app', {'O': 'Other'}), 365, 30, NOW) == \
        'its subject is O=Acme, CN=app, the options ask for O=Other, CN=app'
    assert backend.certificate_renewal_reason(cert, key, subject, 730, 30, NOW) == 'it is valid for 365 days, valid_days is 730'


def test_validity_compared_as_span_not_against_now(key):
    """Relative times are not compared for idempotence: an old certificate of the right span is kept."""
    subject = backend.build_subject('app')
    cert = cert_for(key, subject, NOW - datetime.timedelta(days=200, hours=5), 365)
    assert backend.certificate_renewal_reason(cert, key, subject, 365, 30, NOW) is None


# ---------------------------------------------------------------- existing keys

def pem(private_key, passphrase=None):
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, encryption)


def test_existing_key_kept_when_it_matches(key):
    loaded, reason = backend.assess_private_key(pem(key), None, 2048, False, '/k.pem')
    assert reason is None and backend.belongs_to_key(loaded.public_key(), key)
    loaded, reason = backend.assess_private_key(pem(key, b'pw'), 'pw', 2048, False, '/k.pem')
    assert reason is None and backend.belongs_to_key(loaded.public_key(), key)


def test_existing_key_of_another_size_fails_unless_regenerate(key):
    with pytest.raises(InputError) as exc:
        backend.assess_private_key(pem(key), None, 4096, False, '/k.pem')
    message = str(exc.value)
    assert message.startswith('The private key /k.pem is a 2048-bit RSA key, but key_size is 4096. Set key_size to 2048')
    assert 'regenerate_key=true replaces it' in message and 'breaks the Salesforce app binding' in message
    loaded, reason = backend.assess_private_key(pem(key), None, 4096, True, '/k.pem')
    assert reason == 'regenerate_key=true' and loaded is not None


@pytest.mark.parametrize('make, passphrase, message', [
    (lambda k: pem(k, b'right'), 'wrong', 'The passphrase does not open the private key /k.pem (wrong private_key_passphrase).'),
    (lambda k: pem(k, b'right'), None, 'The private key /k.pem is encrypted and no passphrase was given.'),
    (pem, 'unexpected', 'The private key /k.pem is not encrypted, but a passphrase was given.'),
    (lambda k: b'garbage', None, 'The private key /k.pem is not a PEM private key'),
    (lambda k: b'', None, 'The private key /k.pem is not a PEM private key'),
    (lambda k: pem(ec.generate_private_key(ec.SECP256R1())), None, 'The private key /k.pem is an EC key'),
    (lambda k: pem(rsa.generate_private_key(65537, 1024)), None, 'The private key /k.pem is an RSA key of 1024 bits'),
])
def test_unusable_key_fails_with_hint_or_is_replaced_on_request(key, make, passphrase, message):
    data = make(key)
    with pytest.raises(InputError) as exc:
        backend.assess_private_key(data, passphrase, 2048, False, '/k.pem')
    assert str(exc.value).startswith(message)
    assert str(exc.value).endswith(backend.REPLACE_KEY_HINT)
    assert 'right' not in str(exc.value) and 'unexpected' not in str(exc.value)
    loaded, reason = backend.assess_private_key(data, passphrase, 2048, True, '/k.pem')
    assert loaded is None and reason.startswith('regenerate_key=true (the existing key could not be used: ')


# ---------------------------------------------------------------- the run, with a stand-in for AnsibleModule

def run_module(tmp_path, check_mode=False, diff=False, **overrides):
    """The module result and the stand-in module (which records backups)."""
    paths = {'private_key_path': str(tmp_path / 'key.pem'), 'certificate_path': str(tmp_path / 'cert.pem')}
    paths.update(overrides)
    module = FakeFileModule(options(**paths), check_mode=check_mode, diff=diff)
    return backend.CertificateBackend(module, now=NOW).run(), module


def run(tmp_path, check_mode=False, diff=False, **overrides):
    return run_module(tmp_path, check_mode=check_mode, diff=diff, **overrides)[0]


def snapshot(tmp_path):
    return {entry.name: (entry.stat().st_ino, entry.stat().st_mtime_ns, stat.S_IMODE(entry.stat().st_mode))
            for entry in os.scandir(tmp_path)}


def test_check_real_idempotent_cycle(tmp_path):
    csr = str(tmp_path / 'req.csr')
    result = run(tmp_path, check_mode=True, diff=True, csr_path=csr)
    assert result['changed'] and os.listdir(tmp_path) == []
    assert result['certificate'] is None and result['fingerprint_sha256'] is None
    assert [d['after_header'] for d in result['diff']] == [
        str(tmp_path / 'key.pem') + ' (create: the file does not exist)',
        str(tmp_path / 'cert.pem') + ' (create: the file does not exist)',
        csr + ' (create: the file does not exist)']
    assert result['diff'][1]['after']['not_after'] == '2031-06-01T12:00:00Z'

    result = run(tmp_path, csr_path=csr)
    assert result['changed']
    assert snapshot(tmp_path)['key.pem'][2] == 0o600
    assert snapshot(tmp_path)['cert.pem'][2] == 0o644
    assert snapshot(tmp_path)['req.csr'][2] == 0o644
    assert result['not_before'] == '2030-06-01T12:00:00Z' and result['csr_path'] == csr
    assert result['certificate'] == (tmp_path / 'cert.pem').read_text()
    before = snapshot(tmp_path)

    for check_mode in (True, False):
        again = run(tmp_path, check_mode=check_mode, diff=True, csr_path=csr)
        assert not again['changed'] and again['diff'] == []
        assert again['fingerprint_sha256'] == result['fingerprint_sha256']
        assert snapshot(tmp_path) == before


def test_unusable_key_writes_nothing(tmp_path):
    (tmp_path / 'key.pem').write_bytes(b'garbage')
    with pytest.raises(InputError):
        run(tmp_path, csr_path=str(tmp_path / 'req.csr'))
    assert os.listdir(tmp_path) == ['key.pem'] and (tmp_path / 'key.pem').read_bytes() == b'garbage'


def test_renewal_keeps_key_and_backs_up_certificate_on_request(tmp_path):
    first = run(tmp_path)
    key_before = snapshot(tmp_path)['key.pem']
    result, module = run_module(tmp_path, check_mode=True, diff=True, common_name='renamed', backup=True)
    assert result['changed'] and module.backups == [] and snapshot(tmp_path)['key.pem'] == key_before
    assert result['diff'][0]['after_header'].endswith(' (replace: its subject is CN=integration, the options ask for CN=renamed)')
    result, module = run_module(tmp_path, common_name='renamed', backup=True)
    assert result['changed'] and snapshot(tmp_path)['key.pem'] == key_before
    assert module.backups == [str(tmp_path / 'cert.pem.backup~')] == [result['certificate_backup_file']]
    assert (tmp_path / 'cert.pem.backup~').read_text() == first['certificate']
    assert 'private_key_backup_file' not in result


def test_regenerate_key_always_backs_up_key_and_certificate(tmp_path):
    run(tmp_path)
    old_key = (tmp_path / 'key.pem').read_bytes()
    old_cert = (tmp_path / 'cert.pem').read_bytes()
    result, module = run_module(tmp_path, regenerate_key=True, key_size=3072)
    assert result['changed'] and len(module.backups) == 2
    assert (tmp_path / 'key.pem.backup~').read_bytes() == old_key
    assert stat.S_IMODE(os.stat(tmp_path / 'key.pem.backup~').st_mode) == 0o600
    assert (tmp_path / 'cert.pem.backup~').read_bytes() == old_cert
    assert (tmp_path / 'key.pem').read_bytes() != old_key
    new_key = serialization.load_pem_private_key((tmp_path / 'key.pem').read_bytes(), None)
    assert new_key.key_size == 3072
    assert backend.belongs_to_key(x509.load_pem_x509_certificate((tmp_path / 'cert.pem').read_bytes()).public_key(), new_key)


@pytest.mark.parametrize('mode, key_mode, cert_mode', [
    ('0640', 0o640, 0o640),
    (0o600, 0o600, 0o600),
    ('u=rw,g=r', 0o640, 0o644),  # symbolic: classes not named keep the default (key 0600, certificate 0644)
])
def test_explicit_mode_applies_to_every_file(tmp_path, mode, key_mode, cert_mode):
    run(tmp_path, mode=mode)
    assert snapshot(tmp_path)['key.pem'][2] == key_mode and snapshot(tmp_path)['cert.pem'][2] == cert_mode
    again = run(tmp_path, mode=mode)
    assert not again['changed']


@pytest.mark.parametrize('mode, shown', [('0644', '0644'), (0o604, '0604'), ('o+r', '0604'), ('a=rw', '0666')])
def test_mode_opening_the_key_to_others_is_refused(tmp_path, mode, shown):
    with pytest.raises(InputError) as exc:
        run(tmp_path, mode=mode)
    assert str(exc.value).startswith('mode %s would let every user on the host read or change the private key %s.'
                                     % (shown, tmp_path / 'key.pem'))
    assert os.listdir(tmp_path) == []


def test_mode_change_alone_is_a_change_and_predicted(tmp_path):
    run(tmp_path)
    os.chmod(tmp_path / 'cert.pem', 0o600)
    result = run(tmp_path, check_mode=True, diff=True)
    assert result['changed'] and stat.S_IMODE(os.stat(tmp_path / 'cert.pem').st_mode) == 0o600
    assert result['diff'] == [{'before_header': str(tmp_path / 'cert.pem'), 'after_header': str(tmp_path / 'cert.pem'),
                               'before': dict(result['diff'][0]['before']), 'after': dict(result['diff'][0]['after'])}]
    assert (result['diff'][0]['before']['mode'], result['diff'][0]['after']['mode']) == ('0600', '0644')
    result = run(tmp_path)
    assert result['changed'] and stat.S_IMODE(os.stat(tmp_path / 'cert.pem').st_mode) == 0o644


def test_mode_that_is_not_a_mode_is_refused(tmp_path):
    with pytest.raises(InputError) as exc:
        run(tmp_path, mode='rw-r-----')
    assert str(exc.value) == 'mode "rw-r-----" is neither an octal mode such as 0640 nor a symbolic mode such as u=rw,g=r.'
    assert os.listdir(tmp_path) == []


def test_existing_key_mode_is_tightened_without_rewriting(tmp_path):
    run(tmp_path)
    key_path = tmp_path / 'key.pem'
    content, inode = key_path.read_bytes(), os.stat(key_path).st_ino
    os.chmod(key_path, 0o644)
    result = run(tmp_path)
    assert result['changed'] and stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert key_path.read_bytes() == content and os.stat(key_path).st_ino == inode


def test_directory_problems_fail_before_writing(tmp_path):
    (tmp_path / 'dir.pem').mkdir()
    with pytest.raises(InputError) as exc:
        run(tmp_path, certificate_path=str(tmp_path / 'dir.pem'))
    assert str(exc.value) == 'certificate_path %s is a directory. Give the path of a file, for example %s.' % (
        tmp_path / 'dir.pem', tmp_path / 'dir.pem' / 'salesforce.crt')
    (tmp_path / 'afile').write_text('x')
    with pytest.raises(InputError) as exc:
        run(tmp_path, csr_path=str(tmp_path / 'afile' / 'req.csr'))
    assert str(exc.value).startswith('The directory of csr_path, %s, does not exist or is not a directory.' % (tmp_path / 'afile'))
    assert sorted(os.listdir(tmp_path)) == ['afile', 'dir.pem']


# ---------------------------------------------------------------- create_directories

def test_missing_directories_created_0700_only_by_a_real_run(tmp_path):
    nested = tmp_path / 'a' / 'b'
    paths = {'private_key_path': str(nested / 'key.pem'), 'certificate_path': str(tmp_path / 'c' / 'cert.pem'),
             'csr_path': str(nested / 'req.csr'), 'create_directories': True}
    result = run(tmp_path, check_mode=True, **paths)
    assert result['changed'] and os.listdir(tmp_path) == []
    old_umask = os.umask(0o022)
    try:
        result = run(tmp_path, **paths)
    finally:
        os.umask(old_umask)
    assert result['changed']
    for directory in (tmp_path / 'a', nested, tmp_path / 'c'):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700, directory
    assert sorted(os.listdir(nested)) == ['key.pem', 'req.csr'] and os.listdir(tmp_path / 'c') == ['cert.pem']
    assert stat.S_IMODE(os.stat(nested / 'key.pem').st_mode) == 0o600
    for check_mode in (True, False):
        assert not run(tmp_path, check_mode=check_mode, **paths)['changed']


@pytest.mark.parametrize('make, passphrase, message', [
    (lambda: ec.generate_private_key(ec.SECP256R1()), None, 'is an EC key'),
    (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), 'wrong', 'is not encrypted, but a passphrase'),
])
def test_unusable_existing_key_creates_no_directory(tmp_path, make, passphrase, message):
    key_path = tmp_path / 'existing.key'
    key_path.write_bytes(backend.private_key_pem(make()))
    with pytest.raises(InputError) as exc:
        run(tmp_path, private_key_path=str(key_path), certificate_path=str(tmp_path / 'new' / 'cert.pem'),
            csr_path=str(tmp_path / 'new' / 'sub' / 'req.csr'), private_key_passphrase=passphrase, create_directories=True)
    assert message in str(exc.value)
    assert os.listdir(tmp_path) == ['existing.key']


@pytest.mark.parametrize('managed', ['private_key_path', 'certificate_path'])
def test_a_fifo_where_a_file_is_managed_fails_at_once_and_changes_nothing(tmp_path, managed):
    """A read that would block (a FIFO without a writer) is refused at once, not waited on."""
    paths = {'private_key_path': str(tmp_path / 'key.pem'), 'certificate_path': str(tmp_path / 'cert.pem')}
    os.mkfifo(paths[managed])
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: pytest.fail('blocked on the FIFO'))
    signal.alarm(5)
    try:
        with pytest.raises(InputError) as exc:
            run(tmp_path, **paths)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert str(exc.value) == ('%s %s exists but is not a regular file. Remove it or choose another path.'
                              % (managed, paths[managed]))
    assert os.listdir(tmp_path) == [os.path.basename(paths[managed])]


def test_bad_options_create_no_directory(tmp_path):
    with pytest.raises(InputError):
        run(tmp_path, private_key_path=str(tmp_path / 'new' / 'key.pem'), certificate_path=str(tmp_path / 'new' / 'cert.pem'),
            valid_days=0, create_directories=True)
    assert os.listdir(tmp_path) == []


def test_directory_that_cannot_be_created_fails_before_writing(tmp_path):
    (tmp_path / 'afile').write_text('x')
    with pytest.raises(InputError) as exc:
        run(tmp_path, certificate_path=str(tmp_path / 'afile' / 'sub' / 'cert.pem'), create_directories=True)
    assert str(exc.value) == ('The directory of certificate_path, %s, cannot be created: %s exists and is not a directory. '
                              'Fix the path.' % (tmp_path / 'afile' / 'sub', tmp_path / 'afile'))
    assert sorted(os.listdir(tmp_path)) == ['afile']


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write anywhere')
def test_directory_in_an_unwritable_parent_fails_before_writing(tmp_path):
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(InputError) as exc:
            run(tmp_path, certificate_path=str(locked / 'sub' / 'cert.pem'), create_directories=True)
    finally:
        locked.chmod(0o700)
    assert str(exc.value) == ('Cannot create the directory %s for certificate_path %s: the directory %s is not writable by '
                              'this user. Use become, or choose a directory this user can write to.'
                              % (locked / 'sub', locked / 'sub' / 'cert.pem', locked))
    assert os.listdir(tmp_path) == ['locked'] and os.listdir(locked) == []


# ---------------------------------------------------------------- temporary files of killed runs

def temporary(directory, name, random_part, age=0):
    path = directory / ('.%s.%s.tmp' % (name, random_part))
    path.write_bytes(b'-----BEGIN ENCRYPTED PRIVATE KEY-----\npartial')
    path.chmod(0o600)
    if age:
        when = os.stat(path).st_mtime - age
        os.utime(path, (when, when))
    return path


def test_stale_temporary_files_removed_by_the_next_real_run_only(tmp_path):
    run(tmp_path)
    stale = temporary(tmp_path, 'key.pem', 'k1ll3d_a', age=3601)
    stale_cert = temporary(tmp_path, 'cert.pem', 'k1ll3d_b', age=7200)
    young = temporary(tmp_path, 'key.pem', 'y0ung__a', age=60)
    not_ours = [temporary(tmp_path, 'key.pem', 'backup', age=7200), temporary(tmp_path, 'other.pem', 'k1ll3d_c', age=7200)]
    assert not run(tmp_path, check_mode=True)['changed'] and stale.exists() and stale_cert.exists()
    assert not run(tmp_path)['changed']  # leftovers are not managed state: removing them is no change
    assert not stale.exists() and not stale_cert.exists()
    assert young.exists() and all(path.exists() for path in not_ours)


def test_stale_temporary_file_still_locked_by_its_writer_is_kept(tmp_path):
    run(tmp_path)
    held = temporary(tmp_path, 'key.pem', 'h3ld_by_', age=7200)
    with open(held, 'rb') as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # as a running write_file_atomic holds it
        run(tmp_path)
        assert held.exists()
    run(tmp_path)
    assert not held.exists()


def test_in_flight_write_is_never_taken_for_a_leftover(tmp_path, monkeypatch):
    target = tmp_path / 'key.pem'
    seen = []
    real_fsync = os.fsync

    def fsync_then_sweep(fd):
        real_fsync(fd)
        if not seen:  # the temporary file's fsync: the write is in flight
            seen.append([name for name in os.listdir(tmp_path) if name.endswith('.tmp')])
            seen.append(remove_stale_temp_files(str(target), max_age=0))

    monkeypatch.setattr(os, 'fsync', fsync_then_sweep)
    write_file_atomic(str(target), b'new content')
    assert len(seen[0]) == 1 and seen[1] == []
    assert target.read_bytes() == b'new content' and os.listdir(tmp_path) == ['key.pem']
