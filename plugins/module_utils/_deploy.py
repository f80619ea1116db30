# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Deploy a Salesforce DX (source format) project through the REST Metadata API, without the Salesforce CLI.

Three parts:
- SourceProject: reads the project (sfdx-project.json, its package directories, an optional manifest) and converts
  it in memory to a Metadata API zip: package.xml at the root, each component at <folder>/<Name>.<suffix>.
  Links, FIFOs and other non-regular files are refused, never followed. The zip is deterministic (sorted entries,
  fixed timestamps), so its SHA-256 names the content.
- DeployRecord: the SHA-256 of the last zip deployed successfully, per org id, in a 0600 file next to
  sfdx-project.json; the same content to the same org is not deployed again.
- Deployer: POST .../metadata/deployRequest (multipart json + file), poll until done, cancel on timeout, and turn
  the DeployResult into a result and a message that names each failing component and what to do.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import re
import stat
import time
import xml.etree.ElementTree as ET
import zipfile

from ansible_collections.sfjwt.salesforce.plugins.module_utils._errors import ApiError, HttpError, InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils._io import FileRefused, read_regular_file, write_file_atomic
from ansible_collections.sfjwt.salesforce.plugins.module_utils._metadata import (
    DEFAULT_MANIFEST,
    build_package_xml,
    update_gitignore,
)

PROJECT_FILE = 'sfdx-project.json'
RECORD_FILE = '.sfjwt-deploy.json'
RECORD_GITIGNORE_ENTRY = '/' + RECORD_FILE
RECORD_GITIGNORE_COMMENT = ('# Written by sfjwt.salesforce.metadata_deploy: what was deployed to which org (org ids, deploy ids);\n'
                            '# it belongs to this checkout, not to the repository.\n')
RECORD_VERSION = 1
META_SUFFIX = '-meta.xml'

# Salesforce's limits for one deploy.
MAX_FILES = 10000
MAX_ZIP_BYTES = 39 * 1000 * 1000
MAX_UNZIPPED_BYTES = 600 * 1000 * 1000
# A project file larger than this is not metadata anyone deploys with this module (and is not read into memory).
MAX_FILE_BYTES = 50 * 1000 * 1000
# Bounds for the options that set waiting.
MAX_WAIT_TIMEOUT = 6 * 3600
MIN_POLL_INTERVAL = 0.1
MAX_POLL_INTERVAL = 300
# How many component failures a message lists (the result has them all), and how long one problem text may be.
MAX_LISTED_FAILURES = 20
MAX_PROBLEM_CHARS = 2000
# After asking Salesforce to cancel, how long to wait for it to confirm (seconds).
CANCEL_CONFIRM_SECONDS = 30

TEST_LEVELS = ('NoTestRun', 'RunSpecifiedTests', 'RunLocalTests', 'RunAllTestsInOrg')
FINAL_STATUSES = ('Succeeded', 'SucceededPartial', 'Failed', 'Canceled')
KNOWN_STATUSES = ('Pending', 'InProgress', 'Canceling') + FINAL_STATUSES
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Source-format metadata this module converts: suffix -> (Metadata API type, folder, content file extension or None).
# XML-only types live in <folder>/<Name>.<suffix>-meta.xml and become <folder>/<Name>.<suffix> in the zip; types with a
# content file (Apex) keep both files as they are. The folders and suffixes are those of the Salesforce CLI's registry.
SOURCE_TYPES = {
    'eca': ('ExternalClientApplication', 'externalClientApps', None),
    'ecaOauth': ('ExtlClntAppOauthSettings', 'extlClntAppOauthSettings', None),
    'ecaGlblOauth': ('ExtlClntAppGlobalOauthSettings', 'extlClntAppGlobalOauthSets', None),
    'ecaOauthPlcy': ('ExtlClntAppOauthConfigurablePolicies', 'extlClntAppOauthPolicies', None),
    'ecaPlcy': ('ExtlClntAppConfigurablePolicies', 'extlClntAppPolicies', None),
    'connectedApp': ('ConnectedApp', 'connectedApps', None),
    'permissionset': ('PermissionSet', 'permissionsets', None),
    'permissionsetgroup': ('PermissionSetGroup', 'permissionsetgroups', None),
    'customPermission': ('CustomPermission', 'customPermissions', None),
    'namedCredential': ('NamedCredential', 'namedCredentials', None),
    'remoteSite': ('RemoteSiteSetting', 'remoteSiteSettings', None),
    'cspTrustedSite': ('CspTrustedSite', 'cspTrustedSites', None),
    'settings': ('Settings', 'settings', None),
    'cls': ('ApexClass', 'classes', 'cls'),
    'trigger': ('ApexTrigger', 'triggers', 'trigger'),
}
APEX_TYPES = ('ApexClass', 'ApexTrigger')
UNSUPPORTED_HINT = ('This module converts the metadata types %s; every file of the package directories must be one of '
                    'them. Deploy other types with the Salesforce CLI, or keep them in a package directory of another project.')

