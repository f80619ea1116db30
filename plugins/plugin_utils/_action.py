# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Controller-side code of the action plugins of the modules that take the auth, connection and cache options: the
module runs with the task's args plus the sfjwt_<option> variables (plugin_utils/_option_resolver.py says the order).

Resolving the module's arguments (``resolve_module_args``) is kept apart from running the module
(``SalesforceAction._run_module``): the same arguments go to the module in the worker process (plugin_utils/_in_process.py)
or to a module process.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._in_process import (
    in_process_refusal,
    run_module_in_process,
    task_environment,
)
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._option_resolver import option_sources, resolve_module_args

display = Display()


def _with_os_environment(task_env):
    """This process's environment updated with a task's environment: what a module run on the controller sees."""
    environment = dict(os.environ)
    environment.update(task_env)
    return environment


class SalesforceAction(ActionBase):
    """Runs the module with the sfjwt_<option> variables added for the options the task does not set."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # not used since ansible-core 2.10
        task_vars = task_vars or {}

        module_args = self.module_args(task_vars)
        # As ansible-core's 'normal' action plugin does for modules without an action plugin.
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._run_module(module_args, task_vars, wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def module_args(self, task_vars):
        """The module's arguments for this task (a new dict; the task's own args are left as they are). Remembered for
        option_sources(): the sfjwt_* variables are templated once a task."""
        self._module_args = resolve_module_args(self._task.args, task_vars, self._templar, error=AnsibleActionFail)
        return self._module_args

    def option_sources(self, task_vars, found_in=None):
        """option_sources() for this task, with the environment the module will see."""
        return option_sources(self._task.args, task_vars, self._templar, self.module_environment(),
                              resolved=getattr(self, '_module_args', None), found_in=found_in)

    def module_environment(self):
        """The environment the module sees when it runs on the controller: this process's environment updated with the
        task's ``environment`` keyword (play, block, role and task levels merged and templated).

        ansible-core builds that merge for the module's command line (plugin_utils/_core_internals.py); reusing it keeps
        the two from drifting apart. Where this ansible-core cannot tell, only this process's environment. A task on a
        remote host sees that host's environment instead, which the controller does not know.
        """
        return _with_os_environment(task_environment(self) or {})

    def _run_module(self, module_args, task_vars, wrap_async):
        """Runs the module once with these arguments, in this process when it can (plugin_utils/_in_process.py), else as a
        module process; the result dict."""
        environment = None if wrap_async else task_environment(self)   # templated once: for the refusal and the run
        refusal = 'the task is async' if wrap_async else in_process_refusal(self, task_vars, environment)
        if refusal is None:
            return run_module_in_process(self, self._task.resolved_action or self._task.action, module_args, task_vars,
                                         _with_os_environment(environment or {}))
        display.vvv('sfjwt.salesforce: running the module as a process: %s.' % refusal)
        return self._execute_module(module_args=dict(module_args), task_vars=task_vars, wrap_async=wrap_async)
