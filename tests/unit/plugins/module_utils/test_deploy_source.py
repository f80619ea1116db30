# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A project as a Metadata API deploy (module_utils/api/_deploy_source): conversion of what app_metadata and the
Salesforce CLI write, the deterministic zip, manifests, and what a hostile project can make of it."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _deploy_source as deploy_source
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as md
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.deploy_projects import (
    APEX_META, APEX_SOURCE, DEFAULT, NS, PERMSET, apex_project, app_project, entries_of, package_xml, raises,
    write_files)


# -- conversion of a project written by app_metadata -----------------------------------------------------------

ECA_ENTRIES = {
    'externalClientApps/SfjwtApp.eca': ('externalClientApps', 'SfjwtApp.eca-meta.xml'),
    'extlClntAppOauthSettings/SfjwtApp.ecaOauth': ('extlClntAppOauthSettings', 'SfjwtApp.ecaOauth-meta.xml'),
    'extlClntAppGlobalOauthSets/SfjwtApp.ecaGlblOauth': ('extlClntAppGlobalOauthSets', 'SfjwtApp.ecaGlblOauth-meta.xml'),
    'extlClntAppOauthPolicies/SfjwtApp.ecaOauthPlcy': ('extlClntAppOauthPolicies', 'SfjwtApp.ecaOauthPlcy-meta.xml'),
    'extlClntAppPolicies/SfjwtApp.ecaPlcy': ('extlClntAppPolicies', 'SfjwtApp.ecaPlcy-meta.xml'),
    'permissionsets/Sfjwt_Users.permissionset': ('permissionsets', 'Sfjwt_Users.permissionset-meta.xml'),
}
ECA_COMPONENTS = ['ExternalClientApplication:SfjwtApp', 'ExtlClntAppConfigurablePolicies:SfjwtApp',
                  'ExtlClntAppGlobalOauthSettings:SfjwtApp', 'ExtlClntAppOauthConfigurablePolicies:SfjwtApp',
                  'ExtlClntAppOauthSettings:SfjwtApp', 'PermissionSet:Sfjwt_Users']


def test_app_metadata_project_with_its_manifest(tmp_path, certificate_pem):
    project = app_project(tmp_path, certificate_pem)
    source = deploy_source.SourceProject(project)
    assert source.manifest_path == os.path.join(project, 'manifest', 'package.xml')
    zip_bytes, sha256, components = source.build()
    assert components == ECA_COMPONENTS
    assert sha256 == hashlib.sha256(zip_bytes).hexdigest()
    entries = entries_of(zip_bytes)
    assert sorted(entries) == sorted(list(ECA_ENTRIES) + ['package.xml'])
    for name, (folder, file_name) in ECA_ENTRIES.items():
        with open(os.path.join(project, DEFAULT, folder, file_name), 'rb') as handle:
            assert entries[name] == handle.read()
    with open(os.path.join(project, 'manifest', 'package.xml'), 'rb') as handle:
        assert entries['package.xml'] == handle.read()
    # The certificate travels as app_metadata wrote it: the whole PEM.
    assert b'-----BEGIN CERTIFICATE-----\n' in entries['extlClntAppGlobalOauthSets/SfjwtApp.ecaGlblOauth']
    # Nothing of the project outside the package directories (.gitignore, sfdx-project.json) is in the zip.
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(entries)
    assert {(info.date_time, info.compress_type, info.external_attr >> 16) for info in infos} == {
        ((1980, 1, 1, 0, 0, 0), zipfile.ZIP_DEFLATED, 0o644)}


def test_app_metadata_project_without_manifest_builds_package_xml(tmp_path, certificate_pem):
    project = app_project(tmp_path, certificate_pem)
    os.unlink(os.path.join(project, 'manifest', 'package.xml'))
    source = deploy_source.SourceProject(project)
    assert source.manifest_path is None
    zip_bytes, dummy, components = source.build()
    assert components == ECA_COMPONENTS
    assert entries_of(zip_bytes)['package.xml'] == package_xml(
        ('ExternalClientApplication', 'SfjwtApp'), ('ExtlClntAppConfigurablePolicies', 'SfjwtApp'),
        ('ExtlClntAppGlobalOauthSettings', 'SfjwtApp'), ('ExtlClntAppOauthConfigurablePolicies', 'SfjwtApp'),
        ('ExtlClntAppOauthSettings', 'SfjwtApp'), ('PermissionSet', 'Sfjwt_Users'))


