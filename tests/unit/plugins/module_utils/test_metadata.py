# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""App metadata in source format: validation, the XML documents field by field, files, idempotence."""

from __future__ import annotations

import datetime
import os
import stat

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as md
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata_certificate as metadata_certificate
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata_files as metadata_files
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.metadata_specs import CONSUMER_KEY, NS, canonical_pem, fields, make_spec, parse


# -- validation ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('consumer_key', ['short7x', 'x' * 257, 'has-dash-0001', 'has space 0001', '', None])
def test_consumer_key_must_be_8_to_256_alphanumerics(certificate_material, consumer_key):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate_material, consumer_key=consumer_key)
    assert '8 to 256 letters and digits' in str(excinfo.value)


@pytest.mark.parametrize('consumer_key', ['abcd1234', 'A' * 256])
def test_consumer_key_limits_accepted(certificate_material, consumer_key):
    assert make_spec(certificate_material, consumer_key=consumer_key).consumer_key == consumer_key


def test_generated_consumer_key_is_valid_and_random():
    first, second = md.generate_consumer_key(), md.generate_consumer_key()
    assert md.validate_consumer_key(first) == first
    assert len(first) == md.GENERATED_CONSUMER_KEY_LENGTH
    assert first != second


@pytest.mark.parametrize('name', ['1App', 'My App', 'My__App', 'MyApp_', 'X' * 41, 'App<x>', ''])
def test_api_name_is_validated(certificate_material, name):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate_material, name=name)
    assert 'name' in str(excinfo.value)


@pytest.mark.parametrize('overrides, message', [
    ({'contact_email': 'not-an-address'}, 'contact_email'),
    ({'callback_url': 'not a url'}, 'callback_url'),
    ({'scopes': ['Api', 'Everything']}, "scope 'Everything'"),
    ({'scopes': []}, 'at least one OAuth scope'),
    ({'permission_sets': ['Bad Name']}, 'permission set'),
    ({'profiles': ['System Administrator']}, 'profiles apply only to the legacy Connected App'),
    ({'api_version': '59.0'}, 'needs api_version 60.0 or later'),
    ({'api_version': '62'}, 'NN.N'),
    ({'ip_relaxation': 'sometimes'}, 'ip_relaxation'),
    ({'external_client_app': False, 'connected_app': False}, 'Nothing to write'),
])
def test_bad_inputs_name_the_problem(certificate_material, overrides, message):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate_material, **overrides)
    assert message in str(excinfo.value)


def test_certificate_from_pem_or_body(certificate_material):
    assert metadata_certificate.certificate_body(certificate_material['pem']) == certificate_material['body']
    assert metadata_certificate.certificate_body(certificate_material['body']) == certificate_material['body']
    wrapped = '\n'.join(certificate_material['body'][i:i + 64] for i in range(0, len(certificate_material['body']), 64))
    assert metadata_certificate.certificate_body(wrapped) == certificate_material['body']
    assert make_spec(certificate_material).certificate_fingerprint == certificate_material['fingerprint']


def test_certificate_pem_is_canonical_whatever_the_input(certificate_material):
    body = certificate_material['body']
    messy = '\r\n'.join(body[i:i + 50] for i in range(0, len(body), 50))
    inputs = [certificate_material['pem'], body, messy, '  \n' + certificate_material['pem'].replace('\n', '\r\n') + '\n\n',
              '-----BEGIN CERTIFICATE-----' + body + '-----END CERTIFICATE-----',
              'Subject: CN=sfjwt-unit\n' + certificate_material['pem']]
    for value in inputs:
        pem = metadata_certificate.certificate_pem(value)
        assert pem == canonical_pem(certificate_material), value
        assert make_spec(certificate_material, certificate=value).certificate == pem
    lines = canonical_pem(certificate_material).split('\n')
    assert lines[0] == '-----BEGIN CERTIFICATE-----' and lines[-1] == '-----END CERTIFICATE-----'
    assert all(len(line) == 64 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 64
    assert x509.load_pem_x509_certificate(pem.encode('ascii')).public_bytes(serialization.Encoding.DER) == certificate_material['der']


@pytest.mark.parametrize('kind', ['key', 'two', 'garbage', 'empty', 'not_a_certificate'])
def test_certificate_refused(certificate_material, kind):
    value = {
        'key': certificate_material['key_pem'],
        'two': certificate_material['pem'] + certificate_material['pem'],
        'garbage': 'not base64 at all!',
        'empty': '  ',
        'not_a_certificate': 'QUJDRA==',
    }[kind]
    with pytest.raises(InputError):
        make_spec(certificate_material, certificate=value)


# -- certificate validity --------------------------------------------------------------------------------

NOW = datetime.datetime(2030, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope='module')
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_valid_between(key, not_before, not_after):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'sfjwt-validity')])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before)
            .not_valid_after(not_after).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def test_expired_certificate_is_refused_with_its_path_date_and_the_fix(certificate_material, signing_key):
    expired = pem_valid_between(signing_key, NOW - datetime.timedelta(days=400), NOW - datetime.timedelta(days=35))
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate_material, certificate=expired, certificate_source='/srv/sfjwt/server.crt', now=NOW)
    assert str(excinfo.value) == (
        'The certificate /srv/sfjwt/server.crt expired on 2030-04-27T12:00:00Z. Issue a new certificate for the same key '
        '(sfjwt.salesforce.certificate with force=true, or ansible-playbook sfjwt.salesforce.rotate_certificate) and write '
        'the metadata with it. Nothing was written.')


