# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt.salesforce.certificate through ansible-playbook and the installed collection; files checked with openssl."""

from __future__ import annotations

import base64
import datetime
import grp
import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

LIFECYCLE_PASSPHRASE = 'lifecycle-Passphrase-7f3e'
OLD_PASSPHRASE = 'old-Passphrase-91ab'
NEW_PASSPHRASE = 'new-Passphrase-5c2d'
RIGHT_PASSPHRASE = 'right-Passphrase-e41c'
WRONG_PASSPHRASE = 'wrong-Passphrase-0b9a'
SURPLUS_PASSPHRASE = 'surplus-Passphrase-77d1'

REPLACE_HINT = ('The existing key was left untouched. Setting regenerate_key=true replaces it with a new key (the old one '
                'is kept as a backup), which breaks the Salesforce app binding until the new certificate is uploaded to the app.')


def secret_vars(tmp_path, **values):
    """Extra vars from a file, as users pass secrets (a vault file): the -vvvv echo of the command line shows only its path."""
    path = tmp_path / 'secret-vars.json'
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return ('-e', '@%s' % path)


def openssl(*args, check=True):
    proc = subprocess.run(('openssl',) + args, capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, 'openssl %s failed:\n%s%s' % (' '.join(args), proc.stdout, proc.stderr)
    return proc


def openssl_date(text):
    """'notAfter=Nov 28 18:00:14 2027 GMT' -> '2027-11-28T18:00:14Z'."""
    value = datetime.datetime.strptime(text.split('=', 1)[1].strip(), '%b %d %H:%M:%S %Y %Z')
    return value.strftime('%Y-%m-%dT%H:%M:%SZ')


def load_certificate(path):
    with open(path, 'rb') as handle:
        return x509.load_pem_x509_certificate(handle.read())


def name_of(name):
    """[(attribute OID, value)] of an X.509 name, in its order: the same on every OpenSSL (whose -text layout changes)."""
    return [(attribute.oid, attribute.value) for attribute in name]


def rsa_bits(cert_or_csr):
    return cert_or_csr.public_key().key_size


def assert_key_matches_certificate(key_path, cert_path, passphrase=None):
    passin = ('-passin', 'pass:' + passphrase) if passphrase else ()
    key_public = openssl('pkey', '-in', key_path, '-pubout', *passin).stdout
    cert_public = openssl('x509', '-in', cert_path, '-noout', '-pubkey').stdout
    assert key_public == cert_public and 'BEGIN PUBLIC KEY' in key_public


def assert_verifies(cert_path):
    assert openssl('verify', '-CAfile', cert_path, cert_path).stdout.strip() == '%s: OK' % cert_path


def assert_opens_only_with(key_path, passphrase):
    assert openssl('pkey', '-in', key_path, '-noout', '-passin', 'pass:' + passphrase).returncode == 0
    assert openssl('pkey', '-in', key_path, '-noout', '-passin', 'pass:not-' + passphrase, check=False).returncode != 0
    assert openssl('pkey', '-in', key_path, '-noout', '-passin', 'pass:', check=False).returncode != 0


def files_state(run, task):
    """(directory listing, {name: inode, mtime, mode, owner, group, sha256}) from a playbook's files_state snapshot."""
    listing, states = [], {}
    for line in run.result(task)['msg'].splitlines():
        fields = line.split()
        if len(fields) == 8:  # stat -c '%n %i %y %a %U %G'; %y is "date time zone"
            states[fields[0]] = {'inode': fields[1], 'mtime': ' '.join(fields[2:5]), 'mode': fields[5], 'owner': fields[6], 'group': fields[7]}
        elif len(fields) == 2:  # sha256sum
            states[fields[1]]['sha256'] = fields[0]
        else:
            listing.append(line)
    return sorted(listing), states


def identity(file_state):
    return file_state['inode'], file_state['mtime'], file_state['sha256']


def other_account():
    for name in ('daemon', 'nobody', 'bin'):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return name, grp.getgrgid(user.pw_gid).gr_name
    pytest.skip('no unprivileged account on this host')


def test_lifecycle_check_real_idempotent_and_openssl(ansible, tmp_path):
    if os.geteuid() != 0:
        pytest.skip('changing owner and group needs root')
    owner, group = other_account()
    directory = tmp_path / 'certs'
    directory.mkdir()
    run = ansible.playbook('certificate_lifecycle.yml', verbosity=4,
                           extra_vars={'dir': str(directory), 'other_owner': owner, 'other_group': group},
                           extra_args=secret_vars(tmp_path, passphrase=LIFECYCLE_PASSPHRASE))
    assert run.rc == 0, run.output
    key, cert, csr = str(directory / 'sf.key'), str(directory / 'sf.crt'), str(directory / 'sf.csr')

    # check mode predicts, writes nothing
    check = run.result('Create (check)')
    assert check['changed'] is True
    assert check['certificate'] is None and check['fingerprint_sha256'] is None
    assert [d['after_header'] for d in check['diff']] == ['%s (create: the file does not exist)' % path for path in (key, cert, csr)]
    assert check['diff'][0]['after'] == {'key_size': 2048, 'encrypted': True, 'public_key_sha256': '(new key)'}
    assert run.result('Files after check mode')['msg'] == ''

    created = run.result('Create')
    assert created['changed'] is True
    assert (created['private_key_path'], created['certificate_path'], created['csr_path']) == (key, cert, csr)
    listing, files = files_state(run, 'Files after create')
    assert listing == ['sf.crt', 'sf.csr', 'sf.key']
    assert (files['sf.key']['mode'], files['sf.crt']['mode'], files['sf.csr']['mode']) == ('600', '644', '644')
    assert created['diff'][1]['after']['fingerprint_sha256'] == created['fingerprint_sha256']

    # idempotent: same answers, files untouched
    for task in ('Create again (check)', 'Create again'):
        again = run.result(task)
        assert again['changed'] is False and again['diff'] == []
        for name in ('certificate', 'certificate_body', 'fingerprint_sha256', 'serial_number', 'not_before', 'not_after'):
            assert again[name] == created[name]
    listing, after_again = files_state(run, 'Files after create again')
    assert listing == ['sf.crt', 'sf.csr', 'sf.key']
    assert {name: identity(s) for name, s in after_again.items()} == {name: identity(s) for name, s in files.items()}

    # file options: predicted, applied, idempotent
    assert run.result('Permissions (check)')['changed'] is True
    assert files_state(run, 'Files after permissions check') == files_state(run, 'Files after create again')
    perms = run.result('Permissions')
    assert perms['changed'] is True
    assert {(d['before']['mode'], d['after']['mode'], d['after']['owner']) for d in perms['diff']} == {
        ('0600', '0640', pwd.getpwnam(owner).pw_uid), ('0644', '0640', pwd.getpwnam(owner).pw_uid)}
    assert run.result('Permissions again')['changed'] is False

    forced = run.result('Force keeps key and ownership')
    assert forced['changed'] is True and forced['serial_number'] != created['serial_number']
    assert 'certificate_backup_file' not in forced
    listing, final = files_state(run, 'Files at the end')
    for name in ('sf.key', 'sf.crt', 'sf.csr'):
        assert (final[name]['mode'], final[name]['owner'], final[name]['group']) == ('640', owner, group), name
    assert identity(final['sf.key']) == identity(after_again['sf.key'])
    assert identity(final['sf.csr']) == identity(after_again['sf.csr'])
    assert final['sf.crt']['inode'] != after_again['sf.crt']['inode']
    assert listing == ['sf.crt', 'sf.csr', 'sf.key'] == sorted(os.listdir(directory))

    # what the certificate holds (parsed with cryptography), and what openssl verifies
    parsed = load_certificate(cert)
    oid = x509.oid.NameOID
    subject = [(oid.COUNTRY_NAME, 'US'), (oid.STATE_OR_PROVINCE_NAME, 'California'), (oid.LOCALITY_NAME, 'San Francisco'),
               (oid.ORGANIZATION_NAME, 'Acme Corp'), (oid.ORGANIZATIONAL_UNIT_NAME, 'Platform'),
               (oid.COMMON_NAME, 'lifecycle.example.com'), (oid.EMAIL_ADDRESS, 'ops@example.com')]
    assert name_of(parsed.subject) == subject and name_of(parsed.issuer) == subject
    assert parsed.signature_algorithm_oid == x509.oid.SignatureAlgorithmOID.RSA_WITH_SHA256
    assert rsa_bits(parsed) == 2048
    assert parsed.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert_verifies(cert)
    assert_key_matches_certificate(key, cert, LIFECYCLE_PASSPHRASE)
    assert_opens_only_with(key, LIFECYCLE_PASSPHRASE)
    assert open(key).read().startswith('-----BEGIN ENCRYPTED PRIVATE KEY-----')
    assert forced['certificate'] == open(cert).read()
    fingerprint = openssl('x509', '-in', cert, '-noout', '-fingerprint', '-sha256').stdout.strip()
    assert fingerprint.split('=', 1)[1] == forced['fingerprint_sha256']
    serial = openssl('x509', '-in', cert, '-noout', '-serial').stdout.strip().split('=', 1)[1]
    assert int(serial, 16) == forced['serial_number']
    assert openssl_date(openssl('x509', '-in', cert, '-noout', '-startdate').stdout) == forced['not_before']
    assert openssl_date(openssl('x509', '-in', cert, '-noout', '-enddate').stdout) == forced['not_after']
    not_before = datetime.datetime.strptime(forced['not_before'], '%Y-%m-%dT%H:%M:%SZ')
    not_after = datetime.datetime.strptime(forced['not_after'], '%Y-%m-%dT%H:%M:%SZ')
    assert not_after - not_before == datetime.timedelta(days=400)
    der = subprocess.run(['openssl', 'x509', '-in', cert, '-outform', 'DER'], capture_output=True, check=True).stdout
    assert forced['certificate_body'] == base64.b64encode(der).decode()
    assert '\n' not in forced['certificate_body'] and '-----' not in forced['certificate_body']
    assert openssl('req', '-in', csr, '-noout', '-verify').returncode == 0
    with open(csr, 'rb') as handle:
        assert name_of(x509.load_pem_x509_csr(handle.read()).subject) == subject
    assert openssl('req', '-in', csr, '-noout', '-pubkey').stdout == openssl('x509', '-in', cert, '-noout', '-pubkey').stdout

    # no secret in what the user sees, even at -vvvv
    key_lines = open(key).read().splitlines()[1:-1]
    assert LIFECYCLE_PASSPHRASE not in run.output and 'PRIVATE KEY' not in run.output
    assert not any(line in run.output for line in key_lines)
    assert LIFECYCLE_PASSPHRASE not in json.dumps(run.records) and 'PRIVATE KEY' not in json.dumps(run.records)


def make_certificate(key_pem, common_name, not_before, days):
    key = serialization.load_pem_private_key(key_pem, password=None)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before)
            .not_valid_after(not_before + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_renewal_keeps_the_key(ansible, tmp_path):
    directory = tmp_path / 'certs'
    directory.mkdir()
    key = directory / 'key.pem'
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', str(key))
    key_pem = key.read_bytes()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    expiring = make_certificate(key_pem, 'renewal', now - datetime.timedelta(days=355), 365)  # 10 days left
    (directory / 'expiring.crt').write_bytes(expiring)
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', os.devnull, '-subj', '/O=New Org/CN=renewal2',
            '-days', '730', '-out', str(directory / 'foreign.crt'))

    run = ansible.playbook('certificate_renewal.yml', extra_vars={'dir': str(directory)})
    assert run.rc == 0, run.output

    assert run.result('Expiring (check)')['changed'] is True
    assert run.result('Expiring (check)')['not_after'] is None
    renewed = run.result('Expiring')
    assert renewed['changed'] is True
    assert renewed['not_after'] > (now + datetime.timedelta(days=364)).strftime('%Y-%m-%dT%H:%M:%SZ')
    for task in ('Kept (check)', 'Kept'):
        assert run.result(task)['changed'] is False
        assert run.result(task)['fingerprint_sha256'] == renewed['fingerprint_sha256']

    subject_check = run.result('Subject (check)')
    assert subject_check['changed'] is True and 'certificate_backup_file' not in subject_check
    assert subject_check['diff'][0]['after_header'].endswith('(replace: its subject is CN=renewal, the options ask for O=New Org, CN=renewal2)')
    assert subject_check['diff'][0]['before']['fingerprint_sha256'] == renewed['fingerprint_sha256']
    subject = run.result('Subject')
    assert subject['changed'] is True
    backup = subject['certificate_backup_file']
    assert backup.startswith(str(directory / 'cert.pem.')) and open(backup).read() == renewed['certificate']
    assert run.result('Subject again')['changed'] is False

    validity = run.result('Validity')
    assert validity['changed'] is True and validity['serial_number'] != subject['serial_number']
    span = (datetime.datetime.strptime(validity['not_after'], '%Y-%m-%dT%H:%M:%SZ')
            - datetime.datetime.strptime(validity['not_before'], '%Y-%m-%dT%H:%M:%SZ'))
    assert span == datetime.timedelta(days=730)
    assert run.result('Validity again')['changed'] is False

    forced = run.result('Force')
    assert forced['changed'] is True and forced['serial_number'] != validity['serial_number']

    assert run.result('Foreign (check)')['changed'] is True
    foreign = run.result('Foreign')
    assert foreign['changed'] is True and 'certificate_backup_file' not in foreign
    assert run.result('Foreign again')['changed'] is False
    assert foreign['certificate'] == (directory / 'cert.pem').read_text()

    # the key was never rewritten
    start, end = files_state(run, 'Key at the start')[1]['key.pem'], files_state(run, 'Key at the end')[1]['key.pem']
    assert identity(start) == identity(end) and key.read_bytes() == key_pem
    assert_key_matches_certificate(str(key), str(directory / 'cert.pem'))
    assert_verifies(str(directory / 'cert.pem'))
    assert name_of(load_certificate(directory / 'cert.pem').subject) == [
        (x509.oid.NameOID.ORGANIZATION_NAME, 'New Org'), (x509.oid.NameOID.COMMON_NAME, 'renewal2')]
    assert sorted(os.listdir(directory)) == sorted(['key.pem', 'cert.pem', 'expiring.crt', 'foreign.crt', os.path.basename(backup)])