# What Salesforce's problem texts mean, and what to do about them (matched case-insensitively).
PROBLEM_HINTS = (
    ('consumer secret', 'Allow it in Setup > External Client App Manager > Settings ("Allow access to External Client App '
                        'consumer secrets via REST API"), as an admin, then run again.'),
    ('connected app creation', 'Salesforce no longer creates new Connected Apps (Spring \'26): use the External Client App '
                               '(app_metadata with connected_app=false), or update a Connected App that already exists.'),
    ('named in package.xml, but was not found', 'The manifest lists a component the project does not have: fix the '
                                                'manifest, or leave it out to deploy every file of the project.'),
    ('testlevel', 'Set test_level (RunLocalTests, or RunSpecifiedTests with run_tests): production orgs run tests for Apex.'),
    ('insufficient access', 'Deploy as an admin: the user needs "Modify Metadata Through Metadata API Functions" and, '
                            'for External Client Apps, "Create, edit, and delete External Client Apps".'),
)


# ---------------------------------------------------------------------------------------------- reading the project

def read_project_file(path, what='file', limit=MAX_FILE_BYTES):
    """The bytes of a file of the project (_io.read_regular_file: no link followed, nothing that blocks), None when there
    is none; InputError otherwise."""
    try:
        return read_regular_file(path, limit)
    except FileNotFoundError:
        return None
    except FileRefused as exc:
        if exc.reason == 'link':
            raise InputError('%s %s is a symbolic link; links are not followed in a project (a link could expose any file '
                             'to the org). Replace it with the file itself.' % (what, path)) from None
        if exc.reason == 'not_regular':
            raise InputError('%s %s is not a regular file; remove it or replace it with the file.' % (what, path)) from None
        if exc.size is not None:
            raise InputError('%s %s has %d bytes, more than this module deploys (%d).' % (what, path, exc.size, limit)) from None
        raise InputError('%s %s grew past %d bytes while it was read; more than this module deploys.'
                         % (what, path, limit)) from None
    except OSError as exc:
        raise InputError('cannot read %s %s: %s' % (what, path, exc.strerror)) from None


def _parse_xml(data, path):
    try:
        return ET.fromstring(data)
    except (ET.ParseError, LookupError) as exc:   # LookupError: an encoding="..." Python does not know
        raise InputError('%s is not well-formed XML (%s); fix it before deploying.' % (path, exc)) from None


def _local(tag):
    return tag.rsplit('}', 1)[-1]


class Component:
    """One metadata component: its type and name, and the zip entries (name -> bytes) that carry it."""

    def __init__(self, metadata_type, name, entries, source):
        self.type = metadata_type
        self.name = name
        self.entries = entries
        self.source = source

    @property
    def key(self):
        return '%s:%s' % (self.type, self.name)


def parse_manifest(data, path):
    """({type: [members]}, version or None) of a package.xml; '*' is kept as a member."""
    root = _parse_xml(data, path)
    if _local(root.tag) != 'Package':
        raise InputError('%s is not a package.xml manifest (its root element is %s, not Package).' % (path, _local(root.tag)))
    members = {}
    version = None
    for child in root:
        name = _local(child.tag)
        if name == 'version':
            version = (child.text or '').strip() or None
        elif name == 'types':
            type_name = None
            names = []
            for item in child:
                if _local(item.tag) == 'name':
                    type_name = (item.text or '').strip()
                elif _local(item.tag) == 'members':
                    names.append((item.text or '').strip())
            if not type_name:
                raise InputError('%s has a <types> element without <name>; fix the manifest.' % path)
            members.setdefault(type_name, []).extend(n for n in names if n)
    return members, version


