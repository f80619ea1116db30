# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Running a module of this collection inside the controller's worker process, instead of as a new Python process.

The API modules (token, rest, metadata_deploy, record, record_info, doctor) only talk to Salesforce over HTTPS. On a
local connection, shipping them as an AnsiballZ payload to a new interpreter on the same machine costs most of a task's
time (about 0.4 s on 2 cores) and nothing else. Here the same module file runs: its main() is imported and called, with
the arguments ansible-core would have sent (ActionBase._update_module_args: check mode, diff, no_log, verbosity, ...)
placed where AnsibleModule reads them, the task's environment applied for the duration, and its JSON answer parsed by
ActionBase._parse_returned_data as a module process's would be. AnsibleModule does the argument validation, no_log
hiding, check mode and return formatting, exactly as in a module process. The private ansible-core names this needs are
touched in plugin_utils/_core_internals.py only; an ansible-core that lacks one runs the module as a process.

Only tasks whose module would run on this machine as this user with this Python can run here: see in_process_refusal.
Every Ansible worker is a process of its own for one host and task (loop items included), so the module-level state set
here (AnsibleModule's arguments, collected warnings) belongs to this task alone, and is reset before each run.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
import traceback

from ansible import constants as C
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _requirements as requirements
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils import _core_internals as core

COLLECTION_MODULES = 'ansible_collections.sfjwt.salesforce.plugins.modules.'
# The switch that makes every task run its module as a process again (task, play or inventory variable, or environment).
SWITCH_VARIABLE = 'sfjwt_in_process'
SWITCH_ENVIRONMENT = 'SFJWT_IN_PROCESS'
_FALSE = ('0', 'false', 'no', 'off', 'n', 'f')


# Read by the interpreter or OpenSSL when a process starts: set for the task, they only take effect in a module process.
STARTUP_VARIABLES = ('PYTHON', 'OPENSSL_', 'LD_', 'DYLD_')


def task_environment(action):
    """The task's ``environment:`` (play, block, role and task levels, merged and templated), as ansible-core builds it
    for a module's command line; None when this ansible-core cannot tell (then the module runs as a process)."""
    environment = core.task_environment(action)
    if environment is None:
        return None
    return dict((to_text(key), to_text(value)) for key, value in environment.items())


def _switched_off(action, task_vars, environment):
    value = task_vars.get(SWITCH_VARIABLE)
    if value is not None:
        value = action._templar.template(value)   # pylint: disable=protected-access
    if value is None:
        value = environment.get(SWITCH_ENVIRONMENT, os.environ.get(SWITCH_ENVIRONMENT))
    if value is None:
        return False
    if isinstance(value, bool):
        return not value
    return to_text(value).strip().lower() in _FALSE


def _host_vars(action, task_vars):
    """The variables of the host the module runs on: the delegate's for a delegated task."""
    delegate_to = action._task.delegate_to   # pylint: disable=protected-access
    if delegate_to:
        return (task_vars.get('ansible_delegated_vars') or {}).get(delegate_to) or {}
    return task_vars


def in_process_refusal(action, task_vars, environment):
    """None when the task's module can run in this process, else why not (for -vvv). Falls back to a module process for
    a connection that is not local, become, async, another interpreter set for the host (the delegate's, for a delegated
    task), and a task environment (``environment``, see task_environment) that a module process needs (startup
    variables, names or values the OS refuses)."""
    if _switched_off(action, task_vars, environment or {}):
        return '%s is false' % SWITCH_VARIABLE
    missing = core.worker_refusal()
    if missing is not None:
        return missing
    connection = action._connection   # pylint: disable=protected-access
    if getattr(connection, 'transport', None) != 'local':
        return 'the connection is %s, not local' % getattr(connection, 'transport', 'unknown')
    if action._task.async_val:   # pylint: disable=protected-access
        return 'the task is async'
    if action._play_context.become:   # pylint: disable=protected-access
        return 'the task uses become'
    host_vars = _host_vars(action, task_vars)
    interpreter = host_vars.get('ansible_python_interpreter')
    if interpreter is None:
        interpreter = C.config.get_config_value('INTERPRETER_PYTHON', variables=host_vars)
    interpreter = to_text(action._templar.template(interpreter)) if interpreter else ''   # pylint: disable=protected-access
    if interpreter and not interpreter.startswith('auto') and not _same_python(interpreter):
        return 'the Python interpreter for the host is %s, not this Python (%s)' % (interpreter, sys.executable)
    for name, value in environment.items():
        if name.startswith(STARTUP_VARIABLES):
            return 'the task environment sets %s, which takes effect when a process starts' % name
        if not name or '=' in name or '\0' in name or '\0' in value:
            return 'the task environment has a name or value that an environment cannot hold'
    return None


def _same_python(interpreter):
    """Whether the interpreter path is this Python: the same file in the same directory. Two virtual environments share
    the base interpreter's file through links but not their libraries, so the directory counts as well."""
    path = os.path.expanduser(interpreter)
    if not os.path.isabs(path):
        return False
    return (os.path.realpath(os.path.dirname(path)) == os.path.realpath(os.path.dirname(sys.executable))
            and os.path.realpath(path) == os.path.realpath(sys.executable))


@contextlib.contextmanager
def _environment(values):
    """os.environ is exactly ``values`` for the duration (proxies, SFJWT_* fallbacks), then what it was, whatever
    happens (in_process_refusal has refused what os.environ cannot hold)."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_module_in_process(action, module_name, module_args, task_vars, environment):
    """The result of this collection's module ``module_name`` (its FQCN) as ActionBase._execute_module returns it, with
    the module run in this process. ``environment``: the environment the module sees (SalesforceAction.module_environment).
    Only after in_process_refusal() said None."""
    module_args = dict(module_args)
    # The FQCN, as for a module process: AnsibleModule names the module by it in messages and in syslog.
    core.update_module_args(action, module_name, module_args, task_vars)
    core.set_module_arguments(core.encode_arguments(module_args))
    stdout, rc, crash = io.StringIO(), 0, None
    try:
        with _environment(environment), requirements.running_module(), contextlib.redirect_stdout(stdout):
            module = importlib.import_module(COLLECTION_MODULES + module_name.rsplit('.', 1)[-1])
            module.main()
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:   # a module that crashes
        crash = {'failed': True, 'msg': 'The module %s failed: %s: %s' % (module_name, type(exc).__name__, exc),
                 'exception': traceback.format_exc()}
    finally:
        core.clear_module_arguments()
    if crash is not None:
        return crash
    return core.parse_module_answer(action, rc, stdout.getvalue())
