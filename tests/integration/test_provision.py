# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sfjwt.salesforce.provision role through ansible-playbook against the fake org.

With sfjwt_provision_deploy=true (the main flow) the role deploys what it generates, as the fake org's admin identity,
over the REST Metadata API: the generated metadata itself must make the org accept the token. Without it, the role
only writes files and says how to deploy them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import propagation_until_refused

NS = '{http://soap.sforce.com/2006/04/metadata}'
USERNAME = 'integration@example.com'
PERMISSION_SET = 'SFJWT_Integration'
CONTACT = 'admin+sfjwt@example.com'
APP = 'SfjwtIntegration'
CALLBACK = 'https://login.salesforce.com/services/oauth2/success'
# How role tasks are named in results.
ROLE = 'sfjwt.salesforce.provision : '
TOKEN_TASK = ROLE + 'Get an access token with the JWT Bearer Flow'
DEPLOY_TASK = ROLE + 'Deploy the app metadata to the org'
ASSIGN_TASK = ROLE + 'Assign the permission sets the user does not hold yet'
METADATA_TASK = ROLE + 'Write the app metadata for this certificate'
CERTIFICATE_TASK = ROLE + 'Ensure the private key and the certificate (an existing key is kept)'


@pytest.fixture
def provision_org(fake_org_admin, ansible):
    """The fake org with its admin identity (in the SFJWT_ADMIN_* environment) and an integration user holding nothing."""
    org = fake_org_admin.org
    org.add_user(USERNAME)
    ansible.env.update({'SFJWT_ADMIN_CONSUMER_KEY': fake_org_admin.consumer_key, 'SFJWT_ADMIN_USERNAME': fake_org_admin.username,
                        'SFJWT_ADMIN_PRIVATE_KEY_PATH': str(fake_org_admin.key_path)})
    return org


def org_env(org, **extra):
    env = {'SFJWT_LOGIN_URL': org.url, 'SFJWT_CA_PATH': org.ca_path, 'SFJWT_USERNAME': USERNAME}
    env.update(extra)
    return env


def role_vars(org, **extra):
    # A permission set named by the user is deployed only on request (a deploy replaces an existing set's definition).
    values = {'sfjwt_provision_contact_email': CONTACT, 'sfjwt_provision_permission_sets': [PERMISSION_SET],
              'sfjwt_provision_create_permission_sets': True,
              'sfjwt_provision_deploy': True, 'sfjwt_provision_propagation_interval': 1,
              'sfjwt_provision_deploy_poll_interval': 0.2, 'expected_instance_url': org.url}
    values.update(extra)
    return values


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def children(element):
    return {child.tag[len(NS):]: child.text for child in element}


def parse(path):
    root = ET.parse(str(path)).getroot()
    assert root.tag.startswith(NS)
    return root


def certificate_pem(cert_path):
    """The certificate as the metadata holds it: the whole PEM, without the final newline."""
    return Path(cert_path).read_text().strip()


def data_requests(org):
    return [(e['method'], e['path'], e['status']) for e in org.received_log() if e['path'].startswith('/services/data')]


def deploy_posts(org):
    return [e for e in org.received_log() if e['method'] == 'POST' and e['path'].endswith('/metadata/deployRequest')]