def test_legacy_connected_app_project(tmp_path, certificate_pem):
    project = app_project(tmp_path, certificate_pem, external_client_app=False, connected_app=True, create_permission_sets=False)
    zip_bytes, dummy, components = deploy_source.SourceProject(project).build()
    assert components == ['ConnectedApp:SfjwtApp']
    assert sorted(entries_of(zip_bytes)) == ['connectedApps/SfjwtApp.connectedApp', 'package.xml']


def test_manifest_selects_components_and_is_the_package_xml(tmp_path):
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="%s"><types><members>Hello</members>'
                b'<name>ApexClass</name></types><version>61.0</version></Package>\n' % NS.encode())
    project = apex_project(tmp_path, **{os.path.join('manifest', 'package.xml'): manifest})
    zip_bytes, dummy, components = deploy_source.SourceProject(project).build()
    assert components == ['ApexClass:Hello']
    assert entries_of(zip_bytes) == {'package.xml': manifest, 'classes/Hello.cls': APEX_SOURCE,
                                     'classes/Hello.cls-meta.xml': APEX_META}


def test_manifest_wildcard_and_an_explicit_manifest_path(tmp_path):
    manifest = (b'<Package xmlns="%s"><types><members>*</members><name>PermissionSet</name></types>'
                b'<types><members>Hello</members><members>Hello</members><name>ApexClass</name></types></Package>' % NS.encode())
    project = apex_project(tmp_path, **{os.path.join('other', 'deploy.xml'): manifest})
    dummy, dummy2, components = deploy_source.SourceProject(project, manifest='other/deploy.xml').build()
    assert components == ['ApexClass:Hello', 'PermissionSet:Sfjwt']


def test_apex_class_conversion(tmp_path):
    project = apex_project(tmp_path)
    zip_bytes, dummy, components = deploy_source.SourceProject(project).build()
    assert components == ['ApexClass:Hello', 'PermissionSet:Sfjwt']
    assert entries_of(zip_bytes) == {
        'classes/Hello.cls': APEX_SOURCE,
        'classes/Hello.cls-meta.xml': APEX_META,
        'permissionsets/Sfjwt.permissionset': PERMSET,
        'package.xml': package_xml(('ApexClass', 'Hello'), ('PermissionSet', 'Sfjwt')),
    }


def test_apex_trigger_and_settings(tmp_path):
    trigger_meta = b'<ApexTrigger xmlns="%s"><apiVersion>62.0</apiVersion><status>Active</status></ApexTrigger>' % NS.encode()
    settings = b'<SecuritySettings xmlns="%s"><sessionSettings/></SecuritySettings>' % NS.encode()
    project = write_files(tmp_path, {os.path.join(DEFAULT, 'triggers', 'OnAccount.trigger'): b'trigger OnAccount on Account (before insert) {}',
                                     os.path.join(DEFAULT, 'triggers', 'OnAccount.trigger-meta.xml'): trigger_meta,
                                     os.path.join(DEFAULT, 'settings', 'Security.settings-meta.xml'): settings})
    zip_bytes, dummy, components = deploy_source.SourceProject(project).build()
    assert components == ['ApexTrigger:OnAccount', 'Settings:Security']
    assert sorted(entries_of(zip_bytes)) == ['package.xml', 'settings/Security.settings', 'triggers/OnAccount.trigger',
                                             'triggers/OnAccount.trigger-meta.xml']


