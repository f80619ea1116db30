# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Salesforce app metadata in source format (External Client App, legacy Connected App), built with ElementTree.

Every file is rendered from a tree, never from a string template, so any value (label, e-mail, URL)
is escaped by the XML serializer. Rendering is deterministic, which is what makes the module idempotent:
a file is rewritten only when its bytes differ. The project's files on disk (reading, planning, writing) are in
_metadata_files.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import xml.etree.ElementTree as ET

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _salesforce_facts as salesforce_facts
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import InvalidJson, parse_json
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata_certificate import (
    CERTIFICATE_OPTION,
    certificate_der,
    check_certificate_validity,
    load_certificate_der,
    pem_of_der,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import (
    CONTROL_CHARACTER_RE,
    certificate_fingerprint,
)

METADATA_NS = 'http://soap.sforce.com/2006/04/metadata'
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# \Z, not $: $ also matches before a final line break, which let 'abc12345\n' through.
CONSUMER_KEY_RE = re.compile(r'[A-Za-z0-9]{8,256}\Z')
API_NAME_RE = re.compile(r'[A-Za-z][A-Za-z0-9_]*\Z')
CALLBACK_URL_RE = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://[^\s/]+\S*\Z')
EMAIL_RE = re.compile(r'[^@\s]+@[^@\s]+\.[^@\s]+\Z')
# Characters XML 1.0 cannot hold at all, besides the control characters: surrogates and the two non-characters.
NOT_XML_RE = re.compile('[\ud800-\udfff\ufffe\uffff]')
PERMISSION_SET_RE = API_NAME_RE
DEFAULT_SCOPES = ('Api', 'RefreshToken', 'OfflineAccess')
# The app_metadata module's defaults; its documentation repeats them (a unit test keeps the two in step).
DEFAULT_API_VERSION = '62.0'
DEFAULT_PACKAGE_DIRECTORY = 'force-app'
DEFAULT_MANIFEST = 'manifest/package.xml'
# More than any app metadata file this module reads back (a consumer key, a package.xml, a .gitignore).
MAX_PROJECT_FILE_BYTES = 10 * 1024 * 1024
DEFAULT_CALLBACK_URL = 'https://login.salesforce.com/services/oauth2/success'
# External Client Apps exist from API 59.0 (their policies file, ExtlClntAppConfigurablePolicies, from 60.0).
MIN_ECA_API_VERSION = (60, 0)
MAX_API_NAME_LENGTH = 40
GENERATED_CONSUMER_KEY_LENGTH = 64

# metadata type -> (source folder, file suffix); as the Salesforce CLI's registry knows them.
ECA = 'ExternalClientApplication'
ECA_OAUTH = 'ExtlClntAppOauthSettings'
ECA_GLOBAL_OAUTH = 'ExtlClntAppGlobalOauthSettings'
ECA_OAUTH_POLICIES = 'ExtlClntAppOauthConfigurablePolicies'
ECA_POLICIES = 'ExtlClntAppConfigurablePolicies'
CONNECTED_APP = 'ConnectedApp'
PERMISSION_SET = 'PermissionSet'
SOURCE_LAYOUT = {
    ECA: ('externalClientApps', '.eca-meta.xml'),
    ECA_OAUTH: ('extlClntAppOauthSettings', '.ecaOauth-meta.xml'),
    ECA_GLOBAL_OAUTH: ('extlClntAppGlobalOauthSets', '.ecaGlblOauth-meta.xml'),
    ECA_OAUTH_POLICIES: ('extlClntAppOauthPolicies', '.ecaOauthPlcy-meta.xml'),
    ECA_POLICIES: ('extlClntAppPolicies', '.ecaPlcy-meta.xml'),
    CONNECTED_APP: ('connectedApps', '.connectedApp-meta.xml'),
    PERMISSION_SET: ('permissionsets', '.permissionset-meta.xml'),
}
ECA_TYPES = (ECA, ECA_OAUTH, ECA_GLOBAL_OAUTH, ECA_OAUTH_POLICIES, ECA_POLICIES)
# Files holding the consumer key (and, once retrieved, the consumer secret): never in source control.
SENSITIVE_TYPES = (ECA_GLOBAL_OAUTH,)
GITIGNORE_ENTRY = '**/extlClntAppGlobalOauthSets/'
# Directories the module creates: never writable by others whatever the umask (a planted link would be followed by
# the next run's readers); the folder of the files holding the consumer key is closed to others.
DIRECTORY_MODE = 0o755
SENSITIVE_DIRECTORY_MODE = 0o700
LINK_REFUSED = 'app_metadata does not follow links in the project (a link could expose or overwrite any file)'

# ipRelaxationPolicyType of an External Client App, and the ConnectedApp ipRelaxation it corresponds to.
IP_RELAXATION = {
    'enforce': ('Enforce', 'ENFORCE'),
    'bypass': ('Bypass', 'BYPASS'),
    'bypass_2factor': ('Bypass_2factor', 'BYPASS_2FACTOR'),
    'enforce_relax_refresh': ('Enforce_RelaxRefresh', 'ENFORCE_ACTIVATED_DEVICES'),
}
# Connected App scope names for the ECA scope names (the legacy type spells them the same).
CONNECTED_APP_SCOPES = ('Address', 'Api', 'Basic', 'Chatter', 'CustomApplications', 'CustomPermissions', 'Email',
                        'Full', 'OfflineAccess', 'OpenID', 'Phone', 'Profile', 'RefreshToken', 'Wave', 'Web')

# Salesforce limits a permission set's description to 255 characters.
MAX_PERMISSION_SET_DESCRIPTION = 255


# ---------------------------------------------------------------------------------------------- validation

def validate_text(value, option):
    """Refuse a text for the metadata that holds a control character (a line break or a tab included) or another
    character XML cannot hold; ``option`` names it in the message. Returns the value; None and non-strings pass."""
    if isinstance(value, str):
        found = CONTROL_CHARACTER_RE.search(value)
        if found:
            raise InputError('%s holds the control character U+%04X at position %d; the metadata can only hold '
                             'printable text on one line. Remove it.' % (option, ord(found.group()), found.start() + 1))
        found = NOT_XML_RE.search(value)
        if found:
            raise InputError('%s holds the character U+%04X at position %d, which XML cannot hold. Remove it.'
                             % (option, ord(found.group()), found.start() + 1))
    return value


def validate_api_name(name, what='name'):
    if not isinstance(name, str) or not API_NAME_RE.match(name) or '__' in name or name.endswith('_'):
        raise InputError('%s %r is not a valid Salesforce API name: start with a letter, then letters, digits and '
                         'single underscores, not ending with an underscore (for example MyIntegration).'
                         % (what, name))
    if len(name) > MAX_API_NAME_LENGTH:
        raise InputError('%s %r is %d characters long; Salesforce API names have at most %d.'
                         % (what, name, len(name), MAX_API_NAME_LENGTH))
    return name


def validate_consumer_key(consumer_key):
    if not isinstance(consumer_key, str) or not CONSUMER_KEY_RE.match(consumer_key):
        length = len(consumer_key) if isinstance(consumer_key, str) else 0
        raise InputError('consumer_key must be 8 to 256 letters and digits (A-Z, a-z, 0-9), as Salesforce requires; '
                         'the value given has %d characters%s. Give another consumer_key, or leave it unset '
                         'to have one generated.'
                         % (length, ' and other characters' if length and not consumer_key.isalnum() else ''))
    return consumer_key


def parse_api_version(version, what='api_version'):
    """'62.0' -> (62, 0); rejects anything that is not NN.N."""
    parsed = salesforce_facts.parse_api_version(str(version))
    if parsed is None:
        raise InputError('%s %r is not a Salesforce API version; use the form NN.N, for example 62.0.' % (what, version))
    return parsed


def validate_callback_url(url):
    validate_text(url, 'callback_url')
    if not isinstance(url, str) or not CALLBACK_URL_RE.match(url):
        raise InputError('callback_url %r is not an absolute URL. The JWT Bearer Flow never calls it, but Salesforce '
                         'requires one: %s is the usual value.' % (url, DEFAULT_CALLBACK_URL))
    return url


def validate_email(email):
    validate_text(email, 'contact_email')
    if not isinstance(email, str) or not EMAIL_RE.match(email):
        raise InputError('contact_email %r is not an e-mail address; Salesforce requires a contact e-mail '
                         'for the app.' % (email,))
    return email


def generate_consumer_key():
    """A new consumer key: letters and digits only, as Salesforce requires (settable only when the app is created)."""
    alphabet = string.ascii_letters + string.digits
    return ''.join(secrets.choice(alphabet) for dummy in range(GENERATED_CONSUMER_KEY_LENGTH))


# ---------------------------------------------------------------------------------------------- rendering

def _element(tag, children):
    """A document root: <tag xmlns=...> with child elements (see _sub_element)."""
    return _sub_element(tag, children, {'xmlns': METADATA_NS})


def _sub_element(tag, children, attributes=None):
    """Build <tag> with child elements in the given order; None values are left out, lists repeat the child,
    elements are appended as they are, bools are lowercased."""
    element = ET.Element(tag, attributes or {})
    for name, value in children:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            for item in value:
                ET.SubElement(element, name).text = _text(item)
        elif isinstance(value, ET.Element):
            element.append(value)
        else:
            ET.SubElement(element, name).text = _text(value)
    return element


def _text(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def _indent(element, level=0):
    """Pretty-print in place with four spaces, the Salesforce CLI's layout (ET.indent needs Python 3.9).

    Only the whitespace between elements is set: the text of an element without children (a PEM certificate
    has line breaks) is never touched.
    """
    pad = '\n' + '    ' * level
    children = list(element)
    if children:
        if not (element.text or '').strip():
            element.text = pad + '    '
        for child in children:
            _indent(child, level + 1)
            if not (child.tail or '').strip():
                child.tail = pad + '    '
        children[-1].tail = pad
    if level and not (element.tail or '').strip():
        element.tail = pad


def render(root):
    """Serialize a metadata tree: XML declaration, four-space indent, UTF-8, final newline."""
    _indent(root)
    return XML_DECLARATION + ET.tostring(root, encoding='utf-8') + b'\n'


class AppSpec:
    """Validated inputs for one app's metadata.

    certificate None validates everything else (the certificate is not known yet); such a spec cannot be rendered.
    Once validated, certificate is the canonical PEM (certificate_pem), as the metadata holds it.
    certificate_source names the certificate in messages (its path); now is the time its validity is checked against.
    create_permission_sets also writes a PermissionSet component for each of permission_sets, described by
    permission_set_description (None: a default sentence naming the app; '': no description).
    """

    def __init__(self, name, label, contact_email, consumer_key, certificate, callback_url, permission_sets=(),
                 profiles=(), scopes=DEFAULT_SCOPES, description=None, ip_relaxation='enforce', api_version=DEFAULT_API_VERSION,
                 external_client_app=True, connected_app=False, certificate_source=CERTIFICATE_OPTION, now=None,
                 create_permission_sets=False, permission_set_description=None):
        self.name = validate_api_name(name)
        self.label = validate_text(label, 'label') or name
        self.contact_email = validate_email(contact_email)
        self.consumer_key = validate_consumer_key(consumer_key)
        self.certificate = self.certificate_fingerprint = None
        if certificate is not None:
            der = certificate_der(certificate)
            loaded = load_certificate_der(der)
            check_certificate_validity(loaded, certificate_source, now)
            self.certificate = pem_of_der(der)
            self.certificate_fingerprint = certificate_fingerprint(loaded)
        self.callback_url = validate_callback_url(callback_url)
        self.permission_sets = [validate_api_name(p, 'permission set') for p in (permission_sets or [])]
        self.create_permission_sets = bool(create_permission_sets)
        self.permission_set_description = self._permission_set_description(permission_set_description)
        self.profiles = list(profiles or [])
        for profile in self.profiles:
            if not isinstance(profile, str) or not profile.strip():
                raise InputError('profiles must be profile names (for example "System Administrator").')
            validate_text(profile, 'profiles')
        self.scopes = list(scopes or [])
        if not self.scopes:
            raise InputError('scopes must name at least one OAuth scope; the JWT Bearer Flow needs Api.')
        for scope in self.scopes:
            if scope not in CONNECTED_APP_SCOPES:
                raise InputError('scope %r is not a Salesforce OAuth scope name; use one of %s.'
                                 % (scope, ', '.join(CONNECTED_APP_SCOPES)))
        self.description = validate_text(description, 'description')
        if ip_relaxation not in IP_RELAXATION:
            raise InputError('ip_relaxation must be one of %s.' % ', '.join(sorted(IP_RELAXATION)))
        self.ip_relaxation = ip_relaxation
        self.api_version = salesforce_facts.format_api_version(parse_api_version(api_version))
        self.external_client_app = external_client_app
        self.connected_app = connected_app
        if not external_client_app and not connected_app:
            raise InputError('Nothing to write: enable external_client_app, connected_app, or both.')
        if external_client_app and parse_api_version(api_version) < MIN_ECA_API_VERSION:
            raise InputError('External Client App metadata needs api_version %s or later; %s was given.'
                             % (salesforce_facts.format_api_version(MIN_ECA_API_VERSION), self.api_version))
        if self.profiles and not connected_app:
            # An External Client App is pre-authorized through permission sets; profiles are for the legacy app.
            raise InputError('profiles apply only to the legacy Connected App (connected_app=true); an External '
                             'Client App is pre-authorized through permission_sets.')

    def _permission_set_description(self, description):
        if not self.create_permission_sets:
            if description is not None:
                raise InputError('permission_set_description applies only with create_permission_sets=true.')
            return None
        if not self.permission_sets:
            raise InputError('create_permission_sets=true needs the names of the permission sets to write: give them '
                             'in permission_sets (for example [Ansible_Integration]), or set create_permission_sets=false.')
        seen = {}
        for permission_set in self.permission_sets:
            if permission_set.lower() in seen:
                raise InputError('permission_sets names the permission set %r twice (%r and %r; Salesforce API names '
                                 'ignore case); give each once.'
                                 % (permission_set, seen[permission_set.lower()], permission_set))
            seen[permission_set.lower()] = permission_set
        if description is None:
            return ('Users assigned this permission set are pre-authorized for the app %s (OAuth JWT Bearer Flow). '
                    'Written by sfjwt.salesforce.' % self.name)
        if not isinstance(description, str):
            raise InputError('permission_set_description must be a string.')
        validate_text(description, 'permission_set_description')
        if len(description) > MAX_PERMISSION_SET_DESCRIPTION:
            raise InputError('permission_set_description is %d characters long; Salesforce takes at most %d.'
                             % (len(description), MAX_PERMISSION_SET_DESCRIPTION))
        return description or None

    def types(self):
        """The app's metadata types (one component each, named after the app); permission sets are not among them."""
        selected = []
        if self.external_client_app:
            selected.extend(ECA_TYPES)
        if self.connected_app:
            selected.append(CONNECTED_APP)
        return selected

    def written_permission_sets(self):
        """Names of the PermissionSet components to write, sorted; empty unless create_permission_sets."""
        return sorted(self.permission_sets) if self.create_permission_sets else []

    def components(self):
        """{metadata type: sorted member names} of every component written, as the manifest lists them."""
        found = dict((metadata_type, [self.name]) for metadata_type in self.types())
        if self.written_permission_sets():
            found[PERMISSION_SET] = self.written_permission_sets()
        return found


def build_documents(spec, consumer_secrets=None):
    """{metadata type: XML bytes} for every file the spec asks for. ``consumer_secrets``: {ECA_GLOBAL_OAUTH or
    CONNECTED_APP: the consumerSecret its existing file holds}, kept in the rewritten file (see read_consumer_secret)."""
    consumer_secrets = consumer_secrets or {}
    if spec.certificate is None:
        raise InputError('No certificate: give certificate or certificate_path.')
    documents = {}
    if spec.external_client_app:
        documents[ECA] = render(_element(ECA, [
            ('contactEmail', spec.contact_email),
            ('description', spec.description),
            ('distributionState', 'Local'),
            ('isProtected', False),
            ('label', spec.label),
        ]))
        documents[ECA_OAUTH] = render(_element(ECA_OAUTH, [
            ('commaSeparatedOauthScopes', ', '.join(spec.scopes)),
            ('externalClientApplication', spec.name),
            ('label', spec.label),
        ]))
        documents[ECA_GLOBAL_OAUTH] = render(_element(ECA_GLOBAL_OAUTH, [
            ('callbackUrl', spec.callback_url),
            ('certificate', spec.certificate),
            ('consumerKey', spec.consumer_key),
            ('consumerSecret', consumer_secrets.get(ECA_GLOBAL_OAUTH)),
            ('externalClientApplication', spec.name),
            ('label', spec.label),
        ]))
        documents[ECA_OAUTH_POLICIES] = render(_element(ECA_OAUTH_POLICIES, [
            ('commaSeparatedPermissionSet', ','.join(spec.permission_sets) or None),
            ('externalClientApplication', spec.name),
            ('ipRelaxationPolicyType', IP_RELAXATION[spec.ip_relaxation][0]),
            ('label', spec.label),
            ('permittedUsersPolicyType', 'AdminApprovedPreAuthorized'),
        ]))
        documents[ECA_POLICIES] = render(_element(ECA_POLICIES, [
            ('externalClientApplication', spec.name),
            ('isEnabled', True),
            ('isOauthPluginEnabled', True),
            ('label', spec.label),
        ]))
    if spec.connected_app:
        oauth_config = _sub_element('oauthConfig', [
            ('callbackUrl', spec.callback_url),
            ('certificate', spec.certificate),
            ('consumerKey', spec.consumer_key),
            ('consumerSecret', consumer_secrets.get(CONNECTED_APP)),
            ('isAdminApproved', True),
            ('scopes', spec.scopes),
        ])
        oauth_policy = _sub_element('oauthPolicy', [
            ('ipRelaxation', IP_RELAXATION[spec.ip_relaxation][1]),
            ('refreshTokenPolicy', 'infinite'),
        ])
        documents[CONNECTED_APP] = render(_element(CONNECTED_APP, [
            ('contactEmail', spec.contact_email),
            ('description', spec.description),
            ('label', spec.label),
            ('oauthConfig', oauth_config),
            ('oauthPolicy', oauth_policy),
            ('permissionSetName', spec.permission_sets),
            ('profileName', spec.profiles),
        ]))
    return documents


def permission_set_label(name):
    """The label of a permission set written for an API name: underscores shown as spaces."""
    return name.replace('_', ' ')


def build_permission_sets(spec):
    """{permission set name: XML bytes} of the PermissionSet components to write (none unless create_permission_sets).

    Only the label and the description: deployed over an existing permission set of that name, the file can remove
    what that set grants (the Metadata API reference: a permission set deploy must include all of the set's metadata).
    """
    documents = {}
    for name in spec.written_permission_sets():
        documents[name] = render(_element(PERMISSION_SET, [
            ('description', spec.permission_set_description),
            ('label', permission_set_label(name)),
        ]))
    return documents


def build_package_xml(components, api_version):
    """A package.xml (manifest) listing ``components`` ({metadata type: member names}), sorted, with the API version when
    one is given: the app_metadata manifest and the deploy's package.xml alike."""
    root = ET.Element('Package', {'xmlns': METADATA_NS})
    for metadata_type in sorted(components):
        root.append(_sub_element('types', [('members', sorted(components[metadata_type])), ('name', metadata_type)]))
    if api_version:
        ET.SubElement(root, 'version').text = api_version
    return render(root)


def build_sfdx_project(existing, package_directory, api_version):
    """sfdx-project.json content: the existing project kept as is when it already lists the package directory.

    Returns bytes, or None when the existing file needs no change.
    """
    if existing is None:
        project = {
            'packageDirectories': [{'path': package_directory, 'default': True}],
            'name': 'sfjwt',
            'namespace': '',
            'sfdcLoginUrl': 'https://login.salesforce.com',
            'sourceApiVersion': api_version,
        }
        return (json.dumps(project, indent=2) + '\n').encode('utf-8')
    try:
        project = parse_json(existing, 'sfdx-project.json')
    except InvalidJson as exc:
        raise InputError('sfdx-project.json exists but is not valid JSON (%s); fix or remove it.' % exc.reason) from None
    if not isinstance(project, dict):
        raise InputError('sfdx-project.json exists but is not a JSON object; fix or remove it.')
    directories = project.get('packageDirectories')
    if not isinstance(directories, list):
        directories = []
    paths = [d.get('path', '').strip('/') for d in directories if isinstance(d, dict)]
    changed = False
    if package_directory.strip('/') not in paths:
        directories.append({'path': package_directory, 'default': not directories})
        project['packageDirectories'] = directories
        changed = True
    if not project.get('sourceApiVersion'):
        project['sourceApiVersion'] = api_version
        changed = True
    if not changed:
        return None
    return (json.dumps(project, indent=2) + '\n').encode('utf-8')


GITIGNORE_COMMENT = ('# Written by sfjwt.salesforce.app_metadata: the External Client App global OAuth settings\n'
                     '# hold the consumer key (and, when retrieved, the consumer secret). Never commit them.\n')


def update_gitignore(existing, entry=GITIGNORE_ENTRY, comment=GITIGNORE_COMMENT):
    """Content of .gitignore with ``entry`` (by default the one that keeps the global OAuth settings out of git) after
    its comment lines; None when the entry is there already."""
    text = existing.decode('utf-8', errors='replace') if existing else ''
    lines = [line.strip() for line in text.splitlines()]
    if entry in lines or entry.rstrip('/') in lines:
        return None
    if text and not text.endswith('\n'):
        text += '\n'
    text += '%s%s\n' % (comment, entry)
    return text.encode('utf-8')


def local_name(tag):
    """An XML element's tag without its namespace ('{http://soap.sforce.com/2006/04/metadata}label' -> 'label')."""
    return tag.rsplit('}', 1)[-1]


def first_element_text(content, tag, accept=lambda text: True):
    """The stripped text of the first ``tag`` element (any namespace) in content (bytes) that accept() takes, or None
    (also for no content, or content that is not XML)."""
    if not content:
        return None
    try:
        tree = ET.ElementTree(ET.fromstring(content))
    except (ET.ParseError, LookupError):   # LookupError: an encoding Python does not know
        return None
    for element in tree.iter():
        if local_name(element.tag) == tag and element.text and element.text.strip() and accept(element.text.strip()):
            return element.text.strip()
    return None


def read_consumer_secret(content):
    """consumerSecret of the content (bytes) of an existing settings file (ECA global OAuth settings or Connected App, as
    a retrieve from the org gives them), or None. The rewritten file keeps it: it is the user's, and the module has no
    reason to drop it; it is never shown (see hide_consumer_secrets)."""
    return first_element_text(content, 'consumerSecret')


# What stands for a consumer secret in a diff, before and after alike.
HIDDEN_SECRET = '(consumer secret, not shown)'
# The text of a <consumerSecret> element (any namespace prefix), up to its end tag, or to the end of a file that has none
# (a file that is not well-formed XML may hold one too).
_CONSUMER_SECRET_TEXT = re.compile(r'(<(?:[\w.-]+:)?consumerSecret\b[^>]*(?<!/)>)(.*?)(?=</(?:[\w.-]+:)?consumerSecret\s*>|\Z)',
                                   re.DOTALL)


# XML constructs with which text and parsed value part ways (a secret in an entity, an end tag inside CDATA or a comment).
_OPAQUE_XML = re.compile(r'<!DOCTYPE|<!ENTITY|<!\[CDATA\[|<!--', re.IGNORECASE)
HIDDEN_FILE = '(this file holds a consumer secret; its content is not shown)\n'


def hide_consumer_secrets(text):
    """text (a file's content, for a diff) with the content of every consumerSecret element replaced by HIDDEN_SECRET.
    A file that holds one together with XML whose text and meaning can differ is not shown at all, and the value the
    parser reads is hidden wherever it appears."""
    if re.search('consumersecret', text, re.IGNORECASE) and _OPAQUE_XML.search(text):
        return HIDDEN_FILE
    hidden = _CONSUMER_SECRET_TEXT.sub(lambda match: match.group(1) + (HIDDEN_SECRET if match.group(2) else ''), text)
    secret = read_consumer_secret(text.encode('utf-8'))
    return hidden.replace(secret, HIDDEN_SECRET) if secret else hidden


def read_consumer_key(content):
    """consumerKey of the content (bytes) of an existing settings file (ECA global OAuth settings or Connected App),
    or None (also for None: no file).

    Only the consumerKey element is read: a file written with the certificate as a one-line base64 body (as versions
    before the PEM form did) keeps its key, and is rewritten with the PEM on the next run.
    """
    return first_element_text(content, 'consumerKey', accept=CONSUMER_KEY_RE.match)
