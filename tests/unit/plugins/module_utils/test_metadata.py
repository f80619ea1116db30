# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""App metadata in source format: validation, the XML documents field by field, files, idempotence."""

from __future__ import annotations

import datetime
import json
import os
import stat
import xml.etree.ElementTree as ET

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as md
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata_files as metadata_files
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError

NS = '{http://soap.sforce.com/2006/04/metadata}'
CONSUMER_KEY = '3MVG9AnsibleIntegration0001'


@pytest.fixture
def certificate(certificate_material):
    return certificate_material


def make_spec(cert, **overrides):
    values = dict(name='AnsibleIntegration', label='Ansible <Integration> & "Co"', contact_email='admin@example.com',
                  consumer_key=CONSUMER_KEY, certificate=cert['pem'],
                  callback_url='https://login.salesforce.com/services/oauth2/success?a=1&b=2',
                  permission_sets=['Ansible_Integration', 'Second_Set'])
    values.update(overrides)
    return md.AppSpec(**values)


def parse(document):
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(document)


def fields(root):
    """{local name: text} of the root's children (repeated names become lists)."""
    found = {}
    for child in root:
        name = child.tag[len(NS):]
        value = child.text if len(child) == 0 else child
        if name in found:
            found[name] = (found[name] if isinstance(found[name], list) else [found[name]]) + [value]
        else:
            found[name] = value
    return found


# -- validation ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('consumer_key', ['short7x', 'x' * 257, 'has-dash-0001', 'has space 0001', '', None])
def test_consumer_key_must_be_8_to_256_alphanumerics(certificate, consumer_key):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate, consumer_key=consumer_key)
    assert '8 to 256 letters and digits' in str(excinfo.value)


@pytest.mark.parametrize('consumer_key', ['abcd1234', 'A' * 256])
def test_consumer_key_limits_accepted(certificate, consumer_key):
    assert make_spec(certificate, consumer_key=consumer_key).consumer_key == consumer_key


def test_generated_consumer_key_is_valid_and_random():
    first, second = md.generate_consumer_key(), md.generate_consumer_key()
    assert md.validate_consumer_key(first) == first
    assert len(first) == md.GENERATED_CONSUMER_KEY_LENGTH
    assert first != second


@pytest.mark.parametrize('name', ['1App', 'My App', 'My__App', 'MyApp_', 'X' * 41, 'App<x>', ''])
def test_api_name_is_validated(certificate, name):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate, name=name)
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
def test_bad_inputs_name_the_problem(certificate, overrides, message):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate, **overrides)
    assert message in str(excinfo.value)


def test_certificate_from_pem_or_body(certificate):
    assert md.certificate_body(certificate['pem']) == certificate['body']
    assert md.certificate_body(certificate['body']) == certificate['body']
    wrapped = '\n'.join(certificate['body'][i:i + 64] for i in range(0, len(certificate['body']), 64))
    assert md.certificate_body(wrapped) == certificate['body']
    assert make_spec(certificate).certificate_fingerprint == certificate['fingerprint']


def canonical_pem(cert):
    """What the metadata holds: cryptography's own PEM without its final line break."""
    return cert['pem'].rstrip('\n')


def test_certificate_pem_is_canonical_whatever_the_input(certificate):
    body = certificate['body']
    messy = '\r\n'.join(body[i:i + 50] for i in range(0, len(body), 50))
    inputs = [certificate['pem'], body, messy, '  \n' + certificate['pem'].replace('\n', '\r\n') + '\n\n',
              '-----BEGIN CERTIFICATE-----' + body + '-----END CERTIFICATE-----',
              'Subject: CN=sfjwt-unit\n' + certificate['pem']]
    for value in inputs:
        pem = md.certificate_pem(value)
        assert pem == canonical_pem(certificate), value
        assert make_spec(certificate, certificate=value).certificate == pem
    lines = canonical_pem(certificate).split('\n')
    assert lines[0] == '-----BEGIN CERTIFICATE-----' and lines[-1] == '-----END CERTIFICATE-----'
    assert all(len(line) == 64 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 64
    assert x509.load_pem_x509_certificate(pem.encode('ascii')).public_bytes(serialization.Encoding.DER) == certificate['der']


@pytest.mark.parametrize('kind', ['key', 'two', 'garbage', 'empty', 'not_a_certificate'])
def test_certificate_refused(certificate, kind):
    value = {
        'key': certificate['key_pem'],
        'two': certificate['pem'] + certificate['pem'],
        'garbage': 'not base64 at all!',
        'empty': '  ',
        'not_a_certificate': 'QUJDRA==',
    }[kind]
    with pytest.raises(InputError):
        make_spec(certificate, certificate=value)


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


def test_expired_certificate_is_refused_with_its_path_date_and_the_fix(certificate, signing_key):
    expired = pem_valid_between(signing_key, NOW - datetime.timedelta(days=400), NOW - datetime.timedelta(days=35))
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate, certificate=expired, certificate_source='/srv/sfjwt/server.crt', now=NOW)
    assert str(excinfo.value) == (
        'The certificate /srv/sfjwt/server.crt expired on 2030-04-27T12:00:00Z. Issue a new certificate for the same key '
        '(sfjwt.salesforce.certificate with force=true, or ansible-playbook sfjwt.salesforce.rotate_certificate) and write '
        'the metadata with it. Nothing was written.')