class SourceProject:
    """A source-format project on disk, converted to a Metadata API zip in memory."""

    def __init__(self, project_dir, manifest=None):
        self.project_dir = os.path.abspath(project_dir)
        info = None
        try:
            info = os.stat(self.project_dir)   # the option is the playbook's choice; links inside the project are refused
        except (OSError, ValueError):
            pass
        if info is None or not stat.S_ISDIR(info.st_mode):
            raise InputError('project_dir %s is not a directory: give the directory that holds sfdx-project.json (the '
                             'project_dir of sfjwt.salesforce.app_metadata).' % self.project_dir)
        project_path = os.path.join(self.project_dir, PROJECT_FILE)
        raw = read_project_file(project_path, PROJECT_FILE)
        if raw is None:
            raise InputError('%s has no %s: this is not a Salesforce DX project. Write one with '
                             'sfjwt.salesforce.app_metadata, or point project_dir at the project root.'
                             % (self.project_dir, PROJECT_FILE))
        try:
            project = json.loads(raw.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError('%s is not valid JSON (%s); fix it.' % (project_path, exc)) from None
        if not isinstance(project, dict):
            raise InputError('%s is not a JSON object; fix it.' % project_path)
        self.source_api_version = project.get('sourceApiVersion') if isinstance(project.get('sourceApiVersion'), str) else None
        self.package_directories = []
        directories = project.get('packageDirectories')
        for entry in directories if isinstance(directories, list) else []:
            path = entry.get('path') if isinstance(entry, dict) else None
            if not isinstance(path, str) or not path.strip():
                continue
            self.package_directories.append(self._inside(path.strip(), 'packageDirectories path'))
        if not self.package_directories:
            raise InputError('%s lists no packageDirectories: name the folder that holds the metadata, e.g. '
                             '{"packageDirectories": [{"path": "force-app", "default": true}]}.' % project_path)
        self.manifest_path = None
        if manifest:
            self.manifest_path = self._inside(manifest, 'manifest')
        elif os.path.lexists(os.path.join(self.project_dir, DEFAULT_MANIFEST)):
            self.manifest_path = self._inside(DEFAULT_MANIFEST, 'manifest')

    def _inside(self, path, what):
        if '\0' in path:
            raise InputError('%s %r holds a NUL character; give a path inside the project %s.' % (what, path, self.project_dir))
        full = os.path.normpath(os.path.join(self.project_dir, os.path.expanduser(path)))
        if full != self.project_dir and not full.startswith(self.project_dir + os.sep):
            raise InputError('%s %s is outside the project %s; give a path inside it.' % (what, path, self.project_dir))
        current = self.project_dir
        for part in full[len(self.project_dir):].split(os.sep):
            current = os.path.join(current, part) if part else current
            if part and os.path.islink(current):
                raise InputError('%s %s goes through the symbolic link %s; links are not followed in a project (a link could '
                                 'expose any file to the org). Replace it with the folder or file itself.' % (what, path, current))
        return full

    # -- components ----------------------------------------------------------------------------

    def components(self):
        """Every component of the package directories, sorted; refuses unknown files, links and duplicates."""
        found = {}
        total = 0
        for directory in self.package_directories:
            if not os.path.lexists(directory):
                raise InputError('package directory %s (from %s) does not exist.' % (directory, PROJECT_FILE))
            if os.path.islink(directory) or not os.path.isdir(directory):
                raise InputError('package directory %s is not a directory (links are not followed).' % directory)
            for folder, subfolders, files in os.walk(directory, onerror=_walk_error, followlinks=False):
                subfolders[:] = sorted(d for d in subfolders if not d.startswith('.'))
                for link in [d for d in subfolders if os.path.islink(os.path.join(folder, d))]:
                    raise InputError('%s is a symbolic link; links are not followed in a project. Replace it with '
                                     'the folder itself.' % os.path.join(folder, link))
                for name in sorted(files):
                    if name.startswith('.'):
                        continue
                    component = self._component(folder, name)
                    if component is None:
                        continue
                    if component.key in found:
                        if found[component.key].source == component.source:
                            continue   # a package directory listed twice, or inside another
                        raise InputError('%s and %s both define %s %s; keep one.' % (
                            found[component.key].source, component.source, component.type, component.name))
                    found[component.key] = component
                    total += sum(len(data) for data in component.entries.values())
                    if total > MAX_UNZIPPED_BYTES:
                        raise InputError('The package directories of %s hold more than %d bytes of metadata; Salesforce takes '
                                         'at most that per deploy. Split the project.' % (self.project_dir, MAX_UNZIPPED_BYTES))
        return [found[key] for key in sorted(found)]

    def _component(self, folder, file_name):
        path = os.path.join(folder, file_name)
        if file_name.endswith(META_SUFFIX):
            stem = file_name[:-len(META_SUFFIX)]
            name, dot, suffix = stem.rpartition('.')
            known = SOURCE_TYPES.get(suffix) if dot and name else None
            if known is None:
                raise InputError('%s is not metadata this module can deploy (suffix .%s%s). %s'
                                 % (path, suffix or stem, META_SUFFIX, UNSUPPORTED_HINT % supported_types()))
            metadata_type, expected_folder, content_extension = known
            if os.path.basename(folder) != expected_folder:
                raise InputError('%s is a %s file, but %s files belong in a folder named %s/; move it there.'
                                 % (path, metadata_type, metadata_type, expected_folder))
            meta = read_project_file(path, 'metadata file')
            root = _parse_xml(meta, path)
            root_type = _local(root.tag)
            if metadata_type not in ('Settings',) and root_type != metadata_type:
                raise InputError('%s should hold a %s, but its root element is %s; fix the file.' % (path, metadata_type, root_type))
            if content_extension:
                content_path = os.path.join(folder, name + '.' + content_extension)
                content = read_project_file(content_path, '%s source' % metadata_type)
                if content is None:
                    raise InputError('%s has no %s next to it; a %s needs both files.' % (path, name + '.' + content_extension, metadata_type))
                entries = {'%s/%s.%s' % (expected_folder, name, content_extension): content,
                           '%s/%s.%s%s' % (expected_folder, name, content_extension, META_SUFFIX): meta}
            else:
                entries = {'%s/%s.%s' % (expected_folder, name, suffix): meta}
            # settings/Security.settings-meta.xml is member Security of type Settings (its root is SecuritySettings).
            return Component(metadata_type, name, entries, path)
        extension = file_name.rpartition('.')[2]
        known = SOURCE_TYPES.get(extension)
        if known is not None and known[2] == extension:
            if os.path.lexists(path + META_SUFFIX):
                return None   # the content file of a component; read with its -meta.xml file
            raise InputError('%s has no %s next to it; a %s needs both files.' % (path, file_name + META_SUFFIX, known[0]))
        raise InputError('%s is not a metadata file (source format files end in .<type>%s). Remove it from the package '
                         'directory, or deploy this project with the Salesforce CLI.' % (path, META_SUFFIX))

    # -- the zip -------------------------------------------------------------------------------

    def select(self, components):
        """The components the manifest names (all of them without a manifest), and the package.xml bytes."""
        if self.manifest_path is None:
            return components, deploy_package_xml(components, self.source_api_version)
        data = read_project_file(self.manifest_path, 'manifest')
        if data is None:
            raise InputError('manifest %s does not exist; give the package.xml to deploy, or leave manifest unset to '
                             'deploy every file of the project.' % self.manifest_path)
        wanted, dummy = parse_manifest(data, self.manifest_path)
        selected = []
        by_type = {}
        for component in components:
            by_type.setdefault(component.type, {})[component.name] = component
        missing = []
        for metadata_type in sorted(wanted):
            available = by_type.get(metadata_type, {})
            for member in sorted(set(wanted[metadata_type])):
                if member == '*':
                    selected.extend(available[name] for name in sorted(available))
                elif member in available:
                    selected.append(available[member])
                else:
                    missing.append('%s %s' % (metadata_type, member))
        if missing:
            raise InputError('The manifest %s lists %s, but the project has no such source file%s. Fix the manifest, '
                             'or write the files first (sfjwt.salesforce.app_metadata).'
                             % (self.manifest_path, ', '.join(missing), '' if len(missing) == 1 else 's'))
        unique = {component.key: component for component in selected}
        return [unique[key] for key in sorted(unique)], data

    def build(self):
        """(zip bytes, sha256 hex, [component keys]) of what would be deployed."""
        components, package_xml = self.select(self.components())
        if not components:
            raise InputError('Nothing to deploy: the project %s has no metadata files (and its manifest names none).'
                             % self.project_dir)
        return build_zip(components, package_xml)


def _walk_error(exc):
    raise InputError('cannot read the folder %s: %s' % (exc.filename, exc.strerror))


def supported_types():
    return ', '.join(sorted(entry[0] for entry in SOURCE_TYPES.values()))


def deploy_package_xml(components, api_version):
    """The package.xml of the deploy's zip: the components, by type (_metadata.build_package_xml)."""
    by_type = {}
    for component in components:
        by_type.setdefault(component.type, []).append(component.name)
    return build_package_xml(by_type, api_version)


def build_zip(components, package_xml):
    entries = {'package.xml': package_xml}
    for component in components:
        entries.update(component.entries)
    if len(entries) > MAX_FILES:
        raise InputError('The deploy would hold %d files; Salesforce takes at most %d per deploy. Split the project with '
                         'manifests.' % (len(entries), MAX_FILES))
    unzipped = sum(len(data) for data in entries.values())
    if unzipped > MAX_UNZIPPED_BYTES:
        raise InputError('The deploy would hold %d bytes of files; Salesforce takes at most %d per deploy.' % (unzipped, MAX_UNZIPPED_BYTES))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name])
    data = buffer.getvalue()
    if len(data) > MAX_ZIP_BYTES:
        raise InputError('The deploy zip has %d bytes; Salesforce takes at most %d. Split the project with manifests.'
                         % (len(data), MAX_ZIP_BYTES))
    return data, hashlib.sha256(data).hexdigest(), [component.key for component in components]


