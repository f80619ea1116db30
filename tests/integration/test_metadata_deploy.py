# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt.salesforce.metadata_deploy through ansible-playbook against the fake org's REST Metadata API."""

from __future__ import annotations

import json
import os
import stat

import pytest

from fake_org.pytest_plugin import generate_key_and_certificate, write_private_file

APP = 'DeployTest'
APP_CONSUMER_KEY = 'DeployTestConsumerKey0001'
DEPLOY_TASK = 'Deploy the project'
DEPLOY_PATH = '/services/data/v62.0/metadata/deployRequest'


@pytest.fixture
def deploy_setup(fake_org_admin, ansible, tmp_path):
    """The admin identity, a certificate for the app, and the extra vars of tests/integration/playbooks/metadata_deploy.yml."""
    key_pem, cert_pem = generate_key_and_certificate('deploy-test')
    key_path, cert_path = tmp_path / 'app.key', tmp_path / 'app.crt'
    write_private_file(key_path, key_pem)
    cert_path.write_bytes(cert_pem)
    admin = fake_org_admin
    ansible.env.update({'SFJWT_LOGIN_URL': admin.org.url, 'SFJWT_CA_PATH': admin.org.ca_path})
    extra = {'project_dir': str(ansible.workdir / 'project'), 'certificate_path': str(cert_path),
             'admin_consumer_key': admin.consumer_key, 'admin_username': admin.username, 'admin_key_path': str(admin.key_path)}
    return admin, extra, key_path


def deploy_requests(org):
    return [(e['method'], e['path']) for e in org.received_log() if e['path'].startswith(DEPLOY_PATH)]


def test_deploy_then_nothing_to_deploy_then_force(ansible, deploy_setup):
    admin, extra, dummy = deploy_setup
    org = admin.org
    project = ansible.workdir / 'project'

    first = ansible.playbook('metadata_deploy.yml', extra_vars=extra, verbosity=1)
    assert first.rc == 0, first.output
    result = first.result(DEPLOY_TASK)
    assert result['changed'] is True
    assert result['status'] == 'Succeeded' and result['check_only'] is False
    assert result['org_id'] == org.org_id
    assert result['deploy_id'].startswith('0Af')
    assert result['components'] == ['ExternalClientApplication:DeployTest', 'ExtlClntAppConfigurablePolicies:DeployTest',
                                    'ExtlClntAppGlobalOauthSettings:DeployTest', 'ExtlClntAppOauthConfigurablePolicies:DeployTest',
                                    'ExtlClntAppOauthSettings:DeployTest', 'PermissionSet:DeployTest_Access']
    assert result['component_failures'] == [] and result['test_failures'] == []
    assert result['components_deployed'] == result['components_total'] >= 6
    # the progress: each component found missing in the org, then the deploy's status lines
    missing = ['%s is not in the org' % component.replace(':', ' ') for component in result['components']]
    assert result['progress'][:len(missing)] == missing
    statuses = result['progress'][len(missing):]
    assert len(statuses) >= 2 and all(line.startswith('Deploy %s: ' % result['deploy_id']) for line in statuses)
    assert 'Succeeded' in result['progress'][-1]
    assert [entry['state'] for entry in result['drift']] == ['missing'] * len(missing)
    # what reached the org: one POST, then polls with includeDetails, with the documented options
    log = org.deploy_log()
    assert len(log) == 1
    assert log[0]['deployOptions']['checkOnly'] is False and log[0]['deployOptions']['rollbackOnError'] is True
    assert sorted(log[0]['files']) == sorted([
        'package.xml', 'externalClientApps/DeployTest.eca', 'extlClntAppOauthSettings/DeployTest.ecaOauth',
        'extlClntAppGlobalOauthSets/DeployTest.ecaGlblOauth', 'extlClntAppOauthPolicies/DeployTest.ecaOauthPlcy',
        'extlClntAppPolicies/DeployTest.ecaPlcy', 'permissionsets/DeployTest_Access.permissionset'])
    polls = [e for e in org.received_log() if e['path'] == DEPLOY_PATH + '/' + result['deploy_id']]
    assert polls and all(e['method'] == 'GET' and e['query'] == {'includeDetails': 'true'} for e in polls)
    assert org.find_app(APP_CONSUMER_KEY) is not None
    # the record: 0600, next to sfdx-project.json, ignored by git
    record = project / '.sfjwt-deploy.json'
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert json.loads(record.read_text())['orgs'][org.org_id]['sha256'] == result['sha256']
    assert '/.sfjwt-deploy.json' in (project / '.gitignore').read_text().splitlines()
    assert org.token_requests_by(admin.username) == 1

    # the same content again: the org is read (one readMetadata a type), holds the project, nothing is deployed
    received_before = len(org.received_log())
    second = ansible.playbook('metadata_deploy.yml', extra_vars=extra)
    assert second.rc == 0, second.output
    again = second.result(DEPLOY_TASK)
    assert again['changed'] is False and again['status'] is None and again['drift'] == []
    assert again['deploy_id'] == result['deploy_id'] and again['sha256'] == result['sha256']
    reads = org.received_log()[received_before:]
    assert [(e['method'], e['path']) for e in reads] == [('POST', '/services/Soap/m/62.0')] * 6
    assert len(org.deploy_log()) == 1

    # force deploys anyway
    forced = ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, force=True))
    assert forced.rc == 0, forced.output
    assert forced.result(DEPLOY_TASK)['changed'] is True
    assert len(org.deploy_log()) == 2


