# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Backend of the app_metadata module: choose the consumer key, validate the inputs, then plan and write the files.

Every input is checked and every file planned (see _metadata) before anything is written, so check mode predicts the
real run and a problem found before writing writes nothing.
"""

from __future__ import annotations

import os
import traceback

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import read_regular_file
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata import (
    PERMISSION_SET,
    SENSITIVE_TYPES,
    AppSpec,
    generate_consumer_key,
    validate_api_name,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata_certificate import CERTIFICATE_OPTION
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata_files import (
    check_project,
    check_writable,
    diff_entries,
    existing_consumer_key,
    plan_files,
    remove_stale_temp_files_of,
    write_planned,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import MAX_CERTIFICATE_BYTES


def read_certificate_file(path):
    """The text of the certificate file the user names (a link is followed; a FIFO or device is refused, never waited on)."""
    try:
        return read_regular_file(path, MAX_CERTIFICATE_BYTES, follow_links=True).decode('utf-8')
    except (OSError, ValueError) as exc:   # FileRefused and UnicodeDecodeError are ValueErrors
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError('cannot read certificate_path %s: %s. Point it at the certificate written by the '
                         'certificate module.' % (path, reason)) from None


class AppMetadataBackend:
    """Runs the app_metadata module against an AnsibleModule (or anything with params, check_mode, _diff and warn).

    Raises InputError for every problem.
    """

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.project_dir = os.path.abspath(self.params['project_dir'])

    def choose_consumer_key(self):
        """(consumer key, where it came from): the option, else the one in the project's settings, else a new one."""
        params = self.params
        validate_api_name(params['name'])
        existing_key = existing_consumer_key(self.project_dir, params['package_directory'], params['name'])
        if params['consumer_key']:
            if existing_key and existing_key != params['consumer_key'] and not params['validate_only']:
                self.module.warn('The consumer key of %s changes. Salesforce takes the consumer key only when the app is '
                                 'created: an app already deployed keeps its old key.' % params['name'])
            return params['consumer_key'], 'option'
        if existing_key:
            return existing_key, 'existing'
        return generate_consumer_key(), 'generated'

    def given_certificate(self):
        """(certificate text or None, how messages name it)."""
        path = self.params['certificate_path']
        if path:
            return read_certificate_file(path), path
        return self.params['certificate'], CERTIFICATE_OPTION

    def build_spec(self, consumer_key, certificate, certificate_source):
        params = self.params
        return AppSpec(
            name=params['name'], label=params['label'], contact_email=params['contact_email'],
            consumer_key=consumer_key, certificate=certificate, callback_url=params['callback_url'],
            permission_sets=params['permission_sets'], profiles=params['profiles'], scopes=params['scopes'],
            description=params['description'], ip_relaxation=params['ip_relaxation'],
            api_version=params['api_version'], external_client_app=params['external_client_app'],
            connected_app=params['connected_app'], certificate_source=certificate_source,
            create_permission_sets=params['create_permission_sets'],
            permission_set_description=params['permission_set_description'],
        )

    def run(self):
        """Validate, plan and (unless in check mode or validate_only) write; returns the module result."""
        params = self.params
        certificate, certificate_source = self.given_certificate()
        consumer_key, consumer_key_source = self.choose_consumer_key()
        spec = self.build_spec(consumer_key, certificate, certificate_source)
        if params['validate_only']:
            check_project(self.project_dir, params['package_directory'], params['manifest'], spec.api_version)
            return {'changed': False, 'project_dir': self.project_dir}
        planned = plan_files(spec, self.project_dir, params['package_directory'], params['manifest'], params['gitignore'])
        changed_items = [item for item in planned if item.changed]
        if self.module.check_mode:
            check_writable(planned)
        else:
            if changed_items:
                self._write(planned)
            remove_stale_temp_files_of(planned)

        sensitive = [item.path for item in planned if item.kind in SENSITIVE_TYPES]
        if any(item.kind in SENSITIVE_TYPES for item in changed_items) or (sensitive and not params['gitignore']):
            self.module.warn('%s holds the consumer key: do not commit it to source control (the global OAuth settings of '
                             'an External Client App are secret).' % ', '.join(sensitive))
        with_secret = [item.path for item in changed_items if item.consumer_secret]
        if with_secret:
            self.module.warn('%s holds the consumer secret the existing file had (as a retrieve from the org gives it): it '
                             'is kept, written 0600 and never shown in a diff. Do not commit it to source control.'
                             % ', '.join(with_secret))
        sensitive += [item.path for item in planned if item.consumer_secret and item.path not in sensitive]
        result = {
            'changed': bool(changed_items),
            'project_dir': self.project_dir,
            'files': dict((item.kind, item.path) for item in planned),
            'changed_files': [item.path for item in changed_items],
            'permission_set_files': [item.path for item in planned if item.kind.startswith(PERMISSION_SET + ':')],
            'not_for_source_control': sensitive,
            'consumer_key': consumer_key,
            'consumer_key_source': consumer_key_source,
            'certificate_fingerprint_sha256': spec.certificate_fingerprint,
            'manifest': os.path.join(self.project_dir, params['manifest']),
            'api_version': spec.api_version,
            'deploy_command': 'sf project deploy start --manifest %s --target-org <alias>' % params['manifest'],
        }
        if self.module._diff:
            result['diff'] = diff_entries(planned)
        return result

    def _write(self, planned):
        try:
            write_planned(planned)
        except InputError as exc:
            # A write that fails part way is an I/O fault, not an input to fix: keep where it happened (shown with -vvv).
            raise exc.add_context(exception=traceback.format_exc())