def test_provision_check_real_idempotent(ansible, provision_org):
    """From nothing to a verified integration in one run: deploy, assign, wait, token, limits; then nothing changes."""
    org = provision_org
    base = ansible.workdir / 'sfjwt'
    env = org_env(org)

    # 1. check mode on a fresh machine: nothing written, nothing asked of the org
    check = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), check=True)
    assert check.rc == 0, check.output
    assert not base.exists()
    assert org.token_requests == 0 and org.deploy_log() == []
    # the certificate module predicts the key, the certificate and their directory; no metadata without a certificate
    predicted = check.result(CERTIFICATE_TASK)
    assert predicted['changed'] is True and predicted['certificate'] is None
    assert check.status(METADATA_TASK) == 'skipped'
    assert check.status(DEPLOY_TASK) == 'skipped'

    # 2. real run: key, certificate, metadata, deploy, assignment, a wait while the app propagates, token, limits
    with propagation_until_refused(org):
        real = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), diff=True)
    assert real.rc == 0, real.output
    assert real.status('Check the facts') == 'ok'
    assert real.result('Call the API with the facts')['status'] == 200
    assert real.result(CERTIFICATE_TASK)['changed'] is True
    metadata = real.result(METADATA_TASK)
    assert metadata['changed'] is True
    assert metadata['consumer_key_source'] == 'generated'
    consumer_key = metadata['consumer_key']
    # diff mode: one entry per file written (the app's five, the permission set, sfdx-project.json, .gitignore, package.xml)
    assert len(metadata['diff']) == 9
    assert {entry['after_header'] for entry in metadata['diff']} == set(metadata['changed_files'])
    assert all(entry['before'] == '' for entry in metadata['diff'])

    deploy = real.result(DEPLOY_TASK)
    assert deploy['changed'] is True and deploy['status'] == 'Succeeded' and deploy['org_id'] == org.org_id
    assert 'PermissionSet:%s' % PERMISSION_SET in deploy['components']
    assert len(org.deploy_log()) == 1 and org.deploy_log()[0]['username'] == 'admin@example.com'
    assigned = real.result(ASSIGN_TASK)
    assert assigned['changed'] is True and [r['item']['item'] for r in assigned['results']] == [PERMISSION_SET]
    assert PERMISSION_SET in org.find_user(USERNAME).permission_sets
    # the token step waited, saying so, until the deployed app applied
    waiting = [line for line in real.stdout.splitlines() if line.startswith("Waiting for Salesforce to apply the app's settings: ")]
    assert waiting, real.stdout
    assert all('invalid_client_id (client identifier invalid) after ' in line and ' s of at most 600 s; trying again in 1 s.' in line
               for line in waiting)
    assert org.token_requests_by(USERNAME) == len(waiting) + 1
    summary = real.result(ROLE + 'Summarize what was provisioned and what to do next')['ansible_facts']['sfjwt_provision_summary']
    assert summary['deployed'] is True and summary['deploy_changed'] is True and summary['deploy_id'] == deploy['deploy_id']
    assert summary['permission_sets_assigned'] == [PERMISSION_SET]
    assert int(summary['waited_for_propagation']) >= 1

    key_path, cert_path, project = base / 'server.key', base / 'server.crt', base / 'project'
    assert mode(base) == 0o700 and mode(key_path) == 0o600
    key_bytes = key_path.read_bytes()
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_bytes, password=None)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()

    # the generated metadata, field by field
    default = project / 'force-app' / 'main' / 'default'
    eca = parse(default / 'externalClientApps' / (APP + '.eca-meta.xml'))
    assert eca.tag == NS + 'ExternalClientApplication'
    assert children(eca) == {'contactEmail': CONTACT, 'distributionState': 'Local', 'isProtected': 'false', 'label': APP}
    oauth = parse(default / 'extlClntAppOauthSettings' / (APP + '.ecaOauth-meta.xml'))
    assert oauth.tag == NS + 'ExtlClntAppOauthSettings'
    assert children(oauth) == {'commaSeparatedOauthScopes': 'Api, RefreshToken, OfflineAccess',
                               'externalClientApplication': APP, 'label': APP}
    glbl_path = default / 'extlClntAppGlobalOauthSets' / (APP + '.ecaGlblOauth-meta.xml')
    glbl = parse(glbl_path)
    assert glbl.tag == NS + 'ExtlClntAppGlobalOauthSettings'
    assert children(glbl) == {'callbackUrl': CALLBACK, 'certificate': certificate_pem(cert_path),
                              'consumerKey': consumer_key, 'externalClientApplication': APP, 'label': APP}
    assert mode(glbl_path) == 0o600
    policy = parse(default / 'extlClntAppOauthPolicies' / (APP + '.ecaOauthPlcy-meta.xml'))
    assert policy.tag == NS + 'ExtlClntAppOauthConfigurablePolicies'
    assert children(policy) == {'commaSeparatedPermissionSet': PERMISSION_SET, 'externalClientApplication': APP,
                                'ipRelaxationPolicyType': 'Enforce', 'label': APP,
                                'permittedUsersPolicyType': 'AdminApprovedPreAuthorized'}
    plugins = parse(default / 'extlClntAppPolicies' / (APP + '.ecaPlcy-meta.xml'))
    assert children(plugins) == {'externalClientApplication': APP, 'isEnabled': 'true', 'isOauthPluginEnabled': 'true', 'label': APP}
    permission_set = parse(default / 'permissionsets' / (PERMISSION_SET + '.permissionset-meta.xml'))
    assert permission_set.tag == NS + 'PermissionSet' and children(permission_set)['label'] == 'SFJWT Integration'
    package = parse(project / 'manifest' / 'package.xml')
    assert sorted(t.find(NS + 'name').text for t in package.findall(NS + 'types')) == sorted([
        'ExternalClientApplication', 'ExtlClntAppOauthSettings', 'ExtlClntAppGlobalOauthSettings',
        'ExtlClntAppOauthConfigurablePolicies', 'ExtlClntAppConfigurablePolicies', 'PermissionSet'])
    assert {m.text for m in package.iter(NS + 'members')} == {APP, PERMISSION_SET}
    assert package.find(NS + 'version').text == '62.0'
    assert json.loads((project / 'sfdx-project.json').read_text())['packageDirectories'] == [{'path': 'force-app', 'default': True}]
    ignored = (project / '.gitignore').read_text().splitlines()
    assert '**/extlClntAppGlobalOauthSets/' in ignored and '/.sfjwt-deploy.json' in ignored
    assert mode(project / '.sfjwt-deploy.json') == 0o600
    assert not list(project.rglob('*.connectedApp-meta.xml'))
    # the org accepts the token because of this metadata, deployed by the role, and nothing else
    assert org.find_app(consumer_key) is not None and org.find_app(consumer_key).source != 'api'
    assert any('must not' in w or 'do not commit' in w for w in metadata.get('warnings', []))

    # 3. idempotent check mode and 4. idempotent real run: no change, nothing deployed or assigned, the cached token
    tokens = org.token_requests_by(USERNAME)
    for check_mode in (True, False):
        again = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), check=check_mode)
        assert again.rc == 0, again.output
        assert again.result(CERTIFICATE_TASK)['changed'] is False
        assert again.result(METADATA_TASK)['changed'] is False
        assert again.result(METADATA_TASK)['consumer_key_source'] == 'existing'
        assert again.result(DEPLOY_TASK)['changed'] is False and again.result(DEPLOY_TASK)['status'] is None
        assert again.status(ASSIGN_TASK) == 'skipped'
        assert 'Waiting for Salesforce' not in again.stdout
        if not check_mode:
            assert ' changed=0 ' in again.stdout.split('PLAY RECAP')[-1]
    assert key_path.read_bytes() == key_bytes
    assert len(org.deploy_log()) == 1 and deploy_posts(org) == deploy_posts(org)[:1]
    assert org.token_requests_by(USERNAME) == tokens
    assert [r for r in data_requests(org) if r[1] == '/services/data/'] == [('GET', '/services/data/', 200)] * 2, \
        'one API version discovery per identity (admin, integration user)'

    # 5. check mode with the cached tokens gone: the integration user is not logged in, and the role says nothing false
    shutil.rmtree(ansible.workdir / 'token-cache')
    check = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), check=True)
    assert check.rc == 0, check.output
    assert check.result(TOKEN_TASK)['msg'].startswith('Check mode: no token is cached for this identity, so none was requested')
    assert check.status(ROLE + 'Verify access with GET limits') == 'skipped'
    assert org.token_requests_by(USERNAME) == tokens


