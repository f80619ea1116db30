# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's playbooks, run as `ansible-playbook sfjwt.salesforce.<name>` against the fake org."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jwt
import pytest
import requests
import yaml
from cryptography.hazmat.primitives import serialization

from conftest import propagation_until_refused

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
    entries_before = cache_entries(workdir)
    key_before, cert_before = key_path.read_bytes(), cert_path.read_bytes()
    with propagation_until_refused(org):
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


INTERVALS = {'sfjwt_provision_propagation_interval': 1, 'sfjwt_provision_deploy_poll_interval': 0.2}
APP = 'SfjwtIntegration'


def app_file(workdir, folder, suffix):
    return workdir / 'sfjwt' / 'project' / 'force-app' / 'main' / 'default' / folder / (APP + suffix)


def element(path, tag):
    found = ET.parse(str(path)).getroot().find(NS + tag)
    return None if found is None else found.text


def files_and_contents(directory):
    return {path: path.read_bytes() for path in sorted(directory.rglob('*')) if path.is_file()}


def test_limits_outside_a_provision_directory_warns_nothing(ansible, fake_org_app):
    """As every AWX or CI job runs it: the identity from the environment, no ./sfjwt directory."""
    org = fake_org_app.org
    env = {'SFJWT_LOGIN_URL': org.url, 'SFJWT_CA_PATH': org.ca_path, 'SFJWT_USERNAME': fake_org_app.username,
           'SFJWT_CONSUMER_KEY': fake_org_app.consumer_key, 'SFJWT_PRIVATE_KEY_PATH': str(fake_org_app.key_path)}
    run = ansible.playbook('sfjwt.salesforce.limits', env=env)
    assert run.rc == 0, run.output
    assert not (ansible.workdir / 'sfjwt').exists()
    assert 'Unable to find' not in run.output and 'extlClntAppGlobalOauthSets' not in run.output, run.output
    assert run.result('Say what comes next')['msg'].startswith('%s answers with API v62.0' % org.url)


def test_app_metadata_examples_run_from_an_empty_directory(ansible):
    """The EXAMPLES of app_metadata, as ansible-doc shows them, run as they are in an empty directory."""
    assert list(ansible.workdir.iterdir()) == []
    doc = subprocess.run([str(Path(sys.executable).parent / 'ansible-doc'), '--json', 'sfjwt.salesforce.app_metadata'],
                         env=ansible.base_env(), cwd=str(ansible.workdir), capture_output=True, text=True, check=True,
                         timeout=300)
    tasks = yaml.safe_load(json.loads(doc.stdout)['sfjwt.salesforce.app_metadata']['examples'])
    # The directory holds nothing but the playbook: relative paths start from it (the current and the playbook's directory).
    playbook = ansible.workdir / 'app_metadata_examples.yml'
    playbook.write_text(yaml.safe_dump([{'name': 'EXAMPLES of sfjwt.salesforce.app_metadata', 'hosts': 'localhost',
                                         'gather_facts': False, 'tasks': tasks}], sort_keys=False))
    run = ansible.playbook(playbook)
    assert run.rc == 0, run.output
    assert len(run.records) == len(tasks) == 6 and 'failed' not in [record['status'] for record in run.records], run.output
    key = ansible.workdir / 'sfjwt' / 'server.key'
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and (ansible.workdir / 'sfjwt' / 'server.crt').is_file()
    project = ansible.workdir / 'sfjwt' / 'project'
    written = run.result('Write the External Client App for this certificate')
    assert written['project_dir'] == str(project)
    assert (project / 'force-app' / 'main' / 'default' / 'externalClientApps' / 'AnsibleIntegration.eca-meta.xml').is_file()
    assert (project / 'force-app' / 'main' / 'default' / 'connectedApps' / 'LegacyIntegration.connectedApp-meta.xml').is_file()
    for directory in [project] + [path for path in project.rglob('*') if path.is_dir()]:
        assert stat.S_IMODE(directory.stat().st_mode) & 0o022 == 0, directory