# ---------------------------------------------------------------------------------------------- the deploy record

class DeployRecord:
    """What was deployed successfully, per org id: {org_id: {sha256, deploy_id, deployed_at}}, in a 0600 JSON file."""

    def __init__(self, project_dir):
        self.path = os.path.join(project_dir, RECORD_FILE)
        self.orgs = {}
        data = read_project_file(self.path, 'deploy record', limit=1000 * 1000)
        if data is None:
            return
        try:
            content = json.loads(data.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            content = None
        orgs = content.get('orgs') if isinstance(content, dict) else None
        if not isinstance(orgs, dict):
            raise InputError('The deploy record %s is not what this module writes; remove it (the next deploy writes it '
                             'again).' % self.path)
        self.orgs = {org: entry for org, entry in orgs.items() if isinstance(org, str) and isinstance(entry, dict)}

    def deployed(self, org_id, sha256):
        entry = self.orgs.get(org_id) or {}
        return entry.get('sha256') == sha256

    def remember(self, org_id, sha256, deploy_id, instance_url):
        self.orgs[org_id] = {'sha256': sha256, 'deploy_id': deploy_id, 'instance_url': instance_url,
                             'deployed_at': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}
        content = {'version': RECORD_VERSION, 'orgs': self.orgs}
        gitignore = os.path.join(os.path.dirname(self.path), '.gitignore')
        try:
            write_file_atomic(self.path, (json.dumps(content, indent=2, sort_keys=True) + '\n').encode('utf-8'), mode=0o600)
            try:
                existing = read_project_file(gitignore, '.gitignore', limit=1000 * 1000)
            except InputError:
                return   # a link (or no regular file) is the user's: neither written through nor replaced
            updated = update_gitignore(existing, RECORD_GITIGNORE_ENTRY, RECORD_GITIGNORE_COMMENT)
            if updated is not None:
                mode = 0o644 if existing is None else stat.S_IMODE(os.lstat(gitignore).st_mode)
                write_file_atomic(gitignore, updated, mode=mode)
        except OSError as exc:
            raise InputError('The deploy succeeded, but its record %s could not be written (%s); the next run deploys '
                             'again.' % (self.path, exc.strerror)) from None


# ---------------------------------------------------------------------------------------------- the deploy

def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _as_list(value):
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


PEM_BLOCK_RE = re.compile(r'-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|$)', re.S)
LONG_BASE64_RE = re.compile(r'[A-Za-z0-9+/=]{200,}')


def scrub(text, secrets=()):
    """Server text made safe to show: PEM blocks, long base64 runs and the given secrets removed, length bounded."""
    if not isinstance(text, str):
        text = '' if text is None else str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, '<redacted>')
    text = PEM_BLOCK_RE.sub('<certificate>', text)
    text = LONG_BASE64_RE.sub('<base64>', text)
    text = ''.join(ch if ch.isprintable() or ch in '\n\t' else ' ' for ch in text)
    if len(text) > MAX_PROBLEM_CHARS:
        text = text[:MAX_PROBLEM_CHARS] + '...'
    return text