def test_regenerate_key_replaces_only_on_request_and_keeps_backups(ansible, tmp_path):
    directory = tmp_path / 'certs'
    directory.mkdir()
    run = ansible.playbook('certificate_regenerate.yml', extra_vars={'dir': str(directory)},
                           extra_args=secret_vars(tmp_path, old_passphrase=OLD_PASSPHRASE, new_passphrase=NEW_PASSPHRASE))
    assert run.rc == 0, run.output
    key, cert, csr = str(directory / 'sf.key'), str(directory / 'sf.crt'), str(directory / 'sf.csr')
    created = run.result('Create')

    assert run.status('Other key size refused') == 'failed'
    assert run.result('Other key size refused')['msg'] == (
        'The private key %s is a 2048-bit RSA key, but key_size is 3072. Set key_size to 2048 to keep using it. %s' % (key, REPLACE_HINT))
    assert run.status('Other passphrase refused') == 'failed'
    assert run.result('Other passphrase refused')['msg'] == (
        'The passphrase does not open the private key %s (wrong private_key_passphrase). %s' % (key, REPLACE_HINT))
    listing, after_refusals = files_state(run, 'Files after refusals')
    assert listing == ['sf.crt', 'sf.csr', 'sf.key']
    assert after_refusals['sf.crt']['sha256'] == hashlib.sha256(created['certificate'].encode()).hexdigest()
    assert files_state(run, 'Files after regenerate check') == (listing, after_refusals)

    check = run.result('Regenerate (check)')
    assert check['changed'] is True and 'private_key_backup_file' not in check
    assert check['warnings'] == ['The private key %s would be replaced: upload the new certificate %s to the Salesforce app, '
                                 'or the JWT Bearer Flow fails until then.' % (key, cert)]
    # the new passphrase does not open the old key: regenerate_key replaces it anyway
    assert check['diff'][0]['before'] == {'usable': False} and check['diff'][0]['after']['key_size'] == 3072

    regenerated = run.result('Regenerate')
    assert regenerated['changed'] is True
    assert regenerated['warnings'] == ['The private key %s was replaced: upload the new certificate %s to the Salesforce app, '
                                       'or the JWT Bearer Flow fails until then.' % (key, cert)]
    key_backup = regenerated['private_key_backup_file']
    cert_backup = regenerated['certificate_backup_file']
    csr_backup = regenerated['csr_backup_file']
    assert key_backup.startswith(key + '.') and cert_backup.startswith(cert + '.') and csr_backup.startswith(csr + '.')
    assert stat.S_IMODE(os.stat(key_backup).st_mode) == 0o600
    assert open(cert_backup).read() == created['certificate']
    assert_key_matches_certificate(key_backup, cert_backup, OLD_PASSPHRASE)
    assert_opens_only_with(key_backup, OLD_PASSPHRASE)

    for task in ('Regenerated again (check)', 'Regenerated again'):
        assert run.result(task)['changed'] is False
        assert run.result(task)['fingerprint_sha256'] == regenerated['fingerprint_sha256']
    assert regenerated['fingerprint_sha256'] != created['fingerprint_sha256']
    assert_opens_only_with(key, NEW_PASSPHRASE)
    assert rsa_bits(load_certificate(cert)) == 3072
    assert_key_matches_certificate(key, cert, NEW_PASSPHRASE)
    assert openssl('req', '-in', csr, '-noout', '-pubkey').stdout == openssl('x509', '-in', cert, '-noout', '-pubkey').stdout
    assert_verifies(cert)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    for secret in (OLD_PASSPHRASE, NEW_PASSPHRASE, 'PRIVATE KEY'):
        assert secret not in run.output and secret not in json.dumps(run.records)


