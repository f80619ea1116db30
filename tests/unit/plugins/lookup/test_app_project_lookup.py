# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The app_project lookup, loaded through ansible-core's plugin loader (its documented options are its config)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar
from ansible.utils.collection_loader import AnsibleCollectionConfig

APP = b'''<?xml version="1.0" encoding="UTF-8"?>
<ExternalClientApplication xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>ops&amp;dev@acme.example</contactEmail>
</ExternalClientApplication>
'''
POLICIES = b'''<?xml version="1.0" encoding="UTF-8"?>
<ExtlClntAppOauthConfigurablePolicies xmlns="http://soap.sforce.com/2006/04/metadata">
    <commaSeparatedPermissionSet>Integration_Users, Ops</commaSeparatedPermissionSet>
</ExtlClntAppOauthConfigurablePolicies>
'''
SETTINGS = b'''<?xml version="1.0" encoding="UTF-8"?>
<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <consumerKey>3MVG9AnsibleIntegration0001</consumerKey>
</ExtlClntAppGlobalOauthSettings>
'''


@pytest.fixture(scope='module', autouse=True)
def collection_loader():
    """The plugin loader needs ansible-core's collection finder, which ansible-test units installs before importing tests."""
    assert AnsibleCollectionConfig.collection_finder is not None, 'run under ansible-test units (collection finder missing)'


@pytest.fixture
def lookup():
    loader = DataLoader()
    plugin = lookup_loader.get('sfjwt.salesforce.app_project', loader=loader, templar=Templar(loader=loader))
    assert plugin is not None
    return plugin


def project(root, package='force-app'):
    default = root / package / 'main' / 'default'
    for folder, name, content in (('externalClientApps', 'AnsibleIntegration.eca-meta.xml', APP),
                                  ('extlClntAppOauthPolicies', 'AnsibleIntegration.ecaOauthPlcy-meta.xml', POLICIES),
                                  ('extlClntAppGlobalOauthSets', 'AnsibleIntegration.ecaGlblOauth-meta.xml', SETTINGS)):
        (default / folder).mkdir(parents=True, exist_ok=True)
        (default / folder / name).write_bytes(content)
    return str(root)


def test_returns_the_app_as_one_dictionary(lookup, tmp_path):
    assert lookup.run([], variables={}, project_dir=project(tmp_path), name='AnsibleIntegration') == [{
        'name': 'AnsibleIntegration', 'consumer_key': '3MVG9AnsibleIntegration0001', 'contact_email': 'ops&dev@acme.example',
        'permission_sets': ['Integration_Users', 'Ops']}]


def test_the_package_directory_option_and_the_only_app(lookup, tmp_path):
    root = project(tmp_path, package='src')
    assert lookup.run([], variables={}, project_dir=root)[0]['name'] is None
    assert lookup.run([], variables={}, project_dir=root, package_directory='src')[0]['consumer_key'] == '3MVG9AnsibleIntegration0001'


def test_a_refused_file_is_a_lookup_error_naming_it(lookup, tmp_path):
    root = project(tmp_path)
    settings = tmp_path / 'force-app/main/default/extlClntAppGlobalOauthSets/AnsibleIntegration.ecaGlblOauth-meta.xml'
    settings.unlink()
    settings.symlink_to('/etc/passwd')
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([], variables={}, project_dir=root, name='AnsibleIntegration')
    assert str(caught.value).startswith('%s is a symbolic link; ' % settings)


def test_terms_and_a_missing_project_dir_are_refused(lookup, tmp_path):
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([str(tmp_path)], variables={})
    assert 'takes no positional terms' in str(caught.value)
    with pytest.raises(Exception) as caught:
        lookup.run([], variables={})
    assert 'project_dir' in str(caught.value)
