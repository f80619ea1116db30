# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backend of the app_metadata module (consumer key choice, validate_only, check mode, results, failures), and its
defaults: defined once in _metadata, repeated by the module's documentation and the provision role."""

from __future__ import annotations

import ast
import os

import pytest
import yaml


from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as md
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata_files as metadata_files
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._app_metadata import AppMetadataBackend
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.modules import app_metadata
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeModule

# tests/unit/plugins/module_utils/<this file> -> the collection's root
COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4))
CONSUMER_KEY = '3MVG9AnsibleIntegration0001'
OTHER_KEY = '3MVG9AnsibleIntegration0002'
KEY_CHANGES = ('The consumer key of AnsibleIntegration changes. Salesforce takes the consumer key only when the app is '
               'created: an app already deployed keeps its old key.')


def module_for(project, material=None, **params):
    """A module writing project; with the certificate of material (certificate_material), unless params give one."""
    values = dict(project_dir=str(project), name='AnsibleIntegration', contact_email='admin@example.com')
    if material is not None:
        values['certificate'] = material['pem']
    values.update(params)
    return FakeModule.validated(app_metadata._argument_spec(), **values)


def run(module):
    return AppMetadataBackend(module).run()


@pytest.fixture(autouse=True)
def no_consumer_key_in_the_environment(monkeypatch):
    monkeypatch.delenv('SFJWT_CONSUMER_KEY', raising=False)


# ---------------------------------------------------------------- defaults, documented once

def test_documentation_shows_the_argument_spec_s_defaults():
    documented = yaml.safe_load(app_metadata.DOCUMENTATION)['options']
    spec = app_metadata._argument_spec()
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        assert documented[name]['type'] == option['type'], name
        assert documented[name].get('default') == option.get('default'), name
    assert documented['api_version']['default'] == md.DEFAULT_API_VERSION
    assert documented['package_directory']['default'] == md.DEFAULT_PACKAGE_DIRECTORY
    assert documented['manifest']['default'] == md.DEFAULT_MANIFEST
    assert documented['callback_url']['default'] == md.DEFAULT_CALLBACK_URL