def test_expired_certificate_given_as_content_is_named_as_the_option(certificate_material, signing_key):
    expired = pem_valid_between(signing_key, NOW - datetime.timedelta(days=10), NOW - datetime.timedelta(seconds=1))
    body = ''.join(line for line in expired.splitlines() if not line.startswith('-----'))
    for value in (expired, body):
        with pytest.raises(InputError) as excinfo:
            make_spec(certificate_material, certificate=value, now=NOW)
        assert str(excinfo.value).startswith('The certificate given in the certificate option expired on 2030-06-01T11:59:59Z.')


def test_certificate_expiring_this_very_second_is_refused_and_one_second_later_is_kept(certificate_material, signing_key):
    pem = pem_valid_between(signing_key, NOW - datetime.timedelta(days=10), NOW)
    with pytest.raises(InputError):
        make_spec(certificate_material, certificate=pem, now=NOW)
    pem = pem_valid_between(signing_key, NOW - datetime.timedelta(days=10), NOW + datetime.timedelta(seconds=1))
    assert make_spec(certificate_material, certificate=pem, now=NOW).certificate_fingerprint


def test_certificate_not_valid_yet_is_refused(certificate_material, signing_key):
    future = pem_valid_between(signing_key, NOW + datetime.timedelta(days=2), NOW + datetime.timedelta(days=30))
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate_material, certificate=future, certificate_source='/srv/sfjwt/server.crt', now=NOW)
    message = str(excinfo.value)
    assert message.startswith('The certificate /srv/sfjwt/server.crt is not valid before 2030-06-03T12:00:00Z; '
                              'it is 2030-06-01T12:00:00Z on this host.')
    assert 'force=true' in message and 'rotate_certificate' in message


def test_certificate_from_a_host_a_little_ahead_is_accepted(certificate_material, signing_key):
    ahead = pem_valid_between(signing_key, NOW + metadata_certificate.CLOCK_SKEW, NOW + datetime.timedelta(days=30))
    assert make_spec(certificate_material, certificate=ahead, now=NOW).certificate_fingerprint
    too_far = pem_valid_between(signing_key, NOW + metadata_certificate.CLOCK_SKEW + datetime.timedelta(seconds=1), NOW + datetime.timedelta(days=30))
    with pytest.raises(InputError):
        make_spec(certificate_material, certificate=too_far, now=NOW)


def test_expired_certificate_fails_before_the_project_is_touched(certificate_material, signing_key, tmp_path):
    expired = pem_valid_between(signing_key, NOW - datetime.timedelta(days=400), NOW - datetime.timedelta(days=35))
    with pytest.raises(InputError):
        metadata_files.plan_files(make_spec(certificate_material, certificate=expired), str(tmp_path / 'project'))
    assert os.listdir(tmp_path) == []


# -- validation without a certificate (validate_only) ----------------------------------------------------

def test_spec_without_certificate_validates_the_rest_but_cannot_be_rendered(certificate_material):
    spec = make_spec(certificate_material, certificate=None)
    assert spec.certificate is None and spec.certificate_fingerprint is None
    with pytest.raises(InputError) as excinfo:
        md.build_documents(spec)
    assert 'No certificate' in str(excinfo.value)
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate_material, certificate=None, consumer_key='ROLE KEY 0001')
    assert '8 to 256 letters and digits' in str(excinfo.value)


