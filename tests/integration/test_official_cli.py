# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Salesforce's own CLI (@salesforce/cli, pinned in sf_cli.py) works against the fake org as against Salesforce: the
fake org is only worth its tests while the real client accepts it.

The CLI is installed from the npm registry once into an ignored folder (sf_cli.installed_cli) and reused; without
Node, npm or the registry the test is skipped with the reason. Its state stays in the test's own HOME.

Steps, in one test because each needs the login before it (the fake_org fixture resets the org between tests):
org login jwt (the admin), org display, data query (Organization, User, a date literal), org assign permset, project
deploy start over SOAP (the CLI's default) and over REST, project deploy report, org login jwt as the deployed app's
integration user. A second test is the drift the collection must see: the CLI deploys a change to a provisioned app,
the provision playbook shows it with --check --diff and puts it back.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import time

import jwt
import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import propagation_until_refused
from sf_cli import SF_CLI_VERSION, SfCli, installed_cli
from test_provision import APP, DEPLOY_TASK, USERNAME, org_env, role_vars

# The CLI does not run Ansible: where the API modules run (SFJWT_TEST_IN_PROCESS) changes nothing for it.
pytestmark = pytest.mark.skipif(os.environ.get('SFJWT_TEST_IN_PROCESS', 'true') == 'false',
                                reason='the official CLI runs no Ansible module: once per core, with the default execution path')


@pytest.fixture(scope='module')
def sf_binary():
    return installed_cli()


def write_app_project(root):
    """A source-format External Client App project, as sfjwt.salesforce.app_metadata writes one (the CLI's layout)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'cli-app')])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
                   .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    files = {
        'externalClientApps/CliApp.eca-meta.xml': '<ExternalClientApplication xmlns="{ns}"><contactEmail>admin@example.com'
        '</contactEmail><distributionState>Local</distributionState><isProtected>false'
        '</isProtected><label>CliApp</label></ExternalClientApplication>',
        'extlClntAppOauthSettings/CliApp.ecaOauth-meta.xml': '<ExtlClntAppOauthSettings xmlns="{ns}"><commaSeparatedOauthScopes>Api'
                                                             '</commaSeparatedOauthScopes><externalClientApplication>CliApp'
                                                             '</externalClientApplication><label>CliApp</label></ExtlClntAppOauthSettings>',
        'extlClntAppGlobalOauthSets/CliApp.ecaGlblOauth-meta.xml': '<ExtlClntAppGlobalOauthSettings xmlns="{ns}"><callbackUrl>'
                                                                   'https://login.salesforce.com/services/oauth2/success</callbackUrl>'
                                                                   '<certificate>%s</certificate><externalClientApplication>CliApp'
                                                                   '</externalClientApplication><label>CliApp</label>'
                                                                   '</ExtlClntAppGlobalOauthSettings>' % certificate,
        'extlClntAppOauthPolicies/CliApp.ecaOauthPlcy-meta.xml': '<ExtlClntAppOauthConfigurablePolicies xmlns="{ns}">'
                                                                 '<commaSeparatedPermissionSet>CliApp_Access</commaSeparatedPermissionSet>'
                                                                 '<externalClientApplication>CliApp</externalClientApplication>'
                                                                 '<ipRelaxationPolicyType>Enforce</ipRelaxationPolicyType><label>CliApp'
                                                                 '</label><permittedUsersPolicyType>AdminApprovedPreAuthorized'
                                                                 '</permittedUsersPolicyType></ExtlClntAppOauthConfigurablePolicies>',
        'permissionsets/CliApp_Access.permissionset-meta.xml': '<PermissionSet xmlns="{ns}"><label>CliApp Access</label></PermissionSet>',
    }
    for relative, body in files.items():
        path = root / 'force-app' / 'main' / 'default' / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body.replace('{ns}', 'http://soap.sforce.com/2006/04/metadata'))
    (root / 'sfdx-project.json').write_text(json.dumps({'packageDirectories': [{'path': 'force-app', 'default': True}],
                                                        'sourceApiVersion': '62.0'}))
    key_path = root / 'cli-app.key'
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return root, key_path


def records(result) -> list:
    return [{k: v for k, v in record.items() if k != 'attributes'} for record in result['records']]


def test_official_cli_logs_in_displays_queries_and_assigns(sf_binary, fake_org_admin, tmp_path):
    org = fake_org_admin.org
    # The org's clock at noon of today (UTC), so that TODAY below holds even when the test runs across midnight.
    today = datetime.datetime.now(datetime.timezone.utc).date()
    org.clock_offset = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.timezone.utc).timestamp() - time.time()
    integration_id = org.add_user('integration@example.com', name='Jane Integration').user_id
    permission_set_id, _created = org.data.save_permission_set('SFJWT_Integration', label='SFJWT Integration')
    sf = SfCli(sf_binary, tmp_path / 'sf', org)
    started = time.monotonic()

    version = sf.run('version').answer   # `version --json` answers bare, without status and result
    assert version['cliVersion'] == '@salesforce/cli/' + SF_CLI_VERSION

    # -- org login jwt: the admin, with the admin app's key and consumer key -------------------------------
    login = sf.json('org', 'login', 'jwt', '--username', fake_org_admin.username, '--jwt-key-file', str(fake_org_admin.key_path),
                    '--client-id', fake_org_admin.consumer_key, '--instance-url', org.url, '--alias', 'admin')
    assert {k: login[k] for k in ('username', 'orgId', 'instanceUrl', 'loginUrl', 'clientId')} == {
        'username': 'admin@example.com', 'orgId': org.org_id, 'instanceUrl': org.url, 'loginUrl': org.url + '/',
        'clientId': fake_org_admin.consumer_key}
    token_posts = [entry for entry in org.received_log() if entry['path'] == '/services/oauth2/token']
    tried = [(entry['status'], jwt.decode(entry['form']['assertion'], options={'verify_signature': False})) for entry in token_posts]
    # The CLI tries the instance URL as the audience first (@salesforce/core getLoginAudienceCombos); the org wants
    # https://login.salesforce.com (a production org) and refuses it, as Salesforce does.
    assert [(status, claims['iss'], claims['sub'], claims['aud']) for status, claims in tried] == [
        (400, fake_org_admin.consumer_key, 'admin@example.com', org.url + '/'),
        (200, fake_org_admin.consumer_key, 'admin@example.com', 'https://login.salesforce.com')]

    # -- org display ----------------------------------------------------------------------------------------
    display = sf.json('org', 'display', '--target-org', 'admin')
    assert {k: display.get(k) for k in ('id', 'instanceUrl', 'username', 'clientId', 'alias', 'connectedStatus', 'apiVersion')} == {
        'id': org.org_id, 'instanceUrl': org.url, 'username': 'admin@example.com', 'clientId': fake_org_admin.consumer_key,
        'alias': 'admin', 'connectedStatus': 'Connected', 'apiVersion': '62.0'}
    assert display['accessToken'] in org.issued_access_tokens()

    # -- data query: the query, then query?columns=true for its columns --------------------------------------
    organization = sf.json('data', 'query', '--target-org', 'admin', '--query',
                           'SELECT Id, Name, InstanceName, IsSandbox, OrganizationType, TrialExpirationDate FROM Organization')
    assert (organization['totalSize'], organization['done']) == (1, True)
    assert records(organization) == [{'Id': org.org_id, 'Name': 'sfjwt fake org', 'InstanceName': 'NA1', 'IsSandbox': False,
                                      'OrganizationType': 'Enterprise Edition', 'TrialExpirationDate': None}]
    users = sf.json('data', 'query', '--target-org', 'admin', '--query',
                    'SELECT Username, Name, LastName, IsActive FROM User ORDER BY Username')
    assert records(users) == [
        {'Username': 'admin@example.com', 'Name': 'admin', 'LastName': 'admin', 'IsActive': True},
        {'Username': 'integration@example.com', 'Name': 'Jane Integration', 'LastName': 'Integration', 'IsActive': True}]
    # Users were made today (by the org's clock); none before the last seven days.
    made_today = sf.json('data', 'query', '--target-org', 'admin', '--query', 'SELECT Username FROM User WHERE CreatedDate = TODAY')
    assert sorted(r['Username'] for r in records(made_today)) == ['admin@example.com', 'integration@example.com']
    older = sf.json('data', 'query', '--target-org', 'admin', '--query',
                    'SELECT Username FROM User WHERE CreatedDate < LAST_N_DAYS:7')
    assert (older['totalSize'], older['records']) == (0, [])
    queries = [(entry['query'].get('q'), entry['query'].get('columns')) for entry in org.received_log()
               if entry['path'] == '/services/data/v62.0/query' and entry['status'] == 200]
    # The query, then its columns (what `data query` lays its table out with; none for an empty answer).
    assert [columns for q, columns in queries if q == 'SELECT Username FROM User WHERE CreatedDate = TODAY'] == [None, 'true']
    assert [columns for q, columns in queries if q == 'SELECT Username FROM User WHERE CreatedDate < LAST_N_DAYS:7'] == [None]

    # -- org assign permset -------------------------------------------------------------------------------
    assigned = sf.json('org', 'assign', 'permset', '--target-org', 'admin', '--name', 'SFJWT_Integration',
                       '--on-behalf-of', 'integration@example.com')
    assert assigned == {'successes': [{'name': 'integration@example.com', 'value': 'SFJWT_Integration'}], 'failures': []}
    assert org.data.permission_sets_of(integration_id) == {'SFJWT_Integration'}
    again = sf.run('org', 'assign', 'permset', '--target-org', 'admin', '--name', 'SFJWT_Integration',
                   '--on-behalf-of', 'integration@example.com')
    # Assigned already: the org's DUPLICATE_VALUE, passed on by the CLI as a failure of that user (exit 1).
    assert (again.rc, again.answer['status'], again.answer['result']) == (1, 1, {'successes': [], 'failures': [
        {'name': 'integration@example.com', 'message': 'Duplicate PermissionSetAssignment. Assignee: %s; Permission Set: %s'
         % (integration_id, permission_set_id)}]})

    # -- project deploy start (SOAP, then REST) and project deploy report ---------------------------------------
    project, app_key_path = write_app_project(tmp_path / 'project')
    deployed = sf.json('project', 'deploy', 'start', '--source-dir', 'force-app', '--target-org', 'admin', '--wait', '2',
                       cwd=project)
    assert deployed['status'] == 'Succeeded' and deployed['success'] is True
    assert {(f['type'], f['fullName']) for f in deployed['files']} >= {('ExternalClientApplication', 'CliApp'),
                                                                       ('PermissionSet', 'CliApp_Access')}
    soap_deploys = [entry for entry in org.received_log() if entry['path'].startswith('/services/Soap/m/')]
    assert soap_deploys, 'the CLI deploys over SOAP by default'
    assert org.deployed_component('ExtlClntAppOauthConfigurablePolicies', 'CliApp')['permittedUsersPolicyType'] == \
        'AdminApprovedPreAuthorized'
    report = sf.json('project', 'deploy', 'report', '--job-id', deployed['id'], '--target-org', 'admin', cwd=project)
    assert (report['id'], report['status'], report['success']) == (deployed['id'], 'Succeeded', True)
    sf.env['SF_ORG_METADATA_REST_DEPLOY'] = 'true'
    posts = len([e for e in org.received_log() if e['path'].endswith('/metadata/deployRequest') and e['method'] == 'POST'])
    again = sf.json('project', 'deploy', 'start', '--source-dir', 'force-app', '--target-org', 'admin', '--wait', '2',
                    cwd=project)
    assert again['status'] == 'Succeeded'
    assert len([e for e in org.received_log() if e['path'].endswith('/metadata/deployRequest') and e['method'] == 'POST']) == posts + 1

    # -- org login jwt as the deployed app's integration user (the org generated the app's consumer key) ---------
    sf.json('org', 'assign', 'permset', '--target-org', 'admin', '--name', 'CliApp_Access', '--on-behalf-of', 'integration@example.com')
    org.clock_offset += org.propagation_delay + 1   # past the time Salesforce takes to apply a deployed app
    integration = sf.json('org', 'login', 'jwt', '--username', 'integration@example.com', '--jwt-key-file', str(app_key_path),
                          '--client-id', org.eca_consumer_key('CliApp'), '--instance-url', org.url, '--alias', 'integration')
    assert (integration['username'], integration['orgId']) == ('integration@example.com', org.org_id)

    # Seconds for every step after the install (the report of the change quotes it).
    print('official CLI steps: %.1f s' % (time.monotonic() - started))


def test_a_change_deployed_by_the_cli_is_found_by_check_diff_and_put_back(sf_binary, ansible, fake_org_admin, tmp_path):
    """Drift made by another tool: the official CLI opens the provisioned app's policy to every user
    (AllSelfAuthorized). `--check --diff` of the provision playbook shows it, the next run puts the project back, and
    the run after that deploys nothing."""
    org = fake_org_admin.org
    org.add_user(USERNAME)
    ansible.env.update({'SFJWT_ADMIN_CONSUMER_KEY': fake_org_admin.consumer_key, 'SFJWT_ADMIN_USERNAME': fake_org_admin.username,
                        'SFJWT_ADMIN_PRIVATE_KEY_PATH': str(fake_org_admin.key_path)})
    env = org_env(org)
    with propagation_until_refused(org):
        first = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org))
    assert first.rc == 0, first.output

    # A copy of the provisioned project with the policy opened, deployed by the CLI as the admin.
    changed = tmp_path / 'changed'
    shutil.copytree(ansible.workdir / 'sfjwt' / 'project', changed)
    policy = changed / 'force-app' / 'main' / 'default' / 'extlClntAppOauthPolicies' / (APP + '.ecaOauthPlcy-meta.xml')
    policy.write_text(policy.read_text().replace('AdminApprovedPreAuthorized', 'AllSelfAuthorized'))
    sf = SfCli(sf_binary, tmp_path / 'sf', org)
    sf.json('org', 'login', 'jwt', '--username', ansible.env['SFJWT_ADMIN_USERNAME'], '--jwt-key-file',
            ansible.env['SFJWT_ADMIN_PRIVATE_KEY_PATH'], '--client-id', ansible.env['SFJWT_ADMIN_CONSUMER_KEY'],
            '--instance-url', org.url, '--alias', 'admin')
    sf.json('project', 'deploy', 'start', '--source-dir', str(policy.relative_to(changed)), '--target-org', 'admin',
            '--wait', '2', cwd=changed)
    assert org.deployed_component('ExtlClntAppOauthConfigurablePolicies', APP)['permittedUsersPolicyType'] == 'AllSelfAuthorized'

    check = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), check=True, diff=True)
    assert check.rc == 0, check.output
    assert check.result(DEPLOY_TASK)['drift'] == [{'type': 'ExtlClntAppOauthConfigurablePolicies', 'name': APP, 'state': 'differs',
                                                   'fields': [{'field': 'permittedUsersPolicyType', 'org': 'AllSelfAuthorized',
                                                               'project': 'AdminApprovedPreAuthorized'}]}]
    assert '-    "AllSelfAuthorized"' in check.stdout and '+    "AdminApprovedPreAuthorized"' in check.stdout
    assert org.deployed_component('ExtlClntAppOauthConfigurablePolicies', APP)['permittedUsersPolicyType'] == 'AllSelfAuthorized'

    real = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org))
    assert real.rc == 0 and real.result(DEPLOY_TASK)['changed'] is True, real.output
    assert org.deployed_component('ExtlClntAppOauthConfigurablePolicies', APP)['permittedUsersPolicyType'] == 'AdminApprovedPreAuthorized'
    deploys = len(org.deploy_log())
    again = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org))
    assert again.rc == 0 and again.result(DEPLOY_TASK)['changed'] is False, again.output
    assert len(org.deploy_log()) == deploys