def test_hidden_files_and_folders_are_skipped(tmp_path):
    project = apex_project(tmp_path, **{os.path.join(DEFAULT, '.DS_Store'): b'\0\0',
                                        os.path.join(DEFAULT, '.sfdx', 'junk.txt'): b'junk',
                                        os.path.join(DEFAULT, 'classes', '.Hello.cls-meta.xml.x1y2z3w4.tmp'): b'<partial'})
    assert deploy_source.SourceProject(project).build()[2] == ['ApexClass:Hello', 'PermissionSet:Sfjwt']


def test_several_package_directories_and_one_listed_twice(tmp_path):
    project = write_files(tmp_path, {os.path.join('force-app', 'classes', 'Hello.cls'): APEX_SOURCE,
                                     os.path.join('force-app', 'classes', 'Hello.cls-meta.xml'): APEX_META,
                                     os.path.join('more', 'permissionsets', 'Sfjwt.permissionset-meta.xml'): PERMSET},
                          project={'packageDirectories': [{'path': 'force-app'}, {'path': 'more/'}, {'path': './force-app'},
                                                          {'path': 'force-app/classes'}, 'junk', {'path': 7}, {'path': ' '}]})
    assert deploy_source.SourceProject(project).build()[2] == ['ApexClass:Hello', 'PermissionSet:Sfjwt']


def test_project_dir_given_through_a_link_is_followed(tmp_path):
    """The project_dir option is the playbook's choice (app_metadata writes through a link too); links inside it are not."""
    real = apex_project(tmp_path / 'real')
    os.symlink(real, str(tmp_path / 'link'))
    source = deploy_source.SourceProject(str(tmp_path / 'link'))
    assert source.build()[2] == ['ApexClass:Hello', 'PermissionSet:Sfjwt']


# -- deterministic zip and sha256 ------------------------------------------------------------------------------

def test_same_input_same_bytes_one_byte_changed_other_sha(tmp_path, certificate_pem):
    project = app_project(tmp_path, certificate_pem)
    first = deploy_source.SourceProject(project).build()
    path = os.path.join(project, DEFAULT, 'permissionsets', 'Sfjwt_Users.permissionset-meta.xml')
    os.utime(path, (0, 0))   # timestamps and modes are not part of the zip
    os.chmod(path, 0o600)
    second = deploy_source.SourceProject(project).build()
    assert first == second
    with open(path, 'rb') as handle:
        content = handle.read()
    with open(path, 'wb') as handle:
        handle.write(content.replace(b'<label>Sfjwt Users</label>', b'<label>Sfjwt Userz</label>'))
    third = deploy_source.SourceProject(project).build()
    assert third[1] != first[1] and third[2] == first[2]
    assert hashlib.sha256(third[0]).hexdigest() == third[1]


def test_the_same_components_in_other_places_give_the_same_zip(tmp_path):
    one = apex_project(tmp_path / 'one')
    other = write_files(tmp_path / 'other', {os.path.join('src', 'b', 'classes', 'Hello.cls'): APEX_SOURCE,
                                             os.path.join('src', 'b', 'classes', 'Hello.cls-meta.xml'): APEX_META,
                                             os.path.join('src', 'a', 'permissionsets', 'Sfjwt.permissionset-meta.xml'): PERMSET},
                        project={'packageDirectories': [{'path': 'src'}], 'sourceApiVersion': '62.0'})
    assert deploy_source.SourceProject(one).build() == deploy_source.SourceProject(other).build()


# -- hostile projects ------------------------------------------------------------------------------------------

def test_link_to_a_file_is_refused(tmp_path):
    secret = tmp_path / 'secret'
    secret.write_bytes(PERMSET)
    project = apex_project(tmp_path / 'p')
    link = os.path.join(project, DEFAULT, 'permissionsets', 'Leak.permissionset-meta.xml')
    os.symlink(str(secret), link)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'metadata file %s is a symbolic link; links are not followed in a project (a link could expose any file to the org). '
        'Replace it with the file itself.' % link)


