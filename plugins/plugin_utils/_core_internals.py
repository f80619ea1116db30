# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Every private ansible-core name this collection touches, and the one question they answer: can this ansible-core run
the collection's module code in the worker process (plugin_utils/_in_process.py)?

ansible-core moves its private names between releases (2.21 dropped ``ansible.vars.clean.remove_internal_keys`` and
returns a typed result from ``ActionBase._parse_returned_data``). Nothing here is imported when this module loads: each
touchpoint is looked up when it is needed, and a missing one makes ``worker_refusal`` name it, so the task runs as a
module process, the way every module runs, and ``-vvv`` says why. Nothing here can crash ansible-playbook.

The attributes every action plugin uses (``self._task``, ``self._templar``, ``self._connection``, ``self._play_context``,
``self._execute_module``) are the action plugin API that ansible-core's own plugins and the developer guide use; they
are not counted here.
"""

from __future__ import annotations

import importlib
import inspect
import json

# (touchpoint, what it is for). A name 'module:attribute' or 'module:Class.attribute'.
ARGUMENTS = 'ansible.module_utils.basic:_ANSIBLE_ARGS'
PROFILE = 'ansible.module_utils.basic:_ANSIBLE_PROFILE'
PARSED_ARGUMENTS = 'ansible.module_utils.basic:_PARSED_MODULE_ARGS'
WARNINGS = 'ansible.module_utils.common.warnings:_global_warnings'
DEPRECATIONS = 'ansible.module_utils.common.warnings:_global_deprecations'
UPDATE_MODULE_ARGS = 'ansible.plugins.action:ActionBase._update_module_args'
PARSE_RETURNED_DATA = 'ansible.plugins.action:ActionBase._parse_returned_data'
COMPUTE_ENVIRONMENT = 'ansible.plugins.action:ActionBase._compute_environment_string'
REMOVE_INTERNAL_KEYS = 'ansible.vars.clean:remove_internal_keys'                   # ansible-core 2.16 - 2.20
TYPED_RESULT = 'ansible._internal._task:UnifiedTaskResult'                         # ansible-core 2.21+
PROFILE_CODEC = 'ansible.module_utils.common.json:get_module_encoder'              # ansible-core 2.19+
PROFILE_DIRECTION = 'ansible.module_utils.common.json:Direction'                   # ansible-core 2.19+

PURPOSES = {
    ARGUMENTS: 'where AnsibleModule reads its arguments',
    PROFILE: "the arguments' serialization profile (ansible-core 2.19+)",
    PARSED_ARGUMENTS: 'the arguments AnsibleModule parsed, reset after the run (ansible-core 2.19+)',
    WARNINGS: "the module's warnings, emptied before the run",
    DEPRECATIONS: "the module's deprecation notices, emptied before the run",
    UPDATE_MODULE_ARGS: 'the arguments ansible-core adds for a module (check mode, diff, no_log, verbosity, ...)',
    PARSE_RETURNED_DATA: "parsing a module's answer as ansible-core does",
    COMPUTE_ENVIRONMENT: "the task's environment, merged and templated",
    REMOVE_INTERNAL_KEYS: "removing ansible-core's internal keys from a module's result (ansible-core 2.16 - 2.20)",
    TYPED_RESULT: "the typed module result, its internal keys removed (ansible-core 2.21+)",
    PROFILE_CODEC: 'the JSON encoder of a serialization profile (ansible-core 2.19+)',
    PROFILE_DIRECTION: 'which way a serialization profile encodes (ansible-core 2.19+)',
}
TOUCHPOINTS = tuple(PURPOSES)

# How this collection's modules exchange arguments and results: they have no metadata, so the legacy profile.
SERIALIZATION_PROFILE = 'legacy'

_MISSING = object()


def resolve(touchpoint):
    """The object a touchpoint names; LookupError when this ansible-core does not have it."""
    module_name, dummy, path = touchpoint.partition(':')
    try:
        value = importlib.import_module(module_name)
    except Exception:   # pylint: disable=broad-except  # whatever a moved or broken module raises: not there
        raise LookupError(touchpoint) from None
    for attribute in path.split('.'):
        value = getattr(value, attribute, _MISSING)
        if value is _MISSING:
            raise LookupError(touchpoint)
    return value


def has(touchpoint):
    try:
        resolve(touchpoint)
    except LookupError:
        return False
    return True


def has_serialization_profiles():
    """Whether module arguments and results go through serialization profiles (ansible-core 2.19+)."""
    return has(PROFILE_CODEC)


def _accepts(function, *args, **kwargs):
    try:
        inspect.signature(function).bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return False
    return True


def _parse_takes_profile():
    return _accepts(resolve(PARSE_RETURNED_DATA), {}, SERIALIZATION_PROFILE)


def worker_refusal():
    """None when this ansible-core has every touchpoint the worker path needs, in the shape it uses; else why not."""
    problems = []
    profiles = has_serialization_profiles()
    needed = [ARGUMENTS, WARNINGS, DEPRECATIONS, UPDATE_MODULE_ARGS, PARSE_RETURNED_DATA, COMPUTE_ENVIRONMENT]
    if profiles:
        needed += [PROFILE, PARSED_ARGUMENTS, PROFILE_DIRECTION]
    problems.extend(name for name in needed if not has(name))
    if not has(REMOVE_INTERNAL_KEYS) and not (has(TYPED_RESULT) and _typed_result_api()):
        problems.append('%s or %s' % (REMOVE_INTERNAL_KEYS, TYPED_RESULT))
    if has(UPDATE_MODULE_ARGS) and not _accepts(resolve(UPDATE_MODULE_ARGS), 'name', {}, {}):
        problems.append('%s(module_name, module_args, task_vars)' % UPDATE_MODULE_ARGS)
    if has(PARSE_RETURNED_DATA) and _parse_takes_profile() != profiles:
        problems.append('%s(%s)' % (PARSE_RETURNED_DATA, 'res, profile' if profiles else 'res'))
    if has(COMPUTE_ENVIRONMENT) and not _accepts(resolve(COMPUTE_ENVIRONMENT), raw_environment_out={}):
        problems.append('%s(raw_environment_out=...)' % COMPUTE_ENVIRONMENT)
    for name in (WARNINGS, DEPRECATIONS):
        if has(name) and not callable(getattr(resolve(name), 'clear', None)):
            problems.append('%s.clear()' % name)
    if not problems:
        return None
    return 'this ansible-core does not have %s' % ', '.join(problems)


def _typed_result_api():
    result_type = resolve(TYPED_RESULT)
    return (callable(getattr(result_type, 'remove_internal_keys', None))
            and _accepts(getattr(result_type, 'as_result_dict', None), for_round_trip=True))


def task_environment(action):
    """The task's ``environment:`` (play, block, role and task levels, merged and templated) as ansible-core builds it for
    a module's command line (names and values as ansible-core gives them); None when this ansible-core cannot tell."""
    if not has(COMPUTE_ENVIRONMENT) or not _accepts(resolve(COMPUTE_ENVIRONMENT), raw_environment_out={}):
        return None
    environment = {}
    action._compute_environment_string(raw_environment_out=environment)   # pylint: disable=protected-access
    return environment