def test_expired_certificate_given_as_content_is_named_as_the_option(certificate, signing_key):
    expired = pem_valid_between(signing_key, NOW - datetime.timedelta(days=10), NOW - datetime.timedelta(seconds=1))
    body = ''.join(line for line in expired.splitlines() if not line.startswith('-----'))
    for value in (expired, body):
        with pytest.raises(InputError) as excinfo:
            make_spec(certificate, certificate=value, now=NOW)
        assert str(excinfo.value).startswith('The certificate given in the certificate option expired on 2030-06-01T11:59:59Z.')


def test_certificate_expiring_this_very_second_is_refused_and_one_second_later_is_kept(certificate, signing_key):
    pem = pem_valid_between(signing_key, NOW - datetime.timedelta(days=10), NOW)
    with pytest.raises(InputError):
        make_spec(certificate, certificate=pem, now=NOW)
    pem = pem_valid_between(signing_key, NOW - datetime.timedelta(days=10), NOW + datetime.timedelta(seconds=1))
    assert make_spec(certificate, certificate=pem, now=NOW).certificate_fingerprint


def test_certificate_not_valid_yet_is_refused(certificate, signing_key):
    future = pem_valid_between(signing_key, NOW + datetime.timedelta(days=2), NOW + datetime.timedelta(days=30))
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate, certificate=future, certificate_source='/srv/sfjwt/server.crt', now=NOW)
    message = str(excinfo.value)
    assert message.startswith('The certificate /srv/sfjwt/server.crt is not valid before 2030-06-03T12:00:00Z; '
                              'it is 2030-06-01T12:00:00Z on this host.')
    assert 'force=true' in message and 'rotate_certificate' in message


def test_certificate_from_a_host_a_little_ahead_is_accepted(certificate, signing_key):
    ahead = pem_valid_between(signing_key, NOW + md.CLOCK_SKEW, NOW + datetime.timedelta(days=30))
    assert make_spec(certificate, certificate=ahead, now=NOW).certificate_fingerprint
    too_far = pem_valid_between(signing_key, NOW + md.CLOCK_SKEW + datetime.timedelta(seconds=1), NOW + datetime.timedelta(days=30))
    with pytest.raises(InputError):
        make_spec(certificate, certificate=too_far, now=NOW)


def test_expired_certificate_fails_before_the_project_is_touched(certificate, signing_key, tmp_path):
    expired = pem_valid_between(signing_key, NOW - datetime.timedelta(days=400), NOW - datetime.timedelta(days=35))
    with pytest.raises(InputError):
        metadata_files.plan_files(make_spec(certificate, certificate=expired), str(tmp_path / 'project'))
    assert os.listdir(tmp_path) == []


# -- validation without a certificate (validate_only) ----------------------------------------------------

def test_spec_without_certificate_validates_the_rest_but_cannot_be_rendered(certificate):
    spec = make_spec(certificate, certificate=None)
    assert spec.certificate is None and spec.certificate_fingerprint is None
    with pytest.raises(InputError) as excinfo:
        md.build_documents(spec)
    assert 'No certificate' in str(excinfo.value)
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate, certificate=None, consumer_key='ROLE KEY 0001')
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

def test_external_client_app_documents_field_by_field(certificate):
    spec = make_spec(certificate, description='Tokens for Ansible')
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
                            'certificate': canonical_pem(certificate), 'consumerKey': CONSUMER_KEY,
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