def test_check_project_reads_and_never_writes(tmp_path):
    project = tmp_path / 'project'
    metadata_files.check_project(str(project))
    assert os.listdir(tmp_path) == []
    project.write_text('a file')
    with pytest.raises(InputError) as excinfo:
        metadata_files.check_project(str(project))
    assert str(excinfo.value) == ('project_dir %s exists and is not a directory; give a directory (it is created when missing).'
                                  % project)
    project.unlink()
    project.mkdir()
    (project / 'sfdx-project.json').write_text('{not json')
    with pytest.raises(InputError) as excinfo:
        metadata_files.check_project(str(project))
    assert 'sfdx-project.json exists but is not valid JSON' in str(excinfo.value)
    with pytest.raises(InputError):
        metadata_files.check_project(str(tmp_path / 'other'), package_directory='../outside')
    assert sorted(os.listdir(tmp_path)) == ['project'] and os.listdir(project) == ['sfdx-project.json']


# -- documents -------------------------------------------------------------------------------------------

def test_external_client_app_documents_field_by_field(certificate_material):
    spec = make_spec(certificate_material, description='Tokens for Ansible')
    documents = md.build_documents(spec)
    assert sorted(documents) == sorted(md.ECA_TYPES)

    eca = parse(documents[md.ECA])
    assert eca.tag == NS + 'ExternalClientApplication'
    assert fields(eca) == {'contactEmail': 'admin@example.com', 'description': 'Tokens for Ansible',
                           'distributionState': 'Local', 'isProtected': 'false', 'label': 'Ansible <Integration> & "Co"'}

    oauth = parse(documents[md.ECA_OAUTH])
    assert oauth.tag == NS + 'ExtlClntAppOauthSettings'
    assert fields(oauth) == {'commaSeparatedOauthScopes': 'Api, RefreshToken, OfflineAccess',
                             'externalClientApplication': 'AnsibleIntegration', 'label': 'Ansible <Integration> & "Co"'}

    glbl = parse(documents[md.ECA_GLOBAL_OAUTH])
    assert glbl.tag == NS + 'ExtlClntAppGlobalOauthSettings'
    assert fields(glbl) == {'callbackUrl': 'https://login.salesforce.com/services/oauth2/success?a=1&b=2',
                            'certificate': canonical_pem(certificate_material), 'consumerKey': CONSUMER_KEY,
                            'externalClientApplication': 'AnsibleIntegration', 'label': 'Ansible <Integration> & "Co"'}

    policy = parse(documents[md.ECA_OAUTH_POLICIES])
    assert policy.tag == NS + 'ExtlClntAppOauthConfigurablePolicies'
    assert fields(policy) == {'commaSeparatedPermissionSet': 'Ansible_Integration,Second_Set',
                              'externalClientApplication': 'AnsibleIntegration', 'ipRelaxationPolicyType': 'Enforce',
                              'label': 'Ansible <Integration> & "Co"', 'permittedUsersPolicyType': 'AdminApprovedPreAuthorized'}

    plugins = parse(documents[md.ECA_POLICIES])
    assert plugins.tag == NS + 'ExtlClntAppConfigurablePolicies'
    assert fields(plugins) == {'externalClientApplication': 'AnsibleIntegration', 'isEnabled': 'true',
                               'isOauthPluginEnabled': 'true', 'label': 'Ansible <Integration> & "Co"'}


def test_values_are_escaped_not_templated(certificate_material):
    spec = make_spec(certificate_material, label='</label><injected>x</injected>')
    document = md.build_documents(spec)[md.ECA]
    assert b'<injected>' not in document
    assert fields(parse(document))['label'] == '</label><injected>x</injected>'


def test_no_permission_set_leaves_the_element_out(certificate_material):
    policy = parse(md.build_documents(make_spec(certificate_material, permission_sets=[]))[md.ECA_OAUTH_POLICIES])
    assert 'commaSeparatedPermissionSet' not in fields(policy)