def update_module_args(action, module_name, module_args, task_vars):
    """Adds what ansible-core adds to a module's arguments (check mode, diff, no_log, verbosity, ...)."""
    action._update_module_args(module_name, module_args, task_vars)   # pylint: disable=protected-access


def encode_arguments(module_args):
    """The bytes a module process reads its arguments from: {"ANSIBLE_MODULE_ARGS": ...} in the legacy profile (the
    profile of a module without metadata, as this collection's modules are)."""
    payload = {'ANSIBLE_MODULE_ARGS': module_args}
    if has_serialization_profiles():
        from ansible.module_utils.common.json import Direction, get_module_encoder
        return json.dumps(payload, cls=get_module_encoder(SERIALIZATION_PROFILE, Direction.CONTROLLER_TO_MODULE)).encode('utf-8')
    return json.dumps(payload).encode('utf-8')


def set_module_arguments(encoded):
    """Places the encoded arguments where AnsibleModule reads them, and empties the warnings a previous module left."""
    from ansible.module_utils import basic
    from ansible.module_utils.common import warnings as module_warnings
    basic._ANSIBLE_ARGS = encoded   # pylint: disable=protected-access
    if has_serialization_profiles():
        basic._ANSIBLE_PROFILE = SERIALIZATION_PROFILE   # pylint: disable=protected-access
    module_warnings._global_warnings.clear()   # pylint: disable=protected-access
    module_warnings._global_deprecations.clear()   # pylint: disable=protected-access


def clear_module_arguments():
    """Forgets the arguments set by set_module_arguments and what AnsibleModule parsed from them."""
    from ansible.module_utils import basic
    basic._ANSIBLE_ARGS = None   # pylint: disable=protected-access
    if has_serialization_profiles():
        basic._ANSIBLE_PROFILE = None   # pylint: disable=protected-access
        basic._PARSED_MODULE_ARGS = None   # pylint: disable=protected-access


def parse_module_answer(action, rc, stdout):
    """A module's answer (its exit code and stdout) as the result dict ActionBase._execute_module returns: parsed by
    ansible-core, its internal keys removed."""
    answer = {'rc': rc, 'stdout': stdout, 'stderr': ''}
    if has_serialization_profiles():
        parsed = action._parse_returned_data(answer, SERIALIZATION_PROFILE)   # pylint: disable=protected-access
    else:
        parsed = action._parse_returned_data(answer)   # pylint: disable=protected-access
    if isinstance(parsed, dict):   # ansible-core 2.16 - 2.20
        if has(REMOVE_INTERNAL_KEYS):   # (worker_refusal saw it or the typed result: never fail a module that ran)
            resolve(REMOVE_INTERNAL_KEYS)(parsed)
        return parsed
    parsed.remove_internal_keys()   # ansible-core 2.21+: a typed result
    return parsed.as_result_dict(for_round_trip=True)
