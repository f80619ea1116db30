# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The files of an app_metadata project on disk: where each component lives, reading them safely (no link followed in
the project, nothing that blocks, a size limit), planning what to write and writing it (atomically, with the modes the
secrets in them need), and the diff of a run.
"""

from __future__ import annotations

import os
import stat

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import (
    FileRefused,
    hard_link_advice,
    read_regular_file,
    remove_stale_temp_files,
    split_missing_directories,
    write_file_atomic,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata import (
    CONNECTED_APP,
    DEFAULT_API_VERSION,
    DEFAULT_MANIFEST,
    DEFAULT_PACKAGE_DIRECTORY,
    DIRECTORY_MODE,
    ECA_GLOBAL_OAUTH,
    LINK_REFUSED,
    MAX_PROJECT_FILE_BYTES,
    PERMISSION_SET,
    SENSITIVE_DIRECTORY_MODE,
    SENSITIVE_TYPES,
    SOURCE_LAYOUT,
    build_documents,
    build_package_xml,
    build_permission_sets,
    build_sfdx_project,
    hide_consumer_secrets,
    read_consumer_key,
    read_consumer_secret,
    update_gitignore,
    validate_text,
)


def component_path(project_dir, package_directory, metadata_type, name):
    folder, suffix = SOURCE_LAYOUT[metadata_type]
    return os.path.join(project_dir, package_directory, 'main', 'default', folder, name + suffix)


def _link_refused(path, what):
    return InputError('%s is a symbolic link; %s. Replace it with the %s itself%s.'
                      % (path, LINK_REFUSED, what, ', or remove it' if what == 'file' else ''))


def _not_regular(path):
    return InputError('%s is not a regular file; app_metadata reads and writes only regular files in the project. '
                      'Remove it.' % path)


def check_project_path(project_dir, path, what='file'):
    """The lstat of path inside project_dir, or None when it does not exist; never follows a link.

    Refuses a symbolic link at path (a ``what``: file or folder) or at any folder between project_dir and path, and a
    file where a folder must be.
    project_dir itself (and what leads to it) is the playbook's choice and may be a link.
    """
    relative = os.path.normpath(os.path.relpath(path, project_dir))
    parts = relative.split(os.sep)
    if os.path.isabs(relative) or parts[0] == os.pardir:
        raise InputError('%s is not inside project_dir %s.' % (path, project_dir))
    current = project_dir
    info = None
    for index, part in enumerate(parts):
        if part == os.curdir:
            continue
        current = os.path.join(current, part)
        try:
            info = os.lstat(current)
        except (FileNotFoundError, NotADirectoryError):
            return None   # NotADirectoryError: project_dir is not a directory, which check_project reports
        except OSError as exc:
            raise InputError('cannot read %s: %s' % (current, exc.strerror)) from None
        last = index == len(parts) - 1
        if stat.S_ISLNK(info.st_mode):
            raise _link_refused(current, what if last else 'folder')
        if not last and not stat.S_ISDIR(info.st_mode):
            raise InputError('%s is not a directory, and %s must be inside it. Remove it or fix the path.' % (current, path))
    return info


def read_app_file(project_dir, path):
    """The bytes of a project file, None when it does not exist; refuses links and anything but a regular file,
    and never blocks (on a FIFO, for example): _io.read_regular_file."""
    info = check_project_path(project_dir, path)
    if info is None:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise InputError('%s is a directory; it must be a file (or absent).' % path)
    try:
        return read_regular_file(path, MAX_PROJECT_FILE_BYTES)
    except FileNotFoundError:
        return None
    except FileRefused as exc:
        if exc.reason == 'link':   # replaced by a link since the check
            raise _link_refused(path, 'file') from None
        if exc.reason == 'not_regular':
            raise _not_regular(path) from None
        if exc.reason == 'hard_link':
            raise InputError('%s is a hard link: the same file has %d names, and the others may be anywhere (a private key, '
                             'for example), so app_metadata neither shows nor changes it. %s.'
                             % (path, exc.links, hard_link_advice(path))) from None
        raise InputError('%s was not read: %s; the app metadata files are a few kilobytes.' % (path, exc)) from None
    except OSError as exc:
        raise InputError('cannot read %s: %s' % (path, exc.strerror)) from None


class PlannedFile:
    """A project file to write: content, mode and kind, with what the file holds now (before, None: absent),
    read here unless given; ``consumer_secret``: whether it holds a consumer secret kept from the existing file."""

    def __init__(self, project_dir, path, content, mode, kind, before=False, consumer_secret=False):
        self.consumer_secret = consumer_secret
        self.project_dir = project_dir
        self.path = path
        self.content = content
        self.mode = mode
        self.kind = kind
        self.before = read_app_file(project_dir, path) if before is False else before

    @property
    def changed(self):
        return self.before != self.content

    @property
    def directory_mode(self):
        """Mode of the file's folder when this run creates it (its parents get DIRECTORY_MODE)."""
        return SENSITIVE_DIRECTORY_MODE if self.kind in SENSITIVE_TYPES else DIRECTORY_MODE