def test_hard_link_as_apex_source_is_refused_and_not_zipped(tmp_path):
    secret = tmp_path / 'server.key'
    secret.write_bytes(b'-----BEGIN PRIVATE KEY-----')
    project = apex_project(tmp_path / 'p')
    source = os.path.join(project, DEFAULT, 'classes', 'Hello.cls')
    os.unlink(source)
    os.link(str(secret), source)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'ApexClass source %s is a hard link: the same file has 2 names, and the others may be anywhere (a private key, for '
        'example), so it is not deployed. If the file belongs here, give it a content of its own ("cp %s %s.copy && mv '
        '%s.copy %s"); else remove it.' % (source, source, source, source, source))


def test_hard_link_as_sfdx_project_is_refused(tmp_path):
    project = apex_project(tmp_path / 'p')
    path = os.path.join(project, 'sfdx-project.json')
    os.link(path, str(tmp_path / 'other-name.json'))
    assert raises(deploy_source.SourceProject, project).msg.startswith(
        'sfdx-project.json %s is a hard link: the same file has 2 names' % path)


def test_link_as_apex_source_is_refused(tmp_path):
    project = apex_project(tmp_path / 'p')
    source = os.path.join(project, DEFAULT, 'classes', 'Hello.cls')
    os.unlink(source)
    os.symlink('/etc/hostname', source)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'ApexClass source %s is a symbolic link; links are not followed in a project (a link could expose any file to the org). '
        'Replace it with the file itself.' % source)


def test_link_to_a_directory_inside_a_package_directory_is_refused(tmp_path):
    outside = write_files(tmp_path / 'outside', {'Sfjwt.permissionset-meta.xml': PERMSET}, project=False)
    project = apex_project(tmp_path / 'p')
    link = os.path.join(project, DEFAULT, 'permissionsets2')
    os.symlink(outside, link)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s is a symbolic link; links are not followed in a project. Replace it with the folder itself.' % link)


@pytest.mark.parametrize('package_path, link_path', [('force-app', 'force-app'), ('linked/force-app', 'linked')])
def test_package_directory_through_a_link_is_refused(tmp_path, package_path, link_path):
    outside = apex_project(tmp_path / 'outside')
    project = write_files(tmp_path / 'p', {}, project={'packageDirectories': [{'path': package_path}]})
    os.symlink(os.path.join(outside, 'force-app') if link_path == 'force-app' else outside, os.path.join(project, link_path))
    assert raises(deploy_source.SourceProject, project).msg == (
        'packageDirectories path %s goes through the symbolic link %s; links are not followed in a project (a link could '
        'expose any file to the org). Replace it with the folder or file itself.' % (package_path, os.path.join(project, link_path)))


def test_manifest_through_a_linked_folder_is_refused(tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'package.xml').write_bytes(b'<Package xmlns="%s"/>' % NS.encode())
    project = apex_project(tmp_path / 'p')
    os.symlink(str(outside), os.path.join(project, 'manifest'))
    message = ('manifest %s goes through the symbolic link %s; links are not followed in a project (a link could expose any '
               'file to the org). Replace it with the folder or file itself.')
    assert raises(deploy_source.SourceProject, project).msg == message % (md.DEFAULT_MANIFEST, os.path.join(project, 'manifest'))
    assert raises(deploy_source.SourceProject, project, 'manifest/package.xml').msg == message % (
        'manifest/package.xml', os.path.join(project, 'manifest'))


def test_fifo_is_refused_without_blocking(tmp_path):
    project = apex_project(tmp_path)
    fifo = os.path.join(project, DEFAULT, 'permissionsets', 'Pipe.permissionset-meta.xml')
    os.mkfifo(fifo)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'metadata file %s is not a regular file; remove it or replace it with the file.' % fifo)


def test_fifo_as_manifest_is_refused_without_blocking(tmp_path):
    project = apex_project(tmp_path)
    os.mkdir(os.path.join(project, 'manifest'))
    fifo = os.path.join(project, 'manifest', 'package.xml')
    os.mkfifo(fifo)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'manifest %s is not a regular file; remove it or replace it with the file.' % fifo)


