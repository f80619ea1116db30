# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The projects the deploy tests convert and deploy (test_deploy_source.py, test_deploy.py): files as app_metadata and
the Salesforce CLI write them, the zip read back, and the org's answers to readMetadata (test_org_metadata.py)."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import xml.etree.ElementTree as ET
import zipfile

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _deploy_source as deploy_source
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _org_metadata as org_metadata
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as md
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata_files as metadata_files
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeHttp, response

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


# -- the org's side of readMetadata (SOAP) ------------------------------------------------------------------

SOAP_PATH = '/services/Soap/m/62.0'
NO_ACCESS_FAULT = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                   'xmlns:sf="http://soap.sforce.com/2006/04/metadata"><soapenv:Body><soapenv:Fault>'
                   '<faultcode>sf:INSUFFICIENT_ACCESS</faultcode><faultstring>INSUFFICIENT_ACCESS: insufficient access '
                   'rights on entity</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>')


def unreadable_org(handler):
    """handler, with every readMetadata refused as Salesforce refuses it to a user without access (a SOAP fault)."""
    def refusing(call):
        if call['path'] == SOAP_PATH:
            return response(500, body=NO_ACCESS_FAULT.encode(), content_type='text/xml;charset=UTF-8')
        return handler(call)
    return refusing


def zip_components(zip_bytes):
    """{(read type, name): root element} of a deploy zip's metadata files (Settings read as their own type); an Apex
    component's record holds its source in <content>, base64, as readMetadata returns it."""
    found = {}
    if not zip_bytes or not zipfile.is_zipfile(io.BytesIO(zip_bytes)):
        return found
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        entries = {entry: archive.read(entry) for entry in archive.namelist()}
    for entry, data in entries.items():
        if entry == 'package.xml' or entry.rsplit('.', 1)[-1] in ('cls', 'trigger'):
            continue
        root = ET.fromstring(data)
        stem = entry.split('/', 1)[1]
        if stem.endswith('-meta.xml'):   # Apex: <Name>.cls-meta.xml next to <Name>.cls
            source = entry[:-len('-meta.xml')]
            ET.SubElement(root, '{%s}content' % org_metadata.METADATA_NS).text = base64.b64encode(entries[source]).decode()
            stem = stem[:-len('-meta.xml')]
        found[(root.tag.rsplit('}', 1)[-1], stem.rsplit('.', 1)[0])] = root
    return found


def read_metadata_answer(components, envelope):
    """Salesforce's readMetadata answer for the request envelope: a record per name, empty for one the org lacks."""
    request = ET.fromstring(envelope)
    metadata_type = [e.text for e in request.iter() if e.tag.endswith('}type')][0]
    names = [e.text for e in request.iter() if e.tag.endswith('}fullNames')]
    records = []
    for name in names:
        # Names are case-insensitive; the record carries the name as the org keeps it.
        stored = [key for key in components if key[0] == metadata_type and key[1].casefold() == name.casefold()]
        if not stored:
            records.append('<records xsi:nil="true"/>')
            continue
        inner = ''.join(ET.tostring(child, encoding='unicode') for child in components[stored[0]])
        records.append('<records xsi:type="%s"><fullName>%s</fullName>%s</records>' % (metadata_type, stored[0][1], inner))
    body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            '<soapenv:Body><readMetadataResponse><result>%s</result></readMetadataResponse></soapenv:Body>'
            '</soapenv:Envelope>' % ''.join(records))
    return response(200, body=body.encode('utf-8'), content_type='text/xml;charset=UTF-8')


class DeployHttp(FakeHttp):
    """FakeHttp that also records the multipart parts (files) of each call."""

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):
        handler = self.handler

        def with_files(call):
            call['files'] = kwargs.get('files')
            return handler(call)
        self.handler = with_files
        try:
            return super().request(method, url, params=params, data=data, headers=headers, **kwargs)
        finally:
            self.handler = handler