def test_values_are_escaped_not_templated(certificate):
    spec = make_spec(certificate, label='</label><injected>x</injected>')
    document = md.build_documents(spec)[md.ECA]
    assert b'<injected>' not in document
    assert fields(parse(document))['label'] == '</label><injected>x</injected>'


def test_no_permission_set_leaves_the_element_out(certificate):
    policy = parse(md.build_documents(make_spec(certificate, permission_sets=[]))[md.ECA_OAUTH_POLICIES])
    assert 'commaSeparatedPermissionSet' not in fields(policy)


def test_connected_app_document(certificate):
    spec = make_spec(certificate, connected_app=True, profiles=['System Administrator'], ip_relaxation='bypass',
                     scopes=['Api', 'RefreshToken'])
    root = parse(md.build_documents(spec)[md.CONNECTED_APP])
    assert root.tag == NS + 'ConnectedApp'
    top = fields(root)
    assert top['contactEmail'] == 'admin@example.com'
    assert top['label'] == 'Ansible <Integration> & "Co"'
    assert top['permissionSetName'] == ['Ansible_Integration', 'Second_Set']
    assert top['profileName'] == 'System Administrator'
    assert fields(top['oauthConfig']) == {'callbackUrl': 'https://login.salesforce.com/services/oauth2/success?a=1&b=2',
                                          'certificate': canonical_pem(certificate), 'consumerKey': CONSUMER_KEY,
                                          'isAdminApproved': 'true', 'scopes': ['Api', 'RefreshToken']}
    assert fields(top['oauthPolicy']) == {'ipRelaxation': 'BYPASS', 'refreshTokenPolicy': 'infinite'}
    assert [child.tag[len(NS):] for child in root] == sorted(child.tag[len(NS):] for child in root)


@pytest.mark.parametrize('connected_app', [False, True])
def test_certificate_element_holds_the_pem_and_loads_with_cryptography(certificate, connected_app):
    spec = make_spec(certificate, certificate=certificate['body'], connected_app=connected_app)
    documents = md.build_documents(spec)
    metadata_type = md.CONNECTED_APP if connected_app else md.ECA_GLOBAL_OAUTH
    root = parse(documents[metadata_type])
    element = root.find('%soauthConfig/%scertificate' % (NS, NS)) if connected_app else root.find(NS + 'certificate')
    assert element.text == canonical_pem(certificate)
    assert element.text.startswith('-----BEGIN CERTIFICATE-----\n') and element.text.endswith('\n-----END CERTIFICATE-----')
    loaded = x509.load_pem_x509_certificate(element.text.encode('ascii'))
    assert ':'.join('%02X' % b for b in loaded.fingerprint(hashes.SHA256())) == certificate['fingerprint']
    # The pretty-printer leaves the PEM's line breaks as they are: the bytes hold it verbatim, unindented.
    assert ('<certificate>%s</certificate>' % canonical_pem(certificate)).encode('ascii') in documents[metadata_type]


def test_package_xml_lists_every_component(certificate):
    spec = make_spec(certificate, connected_app=True, api_version='v61.0')
    root = parse(md.build_package_xml(spec.components(), spec.api_version))
    assert root.tag == NS + 'Package'
    types = {t.find(NS + 'name').text: [m.text for m in t.findall(NS + 'members')] for t in root.findall(NS + 'types')}
    assert types == {name: ['AnsibleIntegration'] for name in md.ECA_TYPES + (md.CONNECTED_APP,)}
    assert root.find(NS + 'version').text == '61.0'


def test_rendering_is_deterministic(certificate):
    assert md.build_documents(make_spec(certificate)) == md.build_documents(make_spec(certificate))


# -- permission sets -------------------------------------------------------------------------------------

PERMISSION_SET_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">\n'
    '    <description>%s</description>\n'
    '    <label>%s</label>\n'
    '</PermissionSet>\n')
DEFAULT_PERMISSION_SET_DESCRIPTION = ('Users assigned this permission set are pre-authorized for the app AnsibleIntegration '
                                      '(OAuth JWT Bearer Flow). Written by sfjwt.salesforce.')


