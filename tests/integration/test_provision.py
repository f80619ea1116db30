# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sfjwt.salesforce.provision role through ansible-playbook against the fake org.

The fake org reads the apps "deployed" from the role's generated project (metadata_dir) on every token
request: the stand-in for `sf project deploy start`, so the generated metadata itself must make the
org accept the token.
"""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

NS = '{http://soap.sforce.com/2006/04/metadata}'
USERNAME = 'integration@example.com'
PERMISSION_SET = 'SFJWT_Integration'
CONTACT = 'admin+sfjwt@example.com'
APP = 'SfjwtIntegration'
# How role tasks are named in results.
ROLE = 'sfjwt.salesforce.provision : '


@pytest.fixture
def provision_org(fake_org, ansible):
    """The fake org, with apps deployed from the role's default project directory in the playbook's workdir."""
    project = ansible.workdir / 'sfjwt' / 'project'
    fake_org.metadata_dir = project
    fake_org.add_user(USERNAME, permission_sets=[PERMISSION_SET])
    yield fake_org
    fake_org.metadata_dir = None


def org_env(org, **extra):
    env = {'SFJWT_LOGIN_URL': org.url, 'SFJWT_CA_PATH': org.ca_path, 'SFJWT_USERNAME': USERNAME}
    env.update(extra)
    return env


def role_vars(org, **extra):
    values = {'sfjwt_provision_contact_email': CONTACT, 'sfjwt_provision_permission_sets': [PERMISSION_SET],
              'expected_instance_url': org.url}
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


def certificate_body(cert_path):
    pem = Path(cert_path).read_text()
    return ''.join(line for line in pem.splitlines() if not line.startswith('-----'))


def data_requests(org):
    return [(e['method'], e['path'], e['status']) for e in org.received_log() if e['path'].startswith('/services/data')]


def test_provision_check_real_idempotent(ansible, provision_org):
    org = provision_org
    base = ansible.workdir / 'sfjwt'
    env = org_env(org)

    # 1. check mode on a fresh machine: nothing written, nothing asked of the org
    check = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), check=True)
    assert check.rc == 0, check.output
    assert not base.exists()
    assert org.token_requests == 0
    # the certificate module predicts the key, the certificate and their directory; no metadata without a certificate
    predicted = check.result(ROLE + 'Ensure the private key and the certificate (an existing key is kept)')
    assert predicted['changed'] is True and predicted['certificate'] is None
    assert check.status(ROLE + 'Write the app metadata for this certificate') == 'skipped'

    # 2. real run
    real = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), diff=True)
    assert real.rc == 0, real.output
    assert real.status('Check the facts') == 'ok'
    assert real.result('Call the API with the facts')['status'] == 200
    assert real.result(ROLE + 'Ensure the private key and the certificate (an existing key is kept)')['changed'] is True
    metadata = real.result(ROLE + 'Write the app metadata for this certificate')
    assert metadata['changed'] is True
    assert metadata['consumer_key_source'] == 'generated'
    consumer_key = metadata['consumer_key']
    # diff mode: one entry per file written, the new content in full
    assert len(metadata['diff']) == 8
    assert {entry['after_header'] for entry in metadata['diff']} == set(metadata['changed_files'])
    assert all(entry['before'] == '' for entry in metadata['diff'])

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
    assert children(glbl) == {'callbackUrl': org.url + '/services/oauth2/success', 'certificate': certificate_body(cert_path),
                              'consumerKey': consumer_key, 'externalClientApplication': APP, 'label': APP}
    assert mode(glbl_path) == 0o600
    policy = parse(default / 'extlClntAppOauthPolicies' / (APP + '.ecaOauthPlcy-meta.xml'))
    assert policy.tag == NS + 'ExtlClntAppOauthConfigurablePolicies'
    assert children(policy) == {'commaSeparatedPermissionSet': PERMISSION_SET, 'externalClientApplication': APP,
                                'ipRelaxationPolicyType': 'Enforce', 'label': APP,
                                'permittedUsersPolicyType': 'AdminApprovedPreAuthorized'}
    plugins = parse(default / 'extlClntAppPolicies' / (APP + '.ecaPlcy-meta.xml'))
    assert children(plugins) == {'externalClientApplication': APP, 'isEnabled': 'true', 'isOauthPluginEnabled': 'true', 'label': APP}
    package = parse(project / 'manifest' / 'package.xml')
    assert sorted(t.find(NS + 'name').text for t in package.findall(NS + 'types')) == sorted([
        'ExternalClientApplication', 'ExtlClntAppOauthSettings', 'ExtlClntAppGlobalOauthSettings',
        'ExtlClntAppOauthConfigurablePolicies', 'ExtlClntAppConfigurablePolicies'])
    assert {m.text for m in package.iter(NS + 'members')} == {APP}
    assert package.find(NS + 'version').text == '62.0'
    assert json.loads((project / 'sfdx-project.json').read_text())['packageDirectories'] == [{'path': 'force-app', 'default': True}]
    assert '**/extlClntAppGlobalOauthSets/' in (project / '.gitignore').read_text().splitlines()
    assert not list(project.rglob('*.connectedApp-meta.xml'))
    # the org accepted the token because of this metadata, and nothing else
    assert list(org.apps) == [consumer_key]
    assert org.token_requests == 1
    assert any('must not' in w or 'do not commit' in w for w in metadata.get('warnings', []))

    # 3. idempotent check mode and 4. idempotent real run: no change, the cached token, no second discovery
    for check_mode in (True, False):
        again = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org), check=check_mode)
        assert again.rc == 0, again.output
        assert again.result(ROLE + 'Ensure the private key and the certificate (an existing key is kept)')['changed'] is False
        assert again.result(ROLE + 'Write the app metadata for this certificate')['changed'] is False
        assert again.result(ROLE + 'Write the app metadata for this certificate')['consumer_key_source'] == 'existing'
    assert key_path.read_bytes() == key_bytes
    assert org.token_requests == 1
    assert [r for r in data_requests(org) if r[1] == '/services/data/'] == [('GET', '/services/data/', 200)]


def test_access_token_fact_never_shown(ansible, provision_org):
    run = ansible.playbook('provision_facts.yml', env=org_env(provision_org), extra_vars=role_vars(provision_org), verbosity=3)
    assert run.rc == 0, run.output
    token_prefix = provision_org.org_id + '!AQ'
    assert token_prefix not in run.output
    assert all(token_prefix not in json.dumps(record) for record in run.records)


def test_user_not_approved_stops_with_the_approval_url(ansible, provision_org):
    org = provision_org
    org.add_user(USERNAME, permission_sets=[])   # not assigned the app's permission set
    run = ansible.playbook('provision_facts.yml', env=org_env(org), extra_vars=role_vars(org))
    assert run.rc != 0
    assert run.status(ROLE + 'Get an access token with the JWT Bearer Flow') == 'failed'
    msg = run.result(ROLE + 'Stop, the user has not approved the app')['msg']
    consumer_key = run.result(ROLE + 'Write the app metadata for this certificate')['consumer_key']
    approval = ('%s/services/oauth2/authorize?response_type=code&client_id=%s&redirect_uri=%s'
                % (org.url, consumer_key, quote(org.url + '/services/oauth2/success', safe='')))
    assert approval in msg
    assert msg.startswith('User %s has not approved the app %s (consumer key %s)' % (USERNAME, APP, consumer_key))
    assert 'Pre-authorize the user' in msg
    assert '"Admin approved users are pre-authorized"' in msg
    assert 'for the permission sets %s' % PERMISSION_SET in msg
    assert 'sf org assign permset --name <permission set> --on-behalf-of %s' % USERNAME in msg
    assert 'sf project deploy start --manifest manifest/package.xml' in msg
    assert run.results(ROLE + 'Stop with the token error') == []
    assert run.results('Check the facts') == []


def test_app_not_deployed_stops_with_the_deploy_command(ansible, provision_org):
    org = provision_org
    org.metadata_dir = ansible.workdir / 'not-deployed'
    run = ansible.playbook('provision_facts.yml', env=org_env(org), extra_vars=role_vars(org))
    assert run.rc != 0
    msg = run.result(ROLE + 'Stop, the app is not deployed in the org yet')['msg']
    project = str(ansible.workdir / 'sfjwt' / 'project')
    assert msg.startswith('Salesforce at %s does not know the app %s (consumer key ' % (org.url, APP))
    assert 'deploy it first, from %s: sf project deploy start --manifest manifest/package.xml --target-org <alias>' % project in msg
    assert 'Never commit %s/force-app/main/default/extlClntAppGlobalOauthSets/%s.ecaGlblOauth-meta.xml' % (project, APP) in msg


def test_metadata_only_then_verify_off(ansible, provision_org):
    org = provision_org
    env = org_env(org, SFJWT_CONSUMER_KEY='SfjwtChosenKey0001')
    first = ansible.playbook('provision_metadata_only.yml', env=env,
                             extra_vars=role_vars(org, expected_consumer_key='SfjwtChosenKey0001'))
    assert first.rc == 0, first.output
    assert first.status('Check that no session fact was set') == 'ok'
    assert first.result(ROLE + 'Write the app metadata for this certificate')['consumer_key_source'] == 'option'
    assert org.token_requests == 0
    assert org.apps == {}

    second = ansible.playbook('provision_facts.yml', env=env, extra_vars=role_vars(org, sfjwt_provision_verify=False))
    assert second.rc == 0, second.output
    assert second.status('Check the facts') == 'ok'
    assert second.status(ROLE + 'Verify access with GET limits') == 'skipped'
    paths = [p for m, p, s in data_requests(org)]
    assert not [p for p in paths if p.endswith('/limits')]
    assert paths == ['/services/data/', '/services/data/v62.0/sobjects']


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