def test_bad_input_and_unusable_keys_fail_clearly_and_write_nothing(ansible, tmp_path):
    directory = tmp_path / 'certs'
    (directory / 'out').mkdir(parents=True)
    (directory / 'keydir').mkdir()
    (directory / 'afile').write_text('a file, not a directory\n')
    (directory / 'garbage.pem').write_text('this is not a key\n')
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', str(directory / 'plain.pem'))
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-aes-256-cbc',
            '-pass', 'pass:' + RIGHT_PASSPHRASE, '-out', str(directory / 'enc.pem'))
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', str(directory / 'ec.pem'))
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', str(directory / 'small.pem'))
    python = directory / 'python-without-site-packages'
    python.write_text('#!/bin/sh\nexec %s -S "$@"\n' % sys.executable)
    python.chmod(0o755)
    before = {entry.name: (entry.stat().st_mtime_ns, open(entry.path, 'rb').read()) for entry in os.scandir(directory) if entry.is_file()}

    run = ansible.playbook('certificate_errors.yml', verbosity=4, extra_vars={'dir': str(directory)},
                           extra_args=secret_vars(tmp_path, wrong_passphrase=WRONG_PASSPHRASE, surplus_passphrase=SURPLUS_PASSPHRASE))
    assert run.rc == 0, run.output

    def message(task):
        assert run.status(task) == 'failed', run.result(task)
        return run.result(task)['msg']

    d = str(directory)
    assert message('Key size not allowed').startswith('value of key_size must be one of: 2048, 3072, 4096, got: 1024')
    assert message('Unknown subject key').startswith('Unsupported parameters for (sfjwt.salesforce.certificate) module: subject.CN.')
    assert message('Country not two letters') == 'subject.C must be a two-letter ISO 3166 country code such as US or DE, not "USA".'
    assert message('Valid days zero') == 'valid_days must be between 1 and 36500, not 0.'
    assert message('Renew before days not below valid days') == (
        'renew_before_days (30) must be smaller than valid_days (30), or every run would renew the certificate. '
        'Lower renew_before_days or raise valid_days.')
    assert message('Same path for key and certificate') == (
        'private_key_path and certificate_path are the same file (%s/out/key.pem); give each its own path.' % d)
    assert message('Key mode open to others') == (
        'mode 0644 would let every user on the host read or change the private key %s/out/key.pem. Leave mode unset '
        '(key 0600, certificate and CSR 0644) or give a mode without permissions for others, such as 0640.' % d)
    assert message('Key path is a directory') == (
        'private_key_path %s/keydir is a directory. Give the path of a file, for example %s/keydir/salesforce.key.' % (d, d))
    assert message('Parent of the certificate is a file') == (
        'The directory of certificate_path, %s/afile, does not exist or is not a directory. Set create_directories=true to '
        'create it (0700), create it first (ansible.builtin.file with state=directory), or fix the path.' % d)
    assert message('Wrong passphrase') == (
        'The passphrase does not open the private key %s/enc.pem (wrong private_key_passphrase). %s' % (d, REPLACE_HINT))
    assert message('Missing passphrase') == (
        'The private key %s/enc.pem is encrypted and no passphrase was given. Set private_key_passphrase. %s' % (d, REPLACE_HINT))
    assert message('Passphrase for an unencrypted key') == (
        'The private key %s/plain.pem is not encrypted, but a passphrase was given. Remove private_key_passphrase, '
        'or encrypt the key. %s' % (d, REPLACE_HINT))
    assert message('Key size differs') == (
        'The private key %s/plain.pem is a 2048-bit RSA key, but key_size is 4096. Set key_size to 2048 to keep using it. %s'
        % (d, REPLACE_HINT))
    assert message('EC key').startswith('The private key %s/ec.pem is an EC key; Salesforce signs the JWT Bearer Flow with RS256' % d)
    assert message('1024-bit key').startswith('The private key %s/small.pem is an RSA key of 1024 bits; at least 2048 bits are required.' % d)
    assert message('Garbage key') == (
        'The private key %s/garbage.pem is not a PEM private key (no "-----BEGIN" line). Give the key file written by the '
        'certificate module, or a PEM key. %s' % (d, REPLACE_HINT))
    assert message('Unusable key in check mode') == message('Garbage key')
    missing = message('Without cryptography')
    # python -S: none of the libraries imports, and the message names them all at once.
    assert missing.startswith('sfjwt.salesforce needs the Python libraries cryptography, PyJWT and requests; missing: '
                              'cryptography, PyJWT, requests. The Python that runs this module, '), missing
    assert 'Traceback' not in missing

    # nothing written: no certificate, no CSR, no new key; fixtures untouched
    assert os.listdir(directory / 'out') == [] and os.listdir(directory / 'keydir') == []
    after = {entry.name: (entry.stat().st_mtime_ns, open(entry.path, 'rb').read()) for entry in os.scandir(directory) if entry.is_file()}
    assert after == before
    for secret in (WRONG_PASSPHRASE, SURPLUS_PASSPHRASE, RIGHT_PASSPHRASE):
        assert secret not in run.output and secret not in json.dumps(run.records)