def scrub_errors(errors, secrets=()):
    """Salesforce's [{errorCode, message, fields}] made safe for the module result, as scrub() makes a text."""
    def clean(value):
        if isinstance(value, list):
            return [clean(item) for item in value]
        return None if value is None else scrub(value, secrets)
    return [{key: clean(value) for key, value in entry.items()} for entry in errors or [] if isinstance(entry, dict)]


def hint_for(problem):
    lowered = (problem or '').lower()
    for pattern, hint in PROBLEM_HINTS:
        if pattern in lowered:
            return hint
    return None


class Deployer:
    """Runs one deploy with a RestClient (its session renewal covers a 401 during the polls)."""

    def __init__(self, client, wait_timeout=600, poll_interval=2.0, progress=None, clock=time.monotonic, sleep=time.sleep):
        if not isinstance(wait_timeout, int) or isinstance(wait_timeout, bool) or not 1 <= wait_timeout <= MAX_WAIT_TIMEOUT:
            raise InputError('wait_timeout must be a number of seconds from 1 to %d (got %r).' % (MAX_WAIT_TIMEOUT, wait_timeout))
        if not isinstance(poll_interval, (int, float)) or isinstance(poll_interval, bool) \
                or not MIN_POLL_INTERVAL <= poll_interval <= MAX_POLL_INTERVAL:
            raise InputError('poll_interval must be from %s to %d seconds (got %r).' % (MIN_POLL_INTERVAL, MAX_POLL_INTERVAL, poll_interval))
        self.client = client
        self.wait_timeout = wait_timeout
        self.poll_interval = float(poll_interval)
        self.progress = progress or (lambda line: None)
        self.clock = clock
        self.sleep = sleep

    def _call(self, method, path, what, accepted, **kwargs):
        try:
            answer = self.client.request(method, path, accepted=accepted, **kwargs)
        except (ApiError, HttpError) as exc:
            secrets = self.client.tokens_used()
            exc.message = scrub(exc.message, secrets)
            # Only the status and Salesforce's errors, scrubbed: a deploy answer may quote the metadata sent.
            details = exc.details
            exc.details = {key: details[key] for key in ('status',) if key in details}
            if 'errors' in details:
                exc.details['errors'] = scrub_errors(details['errors'], secrets)
            raise exc.add_context('%s failed: ' % what)
        if answer.json_error or not isinstance(answer.json, dict):
            raise ApiError('%s: Salesforce answered HTTP %d with %s, not a deploy answer.'
                           % (what, answer.status, scrub(answer.json_error or answer.describe(), self.client.tokens_used())),
                           status=answer.status)
        return answer.json

    def start(self, zip_bytes, options):
        """POST the deploy; returns its id."""
        files = {
            'json': (None, json.dumps({'deployOptions': options}), 'application/json'),
            'file': ('deploy.zip', zip_bytes, 'application/zip'),
        }
        payload = self._call('POST', 'metadata/deployRequest', 'Starting the deploy', (200, 201), files=files)
        deploy_id = payload.get('id')
        if not isinstance(deploy_id, str) or not re.match(r'^[A-Za-z0-9]{15,18}\Z', deploy_id):
            raise ApiError('Starting the deploy: Salesforce answered without a deploy id; nothing can be followed.')
        return deploy_id

    def status(self, deploy_id):
        payload = self._call('GET', 'metadata/deployRequest/%s' % deploy_id, 'Checking deploy %s' % deploy_id, (200,),
                             params={'includeDetails': 'true'})
        result = payload.get('deployResult')
        if not isinstance(result, dict) or result.get('status') not in KNOWN_STATUSES:
            raise ApiError('Checking deploy %s: the answer holds no deploy status Salesforce documents.' % deploy_id)
        return result

    def cancel(self, deploy_id):
        self._call('PATCH', 'metadata/deployRequest/%s' % deploy_id, 'Canceling deploy %s' % deploy_id, (200, 202),
                   body=json.dumps({'deployResult': {'status': 'Canceling'}}))

    def wait(self, deploy_id):
        """Poll until the deploy is done; on wait_timeout cancel it and fail saying so."""
        started = self.clock()
        while True:
            result = self.status(deploy_id)
            elapsed = self.clock() - started
            self.progress('Deploy %s: %s, %d of %d components deployed, %d errors (%d s)' % (
                deploy_id, result['status'], _int(result.get('numberComponentsDeployed')),
                _int(result.get('numberComponentsTotal')), _int(result.get('numberComponentErrors')), elapsed))
            if result.get('done') is True or result['status'] in FINAL_STATUSES:
                return result
            if elapsed >= self.wait_timeout:
                return self._cancel_after_timeout(deploy_id, elapsed)
            self.sleep(min(self.poll_interval, max(0.0, self.wait_timeout - elapsed) or self.poll_interval))

    def _cancel_after_timeout(self, deploy_id, elapsed):
        self.cancel(deploy_id)
        status = 'Canceling'
        deadline = self.clock() + CANCEL_CONFIRM_SECONDS
        while self.clock() < deadline:
            result = self.status(deploy_id)
            status = result['status']
            if status in ('Succeeded', 'SucceededPartial', 'Failed'):
                return result   # it finished before the cancel took effect: report it as it ended
            if result.get('done') is True or status in FINAL_STATUSES:
                break
            self.sleep(self.poll_interval)
        if status == 'Canceled':
            outcome = 'so it was canceled (status now Canceled); Salesforce saves nothing of a canceled deploy.'
        else:
            outcome = ('so this module asked Salesforce to cancel it; %d s later its status is %s, not Canceled yet: check '
                       'Setup > Deployment Status in the org before deploying again.' % (CANCEL_CONFIRM_SECONDS, status))
        raise ApiError('Deploy %s did not finish within wait_timeout (%d s, waited %d s), %s Run again with a longer '
                       'wait_timeout, or check Setup > Deployment Status in the org.'
                       % (deploy_id, self.wait_timeout, elapsed, outcome), deploy_id=deploy_id, status=status)


