# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Metadata API format as the deploy endpoint reads it: the types it knows, package.xml, and each component file
checked on its own (well-formed XML, root element, required fields, values). Checks that need the org (does the
External Client App exist, is the consumer key free) are deploy.py's.

Each component is `<folder>/<Name>.<suffix>` in the zip, an XML document whose root element is the type's name
in the namespace http://soap.sforce.com/2006/04/metadata; Apex is a body `<folder>/<Name>.<suffix>` plus its
`<Name>.<suffix>-meta.xml`. The types (required fields in brackets):

  ExternalClientApplication            externalClientApps/<Name>.eca                [label, contactEmail, distributionState]
  ExtlClntAppOauthSettings             extlClntAppOauthSettings/<Name>.ecaOauth     [externalClientApplication,
                                                                                     commaSeparatedOauthScopes, label]
  ExtlClntAppGlobalOauthSettings       extlClntAppGlobalOauthSets/<Name>.ecaGlblOauth  [externalClientApplication,
                                                                                     callbackUrl, label]
  ExtlClntAppOauthConfigurablePolicies extlClntAppOauthPolicies/<Name>.ecaOauthPlcy [externalClientApplication, label,
                                                                                     permittedUsersPolicyType]
  ExtlClntAppConfigurablePolicies      extlClntAppPolicies/<Name>.ecaPlcy           [externalClientApplication, label]
  ConnectedApp                         connectedApps/<Name>.connectedApp            [label, contactEmail]
  PermissionSet                        permissionsets/<Name>.permissionset          [label]
  ApexClass / ApexTrigger              classes/<Name>.cls (+ .cls-meta.xml) / triggers/<Name>.trigger (+ -meta.xml)
                                                                                    [apiVersion, status] (not compiled)

Also accepted, checked only for well-formed XML and the root element, and saved without effect: PermissionSetGroup,
CustomPermission, NamedCredential, RemoteSiteSetting, CspTrustedSite, Settings (settings/<Name>.settings, root
<Name>Settings). Any other file is an unknown file type.

XML is parsed with expat, without DOCTYPE (refused: no entities); positions are 1-based line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.parsers import expat

from .identities import load_public_key, normalize_certificate

NAMESPACE = 'http://soap.sforce.com/2006/04/metadata'
META_SUFFIX = '-meta.xml'
PACKAGE_XML = 'package.xml'

CONSUMER_KEY = re.compile(r'^[A-Za-z0-9]{8,256}$')
API_VERSION = re.compile(r'^\d{2,3}\.\d$')
_BOOLEAN_FIELDS = ('isProtected', 'isAdminApproved', 'shouldRotateConsumerKey', 'isEnabled', 'isOauthPluginEnabled')
_ENUMS = {
    'distributionState': ('DistributionState', ('Local', 'Packaged')),
    'permittedUsersPolicyType': ('PermittedUsersPolicyType', ('AdminApprovedPreAuthorized', 'AllSelfAuthorized')),
    'status': ('ApexCodeUnitStatus', ('Active', 'Inactive', 'Deleted')),
}


@dataclass(frozen=True)
class MetadataType:
    name: str
    folder: str
    suffix: str
    required: tuple = ()
    content: bool = False   # Apex: a body file and its -meta.xml


ECA = 'ExternalClientApplication'
ECA_OAUTH = 'ExtlClntAppOauthSettings'
ECA_GLOBAL_OAUTH = 'ExtlClntAppGlobalOauthSettings'
ECA_OAUTH_POLICIES = 'ExtlClntAppOauthConfigurablePolicies'
ECA_POLICIES = 'ExtlClntAppConfigurablePolicies'
CONNECTED_APP = 'ConnectedApp'
PERMISSION_SET = 'PermissionSet'
APEX_CLASS = 'ApexClass'
APEX_TRIGGER = 'ApexTrigger'
SETTINGS = 'Settings'
ECA_PARTS = (ECA_OAUTH, ECA_GLOBAL_OAUTH, ECA_OAUTH_POLICIES, ECA_POLICIES)

