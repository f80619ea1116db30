# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Where an auth, connection or cache setting comes from, on the controller; the action plugins and the token lookup
resolve them here, the doctor's action plugin reports the sources from here.

First match wins:

1. the task's option (or the lookup's keyword); module_defaults count as options (ansible-core merges them into the task
   args before the action plugin runs, and drops those that came out as ``omit``);
2. the Ansible variable ``sfjwt_<option>``, templated here (ansible-core hands plugins variables as written);
3. the environment variable ``SFJWT_<OPTION>`` (read by the module's argument spec where the module runs, by Ansible's
   configuration for the lookup);
4. the default.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import (
    AUTH_ARGUMENT_SPEC, DEFAULTS, OPTION_NAMES, env_var, var_name)

try:  # ansible-core 2.19+: a template that comes out as omit raises this instead of returning the omit placeholder
    from ansible.errors import AnsibleValueOmittedError
except ImportError:  # ansible-core 2.16 - 2.18
    class AnsibleValueOmittedError(Exception):
        """Never raised before ansible-core 2.19."""

# Values of these never go into a message, not even a templating error's (its text may quote the value).
SECRET_OPTIONS = frozenset(name for name, spec in AUTH_ARGUMENT_SPEC.items() if spec.get('no_log'))

_OMITTED = object()


def _template_variable(name, value, task_vars, templar, error):
    """The variable's value, templated, or _OMITTED when it comes out as omit; ``error`` (an AnsibleError class) when it
    cannot be templated."""
    try:
        value = templar.template(value)
    except AnsibleValueOmittedError:
        return _OMITTED
    except AnsibleError as exc:
        if name in SECRET_OPTIONS:
            detail = 'its value is not shown, it is a secret; a value holding {{ or {% is a template unless tagged !unsafe'
        else:
            detail = to_text(getattr(exc, 'message', None) or exc)
        raise error('The variable %s could not be templated (%s). Define what it refers to, or remove %s to use '
                    'the environment variable %s or the default.'
                    % (var_name(name), detail, var_name(name), env_var(name))) from None
    omit = task_vars.get('omit')
    if isinstance(omit, str) and isinstance(value, str) and value == omit:  # ansible-core 2.16 - 2.18
        return _OMITTED
    return value


def option_variables(task_args, task_vars, templar, error=AnsibleError):
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
        value = _template_variable(name, task_vars[variable], task_vars, templar, error)
        if value is None or value is _OMITTED:
            continue
        values[name] = value
    return values


def resolve_module_args(task_args, task_vars, templar, error=AnsibleError):
    """The arguments the module runs with: a new dict of the task's args plus the sfjwt_<option> variables."""
    args = dict(task_args)
    args.update(option_variables(task_args, task_vars or {}, templar, error))
    return args


def option_sources(task_args, task_vars, templar, environment, resolved=None, found_in=None):
    """Where each option's value comes from, for every name in OPTION_NAMES: 'option', 'provision directory <path>',
    'variable sfjwt_<name>', 'environment SFJWT_<NAME>', 'default' or 'not set'.

    ``environment``: the environment the module sees (see SalesforceAction.module_environment). Decided by
    resolve_module_args, which also makes the arguments the module runs with (``resolved``, when they are made already).
    ``found_in``: {option: directory} for the task options whose value the playbook found in a directory the provision
    playbook wrote (./sfjwt): they are task options only because the playbook passes them on.
    """
    if resolved is None:
        resolved = resolve_module_args(task_args, task_vars, templar)
    found_in = found_in or {}
    sources = {}
    for name in OPTION_NAMES:
        if name in task_args:
            sources[name] = 'provision directory %s' % found_in[name] if found_in.get(name) else 'option'
        elif name in resolved:
            sources[name] = 'variable %s' % var_name(name)
        elif env_var(name) in environment:
            sources[name] = 'environment %s' % env_var(name)
        elif name in DEFAULTS:
            sources[name] = 'default'
        else:
            sources[name] = 'not set'
    return sources