def test_check_mode_validates_only(ansible, deploy_setup):
    admin, extra, dummy = deploy_setup
    org = admin.org
    # write the files (the deploy fails: no admin key), then validate them in check mode
    files = ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, admin_key_path='/nonexistent'))
    assert files.status(DEPLOY_TASK) == 'failed'
    assert len(org.deploy_log()) == 0

    check = ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, write_app=False), check=True)
    assert check.rc == 0, check.output
    result = check.result(DEPLOY_TASK)
    assert result['changed'] is True and result['check_only'] is True and result['status'] == 'Succeeded'
    log = org.deploy_log()
    assert len(log) == 1 and log[0]['deployOptions']['checkOnly'] is True
    assert org.find_app(APP_CONSUMER_KEY) is None, 'a validation deploy registers nothing'
    assert not (ansible.workdir / 'project' / '.sfjwt-deploy.json').exists()


def test_broken_component_names_component_file_and_problem(ansible, deploy_setup):
    admin, extra, dummy = deploy_setup
    org = admin.org
    assert ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, admin_key_path='/nonexistent')).rc != 0
    settings = (ansible.workdir / 'project' / 'force-app' / 'main' / 'default' / 'extlClntAppGlobalOauthSets'
                / (APP + '.ecaGlblOauth-meta.xml'))
    text = settings.read_text()
    start, end = text.index('<certificate>') + len('<certificate>'), text.index('</certificate>')
    settings.write_text(text[:start] + 'bm90IGEgY2VydGlmaWNhdGU=' + text[end:])

    run = ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, write_app=False))
    assert run.rc != 0
    result = run.result(DEPLOY_TASK)
    msg = result['msg']
    assert msg.startswith('Deploy %s failed.' % result['deploy_id'])
    assert '- ExtlClntAppGlobalOauthSettings DeployTest (extlClntAppGlobalOauthSets/DeployTest.ecaGlblOauth' in msg
    failure = [f for f in result['component_failures'] if f['componentType'] == 'ExtlClntAppGlobalOauthSettings'][0]
    assert failure['fullName'] == APP and failure['problem'] and failure['problem'] in msg
    assert 'Nothing was saved in the org; fix the files above and run again.' in msg
    assert result['status'] == 'Failed'
    assert org.find_app(APP_CONSUMER_KEY) is None
    assert not (ansible.workdir / 'project' / '.sfjwt-deploy.json').exists()
    assert '-----BEGIN' not in run.output


def test_timeout_cancels_the_deploy(ansible, deploy_setup):
    admin, extra, dummy = deploy_setup
    org = admin.org
    org.hold_deploys = True
    run = ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, wait_timeout=2))
    assert run.rc != 0
    result = run.result(DEPLOY_TASK)
    deploy_id = result['deploy_id']
    assert result['msg'].startswith('Deploy %s did not finish within wait_timeout (2 s, waited ' % deploy_id)
    assert 'so it was canceled (status now Canceled); Salesforce saves nothing of a canceled deploy.' in result['msg']
    patches = [e for e in org.received_log() if e['method'] == 'PATCH']
    assert [(e['path'], e['json']) for e in patches] == [(DEPLOY_PATH + '/' + deploy_id, {'deployResult': {'status': 'Canceling'}})]
    assert org.deploy_log()[0]['status'] == 'Canceled'
    assert org.find_app(APP_CONSUMER_KEY) is None