def test_unknown_suffix_names_the_supported_types(tmp_path):
    project = apex_project(tmp_path, **{os.path.join(DEFAULT, 'flows', 'Go.flow-meta.xml'): b'<Flow/>'})
    path = os.path.join(project, DEFAULT, 'flows', 'Go.flow-meta.xml')
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s is not metadata this module can deploy (suffix .flow-meta.xml). This module converts the metadata types '
        'ApexClass, ApexTrigger, ConnectedApp, CspTrustedSite, CustomPermission, ExternalClientApplication, '
        'ExtlClntAppConfigurablePolicies, ExtlClntAppGlobalOauthSettings, ExtlClntAppOauthConfigurablePolicies, '
        'ExtlClntAppOauthSettings, NamedCredential, PermissionSet, PermissionSetGroup, RemoteSiteSetting, Settings; every '
        'file of the package directories must be one of them. Deploy other types with the Salesforce CLI, or keep them in a '
        'package directory of another project.' % path)


@pytest.mark.parametrize('name', ['README.md', 'Hello.xml', 'noextension'])
def test_a_file_that_is_not_metadata_is_refused(tmp_path, name):
    project = apex_project(tmp_path, **{os.path.join(DEFAULT, name): b'x'})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s is not a metadata file (source format files end in .<type>-meta.xml). Remove it from the package directory, '
        'or deploy this project with the Salesforce CLI.' % os.path.join(project, DEFAULT, name))


def test_wrong_folder_is_refused(tmp_path):
    project = apex_project(tmp_path, **{os.path.join(DEFAULT, 'classes', 'Sfjwt2.permissionset-meta.xml'): PERMSET})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s is a PermissionSet file, but PermissionSet files belong in a folder named permissionsets/; move it there.'
        % os.path.join(project, DEFAULT, 'classes', 'Sfjwt2.permissionset-meta.xml'))


@pytest.mark.parametrize('content, reason', [
    (b'<PermissionSet><label>x</PermissionSet>', 'mismatched tag: line 1, column 25'),
    (b'', 'no element found: line 1, column 0'),
    (b'\xff\xfe<a/>', 'not well-formed (invalid token): line 1, column 2'),
    (b'<?xml version="1.0" encoding="no-such-codec"?><PermissionSet/>', 'unknown encoding: no-such-codec'),
])
def test_malformed_xml_is_refused(tmp_path, content, reason):
    project = apex_project(tmp_path, **{os.path.join(DEFAULT, 'permissionsets', 'Bad.permissionset-meta.xml'): content})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s is not well-formed XML (%s); fix it before deploying.'
        % (os.path.join(project, DEFAULT, 'permissionsets', 'Bad.permissionset-meta.xml'), reason))


def test_root_element_must_be_the_type(tmp_path):
    project = apex_project(tmp_path, **{os.path.join(DEFAULT, 'permissionsets', 'Odd.permissionset-meta.xml'): APEX_META})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s should hold a PermissionSet, but its root element is ApexClass; fix the file.'
        % os.path.join(project, DEFAULT, 'permissionsets', 'Odd.permissionset-meta.xml'))


def test_apex_without_its_source_is_refused(tmp_path):
    project = apex_project(tmp_path)
    os.unlink(os.path.join(project, DEFAULT, 'classes', 'Hello.cls'))
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s has no Hello.cls next to it; a ApexClass needs both files.' % os.path.join(project, DEFAULT, 'classes', 'Hello.cls-meta.xml'))


def test_apex_source_without_its_metadata_file_is_refused(tmp_path):
    """Left out silently, the class would be missing from a deploy that then succeeds and is recorded."""
    project = apex_project(tmp_path, **{os.path.join(DEFAULT, 'classes', 'Orphan.cls'): APEX_SOURCE})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s has no Orphan.cls-meta.xml next to it; a ApexClass needs both files.' % os.path.join(project, DEFAULT, 'classes', 'Orphan.cls'))


def test_apex_source_that_is_a_directory_is_refused(tmp_path):
    project = apex_project(tmp_path)
    source = os.path.join(project, DEFAULT, 'classes', 'Hello.cls')
    os.unlink(source)
    os.mkdir(source)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'ApexClass source %s is not a regular file; remove it or replace it with the file.' % source)