DIRECTORIES_PLAYBOOK = '''---
- name: Certificate in directories that do not exist yet
  hosts: localhost
  gather_facts: false
  module_defaults:
    sfjwt.salesforce.certificate:
      private_key_path: "{{ dir }}/new/keys/sf.key"
      certificate_path: "{{ dir }}/new/certs/sf.crt"
      common_name: directories.example.com
      create_directories: true
  tasks:
    - name: Existing EC key, certificate in a directory still to create
      sfjwt.salesforce.certificate:
        private_key_path: "{{ dir }}/ec.pem"
        certificate_path: "{{ dir }}/ec/sf.crt"
      ignore_errors: true

    - name: Create (check)
      sfjwt.salesforce.certificate: {}
      check_mode: true

    - name: Create
      sfjwt.salesforce.certificate: {}

    - name: Leftovers of a killed run, an hour old, and a write in flight
      ansible.builtin.file:
        path: "{{ dir }}/new/keys/.sf.key.{{ item.random }}.tmp"
        state: touch
        mode: "0600"
        modification_time: "{{ item.time }}"
      loop:
        - {random: k1ll3d_x, time: "202001010000.00"}
        - {random: fl1ght_x, time: now}

    - name: Create again (check)
      sfjwt.salesforce.certificate: {}
      check_mode: true

    - name: Create again
      sfjwt.salesforce.certificate: {}
'''