def validate_inside(value, option):
    validate_text(value, option)
    if os.path.isabs(value) or '..' in value.split('/'):
        raise InputError('%s %r must be a path inside project_dir.' % (option, value))


def existing_consumer_key(project_dir, package_directory, name):
    validate_inside(package_directory, 'package_directory')
    for metadata_type in (ECA_GLOBAL_OAUTH, CONNECTED_APP):
        found = read_consumer_key(read_app_file(project_dir, component_path(project_dir, package_directory, metadata_type, name)))
        if found:
            return found
    return None


def check_project(project_dir, package_directory=DEFAULT_PACKAGE_DIRECTORY, manifest=DEFAULT_MANIFEST,
                  api_version=DEFAULT_API_VERSION):
    """Refuse project paths and an existing project the files cannot be written to; reads, never writes."""
    validate_inside(package_directory, 'package_directory')
    validate_inside(manifest, 'manifest')
    if os.path.lexists(project_dir) and not os.path.isdir(project_dir):
        raise InputError('project_dir %s exists and is not a directory; give a directory (it is created when missing).'
                         % project_dir)
    build_sfdx_project(read_app_file(project_dir, os.path.join(project_dir, 'sfdx-project.json')), package_directory, api_version)


def permission_set_kind(name):
    """The kind (key of the module's files result) of a permission set file."""
    return '%s:%s' % (PERMISSION_SET, name)


def plan_files(spec, project_dir, package_directory=DEFAULT_PACKAGE_DIRECTORY, manifest=DEFAULT_MANIFEST, gitignore=True):
    """Every file to write, with its current content, in writing order (the manifest last)."""
    check_project(project_dir, package_directory, manifest, spec.api_version)
    planned = []
    paths = dict((metadata_type, component_path(project_dir, package_directory, metadata_type, spec.name))
                 for metadata_type in spec.types())
    befores = dict((metadata_type, read_app_file(project_dir, path)) for metadata_type, path in paths.items())
    # A retrieve from the org gives the settings with their consumerSecret: kept, never shown (see diff_entries).
    consumer_secrets = dict((metadata_type, read_consumer_secret(befores[metadata_type]))
                            for metadata_type in (ECA_GLOBAL_OAUTH, CONNECTED_APP) if metadata_type in befores)
    consumer_secrets = dict((metadata_type, secret) for metadata_type, secret in consumer_secrets.items() if secret)
    documents = build_documents(spec, consumer_secrets)
    for metadata_type in spec.types():
        # A file holding a secret is private: the global OAuth settings always, a Connected App once retrieved with one.
        mode = 0o600 if metadata_type in SENSITIVE_TYPES or metadata_type in consumer_secrets else 0o644
        planned.append(PlannedFile(project_dir, paths[metadata_type], documents[metadata_type], mode, metadata_type,
                                   before=befores[metadata_type], consumer_secret=metadata_type in consumer_secrets))
    for name, content in sorted(build_permission_sets(spec).items()):
        planned.append(PlannedFile(project_dir, component_path(project_dir, package_directory, PERMISSION_SET, name),
                                   content, 0o644, permission_set_kind(name)))
    sfdx_path = os.path.join(project_dir, 'sfdx-project.json')
    sfdx_before = read_app_file(project_dir, sfdx_path)
    sfdx_content = build_sfdx_project(sfdx_before, package_directory, spec.api_version)
    planned.append(PlannedFile(project_dir, sfdx_path, sfdx_before if sfdx_content is None else sfdx_content, 0o644,
                               'sfdx-project', before=sfdx_before))
    if gitignore and spec.external_client_app:
        gitignore_path = os.path.join(project_dir, '.gitignore')
        before = read_app_file(project_dir, gitignore_path)
        content = update_gitignore(before)
        planned.append(PlannedFile(project_dir, gitignore_path, before if content is None else content, 0o644, 'gitignore',
                                   before=before))
    planned.append(PlannedFile(project_dir, os.path.join(project_dir, manifest), build_package_xml(spec.components(), spec.api_version), 0o644,
                               'package.xml'))
    return planned