def test_duplicate_components_are_refused(tmp_path):
    project = write_files(tmp_path, {os.path.join('a', 'permissionsets', 'Sfjwt.permissionset-meta.xml'): PERMSET,
                                     os.path.join('b', 'x', 'permissionsets', 'Sfjwt.permissionset-meta.xml'): PERMSET},
                          project={'packageDirectories': [{'path': 'a'}, {'path': 'b'}]})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        '%s and %s both define PermissionSet Sfjwt; keep one.' % (
            os.path.join(project, 'a', 'permissionsets', 'Sfjwt.permissionset-meta.xml'),
            os.path.join(project, 'b', 'x', 'permissionsets', 'Sfjwt.permissionset-meta.xml')))


def test_a_file_over_the_size_limit_is_not_read(tmp_path):
    project = apex_project(tmp_path)
    huge = os.path.join(project, DEFAULT, 'permissionsets', 'Huge.permissionset-meta.xml')
    with open(huge, 'wb') as handle:
        handle.truncate(deploy_source.MAX_FILE_BYTES + 1)   # sparse: no disk, and never read
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'metadata file %s has 50000001 bytes, more than this module deploys (50000000).' % huge)


def test_a_file_that_grows_while_it_is_read_is_refused(tmp_path, monkeypatch):
    project = apex_project(tmp_path)
    path = os.path.join(project, DEFAULT, 'permissionsets', 'Sfjwt.permissionset-meta.xml')
    real_fstat, inode = os.fstat, os.stat(path).st_ino

    def small_fstat(fd):   # the size the file had when it was opened
        info = real_fstat(fd)
        if info.st_ino == inode:
            return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, info.st_uid, info.st_gid,
                                   1, info.st_atime, info.st_mtime, info.st_ctime))
        return info
    monkeypatch.setattr(os, 'fstat', small_fstat)
    assert raises(deploy_source.read_project_file, path, 'metadata file', limit=10).msg == (
        'metadata file %s grew past 10 bytes while it was read; more than this module deploys.' % path)


def test_the_limits_of_one_deploy(tmp_path, monkeypatch):
    project = apex_project(tmp_path)
    monkeypatch.setattr(deploy_source, 'MAX_FILES', 3)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'The deploy would hold 4 files; Salesforce takes at most 3 per deploy. Split the project with manifests.')
    monkeypatch.setattr(deploy_source, 'MAX_FILES', 4)
    monkeypatch.setattr(deploy_source, 'MAX_ZIP_BYTES', 10 ** 9)
    size = len(deploy_source.SourceProject(project).build()[0])
    monkeypatch.setattr(deploy_source, 'MAX_ZIP_BYTES', size - 1)
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'The deploy zip has %d bytes; Salesforce takes at most %d. Split the project with manifests.' % (size, size - 1))
    monkeypatch.setattr(deploy_source, 'MAX_ZIP_BYTES', size)
    assert len(deploy_source.SourceProject(project).build()[0]) == size


def test_the_unzipped_size_limit_stops_reading_the_project(tmp_path, monkeypatch):
    project = apex_project(tmp_path)
    total = len(APEX_SOURCE) + len(APEX_META) + len(PERMSET)
    monkeypatch.setattr(deploy_source, 'MAX_UNZIPPED_BYTES', total - 1)
    assert raises(deploy_source.SourceProject(project).components).msg == (
        'The package directories of %s hold more than %d bytes of metadata; Salesforce takes at most that per deploy. '
        'Split the project.' % (project, total - 1))
    monkeypatch.setattr(deploy_source, 'MAX_UNZIPPED_BYTES', total)
    package_xml = b'<Package/>'
    assert raises(deploy_source.build_zip, deploy_source.SourceProject(project).components(), package_xml).msg == (
        'The deploy would hold %d bytes of files; Salesforce takes at most %d per deploy.' % (total + len(package_xml), total))