def test_connected_app_document(certificate_material):
    spec = make_spec(certificate_material, connected_app=True, profiles=['System Administrator'], ip_relaxation='bypass',
                     scopes=['Api', 'RefreshToken'])
    root = parse(md.build_documents(spec)[md.CONNECTED_APP])
    assert root.tag == NS + 'ConnectedApp'
    top = fields(root)
    assert top['contactEmail'] == 'admin@example.com'
    assert top['label'] == 'Ansible <Integration> & "Co"'
    assert top['permissionSetName'] == ['Ansible_Integration', 'Second_Set']
    assert top['profileName'] == 'System Administrator'
    assert fields(top['oauthConfig']) == {'callbackUrl': 'https://login.salesforce.com/services/oauth2/success?a=1&b=2',
                                          'certificate': canonical_pem(certificate_material), 'consumerKey': CONSUMER_KEY,
                                          'isAdminApproved': 'true', 'scopes': ['Api', 'RefreshToken']}
    assert fields(top['oauthPolicy']) == {'ipRelaxation': 'BYPASS', 'refreshTokenPolicy': 'infinite'}
    assert [child.tag[len(NS):] for child in root] == sorted(child.tag[len(NS):] for child in root)


@pytest.mark.parametrize('connected_app', [False, True])
def test_certificate_element_holds_the_pem_and_loads_with_cryptography(certificate_material, connected_app):
    spec = make_spec(certificate_material, certificate=certificate_material['body'], connected_app=connected_app)
    documents = md.build_documents(spec)
    metadata_type = md.CONNECTED_APP if connected_app else md.ECA_GLOBAL_OAUTH
    root = parse(documents[metadata_type])
    element = root.find('%soauthConfig/%scertificate' % (NS, NS)) if connected_app else root.find(NS + 'certificate')
    assert element.text == canonical_pem(certificate_material)
    assert element.text.startswith('-----BEGIN CERTIFICATE-----\n') and element.text.endswith('\n-----END CERTIFICATE-----')
    loaded = x509.load_pem_x509_certificate(element.text.encode('ascii'))
    assert ':'.join('%02X' % b for b in loaded.fingerprint(hashes.SHA256())) == certificate_material['fingerprint']
    # The pretty-printer leaves the PEM's line breaks as they are: the bytes hold it verbatim, unindented.
    assert ('<certificate>%s</certificate>' % canonical_pem(certificate_material)).encode('ascii') in documents[metadata_type]


def test_package_xml_lists_every_component(certificate_material):
    spec = make_spec(certificate_material, connected_app=True, api_version='v61.0')
    root = parse(md.build_package_xml(spec.components(), spec.api_version))
    assert root.tag == NS + 'Package'
    types = {t.find(NS + 'name').text: [m.text for m in t.findall(NS + 'members')] for t in root.findall(NS + 'types')}
    assert types == {name: ['AnsibleIntegration'] for name in md.ECA_TYPES + (md.CONNECTED_APP,)}
    assert root.find(NS + 'version').text == '61.0'


def test_rendering_is_deterministic(certificate_material):
    assert md.build_documents(make_spec(certificate_material)) == md.build_documents(make_spec(certificate_material))


# -- permission sets -------------------------------------------------------------------------------------

PERMISSION_SET_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">\n'
    '    <description>%s</description>\n'
    '    <label>%s</label>\n'
    '</PermissionSet>\n')
DEFAULT_PERMISSION_SET_DESCRIPTION = ('Users assigned this permission set are pre-authorized for the app AnsibleIntegration '
                                      '(OAuth JWT Bearer Flow). Written by sfjwt.salesforce.')


def test_permission_set_documents_exact(certificate_material):
    documents = md.build_permission_sets(make_spec(certificate_material, create_permission_sets=True))
    assert documents == {
        'Ansible_Integration': (PERMISSION_SET_XML % (DEFAULT_PERMISSION_SET_DESCRIPTION, 'Ansible Integration')).encode(),
        'Second_Set': (PERMISSION_SET_XML % (DEFAULT_PERMISSION_SET_DESCRIPTION, 'Second Set')).encode(),
    }
    own = md.build_permission_sets(make_spec(certificate_material, create_permission_sets=True, permission_sets=['Ops'],
                                             permission_set_description='Ops & <integration>'))
    assert own == {'Ops': (PERMISSION_SET_XML % ('Ops &amp; &lt;integration&gt;', 'Ops')).encode()}
    bare = md.build_permission_sets(make_spec(certificate_material, create_permission_sets=True, permission_sets=['Ops'],
                                              permission_set_description=''))
    assert bare == {'Ops': ('<?xml version="1.0" encoding="UTF-8"?>\n'
                            '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">\n'
                            '    <label>Ops</label>\n'
                            '</PermissionSet>\n').encode()}
    assert md.build_permission_sets(make_spec(certificate_material)) == {}


