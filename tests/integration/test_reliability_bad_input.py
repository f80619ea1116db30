# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bad input across the modules, the lookup and the role, in one playbook run: every case fails with a message that
names the problem, and the workspace the cases point at is unchanged afterwards (names, sizes, sha256, modes):
nothing created, changed or lost."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import stat
import subprocess

import jwt
import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from fake_org.pytest_plugin import DEFAULT_PERMISSION_SET, generate_key_and_certificate

PASSPHRASE = 'bad-input-Passphrase-61c2'
WRONG_PASSPHRASE = 'wrong-Passphrase-a7e0'
MISMATCH_CONSUMER_KEY = 'MISMATCHCONSUMERKEY01'
# Above the fake org's 32 MiB request limit, as Salesforce refuses huge requests.
HUGE_SIZE = 33 * 1024 * 1024


def snapshot(root):
    """{relative path: (type, mode, size, sha256)} of root and everything under it."""
    paths = [str(root)]
    for directory, dirnames, filenames in os.walk(root):
        paths += [os.path.join(directory, name) for name in dirnames + filenames]
    state = {}
    for path in paths:
        info = os.lstat(path)
        digest = None
        if stat.S_ISREG(info.st_mode):
            with open(path, 'rb') as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
        kind = 'dir' if stat.S_ISDIR(info.st_mode) else 'file'
        state[os.path.relpath(path, root)] = (kind, stat.S_IMODE(info.st_mode), info.st_size if digest else None, digest)
    return state


def private_pem(key, passphrase=None):
    encryption = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def expired_certificate(key_pem):
    key = serialization.load_pem_private_key(key_pem, password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'expired')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now - datetime.timedelta(days=35)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def unwritable_dir(tmp_path):
    """(path, unwritable) of a directory nobody may write to: mode 0500, and immutable when running as root.

    unwritable is False when running as root on a filesystem without chattr +i: the cases that need it are not checked.
    """
    path = tmp_path / 'workspace' / 'locked'
    path.mkdir(parents=True)
    path.chmod(0o500)
    immutable = False
    if os.geteuid() == 0:
        immutable = subprocess.run(['chattr', '+i', str(path)], capture_output=True, check=False).returncode == 0
    yield path, immutable or os.geteuid() != 0
    if immutable:
        subprocess.run(['chattr', '-i', str(path)], check=True)
    path.chmod(0o700)


