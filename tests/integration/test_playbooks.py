# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's playbooks, run as `ansible-playbook sfjwt.salesforce.<name>` against the fake org."""

from __future__ import annotations

import re
import stat
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

NS = '{http://soap.sforce.com/2006/04/metadata}'
USERNAME = 'integration@example.com'
PERMISSION_SET = 'SFJWT_Integration'
ROLE = 'sfjwt.salesforce.provision : '


@pytest.fixture
def org(fake_org_admin, ansible):
    """The fake org with its admin identity, in the environment as the README's admin bootstrap puts it."""
    fake_org_admin.org.add_user(USERNAME)
    ansible.env.update({'SFJWT_ADMIN_CONSUMER_KEY': fake_org_admin.consumer_key, 'SFJWT_ADMIN_USERNAME': fake_org_admin.username,
                        'SFJWT_ADMIN_PRIVATE_KEY_PATH': str(fake_org_admin.key_path)})
    return fake_org_admin.org


def env_for(org):
    # Everything from the environment, as the README and AWX credentials do it; no secret in a playbook.
    return {'SFJWT_LOGIN_URL': org.url, 'SFJWT_CA_PATH': org.ca_path, 'SFJWT_USERNAME': USERNAME,
            'SFJWT_CONTACT_EMAIL': 'admin@example.com'}


PROVISION_VARS = {'sfjwt_provision_permission_sets': [PERMISSION_SET], 'sfjwt_provision_create_permission_sets': True,
                  'sfjwt_provision_deploy': True,
                  'sfjwt_provision_propagation_interval': 1, 'sfjwt_provision_deploy_poll_interval': 0.2}


def deployed_certificate(workdir):
    path = next((workdir / 'sfjwt' / 'project').rglob('*.ecaGlblOauth-meta.xml'))
    return ET.parse(str(path)).getroot().find(NS + 'certificate').text


def pem(cert_path):
    return Path(cert_path).read_text().strip()


def cache_entries(workdir):
    return sorted(path.name for path in (workdir / 'token-cache').glob('*.json'))