def documentation_of(path):
    """A plugin's DOCUMENTATION, read from its file: module_utils tests cannot import controller plugins."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    return next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(target, 'id', None) == 'DOCUMENTATION' for target in node.targets))


def test_provision_role_uses_the_module_s_defaults():
    role = os.path.join(COLLECTION_ROOT, 'roles', 'provision')
    with open(os.path.join(role, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(role, 'meta', 'argument_specs.yml')) as handle:
        documented = yaml.safe_load(handle)['argument_specs']['main']['options']
    with open(os.path.join(role, 'tasks', 'provision.yml')) as handle:
        tasks = handle.read()
    assert defaults['sfjwt_provision_metadata_api_version'] == md.DEFAULT_API_VERSION
    assert documented['sfjwt_provision_metadata_api_version']['default'] == md.DEFAULT_API_VERSION
    # The role reads the app's files where the module writes them by default (the app_project lookup's default
    # package directory), and uses the module's callback URL.
    assert "lookup('sfjwt.salesforce.app_project', project_dir=__sfjwt_provision_project_dir, name=sfjwt_provision_app_name)" in tasks
    lookup_options = yaml.safe_load(documentation_of(os.path.join(COLLECTION_ROOT, 'plugins', 'lookup', 'app_project.py')))['options']
    assert lookup_options['package_directory']['default'] == md.DEFAULT_PACKAGE_DIRECTORY
    assert "'%s'" % md.DEFAULT_CALLBACK_URL in tasks


def test_defaults_are_valid_values():
    assert md.parse_api_version(md.DEFAULT_API_VERSION) >= md.MIN_ECA_API_VERSION
    assert md.validate_callback_url(md.DEFAULT_CALLBACK_URL) == md.DEFAULT_CALLBACK_URL


# ---------------------------------------------------------------- the consumer key

def test_consumer_key_generated_then_kept(certificate_material, tmp_path):
    first = run(module_for(tmp_path, certificate_material))
    assert first['consumer_key_source'] == 'generated'
    assert md.CONSUMER_KEY_RE.match(first['consumer_key'])
    module = module_for(tmp_path, certificate_material)
    again = run(module)
    assert (again['consumer_key'], again['consumer_key_source'], again['changed']) == (first['consumer_key'], 'existing', False)
    assert module.warnings == []


def test_consumer_key_option_wins_and_a_change_is_warned(certificate_material, tmp_path):
    result = run(module_for(tmp_path, certificate_material, consumer_key=CONSUMER_KEY))
    assert (result['consumer_key'], result['consumer_key_source']) == (CONSUMER_KEY, 'option')
    same = module_for(tmp_path, certificate_material, consumer_key=CONSUMER_KEY)
    run(same)
    assert KEY_CHANGES not in same.warnings
    changed = module_for(tmp_path, certificate_material, consumer_key=OTHER_KEY)
    result = run(changed)
    assert (result['consumer_key'], result['consumer_key_source']) == (OTHER_KEY, 'option')
    assert changed.warnings[0] == KEY_CHANGES


def test_consumer_key_from_the_environment(certificate_material, tmp_path, monkeypatch):
    monkeypatch.setenv('SFJWT_CONSUMER_KEY', CONSUMER_KEY)
    result = run(module_for(tmp_path, certificate_material))
    assert (result['consumer_key'], result['consumer_key_source']) == (CONSUMER_KEY, 'option')


# ---------------------------------------------------------------- validate_only, check mode, results

def test_validate_only_writes_nothing_needs_no_certificate_and_does_not_warn(certificate_material, tmp_path):
    run(module_for(tmp_path, certificate_material, consumer_key=CONSUMER_KEY))
    before = sorted(os.walk(str(tmp_path)))
    module = module_for(tmp_path, consumer_key=OTHER_KEY, validate_only=True)
    assert run(module) == {'changed': False, 'project_dir': str(tmp_path)}
    assert module.warnings == [] and sorted(os.walk(str(tmp_path))) == before
    assert not (tmp_path / 'new').exists()
    assert run(module_for(tmp_path / 'new', validate_only=True)) == {'changed': False, 'project_dir': str(tmp_path / 'new')}
    assert not (tmp_path / 'new').exists()


def test_validate_only_checks_the_project_and_the_certificate(certificate_material, tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(InputError) as excinfo:
        run(module_for(tmp_path / 'file', validate_only=True))
    assert str(excinfo.value) == ('project_dir %s exists and is not a directory; give a directory (it is created when '
                                  'missing).' % (tmp_path / 'file'))
    with pytest.raises(InputError) as excinfo:
        run(module_for(tmp_path, validate_only=True, certificate='QUJDRA=='))
    assert str(excinfo.value).startswith('certificate does not decode to an X.509 certificate')


def test_check_mode_predicts_the_run_and_writes_nothing(certificate_material, tmp_path, monkeypatch):
    monkeypatch.chdir(str(tmp_path))
    predicted = run(module_for('project', certificate_material, consumer_key=CONSUMER_KEY, check_mode=True, diff=True))
    assert not (tmp_path / 'project').exists()
    module = module_for('project', certificate_material, consumer_key=CONSUMER_KEY, diff=True)
    result = run(module)
    assert predicted == result
    project = str(tmp_path / 'project')
    settings = os.path.join(project, 'force-app/main/default/extlClntAppGlobalOauthSets/AnsibleIntegration.ecaGlblOauth-meta.xml')
    assert result['changed'] and result['project_dir'] == project
    assert result['changed_files'] == list(result['files'].values()) and all(os.path.isfile(path) for path in result['changed_files'])
    assert result['not_for_source_control'] == [settings]
    assert module.warnings == ['%s holds the consumer key: do not commit it to source control (the global OAuth settings of '
                               'an External Client App are secret).' % settings]
    assert result['certificate_fingerprint_sha256'] == certificate_material['fingerprint']
    assert result['manifest'] == os.path.join(project, md.DEFAULT_MANIFEST)
    assert result['api_version'] == md.DEFAULT_API_VERSION and result['permission_set_files'] == []
    assert result['deploy_command'] == 'sf project deploy start --manifest manifest/package.xml --target-org <alias>'
    assert [entry['after_header'] for entry in result['diff']] == result['changed_files']
    again = module_for('project', certificate_material, consumer_key=CONSUMER_KEY, diff=True)
    second = run(again)
    assert (second['changed'], second['changed_files'], second['diff'], again.warnings) == (False, [], [], [])


SECRET = 'F00DCAFE1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF12345678'
SETTINGS = {
    'eca': ('force-app/main/default/extlClntAppGlobalOauthSets/AnsibleIntegration.ecaGlblOauth-meta.xml', {}),
    'connected app': ('force-app/main/default/connectedApps/AnsibleIntegration.connectedApp-meta.xml',
                      {'connected_app': True, 'external_client_app': False}),
}


def retrieved_with_secret(path):
    """The settings file as a retrieve from the org gives it: with the consumerSecret after the consumerKey."""
    with open(path) as handle:
        content = handle.read()
    content = content.replace('</consumerKey>', '</consumerKey>\n        <consumerSecret>%s</consumerSecret>' % SECRET, 1)
    with open(path, 'w') as handle:
        handle.write(content)
    return content


@pytest.mark.parametrize('kind', sorted(SETTINGS))
def test_a_retrieved_consumer_secret_is_kept_and_never_shown_in_the_diff(certificate_material, tmp_path, kind):
    relative, params = SETTINGS[kind]
    project = tmp_path / 'project'
    run(module_for(project, certificate_material, consumer_key=CONSUMER_KEY, **params))
    path = str(project / relative)
    retrieved = retrieved_with_secret(path)
    changed = dict(params, consumer_key=CONSUMER_KEY, callback_url='https://example.com/changed')   # the file is rewritten
    predicted_module = module_for(project, certificate_material, check_mode=True, diff=True, **changed)
    predicted = run(predicted_module)
    assert open(path).read() == retrieved
    module = module_for(project, certificate_material, diff=True, **changed)
    result = run(module)
    for shown in (predicted, result, predicted_module.warnings, module.warnings):
        assert SECRET not in repr(shown)
    assert predicted == result
    entry = next(entry for entry in result['diff'] if entry['after_header'] == path)
    hidden = '<consumerSecret>%s</consumerSecret>' % md.HIDDEN_SECRET
    assert hidden in entry['before'] and hidden in entry['after']
    assert 'https://example.com/changed' in entry['after']
    # The rewritten file keeps the secret, private to the user, and says so.
    with open(path) as handle:
        assert '<consumerSecret>%s</consumerSecret>' % SECRET in handle.read()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert path in result['not_for_source_control']
    assert ('%s holds the consumer secret the existing file had (as a retrieve from the org gives it): it is kept, written '
            '0600 and never shown in a diff. Do not commit it to source control.' % path) in module.warnings
    # Kept as it is: asking again changes nothing.
    again = run(module_for(project, certificate_material, diff=True, **changed))
    assert (again['changed'], again['diff']) == (False, [])


@pytest.mark.parametrize('text, shown', [
    ('<consumerSecret>%s</consumerSecret>' % SECRET, '<consumerSecret>%s</consumerSecret>' % md.HIDDEN_SECRET),
    ('<a:consumerSecret x="1">%s</a:consumerSecret >' % SECRET, '<a:consumerSecret x="1">%s</a:consumerSecret >' % md.HIDDEN_SECRET),
    ('<consumerSecret><![CDATA[%s]]></consumerSecret>' % SECRET, md.HIDDEN_FILE),   # CDATA, comments, entities: not shown
    ('<x>\n<consumerSecret>%s\n' % SECRET, '<x>\n<consumerSecret>%s' % md.HIDDEN_SECRET),   # not well-formed: to the end
    ('<consumerSecret></consumerSecret><consumerSecret/>', '<consumerSecret></consumerSecret><consumerSecret/>'),
    ('<consumerKey>3MVG9</consumerKey>', '<consumerKey>3MVG9</consumerKey>'),
], ids=['element', 'prefix and attribute', 'cdata', 'no end tag', 'empty', 'consumer key'])
def test_hide_consumer_secrets(text, shown):
    assert md.hide_consumer_secrets(text) == shown


def test_read_consumer_secret():
    assert md.read_consumer_secret(b'<a xmlns="urn:x"><consumerSecret> %s </consumerSecret></a>' % SECRET.encode()) == SECRET
    assert [md.read_consumer_secret(content) for content in (None, b'', b'<a', b'<a><consumerSecret/></a>')] == [None] * 4


def test_permission_sets_and_an_own_manifest(certificate_material, tmp_path):
    result = run(module_for(tmp_path, certificate_material, permission_sets=['Ansible_Integration'],
                            create_permission_sets=True, manifest='deploy/app.xml', gitignore=False))
    path = str(tmp_path / 'force-app/main/default/permissionsets/Ansible_Integration.permissionset-meta.xml')
    assert result['permission_set_files'] == [path] and result['files']['PermissionSet:Ansible_Integration'] == path
    assert result['manifest'] == str(tmp_path / 'deploy/app.xml') and os.path.isfile(result['manifest'])
    assert result['deploy_command'] == 'sf project deploy start --manifest deploy/app.xml --target-org <alias>'
    assert 'gitignore' not in result['files']


# ---------------------------------------------------------------- failures

def test_unreadable_certificate_path_is_named_first(tmp_path):
    missing = str(tmp_path / 'missing.crt')
    backend = AppMetadataBackend(module_for(tmp_path, certificate_path=missing, name='not a valid name'))
    with pytest.raises(InputError) as excinfo:
        backend.run()
    assert str(excinfo.value) == ('cannot read certificate_path %s: No such file or directory. Point it at the certificate '
                                  'written by the certificate module.' % missing)
    assert excinfo.value.details == {}


@pytest.mark.usefixtures('fails_within_five_seconds')
@pytest.mark.parametrize('kind', ['fifo', 'directory'])
def test_a_certificate_path_that_is_not_a_file_fails_at_once(tmp_path, kind):
    path = str(tmp_path / 'server.crt')
    os.mkfifo(path) if kind == 'fifo' else os.mkdir(path)
    backend = AppMetadataBackend(module_for(tmp_path / 'project', certificate_path=path))
    with pytest.raises(InputError) as excinfo:
        backend.run()
    assert str(excinfo.value) == ('cannot read certificate_path %s: it is not a regular file. Point it at the certificate '
                                  'written by the certificate module.' % path)
    assert not (tmp_path / 'project').exists()


def test_certificate_path_is_read(certificate_material, tmp_path):
    path = tmp_path / 'server.crt'
    path.write_text(certificate_material['pem'])
    result = run(module_for(tmp_path / 'project', certificate_path=str(path)))
    assert result['certificate_fingerprint_sha256'] == certificate_material['fingerprint']


def test_input_problems_carry_no_traceback(certificate_material, tmp_path):
    backend = AppMetadataBackend(module_for(tmp_path, certificate_material, name='Bad Name'))
    with pytest.raises(InputError) as excinfo:
        backend.run()
    assert excinfo.value.details == {}
    assert os.listdir(str(tmp_path)) == []


def test_failed_write_carries_the_traceback(certificate_material, tmp_path, monkeypatch):
    def refuse(path, data, mode=0o600):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr(metadata_files, 'write_file_atomic', refuse)
    backend = AppMetadataBackend(module_for(tmp_path, certificate_material))
    with pytest.raises(InputError) as excinfo:
        backend.run()
    assert str(excinfo.value).startswith('Writing %s failed: Permission denied. Files already written in this run: none;'
                                         % (tmp_path / 'force-app/main/default/externalClientApps/AnsibleIntegration.eca-meta.xml'))
    assert list(excinfo.value.details) == ['exception']
    assert 'InputError: Writing' in excinfo.value.details['exception']


HOSTILE_SECRET = 'TOPSECRETVALUE12345'
# Well-formed XML whose text and parsed value part ways: an end tag in a comment or in CDATA, the secret in an entity.
SECRET_DISGUISES = {
    'end tag in a comment': '<consumerSecret><!-- </consumerSecret> -->%s</consumerSecret>' % HOSTILE_SECRET,
    'end tag in CDATA': '<consumerSecret><![CDATA[AAA</consumerSecret>%s]]></consumerSecret>' % HOSTILE_SECRET,
    'escaped end tag': '<consumerSecret>AAA&lt;/consumerSecret>%s</consumerSecret>' % HOSTILE_SECRET,
    'second secret': '<consumerSecret>X1</consumerSecret><consumerSecret>%s</consumerSecret>' % HOSTILE_SECRET,
    'entity': None,
}


@pytest.mark.parametrize('disguise', sorted(SECRET_DISGUISES))
@pytest.mark.parametrize('kind', sorted(SETTINGS))
def test_a_disguised_consumer_secret_is_never_shown_in_the_diff(certificate_material, tmp_path, kind, disguise):
    relative, params = SETTINGS[kind]
    project = tmp_path / 'project'
    run(module_for(project, certificate_material, consumer_key=CONSUMER_KEY, **params))
    path = project / relative
    content = path.read_text()
    if disguise == 'entity':
        content = content.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-8"?>\n'
                                  '<!DOCTYPE x [<!ENTITY s "%s">]>' % HOSTILE_SECRET, 1)
        content = content.replace('</consumerKey>', '</consumerKey><consumerSecret>&s;</consumerSecret>', 1)
    else:
        content = content.replace('</consumerKey>', '</consumerKey>' + SECRET_DISGUISES[disguise], 1)
    path.write_text(content)
    module = module_for(project, certificate_material, diff=True,
                        **dict(params, consumer_key=CONSUMER_KEY, callback_url='https://example.com/changed'))
    result = run(module)
    assert HOSTILE_SECRET not in repr(result) + repr(module.warnings)
