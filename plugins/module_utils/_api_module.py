# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What every module that calls the org's REST API shares (rest, metadata_deploy, record, record_info): its options
(auth, connection, cache, api_version, access_token + instance_url, documented by the doc fragment ``api``), the
session (from the auth core, or the token given directly), and how errors become failed results (fail_with, which the
token module uses too)."""

from __future__ import annotations

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sfjwt.salesforce.plugins.module_utils import _auth as auth
from ansible_collections.sfjwt.salesforce.plugins.module_utils._common import SalesforceError
from ansible_collections.sfjwt.salesforce.plugins.module_utils._options import argument_spec, options_from_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils._requirements import fail_on_missing_libraries

API_ARGUMENT_SPEC = dict(
    api_version=dict(type='str', default='latest'),
    access_token=dict(type='str', no_log=True),
    instance_url=dict(type='str'),
)


def api_module(module_options, required_together=(), **module_kwargs):
    """The AnsibleModule of an API module: the shared options plus its own; fails at once when requests is missing."""
    spec = argument_spec(**copy.deepcopy(API_ARGUMENT_SPEC))
    spec.update(module_options)
    module = AnsibleModule(argument_spec=spec, required_together=[('access_token', 'instance_url')] + list(required_together),
                           supports_check_mode=True, **module_kwargs)
    fail_on_missing_libraries(module, 'requests')
    return module


def fail_with(module, error, **extra):
    """fail_json with a SalesforceError's message and details; ``extra`` fields are added (the error's details win)."""
    module.fail_json(msg=error.message, **dict(extra, **error.details))


def api_client(module):
    """A RestClient on the session of the module's options, or on access_token + instance_url as given."""
    # Imported here: the token module uses fail_with, and a cached token needs neither _rest nor the requests it imports.
    from ansible_collections.sfjwt.salesforce.plugins.module_utils import _rest as rest
    options = options_from_module(module)
    params = module.params
    if params['access_token']:
        credentials = rest.StaticCredentials(params['access_token'], params['instance_url'])
    else:
        credentials = rest.SessionCredentials(options, auth)
    return rest.RestClient(credentials, rest.build_rest_http_session(options), api_version=params['api_version'], warn=module.warn)


def run_api_module(module, call, **failure_extra):
    """exit_json(**call(client)), or fail_with a SalesforceError (the auth core's, the REST client's, the module
    backend's); failure_extra is added to every failure."""
    try:
        result = call(api_client(module))
    except SalesforceError as exc:
        fail_with(module, exc, **failure_extra)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='Unexpected error: %s' % type(exc).__name__, exception=traceback.format_exc())
    module.exit_json(**result)