def test_session_expired_mid_poll_is_renewed_once(ansible, deploy_setup):
    admin, extra, dummy = deploy_setup
    org = admin.org
    org.deploy_polls_to_finish = 3
    org.expire_session_next(1, path_prefix=DEPLOY_PATH + '/')
    run = ansible.playbook('metadata_deploy.yml', extra_vars=extra)
    assert run.rc == 0, run.output
    assert run.result(DEPLOY_TASK)['status'] == 'Succeeded'
    assert org.token_requests_by(admin.username) == 2, 'one token, and one more after the 401'
    assert [e['status'] for e in org.received_log() if e['path'].startswith(DEPLOY_PATH + '/')].count(401) == 1
    assert 'Salesforce rejected the cached session' in run.output


def test_oauth_secrets_setting_off_says_what_to_turn_on(ansible, deploy_setup):
    admin, extra, dummy = deploy_setup
    admin.org.allow_oauth_secrets_via_metadata = False
    run = ansible.playbook('metadata_deploy.yml', extra_vars=extra)
    assert run.rc != 0
    msg = run.result(DEPLOY_TASK)['msg']
    assert '- ExtlClntAppGlobalOauthSettings DeployTest (extlClntAppGlobalOauthSets/DeployTest.ecaGlblOauth' in msg
    assert 'Allow access to External Client App consumer secrets via REST API' in msg
    # Both switches, with what each is for; the fix is in Setup, not in the files deployed.
    assert 'The fix is in Setup: as an admin, turn on the org setting "Allow Access to OAuth Consumer Secrets via Metadata API"' in msg
    assert 'the user permission "View External Client Apps Consumer Secrets in Metadata"' in msg
    assert msg.endswith('Nothing was saved in the org; the fix is in Setup, not in the files: make the change said above, '
                        'then run again.'), msg
    assert 'fix the files' not in msg


def test_access_token_and_instance_url_of_an_existing_admin_session(ansible, deploy_setup, tmp_path):
    admin, extra, dummy = deploy_setup
    org = admin.org
    session = org.open_session(org.find_user(admin.username), org.find_app(admin.consumer_key))
    direct = dict(extra, admin_access_token=session['access_token'], admin_instance_url=session['instance_url'])
    for name in ('admin_consumer_key', 'admin_username', 'admin_key_path'):
        del direct[name]
    # From a vars file, as a vault would give it: -vvvv echoes the command line, where -e values would show.
    vars_file = tmp_path / 'admin-session.json'
    vars_file.write_text(json.dumps(direct))
    run = ansible.playbook('metadata_deploy.yml', extra_args=['-e', '@%s' % vars_file], verbosity=4)
    assert run.rc == 0, run.output
    assert run.result(DEPLOY_TASK)['org_id'] == org.org_id
    assert org.token_requests == 0
    assert session['access_token'] not in run.output


def test_project_files_are_checked_before_anything_is_sent(ansible, deploy_setup, tmp_path):
    admin, extra, dummy = deploy_setup
    org = admin.org
    assert ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, admin_key_path='/nonexistent')).rc != 0
    default = ansible.workdir / 'project' / 'force-app' / 'main' / 'default'
    secret = tmp_path / 'secret.txt'
    secret.write_text('not for the org')
    link = default / 'permissionsets' / 'Linked.permissionset-meta.xml'
    link.symlink_to(secret)
    run = ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, write_app=False))
    assert run.rc != 0
    assert run.result(DEPLOY_TASK)['msg'] == (
        'metadata file %s is a symbolic link; links are not followed in a project (a link could expose any file to the '
        'org). Replace it with the file itself.' % link)
    link.unlink()
    (default / 'objects').mkdir()
    (default / 'objects' / 'Thing__c.object-meta.xml').write_text('<CustomObject/>')
    run = ansible.playbook('metadata_deploy.yml', extra_vars=dict(extra, write_app=False))
    assert run.rc != 0
    assert 'Thing__c.object-meta.xml is not metadata this module can deploy (suffix .object-meta.xml).' in run.result(DEPLOY_TASK)['msg']
    assert deploy_requests(org) == []


def test_the_project_manifest_is_the_package_xml_sent(ansible, deploy_setup):
    admin, extra, dummy = deploy_setup
    run = ansible.playbook('metadata_deploy.yml', extra_vars=extra)
    assert run.rc == 0, run.output
    entry = admin.org.deploy_log()[0]
    assert entry['package_xml'] == (ansible.workdir / 'project' / 'manifest' / 'package.xml').read_text()
    successes = entry['deployResult']['details']['componentSuccesses']
    assert sorted('%s:%s' % (c['componentType'], c['fullName']) for c in successes if c['fullName'] != 'package.xml') \
        == run.result(DEPLOY_TASK)['components']