@pytest.mark.parametrize('content, message', [
    (None, '{dir} has no sfdx-project.json: this is not a Salesforce DX project. Write one with sfjwt.salesforce.app_metadata, '
           'or point project_dir at the project root.'),
    (b'{"packageDirectories": [', '{dir}/sfdx-project.json is not valid JSON (Expecting value: line 1 column 25 (char 24)); fix it.'),
    (b'\xff', "{dir}/sfdx-project.json is not valid JSON ('utf-8' codec can't decode byte 0xff in position 0: invalid start byte); fix it."),
    (b'[1]', '{dir}/sfdx-project.json is not a JSON object; fix it.'),
    pytest.param(b'[' * 100000, '{dir}/sfdx-project.json is not valid JSON (arrays or objects nested too deeply to read); fix it.',
                 id='nested 100000 deep'),
    (b'{}', '{dir}/sfdx-project.json lists no packageDirectories: name the folder that holds the metadata, e.g. '
            '{{"packageDirectories": [{{"path": "force-app", "default": true}}]}}.'),
    (b'{"packageDirectories": 5}', '{dir}/sfdx-project.json lists no packageDirectories: name the folder that holds the metadata, '
                                   'e.g. {{"packageDirectories": [{{"path": "force-app", "default": true}}]}}.'),
    (b'{"packageDirectories": true}', '{dir}/sfdx-project.json lists no packageDirectories: name the folder that holds the '
                                      'metadata, e.g. {{"packageDirectories": [{{"path": "force-app", "default": true}}]}}.'),
    (b'{"packageDirectories": [{"path": "../elsewhere"}]}', 'packageDirectories path ../elsewhere is outside the project {dir}; '
                                                            'give a path inside it.'),
    (b'{"packageDirectories": [{"path": "/etc"}]}', 'packageDirectories path /etc is outside the project {dir}; give a path inside it.'),
    (b'{"packageDirectories": [{"path": "a\\u0000b"}]}', "packageDirectories path 'a\\x00b' holds a NUL character; give a path "
                                                         "inside the project {dir}."),
])
def test_broken_sfdx_project(tmp_path, content, message):
    if content is not None:
        (tmp_path / 'sfdx-project.json').write_bytes(content)
    assert raises(deploy_source.SourceProject, str(tmp_path)).msg == message.format(dir=str(tmp_path))


def test_sfdx_project_that_is_a_link_is_refused(tmp_path):
    real = tmp_path / 'real.json'
    real.write_text('{"packageDirectories": [{"path": "force-app"}]}')
    project = tmp_path / 'p'
    project.mkdir()
    os.symlink(str(real), str(project / 'sfdx-project.json'))
    assert raises(deploy_source.SourceProject, str(project)).msg == (
        'sfdx-project.json %s/sfdx-project.json is a symbolic link; links are not followed in a project (a link could expose '
        'any file to the org). Replace it with the file itself.' % project)


@pytest.mark.parametrize('kind', ['missing', 'file'])
def test_project_dir_that_is_no_directory(tmp_path, kind):
    path = tmp_path / 'project'
    if kind == 'file':
        path.write_text('x')
    assert raises(deploy_source.SourceProject, str(path)).msg == (
        'project_dir %s is not a directory: give the directory that holds sfdx-project.json (the project_dir of '
        'sfjwt.salesforce.app_metadata).' % path)


def test_project_dir_with_a_nul_character(tmp_path):
    assert raises(deploy_source.SourceProject, str(tmp_path) + '/a\0b').msg == (
        'project_dir %s/a\0b is not a directory: give the directory that holds sfdx-project.json (the project_dir of '
        'sfjwt.salesforce.app_metadata).' % tmp_path)


def test_package_directory_missing_or_a_file(tmp_path):
    project = write_files(tmp_path, {}, project={'packageDirectories': [{'path': 'force-app'}]})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'package directory %s/force-app (from sfdx-project.json) does not exist.' % project)
    (tmp_path / 'force-app').write_text('x')
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'package directory %s/force-app is not a directory (links are not followed).' % project)