# In the order a deploy processes them: what a component refers to comes first.
TYPES = {t.name: t for t in (
    MetadataType(PERMISSION_SET, 'permissionsets', 'permissionset', ('label',)),
    MetadataType(APEX_CLASS, 'classes', 'cls', ('apiVersion', 'status'), content=True),
    MetadataType(APEX_TRIGGER, 'triggers', 'trigger', ('apiVersion', 'status'), content=True),
    MetadataType(ECA, 'externalClientApps', 'eca', ('label', 'contactEmail', 'distributionState')),
    MetadataType(ECA_OAUTH, 'extlClntAppOauthSettings', 'ecaOauth', ('externalClientApplication', 'commaSeparatedOauthScopes', 'label')),
    MetadataType(ECA_GLOBAL_OAUTH, 'extlClntAppGlobalOauthSets', 'ecaGlblOauth', ('externalClientApplication', 'callbackUrl', 'label')),
    MetadataType(ECA_OAUTH_POLICIES, 'extlClntAppOauthPolicies', 'ecaOauthPlcy',
                 ('externalClientApplication', 'label', 'permittedUsersPolicyType')),
    MetadataType(ECA_POLICIES, 'extlClntAppPolicies', 'ecaPlcy', ('externalClientApplication', 'label')),
    MetadataType(CONNECTED_APP, 'connectedApps', 'connectedApp', ('label', 'contactEmail')),
    MetadataType('PermissionSetGroup', 'permissionsetgroups', 'permissionsetgroup'),
    MetadataType('CustomPermission', 'customPermissions', 'customPermission'),
    MetadataType('NamedCredential', 'namedCredentials', 'namedCredential'),
    MetadataType('RemoteSiteSetting', 'remoteSiteSettings', 'remoteSite'),
    MetadataType('CspTrustedSite', 'cspTrustedSites', 'cspTrustedSite'),
    MetadataType(SETTINGS, 'settings', 'settings'),
)}
APEX_TYPES = (APEX_CLASS, APEX_TRIGGER)


class ComponentProblem(Exception):
    """A component that cannot be deployed: Salesforce's problem text and, when known, where in the file."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None):
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column


@dataclass
class Node:
    tag: str
    namespace: str
    line: int
    column: int
    text_parts: list = field(default_factory=list)
    children: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return ''.join(self.text_parts).strip()

    def child(self, name: str):
        return next((node for node in self.children if node.tag == name), None)

    def value(self, name: str) -> str | None:
        node = self.child(name)
        return (node.text or None) if node is not None else None

    def values(self, name: str) -> list:
        return [node.text for node in self.children if node.tag == name and node.text]


def parse_xml(data: bytes) -> Node:
    """The document's root element; ComponentProblem with the position when it is not well-formed XML."""
    parser = expat.ParserCreate(namespace_separator=' ')
    stack = []
    roots = []

    def start(name, _attributes):
        namespace, _sep, tag = name.rpartition(' ')
        node = Node(tag, namespace, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_name):
        stack.pop()

    def characters(text):
        if stack:
            stack[-1].text_parts.append(text)

    def doctype(*_args):
        raise ComponentProblem('Error parsing file: DOCTYPE is not allowed in metadata files', parser.CurrentLineNumber,
                               parser.CurrentColumnNumber + 1)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ComponentProblem('Error parsing file: %s' % expat.ErrorString(exc.code), exc.lineno, exc.offset + 1)
    return roots[0]


def fields_of(node: Node) -> dict:
    """The element's children as {name: text, or a dict for an element with children, or a list when repeated}."""
    fields = {}
    for child in node.children:
        value = fields_of(child) if child.children else child.text
        if child.tag in fields:
            previous = fields[child.tag]
            fields[child.tag] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            fields[child.tag] = value
    return fields


def as_list(value) -> list:
    if value is None or value == '':
        return []
    return value if isinstance(value, list) else [value]


def split_names(text) -> list:
    """commaSeparatedPermissionSet and the like: names, blanks dropped."""
    return [name.strip() for name in (text or '').split(',') if name.strip()] if isinstance(text, str) else []


# -- paths ----------------------------------------------------------------------------------------


def classify(path: str):
    """(MetadataType, full name, is the -meta.xml of a body) for a component file path, or None when unknown."""
    folder, _sep, file_name = path.partition('/')
    if not file_name or '/' in file_name:
        return None
    for metadata_type in TYPES.values():
        if metadata_type.folder != folder:
            continue
        suffix = '.' + metadata_type.suffix
        if metadata_type.content and file_name.endswith(suffix + META_SUFFIX) and len(file_name) > len(suffix + META_SUFFIX):
            return metadata_type, file_name[:-len(suffix + META_SUFFIX)], True
        if file_name.endswith(suffix) and len(file_name) > len(suffix):
            return metadata_type, file_name[:-len(suffix)], False
    return None