def test_create_directories_only_when_every_check_passed(ansible, tmp_path):
    directory = tmp_path / 'dirs'
    directory.mkdir()
    playbook = tmp_path / 'certificate_directories.yml'
    playbook.write_text(DIRECTORIES_PLAYBOOK)
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', str(directory / 'ec.pem'))

    run = ansible.playbook(playbook, extra_vars={'dir': str(directory)})
    assert run.rc == 0, run.output
    assert run.status('Existing EC key, certificate in a directory still to create') == 'failed'
    assert 'The private key %s/ec.pem is an EC key' % directory in run.result('Existing EC key, certificate in a directory still to create')['msg']
    assert not (directory / 'ec').exists()
    check = run.result('Create (check)')
    assert check['changed'] is True and check['certificate'] is None
    assert run.result('Create')['changed'] is True
    for task in ('Create again (check)', 'Create again'):
        assert run.result(task)['changed'] is False
        assert run.result(task)['fingerprint_sha256'] == run.result('Create')['fingerprint_sha256']
    for path in ('new', 'new/keys', 'new/certs'):
        assert stat.S_IMODE(os.stat(directory / path).st_mode) == 0o700, path
    # the killed run's leftover is gone, the young one (it may be a write in flight) is kept
    assert sorted(os.listdir(directory / 'new' / 'keys')) == ['.sf.key.fl1ght_x.tmp', 'sf.key']
    assert os.listdir(directory / 'new' / 'certs') == ['sf.crt']
    assert_key_matches_certificate(str(directory / 'new' / 'keys' / 'sf.key'), str(directory / 'new' / 'certs' / 'sf.crt'))