def test_permission_set_documents_exact(certificate):
    documents = md.build_permission_sets(make_spec(certificate, create_permission_sets=True))
    assert documents == {
        'Ansible_Integration': (PERMISSION_SET_XML % (DEFAULT_PERMISSION_SET_DESCRIPTION, 'Ansible Integration')).encode(),
        'Second_Set': (PERMISSION_SET_XML % (DEFAULT_PERMISSION_SET_DESCRIPTION, 'Second Set')).encode(),
    }
    own = md.build_permission_sets(make_spec(certificate, create_permission_sets=True, permission_sets=['Ops'],
                                             permission_set_description='Ops & <integration>'))
    assert own == {'Ops': (PERMISSION_SET_XML % ('Ops &amp; &lt;integration&gt;', 'Ops')).encode()}
    bare = md.build_permission_sets(make_spec(certificate, create_permission_sets=True, permission_sets=['Ops'],
                                              permission_set_description=''))
    assert bare == {'Ops': ('<?xml version="1.0" encoding="UTF-8"?>\n'
                            '<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">\n'
                            '    <label>Ops</label>\n'
                            '</PermissionSet>\n').encode()}
    assert md.build_permission_sets(make_spec(certificate)) == {}


def test_package_xml_lists_the_permission_sets(certificate):
    spec = make_spec(certificate, create_permission_sets=True, permission_sets=['Zeta_Set', 'Alpha_Set'])
    root = parse(md.build_package_xml(spec.components(), spec.api_version))
    names = [t.find(NS + 'name').text for t in root.findall(NS + 'types')]
    assert names == sorted(md.ECA_TYPES + (md.PERMISSION_SET,))
    types = {t.find(NS + 'name').text: [m.text for m in t.findall(NS + 'members')] for t in root.findall(NS + 'types')}
    assert types[md.PERMISSION_SET] == ['Alpha_Set', 'Zeta_Set']
    without = make_spec(certificate)
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
def test_permission_set_options_refused_with_the_exact_message(certificate, overrides, message):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate, **overrides)
    assert str(excinfo.value) == message


def test_permission_set_description_limit_accepted(certificate):
    spec = make_spec(certificate, create_permission_sets=True, permission_set_description='x' * 255)
    assert spec.permission_set_description == 'x' * 255


def test_permission_set_files_written_listed_and_idempotent(certificate, tmp_path):
    planned = metadata_files.plan_files(make_spec(certificate, create_permission_sets=True), str(tmp_path))
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
    assert not any(item.changed for item in metadata_files.plan_files(make_spec(certificate, create_permission_sets=True), str(tmp_path)))


def test_bad_permission_set_input_writes_nothing(certificate, tmp_path):
    project = tmp_path / 'project'
    for overrides in ({'create_permission_sets': True, 'permission_sets': []},
                      {'create_permission_sets': True, 'permission_sets': ['Bad Name']},
                      {'create_permission_sets': True, 'permission_set_description': 'x' * 256}):
        with pytest.raises(InputError):
            metadata_files.plan_files(make_spec(certificate, **overrides), str(project))
    assert os.listdir(tmp_path) == []
    # Control: the same call with valid input does write.
    metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate, create_permission_sets=True), str(project)))
    assert (project / 'force-app' / 'main' / 'default' / 'permissionsets' / 'Second_Set.permissionset-meta.xml').exists()


# -- files -----------------------------------------------------------------------------------------------