def deploy_options(check_only, test_level=None, run_tests=None, ignore_warnings=False, rollback_on_error=True):
    if test_level is not None and test_level not in TEST_LEVELS:
        raise InputError('test_level must be one of %s.' % ', '.join(TEST_LEVELS))
    if run_tests and test_level != 'RunSpecifiedTests':
        raise InputError('run_tests is used only with test_level=RunSpecifiedTests; set it, or remove run_tests.')
    if test_level == 'RunSpecifiedTests' and not run_tests:
        raise InputError('test_level=RunSpecifiedTests needs run_tests: the Apex test classes to run.')
    options = {'checkOnly': bool(check_only), 'rollbackOnError': bool(rollback_on_error), 'ignoreWarnings': bool(ignore_warnings),
               'singlePackage': True}
    if test_level is not None:
        options['testLevel'] = test_level
    if run_tests:
        options['runTests'] = list(run_tests)
    return options


def component_failures(result, secrets=()):
    details = result.get('details') if isinstance(result.get('details'), dict) else {}
    failures = []
    for entry in _as_list(details.get('componentFailures')):
        failures.append({
            'componentType': scrub(entry.get('componentType'), secrets) or None,
            'fullName': scrub(entry.get('fullName'), secrets) or None,
            'fileName': scrub(entry.get('fileName'), secrets) or None,
            'problem': scrub(entry.get('problem'), secrets) or None,
            'problemType': scrub(entry.get('problemType'), secrets) or None,
            'lineNumber': entry.get('lineNumber') if _int(entry.get('lineNumber')) else None,
        })
    return failures


