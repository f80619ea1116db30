# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An app_metadata project on disk (module_utils/project/_metadata_files): what is planned and written, with which
modes, idempotence, and what links, FIFOs, unwritable targets and control characters in a hostile project do."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as md
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata_files as metadata_files
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.metadata_specs import CONSUMER_KEY, NS, canonical_pem, make_spec


# -- files -----------------------------------------------------------------------------------------------

def test_files_written_with_paths_modes_and_idempotence(certificate_material, tmp_path):
    spec = make_spec(certificate_material)
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
    again = metadata_files.plan_files(make_spec(certificate_material), str(tmp_path))
    assert not any(item.changed for item in again)
    metadata_files.write_planned(again)
    assert {path: os.stat(path).st_mtime_ns for path in expected.values()} == before
    assert metadata_files.diff_entries(again) == []


def old_body_form(document, cert):
    """A document as versions before the PEM form wrote it: the certificate as its one-line base64 body."""
    pem = canonical_pem(cert).encode('ascii')
    assert document.count(pem) == 1
    return document.replace(pem, cert['body'].encode('ascii'))


def test_project_written_with_the_body_form_keeps_its_key_and_is_rewritten_once(certificate_material, tmp_path):
    spec = make_spec(certificate_material, connected_app=True)
    planned = metadata_files.plan_files(spec, str(tmp_path))
    metadata_files.write_planned(planned)
    holders = [item for item in planned if item.kind in (md.ECA_GLOBAL_OAUTH, md.CONNECTED_APP)]
    for item in holders:
        with open(item.path, 'wb') as handle:
            handle.write(old_body_form(item.content, certificate_material))
        assert [e.text for e in ET.parse(item.path).iter(NS + 'certificate')] == [certificate_material['body']]
    assert metadata_files.existing_consumer_key(str(tmp_path), 'force-app', 'AnsibleIntegration') == CONSUMER_KEY

    # The module takes the existing key when none is given: the app keeps its key.
    again = metadata_files.plan_files(make_spec(certificate_material, connected_app=True,
                                                consumer_key=metadata_files.existing_consumer_key(str(tmp_path), 'force-app', 'AnsibleIntegration')),
                                      str(tmp_path))
    assert sorted(item.kind for item in again if item.changed) == sorted([md.ECA_GLOBAL_OAUTH, md.CONNECTED_APP])
    metadata_files.write_planned(again)
    for item in holders:
        with open(item.path, 'rb') as handle:
            content = handle.read()
        assert content == item.content and b'-----BEGIN CERTIFICATE-----\n' in content
    assert metadata_files.existing_consumer_key(str(tmp_path), 'force-app', 'AnsibleIntegration') == CONSUMER_KEY
    assert not any(item.changed for item in metadata_files.plan_files(make_spec(certificate_material, connected_app=True), str(tmp_path)))


def test_written_files_parse_back_and_the_certificate_loads(certificate_material, tmp_path):
    planned = metadata_files.plan_files(make_spec(certificate_material, connected_app=True), str(tmp_path))
    metadata_files.write_planned(planned)
    for item in planned:
        if item.kind in (md.ECA_GLOBAL_OAUTH, md.CONNECTED_APP):
            texts = [element.text for element in ET.parse(item.path).iter(NS + 'certificate')]
            assert len(texts) == 1
            loaded = x509.load_pem_x509_certificate(texts[0].encode('ascii'))
            assert loaded.public_bytes(serialization.Encoding.DER) == certificate_material['der']


def test_changed_certificate_rewrites_only_the_files_that_hold_it(certificate_material, tmp_path):
    metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate_material), str(tmp_path)))
    other = metadata_files.plan_files(make_spec(certificate_material, consumer_key='OtherKey0001'), str(tmp_path))
    assert [item.kind for item in other if item.changed] == [md.ECA_GLOBAL_OAUTH]
    diff = metadata_files.diff_entries(other)
    assert len(diff) == 1 and 'OtherKey0001' in diff[0]['after'] and CONSUMER_KEY in diff[0]['before']


def test_existing_project_files_are_kept(certificate_material, tmp_path):
    (tmp_path / '.gitignore').write_text('node_modules/')
    os.chmod(tmp_path / '.gitignore', 0o664)
    original = {'packageDirectories': [{'path': 'src', 'default': True}], 'sourceApiVersion': '58.0', 'name': 'mine'}
    (tmp_path / 'sfdx-project.json').write_text(json.dumps(original))
    metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate_material), str(tmp_path), package_directory='src'))
    assert (tmp_path / '.gitignore').read_text().startswith('node_modules/\n# Written by sfjwt.salesforce.app_metadata')
    assert stat.S_IMODE(os.stat(tmp_path / '.gitignore').st_mode) == 0o664
    assert json.loads((tmp_path / 'sfdx-project.json').read_text()) == original
    assert (tmp_path / 'src' / 'main' / 'default' / 'externalClientApps' / 'AnsibleIntegration.eca-meta.xml').exists()


