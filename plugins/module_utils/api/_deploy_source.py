# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""A Salesforce DX (source format) project as a Metadata API deploy: SourceProject reads sfdx-project.json, its package
directories and an optional manifest, and converts them in memory to a zip (package.xml at the root, each component at
<folder>/<Name>.<suffix>). Links, FIFOs and other non-regular files are refused, never followed. The zip is
deterministic (sorted entries, fixed timestamps), so its SHA-256 names the content.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import xml.etree.ElementTree as ET
import zipfile

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import (
    FileRefused,
    InvalidJson,
    hard_link_advice,
    parse_json,
    read_regular_file,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata import (
    DEFAULT_MANIFEST,
    build_package_xml,
    local_name,
)

PROJECT_FILE = 'sfdx-project.json'
META_SUFFIX = '-meta.xml'

# Salesforce's limits for one deploy.
MAX_FILES = 10000
MAX_ZIP_BYTES = 39 * 1000 * 1000
MAX_UNZIPPED_BYTES = 600 * 1000 * 1000
# A project file larger than this is not metadata anyone deploys with this module (and is not read into memory).
MAX_FILE_BYTES = 50 * 1000 * 1000
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
        if exc.reason == 'hard_link':
            raise InputError('%s %s is a hard link: the same file has %d names, and the others may be anywhere (a private key, '
                             'for example), so it is not deployed. %s.'
                             % (what, path, exc.links, hard_link_advice(path))) from None
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
    if local_name(root.tag) != 'Package':
        raise InputError('%s is not a package.xml manifest (its root element is %s, not Package).' % (path, local_name(root.tag)))
    members = {}
    version = None
    for child in root:
        name = local_name(child.tag)
        if name == 'version':
            version = (child.text or '').strip() or None
        elif name == 'types':
            type_name = None
            names = []
            for item in child:
                if local_name(item.tag) == 'name':
                    type_name = (item.text or '').strip()
                elif local_name(item.tag) == 'members':
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
            project = parse_json(raw, project_path)
        except InvalidJson as exc:
            raise InputError('%s; fix it.' % exc) from None
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
            root_type = local_name(root.tag)
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

    def selected(self):
        """(the components to deploy, the package.xml bytes); InputError when there are none."""
        components, package_xml = self.select(self.components())
        if not components:
            raise InputError('Nothing to deploy: the project %s has no metadata files (and its manifest names none).'
                             % self.project_dir)
        return components, package_xml

    def build(self):
        """(zip bytes, sha256 hex, [component keys]) of what would be deployed."""
        return build_zip(*self.selected())


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