def test_provision_limits_and_rotate(ansible, org):
    env = env_for(org)
    workdir = ansible.workdir
    key_path, cert_path = workdir / 'sfjwt' / 'server.key', workdir / 'sfjwt' / 'server.crt'
    project = workdir / 'sfjwt' / 'project'

    first = ansible.playbook('sfjwt.salesforce.provision', env=env, extra_vars=PROVISION_VARS)
    assert first.rc == 0, first.output
    consumer_key = first.result(ROLE + 'Write the app metadata for this certificate')['consumer_key']
    deploy_id = first.result(ROLE + 'Deploy the app metadata to the org')['deploy_id']
    lines = first.result('Say what to deploy next')['msg']
    assert lines[0] == 'Key: %s' % key_path
    assert lines[-3] == ('Deployed the app to org %s (deploy %s), assigned %s to %s.'
                         % (org.org_id, deploy_id, PERMISSION_SET, USERNAME))
    assert lines[-2] == 'Token for %s works at %s (API v62.0, GET limits verified).' % (USERNAME, org.url)
    assert lines[-1] == (
        'NEXT: nothing to deploy or upload. Call the API with: ansible-playbook sfjwt.salesforce.limits (with '
        'SFJWT_CONSUMER_KEY=%s, SFJWT_USERNAME, SFJWT_PRIVATE_KEY_PATH=%s).' % (consumer_key, key_path))

    second = ansible.playbook('sfjwt.salesforce.provision', env=env, extra_vars=PROVISION_VARS)
    assert second.rc == 0, second.output
    assert second.result('Say what to deploy next')['msg'][-3] == (
        'The app is deployed to org %s already (deploy %s); nothing sent.' % (org.org_id, deploy_id))
    assert ' changed=0 ' in second.stdout.split('PLAY RECAP')[-1]
    assert org.token_requests_by(USERNAME) == 1 and len(org.deploy_log()) == 1

    # limits finds the key and the app that provision wrote with its defaults
    limits = ansible.playbook('sfjwt.salesforce.limits', env=env)
    assert limits.rc == 0, limits.output
    shown = limits.result('Show the limits')['msg']
    assert re.match(r'^DailyApiRequests: \d+ of 100000 remaining$', [s for s in shown if s.startswith('DailyApiRequests')][0])
    assert len(shown) == len(limits.result('Get the limits (GET /services/data/vNN.N/limits)')['json'])
    nxt = limits.result('Say what comes next')['msg']
    assert nxt.startswith('%s answers with API v62.0, API usage ' % org.url)
    assert 'Nothing to upload or deploy.' in nxt
    assert org.token_requests_by(USERNAME) == 1

    # rotation without deploy: a new certificate for the same key; tokens keep working, the metadata holds it
    key_before, cert_before = key_path.read_bytes(), cert_path.read_bytes()
    no_deploy = dict(PROVISION_VARS, sfjwt_provision_deploy=False)
    rotate = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=env, extra_vars=no_deploy)
    assert rotate.rc == 0, rotate.output
    assert key_path.read_bytes() == key_before and cert_path.read_bytes() != cert_before
    assert deployed_certificate(workdir) == pem(cert_path)
    assert list(cert_path.parent.glob('server.crt.*~')), 'the replaced certificate is kept as a backup'
    msg = rotate.result('Say what to deploy next')['msg']
    assert msg[0].startswith('New certificate %s (SHA-256 ' % cert_path) and msg[0].endswith(', same key %s' % key_path)
    assert msg[1].startswith('NEXT: deploy the updated app metadata so that Salesforce knows the new certificate: cd ')
    assert msg[2] == 'Tokens keep working meanwhile: the key is the same.'
    assert rotate.result(ROLE + 'Verify access with GET limits')['status'] == 200

    # rotation with deploy: a new key, staged, deployed, accepted, then moved into place; the old key's token forgotten
    org.propagation_delay = 15   # longer than the tasks between the deploy and the token take, even on a busy machine
    entries_before = cache_entries(workdir)
    key_before, cert_before = key_path.read_bytes(), cert_path.read_bytes()
    rotate = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=env, extra_vars=PROVISION_VARS)
    assert rotate.rc == 0, rotate.output
    assert key_path.read_bytes() != key_before and cert_path.read_bytes() != cert_before
    assert not (workdir / 'sfjwt' / 'server.key.new').exists() and not (workdir / 'sfjwt' / 'server.crt.new').exists()
    key_backups = [p for p in key_path.parent.glob('server.key.*~') if p.read_bytes() == key_before]
    assert len(key_backups) == 1 and stat.S_IMODE(key_backups[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert [p for p in cert_path.parent.glob('server.crt.*~') if p.read_bytes() == cert_before]
    assert deployed_certificate(workdir) == pem(cert_path)
    assert "Waiting for Salesforce to apply the app's settings: invalid_grant (invalid assertion) after " in rotate.stdout
    assert rotate.result(ROLE + 'Forget the cached token of the old key')['changed'] is True
    msg = rotate.result('Say what to deploy next')['msg']
    assert msg[0].endswith(', for a NEW key %s' % key_path)
    assert msg[1].startswith('Deployed to org %s (deploy 0Af' % org.org_id)
    assert rotate.result(ROLE + 'Verify access with GET limits')['status'] == 200
    assert len(org.deploy_log()) == 2 and org.find_app(consumer_key) is not None
    # the old key is never used again: its cache entry is gone, and Salesforce refuses it now
    entries_after = cache_entries(workdir)
    assert len(set(entries_before) - set(entries_after)) == 1
    old_assertion = org_assertion(org, consumer_key, key_before)
    assert token_answer(org, old_assertion)['error_description'] == 'invalid assertion'
    requests_before = org.token_requests_by(USERNAME)
    again = ansible.playbook('sfjwt.salesforce.limits', env=env)
    assert again.rc == 0, again.output
    assert org.token_requests_by(USERNAME) == requests_before, 'the new key\'s token is cached'


def test_rotation_with_a_failing_deploy_keeps_the_old_key(ansible, org):
    env = env_for(org)
    workdir = ansible.workdir
    key_path, cert_path = workdir / 'sfjwt' / 'server.key', workdir / 'sfjwt' / 'server.crt'
    first = ansible.playbook('sfjwt.salesforce.provision', env=env, extra_vars=PROVISION_VARS)
    assert first.rc == 0, first.output
    key_before, cert_before = key_path.read_bytes(), cert_path.read_bytes()

    org.allow_oauth_secrets_via_metadata = False
    rotate = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=env, extra_vars=PROVISION_VARS)
    assert rotate.rc != 0
    assert rotate.status(ROLE + 'Deploy the app metadata to the org') == 'failed'
    msg = rotate.result(ROLE + 'Say what exists, so that nothing is lost')['msg'][-1]
    staged_key, staged_cert = workdir / 'sfjwt' / 'server.key.new', workdir / 'sfjwt' / 'server.crt.new'
    assert msg == (
        "The certificate rotation did not finish. The key and "
        "certificate in use are unchanged: %s, %s. The org may hold the new certificate by now, so the staged key and "
        "certificate are kept: %s, %s. To finish, fix the error and run the same command again: it reuses them. To roll "
        "back, run ansible-playbook sfjwt.salesforce.provision with the same variables (it writes and deploys the metadata "
        "of the certificate in use), then delete the staged files." % (key_path, cert_path, staged_key, staged_cert))
    assert key_path.read_bytes() == key_before and cert_path.read_bytes() == cert_before
    assert staged_key.exists() and stat.S_IMODE(staged_key.stat().st_mode) == 0o600 and staged_cert.exists()
    assert not list(key_path.parent.glob('server.key.*~'))
    # the old key still gets tokens: a fresh login, not only a cached token
    requests_before = org.token_requests_by(USERNAME)
    limits = ansible.playbook('sfjwt.salesforce.limits', env=dict(env, SFJWT_CACHE='false'))
    assert limits.rc == 0, limits.output
    assert org.token_requests_by(USERNAME) == requests_before + 1

    # fixed: the same command finishes the rotation with the staged key
    org.allow_oauth_secrets_via_metadata = True
    staged = staged_key.read_bytes()
    finish = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=env, extra_vars=PROVISION_VARS)
    assert finish.rc == 0, finish.output
    assert key_path.read_bytes() == staged and not staged_key.exists()


def org_assertion(org, consumer_key, key_pem):
    return jwt.encode({'iss': consumer_key, 'sub': USERNAME, 'aud': org.accepted_audience, 'exp': int(time.time()) + 180},
                      serialization.load_pem_private_key(key_pem, password=None), algorithm='RS256')


def token_answer(org, assertion):
    response = requests.post(org.url + '/services/oauth2/token', verify=org.ca_path, timeout=30,
                             data={'grant_type': 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'assertion': assertion})
    return response.json()