def component_path(metadata_type: MetadataType, full_name: str) -> str:
    return '%s/%s.%s' % (metadata_type.folder, full_name, metadata_type.suffix)


def unknown_file_problem(path: str) -> str:
    problem = 'An unknown file type was found in zipped directory: %s. ' % path
    source = classify(path[:-len(META_SUFFIX)]) if path.endswith(META_SUFFIX) else None
    if source is not None and not source[0].content:
        return problem + ('It is in source format: in Metadata API format the file is %s (without %s).'
                          % (path[:-len(META_SUFFIX)], META_SUFFIX))
    return problem + 'Metadata API format puts each component at <folder>/<Name>.<suffix>, e.g. externalClientApps/Acme.eca.'


# -- package.xml ----------------------------------------------------------------------------------


def parse_package(data: bytes) -> tuple:
    """({type name: [members]}, version or None) of a package.xml; ComponentProblem when it cannot be read."""
    root = parse_xml(data)
    _check_root(root, 'Package')
    members = {}
    for types in root.children:
        if types.tag != 'types':
            continue
        name = types.value('name')
        if name is None:
            raise ComponentProblem('Error parsing file: a <types> element needs a <name>', types.line, types.column)
        members.setdefault(name, []).extend(types.values('members'))
    version = root.value('version')
    if version is not None and not API_VERSION.match(version):
        node = root.child('version')
        raise ComponentProblem("Error parsing file: '%s' is not a valid API version (e.g. 62.0)" % version, node.line, node.column)
    return members, version


# -- one component --------------------------------------------------------------------------------


def check_component(metadata_type: MetadataType, full_name: str, document: bytes) -> Node:
    """The component's root element, after the checks that need nothing but its file; ComponentProblem otherwise.

    For Apex, `document` is the -meta.xml.
    """
    root = parse_xml(document)
    _check_root(root, full_name + 'Settings' if metadata_type.name == SETTINGS else metadata_type.name)
    for name in metadata_type.required:
        if root.value(name) is None:
            raise ComponentProblem('Required field is missing: %s' % name, root.line, root.column)
    _check_values(root)
    if metadata_type.name == ECA_GLOBAL_OAUTH:
        _check_oauth(root)
    elif metadata_type.name == CONNECTED_APP and root.child('oauthConfig') is not None:
        oauth_config = root.child('oauthConfig')
        if oauth_config.value('callbackUrl') is None:
            raise ComponentProblem('Required field is missing: oauthConfig.callbackUrl', oauth_config.line, oauth_config.column)
        _check_oauth(oauth_config)
    elif metadata_type.content:
        version = root.child('apiVersion')
        if not API_VERSION.match(version.text):
            raise ComponentProblem("Error parsing file: '%s' is not a valid value for apiVersion" % version.text, version.line, version.column)
    return root


def _check_root(root: Node, expected: str) -> None:
    if root.tag != expected or root.namespace != NAMESPACE:
        found = '{%s}%s' % (root.namespace, root.tag) if root.namespace else root.tag
        raise ComponentProblem('Error parsing file: the root element is %s; expected %s in namespace %s'
                               % (found, expected, NAMESPACE), root.line, root.column)


def _check_values(node: Node) -> None:
    for child in node.children:
        if child.children:
            _check_values(child)
            continue
        if child.tag in _BOOLEAN_FIELDS and child.text not in ('true', 'false'):
            raise ComponentProblem("Error parsing file: '%s' is not a valid value for the type xsd:boolean (%s)" % (child.text, child.tag),
                                   child.line, child.column)
        enum = _ENUMS.get(child.tag)
        if enum is not None and child.text not in enum[1]:
            raise ComponentProblem("Error parsing file: '%s' is not a valid value for the enum '%s'" % (child.text, enum[0]),
                                   child.line, child.column)


def _check_oauth(node: Node) -> None:
    key = node.child('consumerKey')
    if key is not None and key.text and not CONSUMER_KEY.match(key.text):
        raise ComponentProblem('Invalid consumerKey: a consumer key is 8 to 256 letters and digits', key.line, key.column)
    certificate = node.child('certificate')
    if certificate is not None and certificate.text:
        try:
            load_public_key(normalize_certificate(certificate.text))
        except ValueError as exc:
            raise ComponentProblem('Invalid certificate: %s. Give the PEM-encoded X.509 certificate (BEGIN/END lines included) or '
                                   'its base64 body.' % exc, certificate.line, certificate.column)