def test_files_written_with_paths_modes_and_idempotence(certificate, tmp_path):
    spec = make_spec(certificate)
    planned = metadata_files.plan_files(spec, str(tmp_path))
    assert all(item.changed for item in planned)
    metadata_files.write_planned(planned)
    base = tmp_path / 'force-app' / 'main' / 'default'
    expected = {
        md.ECA: base / 'externalClientApps' / 'AnsibleIntegration.eca-meta.xml',
        md.ECA_OAUTH: base / 'extlClntAppOauthSettings' / 'AnsibleIntegration.ecaOauth-meta.xml',
        md.ECA_GLOBAL_OAUTH: base / 'extlClntAppGlobalOauthSets' / 'AnsibleIntegration.ecaGlblOauth-meta.xml',
        md.ECA_OAUTH_POLICIES: base / 'extlClntAppOauthPolicies' / 'AnsibleIntegration.ecaOauthPlcy-meta.xml',
        md.ECA_POLICIES: base / 'extlClntAppPolicies' / 'AnsibleIntegration.ecaPlcy-meta.xml',
        'sfdx-project': tmp_path / 'sfdx-project.json',
        'gitignore': tmp_path / '.gitignore',
        'package.xml': tmp_path / 'manifest' / 'package.xml',
    }
    assert {item.kind: item.path for item in planned} == {kind: str(path) for kind, path in expected.items()}
    for kind, path in expected.items():
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == (0o600 if kind == md.ECA_GLOBAL_OAUTH else 0o644), kind
    project = json.loads((tmp_path / 'sfdx-project.json').read_text())
    assert project['packageDirectories'] == [{'path': 'force-app', 'default': True}]
    assert project['sourceApiVersion'] == '62.0'
    assert md.GITIGNORE_ENTRY in (tmp_path / '.gitignore').read_text().splitlines()
    assert metadata_files.existing_consumer_key(str(tmp_path), 'force-app', 'AnsibleIntegration') == CONSUMER_KEY

    before = {path: os.stat(path).st_mtime_ns for path in expected.values()}
    again = metadata_files.plan_files(make_spec(certificate), str(tmp_path))
    assert not any(item.changed for item in again)
    metadata_files.write_planned(again)
    assert {path: os.stat(path).st_mtime_ns for path in expected.values()} == before
    assert metadata_files.diff_entries(again) == []


def old_body_form(document, cert):
    """A document as versions before the PEM form wrote it: the certificate as its one-line base64 body."""
    pem = canonical_pem(cert).encode('ascii')
    assert document.count(pem) == 1
    return document.replace(pem, cert['body'].encode('ascii'))


def test_project_written_with_the_body_form_keeps_its_key_and_is_rewritten_once(certificate, tmp_path):
    spec = make_spec(certificate, connected_app=True)
    planned = metadata_files.plan_files(spec, str(tmp_path))
    metadata_files.write_planned(planned)
    holders = [item for item in planned if item.kind in (md.ECA_GLOBAL_OAUTH, md.CONNECTED_APP)]
    for item in holders:
        with open(item.path, 'wb') as handle:
            handle.write(old_body_form(item.content, certificate))
        assert [e.text for e in ET.parse(item.path).iter(NS + 'certificate')] == [certificate['body']]
    assert metadata_files.existing_consumer_key(str(tmp_path), 'force-app', 'AnsibleIntegration') == CONSUMER_KEY

    # The module takes the existing key when none is given: the app keeps its key.
    again = metadata_files.plan_files(make_spec(certificate, connected_app=True,
                                                consumer_key=metadata_files.existing_consumer_key(str(tmp_path), 'force-app', 'AnsibleIntegration')),
                                      str(tmp_path))
    assert sorted(item.kind for item in again if item.changed) == sorted([md.ECA_GLOBAL_OAUTH, md.CONNECTED_APP])
    metadata_files.write_planned(again)
    for item in holders:
        with open(item.path, 'rb') as handle:
            content = handle.read()
        assert content == item.content and b'-----BEGIN CERTIFICATE-----\n' in content
    assert metadata_files.existing_consumer_key(str(tmp_path), 'force-app', 'AnsibleIntegration') == CONSUMER_KEY
    assert not any(item.changed for item in metadata_files.plan_files(make_spec(certificate, connected_app=True), str(tmp_path)))


def test_written_files_parse_back_and_the_certificate_loads(certificate, tmp_path):
    planned = metadata_files.plan_files(make_spec(certificate, connected_app=True), str(tmp_path))
    metadata_files.write_planned(planned)
    for item in planned:
        if item.kind in (md.ECA_GLOBAL_OAUTH, md.CONNECTED_APP):
            texts = [element.text for element in ET.parse(item.path).iter(NS + 'certificate')]
            assert len(texts) == 1
            loaded = x509.load_pem_x509_certificate(texts[0].encode('ascii'))
            assert loaded.public_bytes(serialization.Encoding.DER) == certificate['der']


def test_changed_certificate_rewrites_only_the_files_that_hold_it(certificate, tmp_path):
    metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate), str(tmp_path)))
    other = metadata_files.plan_files(make_spec(certificate, consumer_key='OtherKey0001'), str(tmp_path))
    assert [item.kind for item in other if item.changed] == [md.ECA_GLOBAL_OAUTH]
    diff = metadata_files.diff_entries(other)
    assert len(diff) == 1 and 'OtherKey0001' in diff[0]['after'] and CONSUMER_KEY in diff[0]['before']