def test_check_mode_sends_a_validation_deploy_and_registers_nothing(ansible, provision_org):
    org = provision_org
    env = org_env(org)
    # the files as a deploy writes them (with the permission set), written by a run that neither deploys nor logs in
    files_vars = role_vars(org, sfjwt_provision_deploy=False, sfjwt_provision_get_token=False,
                           sfjwt_provision_create_permission_sets=True)
    files = ansible.playbook('provision_facts.yml', env=env, extra_vars=files_vars)
    assert files.rc == 0, files.output
    check = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), check=True)
    assert check.rc == 0, check.output
    deploy = check.result(DEPLOY_TASK)
    assert deploy['check_only'] is True and deploy['changed'] is True and deploy['status'] == 'Succeeded'
    assert [entry['deployOptions']['checkOnly'] for entry in org.deploy_log()] == [True]
    consumer_key = check.result(METADATA_TASK)['consumer_key']
    assert org.find_app(consumer_key) is None and org.eca_consumer_key(APP) is None
    # the permission set is not in the org yet: nothing to assign, no token to get, nothing written
    assert check.status(ASSIGN_TASK) == 'skipped'
    assert check.status(TOKEN_TASK) == 'skipped'
    assert org.token_requests_by(USERNAME) == 0
    assert not (ansible.workdir / 'sfjwt' / 'project' / '.sfjwt-deploy.json').exists()
    assert not [e for e in org.received_log() if e['method'] == 'POST' and 'PermissionSetAssignment' in e['path']]


