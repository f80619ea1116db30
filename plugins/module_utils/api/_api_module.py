# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""What every module that calls the org's REST API shares (rest, metadata_deploy, record, record_info): its options
(auth, connection, cache, api_version, access_token + instance_url, documented by the doc fragment ``api``),
and the client on the session (from the auth core, or the token given directly). A module fails with _errors.run_module."""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth as auth
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import argument_spec, options_from_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._requirements import fail_on_missing_libraries

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


def api_client(module):
    """A RestClient on the session of the module's options, or on access_token + instance_url as given."""
    options = options_from_module(module)
    params = module.params
    if params['access_token']:
        credentials = rest.StaticCredentials(params['access_token'], params['instance_url'])
    else:
        credentials = rest.SessionCredentials(options, auth)
    return rest.RestClient(credentials, rest.build_rest_http_session(options), api_version=params['api_version'], warn=module.warn)