def test_existing_project_files_are_kept(certificate, tmp_path):
    (tmp_path / '.gitignore').write_text('node_modules/')
    os.chmod(tmp_path / '.gitignore', 0o664)
    original = {'packageDirectories': [{'path': 'src', 'default': True}], 'sourceApiVersion': '58.0', 'name': 'mine'}
    (tmp_path / 'sfdx-project.json').write_text(json.dumps(original))
    metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate), str(tmp_path), package_directory='src'))
    assert (tmp_path / '.gitignore').read_text().startswith('node_modules/\n# Written by sfjwt.salesforce.app_metadata')
    assert stat.S_IMODE(os.stat(tmp_path / '.gitignore').st_mode) == 0o664
    assert json.loads((tmp_path / 'sfdx-project.json').read_text()) == original
    assert (tmp_path / 'src' / 'main' / 'default' / 'externalClientApps' / 'AnsibleIntegration.eca-meta.xml').exists()


def test_package_directory_added_to_an_existing_project(tmp_path, certificate):
    (tmp_path / 'sfdx-project.json').write_text(json.dumps({'packageDirectories': [{'path': 'src', 'default': True}]}))
    metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate), str(tmp_path)))
    project = json.loads((tmp_path / 'sfdx-project.json').read_text())
    assert project['packageDirectories'] == [{'path': 'src', 'default': True}, {'path': 'force-app', 'default': False}]
    assert project['sourceApiVersion'] == '62.0'


def test_broken_sfdx_project_is_reported(tmp_path, certificate):
    (tmp_path / 'sfdx-project.json').write_text('{not json')
    with pytest.raises(InputError) as excinfo:
        metadata_files.plan_files(make_spec(certificate), str(tmp_path))
    assert 'sfdx-project.json exists but is not valid JSON' in str(excinfo.value)


@pytest.mark.parametrize('kwargs', [{'package_directory': '../outside'}, {'manifest': '/etc/package.xml'}])
def test_paths_stay_inside_the_project(tmp_path, certificate, kwargs):
    with pytest.raises(InputError):
        metadata_files.plan_files(make_spec(certificate), str(tmp_path), **kwargs)


def test_gitignore_entry_added_once():
    first = md.update_gitignore(b'')
    assert md.update_gitignore(first) is None
    assert md.update_gitignore(b'**/extlClntAppGlobalOauthSets\n') is None


def test_stale_temporary_files_of_killed_runs_are_removed_and_others_kept(certificate, tmp_path):
    planned = metadata_files.plan_files(make_spec(certificate), str(tmp_path))
    metadata_files.write_planned(planned)
    glbl = next(item.path for item in planned if item.kind == md.ECA_GLOBAL_OAUTH)
    directory = os.path.dirname(glbl)
    name = os.path.basename(glbl)
    stale, young = os.path.join(directory, '.%s.k1ll3d_x.tmp' % name), os.path.join(directory, '.%s.y0ung_xx.tmp' % name)
    foreign = os.path.join(directory, '.%s.mine.tmp' % name)
    for path in (stale, young, foreign):
        with open(path, 'wb') as handle:
            handle.write(b'<partial')
    hour_ago = os.stat(stale).st_mtime - 3601
    os.utime(stale, (hour_ago, hour_ago))
    os.utime(foreign, (hour_ago, hour_ago))
    metadata_files.remove_stale_temp_files_of(planned)
    assert not os.path.exists(stale)
    assert os.path.exists(young) and os.path.exists(foreign)


# -- hostile project files (links, FIFOs, modes, unwritable targets, control characters) -----------------

SECRET = b'-----BEGIN PRIVATE KEY-----\nnot for the diff\n-----END PRIVATE KEY-----\n'
DEFAULT_DIR = os.path.join('force-app', 'main', 'default')
PROJECT_FILES = {
    'metadata file': os.path.join(DEFAULT_DIR, 'externalClientApps', 'AnsibleIntegration.eca-meta.xml'),
    'consumer key file': os.path.join(DEFAULT_DIR, 'extlClntAppGlobalOauthSets', 'AnsibleIntegration.ecaGlblOauth-meta.xml'),
    'permission set file': os.path.join(DEFAULT_DIR, 'permissionsets', 'Ansible_Integration.permissionset-meta.xml'),
    'gitignore': '.gitignore',
    'sfdx-project': 'sfdx-project.json',
    'manifest': os.path.join('manifest', 'package.xml'),
}