def test_propagation_longer_than_the_timeout_fails_saying_so(ansible, provision_org):
    org = provision_org
    org.propagation_delay = 60
    run = ansible.playbook('provision_facts.yml', env=org_env(org),
                           extra_vars=role_vars(org, sfjwt_provision_propagation_timeout=3))
    assert run.rc != 0
    # The refusal is the explaining task's failure (with the token error in it), not the token task's too.
    assert run.status(TOKEN_TASK) == 'ok'
    consumer_key = run.result(METADATA_TASK)['consumer_key']
    msg = run.result(ROLE + 'Stop, Salesforce did not accept the deployed app in time')['msg']
    assert msg.startswith('Salesforce at %s does not know the consumer key %s (invalid_client_id: client identifier invalid).'
                          % (org.url, consumer_key))
    assert re.search(r" Waited \d+ s \(\d+ tries\) for Salesforce to apply the app's settings, up to propagation_timeout "
                     r"\(3 s\)\. Salesforce can take up to 10 minutes after a deploy", msg), msg
    assert msg.endswith('The app %s (consumer key %s) was deployed in this run: run the same command again to wait longer '
                        '(nothing is deployed again unless the app in the org differs from the project), or raise '
                        'sfjwt_provision_propagation_timeout.' % (APP, consumer_key))
    # before stopping, the role says what exists: nothing is lost; the failure itself stays the task's own
    lines = run.result(ROLE + 'Say what exists, so that nothing is lost')['msg']
    assert lines == ['Provisioning stopped (the error is above).',
                     'Key: %s, certificate: %s' % (ansible.workdir / 'sfjwt' / 'server.key', ansible.workdir / 'sfjwt' / 'server.crt'),
                     'App %s, consumer key %s, metadata in %s' % (APP, consumer_key, ansible.workdir / 'sfjwt' / 'project'),
                     'NEXT: fix what the error says, then run the same command again; the key, the certificate and the '
                     'consumer key are kept, and what is deployed already is not deployed again.']
    # shown once, by the task that failed (ansible-core 2.19 prints an error line and the result, 2.16 the result)
    assert run.output.count(msg) == (2 if '[ERROR]: Task failed' in run.output else 1)

    # a minute later Salesforce has applied the app: the same command finishes, without deploying again
    org.clock_offset = 61
    again = ansible.playbook('provision_facts.yml', env=org_env(org), extra_vars=role_vars(org))
    assert again.rc == 0, again.output
    assert again.result(DEPLOY_TASK)['changed'] is False and len(org.deploy_log()) == 1
    assert again.status('Check the facts') == 'ok'


def test_access_token_fact_never_shown(ansible, provision_org):
    run = ansible.playbook('provision_facts.yml', env=org_env(provision_org), extra_vars=role_vars(provision_org), verbosity=3)
    assert run.rc == 0, run.output
    token_prefix = provision_org.org_id + '!AQ'   # the admin's tokens and the integration user's alike
    assert token_prefix not in run.output
    assert all(token_prefix not in json.dumps(record) for record in run.records)


def test_user_not_approved_stops_with_the_approval_url(ansible, provision_org):
    org = provision_org
    run = ansible.playbook('provision_facts.yml', env=org_env(org),
                           extra_vars=role_vars(org, sfjwt_provision_assign_permission_set=False))
    assert run.rc != 0
    assert run.status(TOKEN_TASK) == 'ok'   # the refusal is explained, once, by the task below
    assert run.result(TOKEN_TASK)['propagation_pending'] is False
    msg = run.result(ROLE + 'Stop, the user has not approved the app')['msg']
    consumer_key = run.result(METADATA_TASK)['consumer_key']
    approval = ('%s/services/oauth2/authorize?response_type=code&client_id=%s&redirect_uri=%s'
                % (org.url, consumer_key, quote(CALLBACK, safe='')))
    assert approval in msg
    assert msg.startswith('User %s has not approved the app %s (consumer key %s)' % (USERNAME, APP, consumer_key))
    assert 'Pre-authorize the user' in msg
    assert '"Admin approved users are pre-authorized"' in msg
    assert 'for the permission sets %s' % PERMISSION_SET in msg
    assert 'sf org assign permset --name <permission set> --on-behalf-of %s' % USERNAME in msg
    assert run.results(ROLE + 'Stop with the token error') == []
    assert run.results('Check the facts') == []
    assert 'Waiting for Salesforce' not in run.stdout