def test_package_directory_added_to_an_existing_project(tmp_path, certificate_material):
    (tmp_path / 'sfdx-project.json').write_text(json.dumps({'packageDirectories': [{'path': 'src', 'default': True}]}))
    metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate_material), str(tmp_path)))
    project = json.loads((tmp_path / 'sfdx-project.json').read_text())
    assert project['packageDirectories'] == [{'path': 'src', 'default': True}, {'path': 'force-app', 'default': False}]
    assert project['sourceApiVersion'] == '62.0'


def test_sfdx_project_nested_too_deeply_is_reported(tmp_path, certificate_material):
    (tmp_path / 'sfdx-project.json').write_text('[' * 100000)
    with pytest.raises(InputError) as excinfo:
        metadata_files.plan_files(make_spec(certificate_material), str(tmp_path))
    assert str(excinfo.value) == ('sfdx-project.json exists but is not valid JSON (arrays or objects nested too deeply to read); '
                                  'fix or remove it.')


def test_broken_sfdx_project_is_reported(tmp_path, certificate_material):
    (tmp_path / 'sfdx-project.json').write_text('{not json')
    with pytest.raises(InputError) as excinfo:
        metadata_files.plan_files(make_spec(certificate_material), str(tmp_path))
    assert 'sfdx-project.json exists but is not valid JSON' in str(excinfo.value)


@pytest.mark.parametrize('kwargs', [{'package_directory': '../outside'}, {'manifest': '/etc/package.xml'}])
def test_paths_stay_inside_the_project(tmp_path, certificate_material, kwargs):
    with pytest.raises(InputError):
        metadata_files.plan_files(make_spec(certificate_material), str(tmp_path), **kwargs)


def test_gitignore_entry_added_once():
    first = md.update_gitignore(b'')
    assert md.update_gitignore(first) is None
    assert md.update_gitignore(b'**/extlClntAppGlobalOauthSets\n') is None


def test_stale_temporary_files_of_killed_runs_are_removed_and_others_kept(certificate_material, tmp_path):
    planned = metadata_files.plan_files(make_spec(certificate_material), str(tmp_path))
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
def test_link_at_a_project_file_is_refused_never_read_nor_written_through(certificate_material, tmp_path, kind):
    secret = tmp_path / 'server.key'
    secret.write_bytes(SECRET)
    project = tmp_path / 'project'
    link = plant(project, PROJECT_FILES[kind], secret)
    with pytest.raises(InputError) as excinfo:
        plan_and_write(make_spec(certificate_material, create_permission_sets=True), project)
    message = str(excinfo.value)
    assert message == ('%s is a symbolic link; app_metadata does not follow links in the project (a link could expose or '
                       'overwrite any file). Replace it with the file itself, or remove it.' % link)
    assert os.path.islink(str(link)) and secret.read_bytes() == SECRET


@pytest.mark.parametrize('kind', sorted(PROJECT_FILES))
def test_hard_link_at_a_project_file_is_refused_never_read_nor_written_through(certificate_material, tmp_path, kind):
    secret = tmp_path / 'server.key'
    secret.write_bytes(SECRET)
    project = tmp_path / 'project'
    path = project / PROJECT_FILES[kind]
    path.parent.mkdir(parents=True, exist_ok=True)
    os.link(str(secret), str(path))
    with pytest.raises(InputError) as excinfo:
        plan_and_write(make_spec(certificate_material, create_permission_sets=True), project)
    assert str(excinfo.value) == (
        '%s is a hard link: the same file has 2 names, and the others may be anywhere (a private key, for example), so '
        'app_metadata neither shows nor changes it. If the file belongs here, give it a content of its own ("cp %s %s.copy '
        '&& mv %s.copy %s"); else remove it.' % (path, path, path, path, path))
    assert SECRET.decode() not in str(excinfo.value)
    assert os.stat(str(path)).st_nlink == 2 and secret.read_bytes() == SECRET


@pytest.mark.parametrize('folder', [os.path.join(DEFAULT_DIR, 'externalClientApps'), 'force-app', 'manifest'])
def test_linked_directory_inside_the_project_is_refused(certificate_material, tmp_path, folder):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    project = tmp_path / 'project'
    link = plant(project, folder, elsewhere)
    with pytest.raises(InputError) as excinfo:
        plan_and_write(make_spec(certificate_material), project)
    assert str(excinfo.value) == ('%s is a symbolic link; app_metadata does not follow links in the project (a link could '
                                  'expose or overwrite any file). Replace it with the folder itself.' % link)
    assert os.listdir(str(elsewhere)) == []


def test_link_planted_after_planning_is_refused_before_writing(certificate_material, tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    project = tmp_path / 'project'
    planned = metadata_files.plan_files(make_spec(certificate_material), str(project))
    plant(project, 'manifest', elsewhere)
    with pytest.raises(InputError) as excinfo:
        metadata_files.write_planned(planned)
    assert '%s is a symbolic link' % (project / 'manifest') in str(excinfo.value)
    assert os.listdir(str(elsewhere)) == [] and not (project / 'force-app').exists()


def test_project_dir_given_through_a_link_is_the_playbook_s_choice(certificate_material, tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'link'))
    plan_and_write(make_spec(certificate_material), tmp_path / 'link')
    assert (tmp_path / 'real' / 'manifest' / 'package.xml').exists()