def test_package_xml_lists_the_permission_sets(certificate_material):
    spec = make_spec(certificate_material, create_permission_sets=True, permission_sets=['Zeta_Set', 'Alpha_Set'])
    root = parse(md.build_package_xml(spec.components(), spec.api_version))
    names = [t.find(NS + 'name').text for t in root.findall(NS + 'types')]
    assert names == sorted(md.ECA_TYPES + (md.PERMISSION_SET,))
    types = {t.find(NS + 'name').text: [m.text for m in t.findall(NS + 'members')] for t in root.findall(NS + 'types')}
    assert types[md.PERMISSION_SET] == ['Alpha_Set', 'Zeta_Set']
    without = make_spec(certificate_material)
    assert md.PERMISSION_SET not in [t.find(NS + 'name').text for t in
                                     parse(md.build_package_xml(without.components(), without.api_version)).findall(NS + 'types')]


@pytest.mark.parametrize('overrides, message', [
    ({'create_permission_sets': True, 'permission_sets': []},
     'create_permission_sets=true needs the names of the permission sets to write: give them in permission_sets '
     '(for example [Ansible_Integration]), or set create_permission_sets=false.'),
    ({'create_permission_sets': True, 'permission_sets': None},
     'create_permission_sets=true needs the names of the permission sets to write: give them in permission_sets '
     '(for example [Ansible_Integration]), or set create_permission_sets=false.'),
    ({'permission_set_description': 'x'}, 'permission_set_description applies only with create_permission_sets=true.'),
    ({'create_permission_sets': True, 'permission_set_description': 'x' * 256},
     'permission_set_description is 256 characters long; Salesforce takes at most 255.'),
    ({'create_permission_sets': True, 'permission_sets': ['Ops', 'OPS']},
     "permission_sets names the permission set 'OPS' twice ('Ops' and 'OPS'; Salesforce API names ignore case); give each once."),
])
def test_permission_set_options_refused_with_the_exact_message(certificate_material, overrides, message):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate_material, **overrides)
    assert str(excinfo.value) == message


def test_permission_set_description_limit_accepted(certificate_material):
    spec = make_spec(certificate_material, create_permission_sets=True, permission_set_description='x' * 255)
    assert spec.permission_set_description == 'x' * 255


def test_permission_set_files_written_listed_and_idempotent(certificate_material, tmp_path):
    planned = metadata_files.plan_files(make_spec(certificate_material, create_permission_sets=True), str(tmp_path))
    metadata_files.write_planned(planned)
    folder = tmp_path / 'force-app' / 'main' / 'default' / 'permissionsets'
    paths = {item.kind: item.path for item in planned}
    assert paths['PermissionSet:Ansible_Integration'] == str(folder / 'Ansible_Integration.permissionset-meta.xml')
    assert paths['PermissionSet:Second_Set'] == str(folder / 'Second_Set.permissionset-meta.xml')
    assert sorted(os.listdir(folder)) == ['Ansible_Integration.permissionset-meta.xml', 'Second_Set.permissionset-meta.xml']
    for name, label in (('Ansible_Integration', 'Ansible Integration'), ('Second_Set', 'Second Set')):
        path = folder / (name + '.permissionset-meta.xml')
        assert path.read_text() == PERMISSION_SET_XML % (DEFAULT_PERMISSION_SET_DESCRIPTION, label)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    manifest = parse((tmp_path / 'manifest' / 'package.xml').read_bytes())
    types = {t.find(NS + 'name').text: [m.text for m in t.findall(NS + 'members')] for t in manifest.findall(NS + 'types')}
    assert types[md.PERMISSION_SET] == ['Ansible_Integration', 'Second_Set']
    assert not any(item.changed for item in metadata_files.plan_files(make_spec(certificate_material, create_permission_sets=True), str(tmp_path)))


def test_bad_permission_set_input_writes_nothing(certificate_material, tmp_path):
    project = tmp_path / 'project'
    for overrides in ({'create_permission_sets': True, 'permission_sets': []},
                      {'create_permission_sets': True, 'permission_sets': ['Bad Name']},
                      {'create_permission_sets': True, 'permission_set_description': 'x' * 256}):
        with pytest.raises(InputError):
            metadata_files.plan_files(make_spec(certificate_material, **overrides), str(project))
    assert os.listdir(tmp_path) == []
    # Control: the same call with valid input does write.
    metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate_material, create_permission_sets=True), str(project)))
    assert (project / 'force-app' / 'main' / 'default' / 'permissionsets' / 'Second_Set.permissionset-meta.xml').exists()