def test_an_existing_permission_set_named_by_the_user_is_not_deployed_over(ansible, provision_org):
    org = provision_org
    org.add_user(USERNAME, permission_sets=['Existing_Set'])   # the set exists, with permissions of its own
    run = ansible.playbook('provision_facts.yml', env=org_env(org),
                           extra_vars=role_vars(org, sfjwt_provision_permission_sets=['Existing_Set'],
                                                sfjwt_provision_create_permission_sets=''))
    assert run.rc == 0, run.output
    deployed = run.result(DEPLOY_TASK)['components']
    assert not [c for c in deployed if c.startswith('PermissionSet:')]
    assert not [f for f in org.deploy_log()[0]['files'] if f.startswith('permissionsets/')]
    assert not (ansible.workdir / 'sfjwt' / 'project' / 'force-app' / 'main' / 'default' / 'permissionsets').exists()
    assert run.status(ASSIGN_TASK) == 'skipped', 'the user holds the set already'
    assert run.status('Check the facts') == 'ok'


def test_a_failed_assignment_stops_the_role(ansible, provision_org):
    org = provision_org
    org.fail_next(1, status=403, path_prefix='/services/data/v62.0/sobjects/PermissionSetAssignment')
    run = ansible.playbook('provision_facts.yml', env=org_env(org), extra_vars=role_vars(org))
    assert run.rc != 0
    assert run.status(ASSIGN_TASK) == 'failed'
    assert run.results(TOKEN_TASK) == []
    assert org.token_requests_by(USERNAME) == 0


def test_integration_user_missing_in_the_org(ansible, provision_org):
    org = provision_org
    run = ansible.playbook('provision_facts.yml', env=org_env(org, SFJWT_USERNAME="o'brien@example.com"),
                           extra_vars=role_vars(org))
    assert run.rc != 0
    assert run.result(ROLE + 'Find the integration user')['url'].endswith("Username+%3D+%27o%5C%27brien%40example.com%27")
    msg = run.result(ROLE + 'Check that the integration user exists')['msg']
    assert msg.startswith("The org has no user o'brien@example.com (SELECT Id FROM User WHERE Username = ... found none).")
    assert org.token_requests_by("o'brien@example.com") == 0


def test_app_not_deployed_stops_with_the_deploy_command(ansible, provision_org):
    org = provision_org
    run = ansible.playbook('provision_facts.yml', env=org_env(org), extra_vars=role_vars(org, sfjwt_provision_deploy=False))
    assert run.rc != 0
    msg = run.result(ROLE + 'Stop, the app is not deployed in the org yet')['msg']
    project = str(ansible.workdir / 'sfjwt' / 'project')
    assert msg.startswith('Salesforce at %s does not know the app %s (consumer key ' % (org.url, APP))
    assert 'deploy it first, from %s: sf project deploy start --manifest manifest/package.xml --target-org <alias>' % project in msg
    assert 'Never commit %s/force-app/main/default/extlClntAppGlobalOauthSets/%s.ecaGlblOauth-meta.xml' % (project, APP) in msg
    assert org.deploy_log() == []


def test_metadata_only_then_deploy_with_verify_off(ansible, provision_org):
    org = provision_org
    env = org_env(org, SFJWT_CONSUMER_KEY='SfjwtChosenKey0001')
    first = ansible.playbook('provision_metadata_only.yml', env=env,
                             extra_vars=role_vars(org, expected_consumer_key='SfjwtChosenKey0001', sfjwt_provision_deploy=False))
    assert first.rc == 0, first.output
    assert first.status('Check that no session fact was set') == 'ok'
    assert first.result(METADATA_TASK)['consumer_key_source'] == 'option'
    assert org.token_requests == 0
    assert org.apps.keys() == {'SFJWTFAKEORGADMINAPP0001'}

    second = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org, sfjwt_provision_verify=False))
    assert second.rc == 0, second.output
    assert second.status('Check the facts') == 'ok'
    assert second.status(ROLE + 'Verify access with GET limits') == 'skipped'
    assert org.find_app('SfjwtChosenKey0001') is not None
    paths = [p for m, p, s in data_requests(org)]
    assert not [p for p in paths if p.endswith('/limits')]
    assert paths[-2:] == ['/services/data/', '/services/data/v62.0/sobjects']