def test_fifo_at_a_project_file_is_refused_without_blocking(certificate_material, tmp_path):
    import signal

    def hung(signum, frame):
        raise AssertionError('reading the FIFO blocked')

    os.mkfifo(str(tmp_path / '.gitignore'))
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    try:
        with pytest.raises(InputError) as excinfo:
            metadata_files.plan_files(make_spec(certificate_material), str(tmp_path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert str(excinfo.value) == ('%s is not a regular file; app_metadata reads and writes only regular files in the '
                                  'project. Remove it.' % (tmp_path / '.gitignore'))


@pytest.mark.parametrize('umask', [0o000, 0o022, 0o077])
def test_directories_created_0755_at_most_and_0700_for_the_consumer_key_folder(certificate_material, tmp_path, umask):
    project = tmp_path / 'project'
    previous = os.umask(umask)
    try:
        metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate_material, create_permission_sets=True), str(project)))
    finally:
        os.umask(previous)
    modes = {}
    for folder, subfolders, dummy in os.walk(str(project)):
        modes[os.path.relpath(folder, str(tmp_path))] = stat.S_IMODE(os.stat(folder).st_mode)
    assert len(modes) == 11
    for folder, mode in modes.items():
        wanted = 0o700 if folder.endswith('extlClntAppGlobalOauthSets') else 0o755
        assert mode == wanted & ~umask, folder


def test_missing_parents_of_the_project_are_created_0755_at_most(certificate_material, tmp_path):
    """A project_dir whose parents do not exist (the app_metadata EXAMPLES from an empty directory) is created."""
    project = tmp_path / 'deploy' / 'salesforce' / 'project'
    previous = os.umask(0o000)
    try:
        metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate_material), str(project)))
    finally:
        os.umask(previous)
    for folder in (tmp_path / 'deploy', tmp_path / 'deploy' / 'salesforce', project):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
    assert (project / 'manifest' / 'package.xml').is_file()


def test_every_target_checked_writable_before_the_first_write(certificate_material, tmp_path, monkeypatch):
    project = tmp_path / 'project'
    (project / 'manifest').mkdir(parents=True)
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode, **kwargs: (os.fspath(path) != str(project / 'manifest')
                                                                    and real_access(path, mode, **kwargs)))
    planned = metadata_files.plan_files(make_spec(certificate_material), str(project))
    with pytest.raises(InputError) as excinfo:
        metadata_files.write_planned(planned)
    assert str(excinfo.value) == ('Cannot write %s: the directory %s is not writable by this user. Use become, or choose '
                                  'a project_dir this user can write to. Nothing was written.'
                                  % (project / 'manifest' / 'package.xml', project / 'manifest'))
    assert sorted(os.listdir(str(project))) == ['manifest'] and os.listdir(str(project / 'manifest')) == []


def test_missing_directory_under_an_unwritable_one_is_checked_before_the_first_write(certificate_material, tmp_path, monkeypatch):
    project = tmp_path / 'project'
    project.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode, **kwargs: (os.fspath(path) != str(project)
                                                                    and real_access(path, mode, **kwargs)))
    with pytest.raises(InputError) as excinfo:
        metadata_files.write_planned(metadata_files.plan_files(make_spec(certificate_material), str(project)))
    assert str(excinfo.value).startswith('Cannot create the directory %s for %s: the directory %s is not writable by this '
                                         'user.' % (project / 'force-app', project / PROJECT_FILES['metadata file'], project))
    assert os.listdir(str(project)) == []


def test_failed_write_lists_the_files_already_written(certificate_material, tmp_path, monkeypatch):
    real_write = metadata_files.write_file_atomic

    def refuse_the_manifest(path, data, mode=0o600):
        if path.endswith('package.xml'):
            raise PermissionError(13, 'Permission denied')
        real_write(path, data, mode=mode)

    monkeypatch.setattr(metadata_files, 'write_file_atomic', refuse_the_manifest)
    planned = metadata_files.plan_files(make_spec(certificate_material), str(tmp_path))
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
def test_control_characters_and_trailing_newlines_are_refused_naming_the_option(certificate_material, tmp_path, overrides, option):
    with pytest.raises(InputError) as excinfo:
        metadata_files.plan_files(make_spec(certificate_material, **overrides), str(tmp_path))
    assert str(excinfo.value).startswith(option)
    assert os.listdir(str(tmp_path)) == []


def test_control_character_message_names_the_character_and_the_fix(certificate_material):
    with pytest.raises(InputError) as excinfo:
        make_spec(certificate_material, label='Ansible\x1bintegration')
    assert str(excinfo.value) == ("label holds the control character U+001B at position 8; the metadata can only hold "
                                  "printable text on one line. Remove it.")


def test_regexes_anchor_at_the_very_end():
    assert not md.CONSUMER_KEY_RE.match('abcdefgh\n') and not md.API_NAME_RE.match('App\n')
    assert md.validate_email('admin@example.com') and md.validate_callback_url('https://example.com/x')
