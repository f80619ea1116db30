# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""No secret leaks: every playbook of the collection (provision, limits, rotate_certificate, also with a new key) and
token / rest / lookup tasks, all at -vvvv; then the output, the recorded results and every file written are searched
for every access token the org issued, the private keys (encrypted and plain) and the passphrases. Key material may
only be in the key files (encrypted, 0600), tokens only in the token cache (0600 entries in a 0700 directory)."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from cryptography.hazmat.primitives import serialization

USERNAME = 'integration@example.com'
PERMISSION_SET = 'SFJWT_Integration'
PASSPHRASE = 'Secrets-Passphrase-8e41d2'
WRONG_PASSPHRASE = 'Wrong-Secrets-Passphrase-3b07'


def pem_lines(pem):
    """The base64 lines of a PEM block (what a leak of the key would show), without the BEGIN/END lines."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    # the last line can be a few characters that could occur anywhere by chance
    return [line for line in text.splitlines() if len(line) >= 20 and not line.startswith('-----') and ':' not in line]


def plain_forms(encrypted_pem):
    """The key's unencrypted encodings: what would leak if the decrypted key were printed or written.

    Lines that hold only public key bytes (the modulus is in the certificate, which is public) are left out.
    """
    key = serialization.load_pem_private_key(encrypted_pem, password=PASSPHRASE.encode())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    forms = []
    for private_format in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        lines = pem_lines(key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption()))
        forms += [line for line in lines if base64.b64decode(line) not in public]
    return forms


def files_under(*roots):
    for root in roots:
        for directory, dummy, filenames in os.walk(root):
            for name in filenames:
                yield os.path.join(directory, name)


@pytest.fixture
def org(fake_org_admin, ansible):
    # provision deploys the app as the admin identity; the integration user holds nothing before
    fake_org = fake_org_admin.org
    fake_org.add_user(USERNAME)
    fake_org.admin = fake_org_admin
    return fake_org


def test_no_secret_in_output_or_files(ansible, org, tmp_path):
    workdir = ansible.workdir
    key_path = workdir / 'sfjwt' / 'server.key'
    cache_dir = workdir / 'token-cache'
    remote_tmp = workdir / 'remote-tmp'
    secret_dir = tmp_path / 'secrets'  # the test's own vars file, outside everything searched
    secret_dir.mkdir(mode=0o700)
    ansible.env.update({
        'SFJWT_LOGIN_URL': org.url, 'SFJWT_CA_PATH': org.ca_path, 'SFJWT_USERNAME': USERNAME,
        'SFJWT_CONTACT_EMAIL': 'admin@example.com',
        'SFJWT_PRIVATE_KEY_PASSPHRASE': PASSPHRASE,  # as an AWX credential injects it
        'SFJWT_ADMIN_CONSUMER_KEY': org.admin.consumer_key, 'SFJWT_ADMIN_USERNAME': org.admin.username,
        'SFJWT_ADMIN_PRIVATE_KEY_PATH': str(org.admin.key_path),
        'ANSIBLE_REMOTE_TMP': str(remote_tmp),  # module payloads (which embed the arguments) are searched too
    })

    def vars_file(name, **values):
        path = secret_dir / name
        path.write_text(json.dumps(values))
        path.chmod(0o600)
        return ('-e', '@%s' % path)

    deploy_vars = {'sfjwt_provision_permission_sets': [PERMISSION_SET], 'sfjwt_provision_create_permission_sets': True,
                   'sfjwt_provision_deploy': True,
                   'sfjwt_provision_propagation_interval': 1, 'sfjwt_provision_deploy_poll_interval': 0.2}
    provision_vars = vars_file('provision.json', **deploy_vars)
    runs = []
    key_versions = []

    def play(name, *extra_args):
        run = ansible.playbook(name, verbosity=4, extra_args=extra_args)
        assert run.rc == 0, run.output[-6000:]
        assert 'PLAYBOOK: ' in run.output and 'task path: ' in run.output, 'not verbose'
        runs.append((name, run))
        current = key_path.read_bytes()
        if current not in key_versions:
            key_versions.append(current)
        return run

    provision = play('sfjwt.salesforce.provision', *provision_vars)
    consumer_key = provision.result('sfjwt.salesforce.provision : Write the app metadata for this certificate')['consumer_key']
    play('sfjwt.salesforce.limits')
    same_key_vars = dict(deploy_vars)
    same_key_vars['sfjwt_provision_deploy'] = False   # a new certificate for the same key, nothing deployed
    play('sfjwt.salesforce.rotate_certificate', *vars_file('same-key.json', **same_key_vars))
    task_vars = vars_file('tasks.json', ck=consumer_key, key_path=str(key_path), passphrase=PASSPHRASE,
                          wrong_passphrase=WRONG_PASSPHRASE, url=org.url, ca=org.ca_path)
    tasks = play('reliability_secrets.yml', *task_vars)
    assert tasks.status('Token module with the wrong passphrase') == 'failed'
    assert tasks.status('REST call with the revoked token given directly') == 'failed'
    assert tasks.status('A SOQL error') == 'failed'
    play('sfjwt.salesforce.rotate_certificate', *provision_vars)  # with deploy: a new key, deployed, moved into place
    play('sfjwt.salesforce.limits')  # the new key

    tokens = org.issued_access_tokens()
    # the admin's and the integration user's for provision (reused by limits and the first rotation), the renewal after
    # the revocation, then for the rotation with deploy: the admin's again (the revocation ended its session too) and the
    # new key's (reused by limits). The token module in check mode with cache off requests none.
    assert len(tokens) == 5 and len(key_versions) == 2
    assert org.admin.private_key_pem not in b''.join(run.output.encode() for dummy, run in runs)
    secrets = {}
    for token in tokens:
        secrets[token] = 'access token'
        secrets[token.split('!', 1)[1]] = 'access token (after the org id)'
    secrets[PASSPHRASE] = 'passphrase'
    secrets[WRONG_PASSPHRASE] = 'wrong passphrase'
    for line in pem_lines(org.admin.private_key_pem):
        secrets[line] = 'admin private key'
    for pem in key_versions:
        assert len(plain_forms(pem)) > 20  # most of the key is private: the search has something to find
        for line in plain_forms(pem):
            secrets[line] = 'unencrypted private key'
    encrypted = {line: 'encrypted private key' for pem in key_versions for line in pem_lines(pem)}

    leaks = []
    for name, run in runs:
        for where, text in (('output', run.output), ('recorded results', json.dumps(run.records))):
            for secret, what in list(secrets.items()) + list(encrypted.items()):
                if secret in text:
                    leaks.append('%s in the %s of %s' % (what, where, name))

    key_files = {str(key_path)} | {str(path) for path in key_path.parent.glob('server.key.*~')}
    assert len(key_files) == 2
    cache_entries = set()
    for path in files_under(workdir):
        data = open(path, 'rb').read().decode('utf-8', 'replace')
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        in_cache = os.path.dirname(path) == str(cache_dir)
        for secret, what in secrets.items():
            if secret in data and not (what.startswith('access token') and in_cache and path.endswith('.json')):
                leaks.append('%s in %s' % (what, path))
        for secret, what in encrypted.items():
            if secret in data and path not in key_files:
                leaks.append('%s in %s' % (what, path))
        if in_cache and any(token in data for token in tokens):
            cache_entries.add(path)
            if mode != 0o600:
                leaks.append('token cache entry %s has mode %04o' % (path, mode))
        if path in key_files and mode != 0o600:
            leaks.append('key file %s has mode %04o' % (path, mode))
    assert not leaks, '\n'.join(sorted(set(leaks)))

    # what may hold secrets does, and is protected as it should be
    assert cache_entries and stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    for path in key_files:
        pem = open(path, 'rb').read()
        assert b'ENCRYPTED PRIVATE KEY' in pem
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(pem, password=None)
    assert not remote_tmp.exists() or not list(files_under(remote_tmp)), 'module payloads left behind'