def test_empty_project_has_nothing_to_deploy(tmp_path):
    project = write_files(tmp_path, {os.path.join('force-app', '.keep'): b''})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'Nothing to deploy: the project %s has no metadata files (and its manifest names none).' % project)


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads every directory')
def test_unreadable_folder_is_an_error_not_left_out(tmp_path):
    project = apex_project(tmp_path)
    folder = os.path.join(project, DEFAULT, 'permissionsets')
    os.chmod(folder, 0)
    try:
        assert raises(deploy_source.SourceProject(project).build).msg == (
            'cannot read the folder %s: Permission denied' % folder)
    finally:
        os.chmod(folder, 0o755)


def test_unreadable_folder_is_an_error_not_left_out_as_root_too(tmp_path, monkeypatch):
    project = apex_project(tmp_path)
    folder = os.path.join(project, DEFAULT, 'permissionsets')
    real_scandir = os.scandir

    def scandir(path='.'):
        if path == folder:
            raise PermissionError(13, 'Permission denied', path)
        return real_scandir(path)
    monkeypatch.setattr(os, 'scandir', scandir)
    assert raises(deploy_source.SourceProject(project).build).msg == 'cannot read the folder %s: Permission denied' % folder


# -- manifests -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('manifest', ['../package.xml', '/etc/package.xml', '~/package.xml', 'manifest/../../package.xml'])
def test_manifest_outside_the_project_is_refused(tmp_path, manifest):
    project = apex_project(tmp_path / 'p')
    assert raises(deploy_source.SourceProject, project, manifest).msg == (
        'manifest %s is outside the project %s; give a path inside it.' % (manifest, project))


def test_manifest_naming_missing_members(tmp_path):
    manifest = (b'<Package xmlns="%s"><types><members>Hello</members><members>Gone</members><name>ApexClass</name></types>'
                b'<types><members>Account</members><name>CustomObject</name></types></Package>' % NS.encode())
    project = apex_project(tmp_path, **{os.path.join('manifest', 'package.xml'): manifest})
    assert raises(deploy_source.SourceProject(project).build).msg == (
        'The manifest %s/manifest/package.xml lists ApexClass Gone, CustomObject Account, but the project has no such source '
        'files. Fix the manifest, or write the files first (sfjwt.salesforce.app_metadata).' % project)


@pytest.mark.parametrize('manifest, message', [
    (b'<Package xmlns="%s"><types><members>Hello</members></types></Package>' % NS.encode(),
     '{path} has a <types> element without <name>; fix the manifest.'),
    (b'<PermissionSet xmlns="%s"/>' % NS.encode(), '{path} is not a package.xml manifest (its root element is PermissionSet, not Package).'),
    (b'<Package><types>', '{path} is not well-formed XML (no element found: line 1, column 16); fix it before deploying.'),
    (b'<Package xmlns="%s"><types><name>ApexClass</name></types></Package>' % NS.encode(),
     'Nothing to deploy: the project {dir} has no metadata files (and its manifest names none).'),
])
def test_broken_manifest(tmp_path, manifest, message):
    project = apex_project(tmp_path, **{os.path.join('manifest', 'package.xml'): manifest})
    path = os.path.join(project, 'manifest', 'package.xml')
    assert raises(deploy_source.SourceProject(project).build).msg == message.format(path=path, dir=project)


def test_manifest_given_but_missing_or_with_a_nul(tmp_path):
    project = apex_project(tmp_path)
    assert raises(deploy_source.SourceProject(project, 'nope.xml').build).msg == (
        'manifest %s/nope.xml does not exist; give the package.xml to deploy, or leave manifest unset to deploy every file of '
        'the project.' % project)
    assert raises(deploy_source.SourceProject, project, 'a\0b.xml').msg == (
        "manifest 'a\\x00b.xml' holds a NUL character; give a path inside the project %s." % project)


def test_parse_manifest_keeps_wildcards_and_the_version():
    data = (b'<Package xmlns="%s"><types><members> A </members><members></members><members>*</members><name>ApexClass</name>'
            b'</types><version>61.0</version></Package>' % NS.encode())
    assert deploy_source.parse_manifest(data, 'p.xml') == ({'ApexClass': ['A', '*']}, '61.0')
