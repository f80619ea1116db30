# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Options of the modules that call the org's REST API (rest, metadata_deploy, record, record_info).
    DOCUMENTATION = r'''
options:
  api_version:
    description:
      - The REST API version, as V(NN.N) (for example V(62.0)), or V(latest) to use the newest version the org offers,
        found once with C(GET /services/data/) and cached with the session.
    type: str
    default: latest
  access_token:
    description:
      - An access token to use as it is, with O(instance_url), instead of the auth options (for example the session of
        an existing login). It is not renewed when Salesforce rejects it.
    type: str
  instance_url:
    description:
      - The instance URL that goes with O(access_token) (the C(instance_url) returned with the token).
    type: str
'''

    # The api_version option of the action group's members that make no versioned REST call (token, doctor): accepted,
    # so that a module_defaults default for group/sfjwt.salesforce.salesforce applies to every member of the group.
    GROUP_API_VERSION = r'''
options:
  api_version:
    description:
      - Accepted and not used, so that O(api_version) can be set once for every module of the action group with
        C(module_defaults) for C(group/sfjwt.salesforce.salesforce). This module makes no versioned REST API call.
    type: str
'''

    # Where the modules with an action plugin that can run them in the worker process run (token, rest, metadata_deploy,
    # record, record_info, doctor); each module adds its own async support.
    IN_WORKER = r'''
attributes:
  action:
    support: full
    details:
      - On a local connection (implicit localhost, C(connection=local), C(delegate_to=localhost)) the action plugin
        runs the module in the controller's worker process, without starting a module process; with another
        connection, C(become), C(async), another Python as the host's C(ansible_python_interpreter), or a task
        environment that sets variables read at process start (C(PYTHON*), C(OPENSSL_*), C(LD_*)), it runs as a
        module process. The variable C(sfjwt_in_process=false) (or E(SFJWT_IN_PROCESS=false)) always runs a module
        process.
      - The action plugin adds the C(sfjwt_<option>) variables for the options the task does not set.
  bypass_host_loop:
    support: none
'''