def make_workspace(ws, app):
    inputs = ws / 'inputs'
    inputs.mkdir()
    (ws / 'out').mkdir()
    (ws / 'keydir').mkdir()
    files = {}

    def write(name, data, mode=0o600):
        path = inputs / name
        path.write_bytes(data)
        path.chmod(mode)
        files[name] = str(path)
        return str(path)

    plain_key = serialization.load_pem_private_key(app.private_key_pem, password=None)
    write('server.key', app.private_key_pem)
    write('server.crt', app.certificate_pem, 0o644)
    write('encrypted.key', private_pem(plain_key, PASSPHRASE))
    write('ec.key', private_pem(ec.generate_private_key(ec.SECP256R1())))
    write('small.key', private_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    write('malformed.key', b'-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n')
    dummy, other_cert = generate_key_and_certificate('other-key')
    write('other.crt', other_cert, 0o644)
    write('expired.crt', expired_certificate(app.private_key_pem), 0o644)
    return files, other_cert


# Every case (task "case: <name>" in the playbook): what its message must contain; {name} stands for a variable.
CASES = {
    'certificate, missing common_name': ['missing required arguments: common_name'],
    'certificate, empty common_name': ['common_name is empty.'],
    'certificate, malformed PEM key': ['The private key {malformed_key} could not be read as a PEM private key (damaged or not a key).',
                                       'The existing key was left untouched.'],
    'certificate, encrypted key without passphrase': ['The private key {encrypted_key} is encrypted and no passphrase was given. '
                                                      'Set private_key_passphrase.'],
    'certificate, wrong passphrase': ['The passphrase does not open the private key {encrypted_key} (wrong private_key_passphrase).'],
    'certificate, EC key': ['The private key {ec_key} is an EC key; Salesforce signs the JWT Bearer Flow with RS256 and needs an '
                            'RSA key of at least 2048 bits.'],
    'certificate, 1024-bit key': ['The private key {small_key} is an RSA key of 1024 bits; at least 2048 bits are required.'],
    'certificate, key_size 1024': ['value of key_size must be one of: 2048, 3072, 4096, got: 1024'],
    'certificate, unwritable directory': ['Cannot write private_key_path {ws}/locked/server.key: the directory {ws}/locked is not '
                                          'writable by this user.'],
    'certificate, key path is a directory': ['private_key_path {ws}/keydir is a directory.'],
    'token, missing consumer_key': ['consumer_key is required', 'SFJWT_CONSUMER_KEY'],
    'token, empty username': ['username is required', 'SFJWT_USERNAME'],
    'token, consumer key with spaces': ['{ck_spaced}', re.compile(r'consumer_key\b.*\bspace', re.I)],
    'token, non-https login_url': ['login_url {http_url} uses http://, but Salesforce accepts token requests only over HTTPS. '
                                   'Use {url}.'],
    'token, key/certificate mismatch': ['(invalid_grant: invalid assertion)', 'The certificate {other_cert} (SHA-256 fingerprint ',
                                        'does not belong to this key either'],
    'token, key path is a directory': ['private_key_path {ws}/keydir is a directory; point it at the private key file.'],
    'token, unwritable cache directory': ['Cannot create the token cache directory {ws}/locked/cache: ', 'Set cache_dir'],
    'lookup, malformed PEM content': ['the private_key option could not be read as a PEM private key (damaged or not a key).'],
    'lookup, 1024-bit key': ['the private key {small_key} is an RSA key of 1024 bits; at least 2048 bits are required.'],
    'lookup, encrypted key, wrong passphrase': ['the passphrase does not open the private key {encrypted_key} '
                                                '(wrong private_key_passphrase).'],
    'lookup, non-https login_url': ["login_url '{ftp_url}' is not an https:// URL."],
    'lookup, unknown output': ['refresh_token', 'output'],
    'rest, missing path': ['one of the following is required: path, query, query_all'],
    'rest, empty path': ['path is empty'],
    'rest, bad api_version': ["api_version 'sixty-two' is not a Salesforce API version: use latest, or the form NN.N"],
    'rest, SOQL error': ['GET /services/data/v62.0/query answered HTTP 400', "INVALID_FIELD: No such column 'NoSuchField__c' on "
                         "entity 'Account'"],
    'rest, body that is not JSON': ['body is a string but not valid JSON'],
    'rest, huge body': [re.compile(r'\b413\b|too large|TOO_LARGE', re.I)],
    'app_metadata, consumer key with spaces': ['consumer_key must be 8 to 256 letters and digits'],
    'app_metadata, expired certificate': ['{expired_cert}', re.compile(r'expired', re.I)],
    'app_metadata, empty contact_email': ["contact_email '' is not an e-mail address"],
    'app_metadata, bad api_version': ["api_version '62' is not a Salesforce API version"],
    'role, empty contact_email': ['Check that the app has a contact e-mail: sfjwt_provision_contact_email is empty'],
    'role, key_size 1024': ['Validation of arguments failed', 'value of sfjwt_provision_key_size must be one of: 2048, 3072, 4096, '
                            'got: 1024'],
    'role, EC key': ['The private key {ec_key} is an EC key'],
    'role, wrong passphrase': ['The passphrase does not open the private key {encrypted_key} (wrong private_key_passphrase).'],
    'role, consumer key with spaces': ['consumer_key must be 8 to 256 letters and digits'],
}


def describe_changes(before, after):
    problems = []
    for path in sorted(set(after) - set(before)):
        problems.append('created: %s %s' % (path, after[path][0]))
    for path in sorted(set(before) - set(after)):
        problems.append('lost: %s' % path)
    for path in sorted(set(before) & set(after)):
        if before[path] != after[path]:
            problems.append('changed: %s %r -> %r' % (path, before[path], after[path]))
    return problems


UNWRITABLE_CASES = ('certificate, unwritable directory', 'token, unwritable cache directory')


def test_bad_input_fails_clearly_and_touches_nothing(ansible, fake_org_app, tmp_path, unwritable_dir):
    app, org = fake_org_app, fake_org_app.org
    locked, unwritable = unwritable_dir
    ws = locked.parent
    files, other_cert = make_workspace(ws, app)
    org.add_app(MISMATCH_CONSUMER_KEY, other_cert, permission_sets=[DEFAULT_PERMISSION_SET])
    variables = {
        'ws': str(ws), 'url': app.url, 'ca': app.ca_path, 'ck': app.consumer_key, 'user': app.username,
        'key': files['server.key'], 'cert': files['server.crt'], 'encrypted_key': files['encrypted.key'],
        'wrong_passphrase': WRONG_PASSPHRASE, 'ec_key': files['ec.key'], 'small_key': files['small.key'],
        'malformed_key': files['malformed.key'], 'other_cert': files['other.crt'], 'expired_cert': files['expired.crt'],
        'mismatch_ck': MISMATCH_CONSUMER_KEY, 'huge_size': HUGE_SIZE,
    }
    vars_path = tmp_path / 'bad-input-vars.json'
    vars_path.write_text(json.dumps(variables))
    vars_path.chmod(0o600)

    before = snapshot(ws)
    run = ansible.playbook('reliability_bad_input.yml', extra_args=('-e', '@%s' % vars_path), timeout=600)
    after = snapshot(ws)
    assert run.rc == 0, run.output

    values = dict(variables, http_url=app.url.replace('https://', 'http://'), ftp_url=app.url.replace('https://', 'ftp://'),
                  ck_spaced=app.consumer_key[:10] + ' ' + app.consumer_key[10:])
    ran = sorted({record['task'][len('case: '):] for record in run.records if record['task'].startswith('case: ')})
    assert ran == sorted(CASES), 'cases in the playbook and in CASES differ'
    problems = []
    for case, fragments in CASES.items():
        if case in UNWRITABLE_CASES and not unwritable:
            continue  # root without chattr: nothing is unwritable; these cases are left unchecked
        result = run.result('case: ' + case)
        # a role case is the rescue's report of the role's failure: that the rescue ran shows the role failed
        if not case.startswith('role, ') and run.status('case: ' + case) != 'failed':
            problems.append('%s: did not fail' % case)
            continue
        message = result.get('msg', '')
        for fragment in fragments:
            if isinstance(fragment, re.Pattern):
                found = fragment.search(message)
            else:
                fragment = fragment.format(**values)
                found = fragment in message
            if not found:
                problems.append('%s: %r not in the message:\n    %s' % (case, getattr(fragment, 'pattern', fragment), message))
    if not unwritable:
        before, after = ({path: value for path, value in state.items() if not path.startswith('locked')} for state in (before, after))
    problems += describe_changes(before, after)
    # a consumer key that cannot be right is refused before Salesforce counts a login for it
    spaced = [entry for entry in org.received_log() if entry['path'] == '/services/oauth2/token'
              and ' ' in jwt.decode(entry['form']['assertion'], options={'verify_signature': False})['iss']]
    if spaced:
        problems.append('token, consumer key with spaces: %d token request(s) sent to Salesforce' % len(spaced))
    assert WRONG_PASSPHRASE not in run.output and PASSPHRASE not in run.output
    assert not problems, '\n'.join(problems)