def plant(project, relative, target):
    path = project / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(str(target), str(path))
    return path


def plan_and_write(spec, project):
    metadata_files.check_project(str(project))
    metadata_files.existing_consumer_key(str(project), 'force-app', spec.name)
    metadata_files.write_planned(metadata_files.plan_files(spec, str(project)))


@pytest.mark.parametrize('kind', sorted(PROJECT_FILES))
def test_link_at_a_project_file_is_refused_never_read_nor_written_through(certificate, tmp_path, kind):
    secret = tmp_path / 'server.key'
    secret.write_bytes(SECRET)
    project = tmp_path / 'project'
    link = plant(project, PROJECT_FILES[kind], secret)
    with pytest.raises(InputError) as excinfo:
        plan_and_write(make_spec(certificate, create_permission_sets=True), project)
    message = str(excinfo.value)
    assert message == ('%s is a symbolic link; app_metadata does not follow links in the project (a link could expose or '
                       'overwrite any file). Replace it with the file itself, or remove it.' % link)
    assert os.path.islink(str(link)) and secret.read_bytes() == SECRET


@pytest.mark.parametrize('folder', [os.path.join(DEFAULT_DIR, 'externalClientApps'), 'force-app', 'manifest'])
def test_linked_directory_inside_the_project_is_refused(certificate, tmp_path, folder):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    project = tmp_path / 'project'
    link = plant(project, folder, elsewhere)
    with pytest.raises(InputError) as excinfo:
        plan_and_write(make_spec(certificate), project)
    assert str(excinfo.value) == ('%s is a symbolic link; app_metadata does not follow links in the project (a link could '
                                  'expose or overwrite any file). Replace it with the folder itself.' % link)
    assert os.listdir(str(elsewhere)) == []


def test_link_planted_after_planning_is_refused_before_writing(certificate, tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    project = tmp_path / 'project'
    planned = metadata_files.plan_files(make_spec(certificate), str(project))
    plant(project, 'manifest', elsewhere)
    with pytest.raises(InputError) as excinfo:
        metadata_files.write_planned(planned)
    assert '%s is a symbolic link' % (project / 'manifest') in str(excinfo.value)
    assert os.listdir(str(elsewhere)) == [] and not (project / 'force-app').exists()


def test_project_dir_given_through_a_link_is_the_playbook_s_choice(certificate, tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'link'))
    plan_and_write(make_spec(certificate), tmp_path / 'link')
    assert (tmp_path / 'real' / 'manifest' / 'package.xml').exists()


def test_fifo_at_a_project_file_is_refused_without_blocking(certificate, tmp_path):
    import signal

    def hung(signum, frame):
        raise AssertionError('reading the FIFO blocked')

    os.mkfifo(str(tmp_path / '.gitignore'))
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    try:
        with pytest.raises(InputError) as excinfo:
            metadata_files.plan_files(make_spec(certificate), str(tmp_path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert str(excinfo.value) == ('%s is not a regular file; app_metadata reads and writes only regular files in the '
                                  'project. Remove it.' % (tmp_path / '.gitignore'))


@pytest.mark.parametrize('umask', [0o000, 0o022, 0o077])
def test_directories_created_0755_at_most_and_0700_for_the_consumer_key_folder(certificate, tmp_path, umask):
    project = tmp_path / 'project'
    previous = os.umask(umask)
    try:
        metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate, create_permission_sets=True), str(project)))
    finally:
        os.umask(previous)
    modes = {}
    for folder, subfolders, dummy in os.walk(str(project)):
        modes[os.path.relpath(folder, str(tmp_path))] = stat.S_IMODE(os.stat(folder).st_mode)
    assert len(modes) == 11
    for folder, mode in modes.items():
        wanted = 0o700 if folder.endswith('extlClntAppGlobalOauthSets') else 0o755
        assert mode == wanted & ~umask, folder


def test_missing_parents_of_the_project_are_created_0755_at_most(certificate, tmp_path):
    """A project_dir whose parents do not exist (the app_metadata EXAMPLES from an empty directory) is created."""
    project = tmp_path / 'deploy' / 'salesforce' / 'project'
    previous = os.umask(0o000)
    try:
        metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate), str(project)))
    finally:
        os.umask(previous)
    for folder in (tmp_path / 'deploy', tmp_path / 'deploy' / 'salesforce', project):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
    assert (project / 'manifest' / 'package.xml').is_file()


