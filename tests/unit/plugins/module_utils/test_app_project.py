# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading what an existing project's app metadata holds (_app_project), on projects app_metadata wrote."""

from __future__ import annotations

import os

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._app_metadata import AppMetadataBackend
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._app_project import app_names, read_app
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.modules import app_metadata
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeModule

CONSUMER_KEY = '3MVG9AnsibleIntegration0001'
DEFAULT = 'force-app/main/default'


def write_app(project, certificate_material, **params):
    values = dict(project_dir=str(project), name='AnsibleIntegration', contact_email='ops+sf@acme.example',
                  certificate=certificate_material['pem'], consumer_key=CONSUMER_KEY,
                  permission_sets=['Integration_Users', 'Ops'])
    values.update(params)
    AppMetadataBackend(FakeModule.validated(app_metadata._argument_spec(), **values)).run()


@pytest.fixture(autouse=True)
def no_consumer_key_in_the_environment(monkeypatch):
    monkeypatch.delenv('SFJWT_CONSUMER_KEY', raising=False)


def test_what_app_metadata_wrote_is_read_back(tmp_path, certificate_material):
    write_app(tmp_path, certificate_material, contact_email='a&b<c>@acme.example')
    assert read_app(str(tmp_path), 'AnsibleIntegration') == {
        'name': 'AnsibleIntegration', 'consumer_key': CONSUMER_KEY, 'contact_email': 'a&b<c>@acme.example',
        'permission_sets': ['Integration_Users', 'Ops']}


def test_without_a_name_the_only_app_is_read(tmp_path, certificate_material):
    write_app(tmp_path, certificate_material)
    assert read_app(str(tmp_path))['name'] == 'AnsibleIntegration'
    assert read_app(str(tmp_path))['consumer_key'] == CONSUMER_KEY


def test_with_several_apps_and_no_name_nothing_is_read(tmp_path, certificate_material):
    write_app(tmp_path, certificate_material)
    write_app(tmp_path, certificate_material, name='OtherApp', consumer_key='3MVG9AnsibleIntegration0002')
    assert app_names(str(tmp_path)) == ['AnsibleIntegration', 'OtherApp']
    assert read_app(str(tmp_path)) == {'name': None, 'consumer_key': None, 'contact_email': None, 'permission_sets': []}
    assert read_app(str(tmp_path), 'OtherApp')['consumer_key'] == '3MVG9AnsibleIntegration0002'


@pytest.mark.parametrize('project', ['missing', 'empty'])
def test_a_project_without_the_app_holds_nothing(tmp_path, project):
    if project == 'empty':
        (tmp_path / project).mkdir()
    assert read_app(str(tmp_path / project), 'AnsibleIntegration') == {
        'name': 'AnsibleIntegration' if project == 'empty' else None, 'consumer_key': None, 'contact_email': None,
        'permission_sets': []}


def test_a_linked_settings_file_is_refused_not_followed(tmp_path, certificate_material):
    write_app(tmp_path, certificate_material)
    policies = tmp_path / DEFAULT / 'extlClntAppOauthPolicies' / 'AnsibleIntegration.ecaOauthPlcy-meta.xml'
    elsewhere = tmp_path / 'elsewhere.xml'
    elsewhere.write_bytes(policies.read_bytes())
    policies.unlink()
    policies.symlink_to(elsewhere)
    with pytest.raises(InputError) as caught:
        read_app(str(tmp_path), 'AnsibleIntegration')
    assert caught.value.message.startswith('%s is a symbolic link; ' % policies)


@pytest.mark.usefixtures('fails_within_five_seconds')
def test_a_fifo_is_refused_without_blocking(tmp_path, certificate_material):
    write_app(tmp_path, certificate_material)
    app_file = tmp_path / DEFAULT / 'externalClientApps' / 'AnsibleIntegration.eca-meta.xml'
    app_file.unlink()
    os.mkfifo(str(app_file))
    with pytest.raises(InputError) as caught:
        read_app(str(tmp_path), 'AnsibleIntegration')
    assert caught.value.message.startswith('%s is not a regular file' % app_file)


@pytest.mark.parametrize('name', ['Bad Name', '../x', 'x__y'])
def test_a_name_app_metadata_refuses_is_refused(tmp_path, name):
    (tmp_path / DEFAULT).mkdir(parents=True)
    with pytest.raises(InputError) as caught:
        read_app(str(tmp_path), name)
    assert 'is not a valid Salesforce API name' in caught.value.message


def test_a_package_directory_outside_the_project_is_refused(tmp_path):
    with pytest.raises(InputError) as caught:
        read_app(str(tmp_path), 'AnsibleIntegration', package_directory='../elsewhere')
    assert caught.value.message == "package_directory '../elsewhere' must be a path inside project_dir."


def test_malformed_xml_reads_as_nothing(tmp_path, certificate_material):
    write_app(tmp_path, certificate_material)
    (tmp_path / DEFAULT / 'externalClientApps' / 'AnsibleIntegration.eca-meta.xml').write_bytes(b'<ExternalClientApplication><contactEmail>')
    assert read_app(str(tmp_path), 'AnsibleIntegration')['contact_email'] is None


@pytest.mark.parametrize('folder', ['externalClientApps', 'extlClntAppGlobalOauthSets'])
def test_a_file_in_an_encoding_python_does_not_know_reads_as_nothing(tmp_path, certificate_material, folder):
    write_app(tmp_path, certificate_material)
    path = next((tmp_path / DEFAULT / folder).iterdir())
    path.write_bytes(b'<?xml version="1.0" encoding="x-nope"?><A><contactEmail>x</contactEmail><consumerKey>K</consumerKey></A>')
    found = read_app(str(tmp_path), 'AnsibleIntegration')
    assert found['contact_email' if folder == 'externalClientApps' else 'consumer_key'] is None


def test_files_whose_name_is_no_api_name_are_no_apps(tmp_path, certificate_material):
    write_app(tmp_path, certificate_material)
    for name in ('Bad__x', 'a.b', 'App_'):
        (tmp_path / DEFAULT / 'externalClientApps' / (name + '.eca-meta.xml')).write_bytes(b'<x/>')
    assert app_names(str(tmp_path)) == ['AnsibleIntegration']
    assert read_app(str(tmp_path))['consumer_key'] == CONSUMER_KEY


def test_a_folder_that_cannot_be_listed_is_named(tmp_path, certificate_material, monkeypatch):
    write_app(tmp_path, certificate_material)

    def refused(path):
        raise PermissionError(13, 'Permission denied')
    monkeypatch.setattr(os, 'listdir', refused)
    with pytest.raises(InputError) as caught:
        read_app(str(tmp_path))
    assert caught.value.message == ('cannot list %s: Permission denied. Make it readable by this user.'
                                    % (tmp_path / DEFAULT / 'externalClientApps'))


def test_a_linked_apps_folder_is_named_a_folder(tmp_path, certificate_material):
    write_app(tmp_path, certificate_material)
    folder = tmp_path / DEFAULT / 'externalClientApps'
    folder.rename(tmp_path / 'elsewhere')
    folder.symlink_to(tmp_path / 'elsewhere')
    with pytest.raises(InputError) as caught:
        read_app(str(tmp_path))
    assert caught.value.message.startswith('%s is a symbolic link; ' % folder)
    assert caught.value.message.endswith('Replace it with the folder itself.')