def _check_target(item):
    """The lstat of an existing target (None: absent) after refusing a link or a non-regular file at it or on the way."""
    info = check_project_path(item.project_dir, item.path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise _not_regular(item.path)
    return info


def check_writable(planned):
    """Refuse, before anything is written, a changed file that cannot be written: a link or a non-regular file at it or
    on the way, a file where a folder must be, or a folder this user cannot write to (or create)."""
    for item in planned:
        if not item.changed:
            continue
        _check_target(item)
        directory = os.path.dirname(item.path)
        missing, nearest = split_missing_directories(directory)
        if not missing:
            if not os.access(directory, os.W_OK | os.X_OK):
                raise InputError('Cannot write %s: the directory %s is not writable by this user. Use become, or choose '
                                 'a project_dir this user can write to. Nothing was written.' % (item.path, directory))
        elif not os.path.isdir(nearest):
            raise InputError('Cannot create the directory %s for %s: %s exists and is not a directory. Remove it or fix '
                             'the path. Nothing was written.' % (missing[0], item.path, nearest))
        elif not os.access(nearest, os.W_OK | os.X_OK):
            raise InputError('Cannot create the directory %s for %s: the directory %s is not writable by this user. '
                             'Use become, or choose a project_dir this user can write to. Nothing was written.'
                             % (missing[0], item.path, nearest))


def _create_directories(item):
    """Create the missing folders of item, DIRECTORY_MODE at most (its own folder item.directory_mode) whatever the umask:
    the umask can only take permissions away from the mode given to mkdir."""
    directory = os.path.dirname(item.path)
    for path in split_missing_directories(directory)[0]:
        try:
            os.mkdir(path, item.directory_mode if path == directory else DIRECTORY_MODE)
        except FileExistsError:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                continue   # made by a concurrent run meanwhile
            raise


def write_planned(planned):
    """Write the changed files in order. Every target is checked first (check_writable), so that a problem found there
    writes nothing; a write that fails all the same says which files this run had written."""
    check_writable(planned)
    written = []
    for item in planned:
        if not item.changed:
            continue
        done = ', '.join(written) or 'none'
        try:
            _create_directories(item)
        except OSError as exc:
            raise InputError('Creating the directory of %s failed: %s. Files already written in this run: %s; run the '
                             'task again once the problem is fixed.' % (item.path, exc.strerror or exc, done)) from None
        try:
            info = _check_target(item)   # again: a link planted since the check is refused all the same
        except InputError as exc:
            raise exc.add_context(after=' Files already written in this run: %s.' % done)
        mode = item.mode
        if info is not None and item.kind in ('sfdx-project', 'gitignore'):
            # A file the user already has keeps its permissions.
            mode = stat.S_IMODE(info.st_mode)
        try:
            write_file_atomic(item.path, item.content, mode=mode)
        except OSError as exc:
            raise InputError('Writing %s failed: %s. Files already written in this run: %s; run the task again once the '
                             'problem is fixed.' % (item.path, exc.strerror or exc, done)) from None
        written.append(item.path)


def remove_stale_temp_files_of(planned):
    """Remove the temporary files killed runs left next to the planned files (see _io.remove_stale_temp_files);
    never in a folder reached through a link."""
    for item in planned:
        try:
            check_project_path(item.project_dir, os.path.dirname(item.path))
        except InputError:
            continue
        remove_stale_temp_files(item.path)


def diff_entries(planned):
    entries = []
    for item in planned:
        if item.changed:
            entries.append({
                'before_header': item.path,
                'after_header': item.path,
                'before': hide_consumer_secrets((item.before or b'').decode('utf-8', errors='replace')),
                'after': hide_consumer_secrets(item.content.decode('utf-8', errors='replace')),
            })
    return entries