def test_every_target_checked_writable_before_the_first_write(certificate, tmp_path, monkeypatch):
    project = tmp_path / 'project'
    (project / 'manifest').mkdir(parents=True)
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode, **kwargs: (os.fspath(path) != str(project / 'manifest')
                                                                    and real_access(path, mode, **kwargs)))
    planned = metadata_files.plan_files(make_spec(certificate), str(project))
    with pytest.raises(InputError) as excinfo:
        metadata_files.write_planned(planned)
    assert str(excinfo.value) == ('Cannot write %s: the directory %s is not writable by this user. Use become, or choose '
                                  'a project_dir this user can write to. Nothing was written.'
                                  % (project / 'manifest' / 'package.xml', project / 'manifest'))
    assert sorted(os.listdir(str(project))) == ['manifest'] and os.listdir(str(project / 'manifest')) == []


def test_missing_directory_under_an_unwritable_one_is_checked_before_the_first_write(certificate, tmp_path, monkeypatch):
    project = tmp_path / 'project'
    project.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode, **kwargs: (os.fspath(path) != str(project)
                                                                    and real_access(path, mode, **kwargs)))
    with pytest.raises(InputError) as excinfo:
        metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate), str(project)))
    assert str(excinfo.value).startswith('Cannot create the directory %s for %s: the directory %s is not writable by this '
                                         'user.' % (project / 'force-app', project / PROJECT_FILES['metadata file'], project))
    assert os.listdir(str(project)) == []


def test_failed_write_lists_the_files_already_written(certificate, tmp_path, monkeypatch):
    real_write = metadata_files.write_file_atomic

    def refuse_the_manifest(path, data, mode=0o600):
        if path.endswith('package.xml'):
            raise PermissionError(13, 'Permission denied')
        real_write(path, data, mode=mode)

    monkeypatch.setattr(metadata_files, 'write_file_atomic', refuse_the_manifest)
    planned = metadata_files.plan_files(make_spec(certificate), str(tmp_path))
    with pytest.raises(InputError) as excinfo:
        metadata_files.write_planned(planned)
    written = [item.path for item in planned if item.kind != 'package.xml']
    assert str(excinfo.value) == ('Writing %s failed: Permission denied. Files already written in this run: %s; run the '
                                  'task again once the problem is fixed.' % (planned[-1].path, ', '.join(written)))
    assert all(os.path.isfile(path) for path in written)


@pytest.mark.parametrize('overrides, option', [
    ({'label': 'Ansible\x01integration'}, 'label'),
    ({'label': 'Ansible\nintegration'}, 'label'),
    ({'description': 'Tokens\x7f'}, 'description'),
    ({'description': 'Tokens\tfor Ansible'}, 'description'),
    ({'contact_email': 'admin@example.com\n'}, 'contact_email'),
    ({'callback_url': 'https://login.salesforce.com/services/oauth2/success\n'}, 'callback_url'),
    ({'name': 'AnsibleIntegration\n'}, 'name'),
    ({'permission_sets': ['Ansible_Integration\n']}, 'permission set'),
    ({'profiles': ['System\x00Administrator'], 'connected_app': True}, 'profiles'),
    ({'create_permission_sets': True, 'permission_set_description': 'Integration\r\nuser'}, 'permission_set_description'),
    ({'consumer_key': 'abcdefgh\n'}, 'consumer_key'),
])
def test_control_characters_and_trailing_newlines_are_refused_naming_the_option(certificate, tmp_path, overrides, option):
    with pytest.raises(InputError) as excinfo:
        metadata_files.plan_files(make_spec(certificate, **overrides), str(tmp_path))
    assert str(excinfo.value).startswith(option)
    assert os.listdir(str(tmp_path)) == []


def test_control_character_message_names_the_character_and_the_fix(certificate):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate, label='Ansible\x1bintegration')
    assert str(excinfo.value) == ("label holds the control character U+001B at position 8; the metadata can only hold "
                                  "printable text on one line. Remove it.")


def test_regexes_anchor_at_the_very_end():
    assert not md.CONSUMER_KEY_RE.match('abcdefgh\n') and not md.API_NAME_RE.match('App\n')
    assert md.validate_email('admin@example.com') and md.validate_callback_url('https://example.com/x')
