# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Controller-side code of the action plugins of the modules that take the auth, connection and cache options.

Where a setting comes from, first match wins:

1. the task's option; module_defaults count as options (ansible-core merges them into the task args before the action
   plugin runs, and drops those that came out as ``omit``);
2. the Ansible variable ``sfjwt_<option>`` (added here, as the lookup reads it);
3. the environment variable ``SFJWT_<OPTION>`` (read by the module's argument spec where the module runs);
4. the default.

Resolving the module's arguments (``resolve_module_args``) is kept apart from running the module
(``SalesforceAction._run_module``): the same arguments go to the module in the worker process (plugin_utils/_in_process.py)
or to a module process.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.sfjwt.salesforce.plugins.module_utils._options import (
    AUTH_ARGUMENT_SPEC, DEFAULTS, OPTION_NAMES, env_var, var_name)
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._in_process import (
    in_process_refusal,
    run_module_in_process,
    task_environment,
)

try:  # ansible-core 2.19+: a template that comes out as omit raises this instead of returning the omit placeholder
    from ansible.errors import AnsibleValueOmittedError
except ImportError:  # ansible-core 2.16 - 2.18
    class AnsibleValueOmittedError(Exception):
        """Never raised before ansible-core 2.19."""

# Values of these never go into a message, not even a templating error's (its text may quote the value).
SECRET_OPTIONS = frozenset(name for name, spec in AUTH_ARGUMENT_SPEC.items() if spec.get('no_log'))

_OMITTED = object()

display = Display()


def _template_variable(name, value, task_vars, templar):
    """The variable's value, templated, or _OMITTED when it comes out as omit."""
    try:
        value = templar.template(value)
    except AnsibleValueOmittedError:
        return _OMITTED
    except AnsibleError as exc:
        if name in SECRET_OPTIONS:
            detail = 'its value is not shown, it is a secret; a value holding {{ or {% is a template unless tagged !unsafe'
        else:
            detail = to_text(getattr(exc, 'message', None) or exc)
        raise AnsibleActionFail('The variable %s could not be templated (%s). Define what it refers to, or remove %s to use '
                                'the environment variable %s or the default.'
                                % (var_name(name), detail, var_name(name), env_var(name))) from None
    omit = task_vars.get('omit')
    if isinstance(omit, str) and isinstance(value, str) and value == omit:  # ansible-core 2.16 - 2.18
        return _OMITTED
    return value


def option_variables(task_args, task_vars, templar):
    """{option: value} from the sfjwt_<option> variables, templated, for the options the task does not set.

    A task sets an option when its args hold it, whatever the value (as for the module's own environment fallback).
    Variables that are not defined, are None, or come out as omit are left out; then the environment or the default
    applies.
    """
    values = {}
    for name in OPTION_NAMES:
        variable = var_name(name)
        if name in task_args or variable not in task_vars:
            continue
        value = _template_variable(name, task_vars[variable], task_vars, templar)
        if value is None or value is _OMITTED:
            continue
        values[name] = value
    return values


def resolve_module_args(task_args, task_vars, templar):
    """The arguments the module runs with: a new dict of the task's args plus the sfjwt_<option> variables."""
    args = dict(task_args)
    args.update(option_variables(task_args, task_vars or {}, templar))
    return args


def option_sources(task_args, task_vars, templar, environment):
    """Where each option's value comes from, for every name in OPTION_NAMES: 'option', 'variable sfjwt_<name>',
    'environment SFJWT_<NAME>', 'default' or 'not set'.

    ``environment``: the environment the module sees (see SalesforceAction.module_environment). Decided by
    resolve_module_args, which also makes the arguments the module runs with.
    """
    resolved = resolve_module_args(task_args, task_vars, templar)
    sources = {}
    for name in OPTION_NAMES:
        if name in task_args:
            sources[name] = 'option'
        elif name in resolved:
            sources[name] = 'variable %s' % var_name(name)
        elif env_var(name) in environment:
            sources[name] = 'environment %s' % env_var(name)
        elif name in DEFAULTS:
            sources[name] = 'default'
        else:
            sources[name] = 'not set'
    return sources


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
        """The module's arguments for this task (a new dict; the task's own args are left as they are)."""
        return resolve_module_args(self._task.args, task_vars, self._templar)

    def option_sources(self, task_vars):
        """option_sources() for this task, with the environment the module will see."""
        return option_sources(self._task.args, task_vars, self._templar, self.module_environment())

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