def test_rotate_check_mode_says_what_a_real_run_would_do(ansible, org):
    env = env_for(org)
    workdir = ansible.workdir
    key_path, cert_path, project = workdir / 'sfjwt' / 'server.key', workdir / 'sfjwt' / 'server.crt', workdir / 'sfjwt' / 'project'
    first = ansible.playbook('sfjwt.salesforce.provision', env=env, extra_vars=PROVISION_VARS)
    assert first.rc == 0, first.output
    before, deploys, requests_before = files_and_contents(workdir / 'sfjwt'), len(org.deploy_log()), org.token_requests
    same_key = ('Check mode: nothing was changed. A real run issues a new certificate %s for the same key %s and writes it to '
                'the app metadata in %s.' % (cert_path, key_path, project))
    new_key = same_key.replace('for the same key', 'for a NEW key')
    cases = [
        ({'sfjwt_provision_deploy': False},
         [same_key, 'Then deploy that metadata, or upload the new certificate to the app in Setup; the real run prints the '
                    'command. Tokens keep working meanwhile: the key is the same.']),
        ({'sfjwt_provision_deploy': False, 'sfjwt_provision_regenerate_key': True},
         [new_key, 'Then deploy that metadata, or upload the new certificate to the app in Setup; the real run prints the '
                   'command. Until then no token can be obtained with the new key; the old key is kept as a backup.']),
        ({'sfjwt_provision_deploy': True},
         [new_key, 'With deploy, the new key and certificate are staged next to the old ones, deployed to the org, and moved '
                   'into place (the old ones kept as backups) once Salesforce gives a token for the new key.']),
    ]
    for extra, expected in cases:
        run = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=env, extra_vars=dict(PROVISION_VARS, **extra), check=True)
        assert run.rc == 0, run.output
        # no "cd ... && None", no empty "Never commit to source control:"
        assert run.result('Say what to deploy next')['msg'] == expected, extra
    assert files_and_contents(workdir / 'sfjwt') == before, 'check mode changed files'
    assert len(org.deploy_log()) == deploys and org.token_requests == requests_before


def test_rotation_keeps_the_contact_email_and_permission_sets_of_the_metadata(ansible, org):
    """rotate_certificate does not ask again for what the project's metadata holds, nor drop the user's pre-authorization."""
    env = env_for(org)
    # the defaults: the role deploys a permission set named after the app and assigns it to the user
    first = ansible.playbook('sfjwt.salesforce.provision', env=env, extra_vars=dict(INTERVALS, sfjwt_provision_deploy=True))
    assert first.rc == 0, first.output
    eca = app_file(ansible.workdir, 'externalClientApps', '.eca-meta.xml')
    policies = app_file(ansible.workdir, 'extlClntAppOauthPolicies', '.ecaOauthPlcy-meta.xml')
    assert element(eca, 'contactEmail') == 'admin@example.com'
    assert element(policies, 'commaSeparatedPermissionSet') == APP
    without_contact = {name: value for name, value in env.items() if name != 'SFJWT_CONTACT_EMAIL'}

    # a new certificate, nothing deployed: the metadata keeps the contact e-mail and the permission set
    rotate = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=without_contact, extra_vars=INTERVALS)
    assert rotate.rc == 0, rotate.output
    assert element(eca, 'contactEmail') == 'admin@example.com'
    assert element(policies, 'commaSeparatedPermissionSet') == APP
    changed = rotate.result(ROLE + 'Write the app metadata for this certificate')['changed_files']
    assert str(app_file(ansible.workdir, 'extlClntAppGlobalOauthSets', '.ecaGlblOauth-meta.xml')) in changed
    assert str(policies) not in changed and str(eca) not in changed

    # with deploy: a new key, deployed and in use, still without the contact e-mail
    key_before = (ansible.workdir / 'sfjwt' / 'server.key').read_bytes()
    rotate = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=without_contact,
                              extra_vars=dict(INTERVALS, sfjwt_provision_deploy=True))
    assert rotate.rc == 0, rotate.output
    assert (ansible.workdir / 'sfjwt' / 'server.key').read_bytes() != key_before
    assert element(eca, 'contactEmail') == 'admin@example.com'
    assert rotate.result(ROLE + 'Verify access with GET limits')['status'] == 200