def test_failures(result, secrets=()):
    details = result.get('details') if isinstance(result.get('details'), dict) else {}
    tests = details.get('runTestResults') if isinstance(details.get('runTestResults'), dict) else {}
    failures = []
    for entry in _as_list(tests.get('failures')):
        failures.append({name: scrub(entry.get(name), secrets) or None for name in ('name', 'methodName', 'message', 'stackTrace')})
    return failures


def describe_failure(deploy_id, result, failures, tests, check_only, rollback_on_error, secrets=()):
    """The message of a deploy that did not succeed: which component and why, in Salesforce's words, and what to do."""
    status = result.get('status')
    verb = 'Validation' if check_only else 'Deploy'
    lines = ['%s %s %s.' % (verb, deploy_id, 'failed' if status == 'Failed' else 'ended as %s' % status)]
    error_message = scrub(result.get('errorMessage'), secrets)
    if error_message:
        code = scrub(result.get('errorStatusCode'), secrets)
        lines.append('Salesforce refused the deploy as a whole: %s%s' % ('%s: ' % code if code else '', error_message))
        hint = hint_for(error_message)
        if hint:
            lines.append(hint)
    errors = [failure for failure in failures if failure.get('problemType') != 'Warning']
    for failure in errors[:MAX_LISTED_FAILURES]:
        where = failure.get('fileName') or '?'
        if failure.get('lineNumber'):
            where += ', line %d' % failure['lineNumber']
        text = '- %s %s (%s): %s' % (failure.get('componentType') or 'component', failure.get('fullName') or '?', where,
                                     failure.get('problem') or '(no problem text)')
        hint = hint_for(failure.get('problem'))
        if hint:
            text += ' ' + hint
        lines.append(text)
    if len(errors) > MAX_LISTED_FAILURES:
        lines.append('- ... and %d more (see component_failures).' % (len(errors) - MAX_LISTED_FAILURES))
    for test in tests[:MAX_LISTED_FAILURES]:
        lines.append('- test %s.%s: %s' % (test.get('name') or '?', test.get('methodName') or '?', test.get('message') or ''))
    if check_only:
        lines.append('Nothing was saved in the org (check mode validates only).')
    elif status == 'SucceededPartial':
        lines.append('The components without errors were saved (rollback_on_error=false); fix the others and deploy again.')
    elif status == 'Canceled':
        lines.append('Someone canceled it in the org; nothing was saved.')
    else:
        lines.append('Nothing was saved in the org%s; fix the files above and run again.' % (
            '' if rollback_on_error else ' that failed'))
    return '\n'.join(lines)