def test_inputs_are_validated(ansible, provision_org):
    run = ansible.playbook('provision_facts.yml', env=org_env(provision_org),
                           extra_vars=role_vars(provision_org, sfjwt_provision_key_size=1000))
    assert run.rc != 0
    assert 'sfjwt_provision_key_size' in run.output and '2048, 3072, 4096' in run.output

    run = ansible.playbook('provision_facts.yml', env=org_env(provision_org),
                           extra_vars=role_vars(provision_org, sfjwt_provision_contact_email=''))
    assert run.rc != 0
    assert 'sfjwt_provision_contact_email is empty' in run.result(ROLE + 'Check that the app has a contact e-mail')['msg']
    assert not (ansible.workdir / 'sfjwt').exists()

    run = ansible.playbook('provision_facts.yml', env=org_env(provision_org, SFJWT_ADMIN_PRIVATE_KEY_PATH=''),
                           extra_vars=role_vars(provision_org))
    assert run.rc != 0
    assert run.result(ROLE + 'Check that an admin identity is given to deploy with')['msg'].startswith(
        'sfjwt_provision_deploy=true needs an admin identity to deploy the app with: an admin integration app of its own '
        '(sfjwt_provision_admin_consumer_key, sfjwt_provision_admin_username, sfjwt_provision_admin_private_key_path or')
    assert not (ansible.workdir / 'sfjwt').exists()

    run = ansible.playbook('provision_facts.yml', env=org_env(provision_org, SFJWT_USERNAME='integration@example.com\\x'),
                           extra_vars=role_vars(provision_org))
    assert run.rc != 0
    assert run.result(ROLE + 'Check that the username is one Salesforce can have')['msg'].startswith(
        'sfjwt_provision_username "integration@example.com\\\\x" holds whitespace or a backslash, which a Salesforce username '
        'never does')
    assert not (ansible.workdir / 'sfjwt').exists()
    assert provision_org.token_requests == 0 and provision_org.deploy_log() == []


def test_bad_input_stops_the_role_before_it_creates_anything(ansible, provision_org, tmp_path):
    """Every input that can be checked is checked before step 1: no key, certificate, directory or project is left."""
    ec_key = tmp_path / 'ec.key'
    ec_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ec_key_bytes = ec_key.read_bytes()
    cases = [
        ({'sfjwt_provision_consumer_key': 'ROLE KEY 0001'}, 'Check the app metadata options (writes nothing)',
         'consumer_key must be 8 to 256 letters and digits (A-Z, a-z, 0-9), as Salesforce requires; the value given has '
         '13 characters and other characters.'),
        ({'sfjwt_provision_login_url': provision_org.url.replace('https://', 'http://')},
         'Check that the token host is an https:// URL',
         'sfjwt_provision_login_url is not an https:// URL (its scheme is http): Salesforce accepts token requests only over HTTPS.'),
        ({'sfjwt_provision_private_key_path': str(ec_key)}, 'Ensure the private key and the certificate (an existing key is kept)',
         'The private key %s is an EC key' % ec_key),
    ]
    for extra, task, message in cases:
        run = ansible.playbook('provision_facts.yml', env=org_env(provision_org), extra_vars=role_vars(provision_org, **extra))
        assert run.rc != 0
        assert run.status(ROLE + task) == 'failed', run.output
        assert message in run.result(ROLE + task)['msg']
        assert not (ansible.workdir / 'sfjwt').exists(), (extra, sorted((ansible.workdir / 'sfjwt').rglob('*')))
    assert ec_key.read_bytes() == ec_key_bytes
    assert provision_org.token_requests == 0


def failed_tasks(run):
    return [record['task'] for record in run.records if record['status'] == 'failed']


