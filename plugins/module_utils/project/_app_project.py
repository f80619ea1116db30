# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What an existing project's app metadata holds, read the way app_metadata reads it (no link followed, nothing that
blocks, a size limit): its consumer key, contact e-mail and pre-authorized permission sets. The provision role keeps
them on a rerun or a rotation, and the playbooks find the consumer key of a provisioned directory, through the
app_project lookup."""

from __future__ import annotations

import os
import stat

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata import (
    CONNECTED_APP,
    DEFAULT_PACKAGE_DIRECTORY,
    ECA,
    ECA_GLOBAL_OAUTH,
    ECA_OAUTH_POLICIES,
    SOURCE_LAYOUT,
    first_element_text,
    validate_api_name,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata_files import (
    check_project_path,
    component_path,
    existing_consumer_key,
    read_app_file,
    validate_inside,
)

# Where an app's name can be read from the file names, whichever of its files the project has.
APP_TYPES = (ECA, ECA_GLOBAL_OAUTH, CONNECTED_APP)
MAX_LISTED_FILES = 10000


def app_names(project_dir, package_directory=DEFAULT_PACKAGE_DIRECTORY):
    """The names of the apps (External Client Apps and Connected Apps) whose files the project holds, sorted; files
    whose name is no valid API name are not apps app_metadata writes, and are left out."""
    names = set()
    for metadata_type in APP_TYPES:
        folder, suffix = SOURCE_LAYOUT[metadata_type]
        path = os.path.join(project_dir, package_directory, 'main', 'default', folder)
        info = check_project_path(project_dir, path, what='folder')
        if info is None or not stat.S_ISDIR(info.st_mode):
            continue
        try:
            listed = sorted(os.listdir(path))[:MAX_LISTED_FILES]
        except OSError as exc:
            raise InputError('cannot list %s: %s. Make it readable by this user.' % (path, exc.strerror or exc)) from None
        names.update(name[:-len(suffix)] for name in listed if name.endswith(suffix) and _is_api_name(name[:-len(suffix)]))
    return sorted(names)


def _is_api_name(name):
    try:
        validate_api_name(name)
    except InputError:
        return False
    return True


def read_app(project_dir, name=None, package_directory=DEFAULT_PACKAGE_DIRECTORY):
    """{name, consumer_key, contact_email, permission_sets} of an app in the project: what its metadata holds, None
    (or an empty list) for what it does not. Without ``name``, the project's only app; with none or several, name is
    None. A project_dir that does not exist holds nothing. InputError for a link, a FIFO, a file that is too large,
    an invalid name."""
    validate_inside(package_directory, 'package_directory')
    found = {'name': None, 'consumer_key': None, 'contact_email': None, 'permission_sets': []}
    if not os.path.isdir(project_dir):
        return found
    if name is None:
        names = app_names(project_dir, package_directory)
        if len(names) != 1:
            return found
        name = names[0]
    validate_api_name(name)
    policies = read_app_file(project_dir, component_path(project_dir, package_directory, ECA_OAUTH_POLICIES, name))
    permission_sets = first_element_text(policies, 'commaSeparatedPermissionSet') or ''
    found.update(
        name=name,
        consumer_key=existing_consumer_key(project_dir, package_directory, name),
        contact_email=(first_element_text(read_app_file(project_dir, component_path(project_dir, package_directory, ECA, name)),
                                          'contactEmail')),
        permission_sets=[item.strip() for item in permission_sets.split(',') if item.strip()],
    )
    return found