def run(client, project_dir, manifest=None, check_mode=False, force=False, test_level=None, run_tests=None,
        ignore_warnings=False, rollback_on_error=True, wait_timeout=600, poll_interval=2.0, progress=None):
    """Deploy (or, in check mode, validate) the project unless this content was deployed to this org already.

    Returns the module result; raises ApiError (with the result fields in details) when the deploy fails."""
    options = deploy_options(check_mode, test_level, run_tests, ignore_warnings, rollback_on_error)
    deployer = Deployer(client, wait_timeout=wait_timeout, poll_interval=poll_interval, progress=progress)
    project = SourceProject(project_dir, manifest)
    zip_bytes, sha256, components = project.build()
    record = DeployRecord(project.project_dir)
    try:
        org_id = client.org_id()
    except (ApiError, HttpError) as exc:
        exc.message = scrub(exc.message, client.tokens_used())
        raise
    result = dict(changed=False, org_id=org_id, sha256=sha256, components=components, check_only=bool(check_mode),
                  deploy_id=None, status=None, components_total=len(components), components_deployed=0,
                  component_failures=[], test_failures=[], record_path=record.path)
    if record.deployed(org_id, sha256) and not force:
        result['deploy_id'] = record.orgs[org_id].get('deploy_id')
        return result
    result['api_version'] = client.api_version()
    deploy_id = deployer.start(zip_bytes, options)
    result['deploy_id'] = deploy_id
    deployed = deployer.wait(deploy_id)
    secrets = client.tokens_used()
    result.update(
        status=deployed['status'],
        components_total=_int(deployed.get('numberComponentsTotal')) or len(components),
        components_deployed=_int(deployed.get('numberComponentsDeployed')),
        component_failures=component_failures(deployed, secrets),
        test_failures=test_failures(deployed, secrets),
    )
    if deployed['status'] != 'Succeeded' or deployed.get('success') is False:
        if deployed['status'] == 'SucceededPartial':
            result['changed'] = not check_mode
        raise ApiError(describe_failure(deploy_id, deployed, result['component_failures'], result['test_failures'],
                                        check_mode, rollback_on_error, secrets), **result)
    result['changed'] = True
    if not check_mode:
        try:
            record.remember(org_id, sha256, deploy_id, client.instance_url)
        except InputError as exc:
            raise exc.add_context(**result)   # the deploy happened: the task says so
    return result