def test_a_token_error_no_task_explains_is_shown_once(ansible, provision_org):
    """The token task's own failure: no task repeats it ("provision prints its error twice")."""
    org = provision_org
    run = ansible.playbook('provision_facts.yml', env=org_env(org, SFJWT_LOGIN_URL='https://127.0.0.1:1', SFJWT_RETRIES='0'),
                           extra_vars=role_vars(org, sfjwt_provision_deploy=False))
    assert run.rc != 0
    assert failed_tasks(run) == [TOKEN_TASK]
    msg = run.result(TOKEN_TASK)['msg']
    assert msg.startswith('The connection to https://127.0.0.1:1 was refused'), msg
    # once, by the task that failed: in its result, and in the error line ansible-core 2.19 and 2.20 print before it
    # (2.16 prints no such line; 2.21's names the failed_when instead)
    error_lines = [line for line in run.output.splitlines() if line.startswith('[ERROR]: Task failed')]
    assert run.output.count(msg) == 1 + sum(line.count(msg) for line in error_lines), run.output
    assert run.result(ROLE + 'Say what exists, so that nothing is lost')['msg'][0] == 'Provisioning stopped (the error is above).'


def test_a_token_error_a_task_explains_is_shown_once(ansible, provision_org):
    """A refusal the role explains fails one task, whose message says what to do; the bare token error is not shown."""
    org = provision_org
    run = ansible.playbook('provision_facts.yml', env=org_env(org, SFJWT_CONSUMER_KEY='SfjwtUnknownKey0001'),
                           extra_vars=role_vars(org, sfjwt_provision_deploy=False))
    assert run.rc != 0
    assert failed_tasks(run) == [ROLE + 'Stop, the app is not deployed in the org yet']
    token_error = run.result(TOKEN_TASK)['msg']
    assert 'SfjwtUnknownKey0001' in token_error and 'invalid_client_id' in token_error, token_error
    assert token_error not in run.output
    msg = run.result(ROLE + 'Stop, the app is not deployed in the org yet')['msg']
    assert msg.startswith('Salesforce at %s does not know the app %s (consumer key SfjwtUnknownKey0001): deploy it first'
                          % (org.url, APP))
    assert run.output.count(msg) == (2 if '[ERROR]: Task failed' in run.output else 1), run.output


def test_a_change_made_in_the_org_is_shown_by_check_diff_and_put_back(ansible, provision_org):
    """Drift: someone opens the app's policy to every user in Setup. --check --diff shows it (org before, project after)
    and changes nothing; the next run deploys the project again; the run after that deploys nothing."""
    org = provision_org
    env = org_env(org)
    with propagation_until_refused(org):
        first = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org))
    assert first.rc == 0, first.output
    policy = ('ExtlClntAppOauthConfigurablePolicies', APP)
    org.change_component(*policy, permittedUsersPolicyType='AllSelfAuthorized')
    deploys = len(org.deploy_log())

    check = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), check=True, diff=True)
    assert check.rc == 0, check.output
    deploy = check.result(DEPLOY_TASK)
    assert deploy['changed'] is True and deploy['check_only'] is True
    assert deploy['drift'] == [{'type': 'ExtlClntAppOauthConfigurablePolicies', 'name': APP, 'state': 'differs', 'fields': [
        {'field': 'permittedUsersPolicyType', 'org': 'AllSelfAuthorized', 'project': 'AdminApprovedPreAuthorized'}]}]
    assert '-    "AllSelfAuthorized"' in check.stdout and '+    "AdminApprovedPreAuthorized"' in check.stdout
    assert org.deployed_component(*policy)['permittedUsersPolicyType'] == 'AllSelfAuthorized'
    assert all(entry['deployOptions'].get('checkOnly') for entry in org.deploy_log()[deploys:])

    real = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org))
    assert real.rc == 0, real.output
    assert real.result(DEPLOY_TASK)['changed'] is True and real.result(DEPLOY_TASK)['status'] == 'Succeeded'
    assert org.deployed_component(*policy)['permittedUsersPolicyType'] == 'AdminApprovedPreAuthorized'

    deploys = len(org.deploy_log())
    again = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org))
    assert again.rc == 0, again.output
    assert again.result(DEPLOY_TASK)['changed'] is False and again.result(DEPLOY_TASK)['drift'] == []
    assert len(org.deploy_log()) == deploys
