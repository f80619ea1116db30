# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The projects the deploy tests convert and deploy (test_deploy_source.py, test_deploy.py): files as app_metadata and
the Salesforce CLI write them, and the zip read back."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _deploy_source as deploy_source
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as md
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata_files as metadata_files

NS = 'http://soap.sforce.com/2006/04/metadata'
APEX_META = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ApexClass xmlns="%s">\n    <apiVersion>62.0</apiVersion>\n'
             b'    <status>Active</status>\n</ApexClass>\n' % NS.encode())
APEX_SOURCE = b'public with sharing class Hello {\n    public static String hi() { return \'hi\'; }\n}\n'
PERMSET = b'<?xml version="1.0" encoding="UTF-8"?>\n<PermissionSet xmlns="%s">\n    <label>Sfjwt</label>\n</PermissionSet>\n' % NS.encode()
DEFAULT = os.path.join('force-app', 'main', 'default')
PEM_IN_TEXT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----'


def app_project(path, certificate, **overrides):
    """A project as sfjwt.salesforce.app_metadata writes it: External Client App, permission set, manifest."""
    values = dict(name='SfjwtApp', label='Sfjwt <App>', contact_email='admin@example.com', consumer_key='3MVG9Sfjwt0001',
                  certificate=certificate, callback_url='https://login.salesforce.com/services/oauth2/success',
                  permission_sets=['Sfjwt_Users'], create_permission_sets=True)
    values.update(overrides)
    metadata_files.write_planned(metadata_files.plan_files(md.AppSpec(**values), str(path)))
    return str(path)


def write_files(root, files, project=None):
    """Files under root ({relative path: bytes}); sfdx-project.json listing force-app unless given."""
    if project is not False:
        files = dict(files)
        files.setdefault(deploy_source.PROJECT_FILE, json.dumps(project or {'packageDirectories': [{'path': 'force-app', 'default': True}],
                                                                            'sourceApiVersion': '62.0'}).encode())
    for relative, content in files.items():
        path = os.path.join(str(root), relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(content)
    return str(root)


def apex_project(root, **extra):
    files = {os.path.join(DEFAULT, 'classes', 'Hello.cls'): APEX_SOURCE,
             os.path.join(DEFAULT, 'classes', 'Hello.cls-meta.xml'): APEX_META,
             os.path.join(DEFAULT, 'permissionsets', 'Sfjwt.permissionset-meta.xml'): PERMSET}
    files.update(extra)
    return write_files(root, files)


def entries_of(zip_bytes):
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def raises(function, *args, kind=InputError, **kwargs):
    """The error function(*args, **kwargs) raises: of ``kind`` (a project that cannot be deployed is an InputError)."""
    with pytest.raises(kind) as excinfo:
        function(*args, **kwargs)
    return excinfo.value


def package_xml(*types):
    """The package.xml of a deploy, as the Salesforce CLI writes one: (type, member) pairs, in this order, version 62.0."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
            + ''.join('    <types>\n        <members>%s</members>\n        <name>%s</name>\n    </types>\n' % (member, name)
                      for name, member in types)
            + '    <version>62.0</version>\n</Package>\n').encode()
