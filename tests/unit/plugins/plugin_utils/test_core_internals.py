# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The private ansible-core names of plugin_utils/_core_internals.py: every one resolves on the core under test (so a core
that moves one fails here, not for users), and without any one of them the task runs its module as a process."""

from __future__ import annotations

import importlib

import pytest

from ansible.module_utils.ansible_release import __version__ as core_version
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import shell_loader
from ansible.template import Templar

from ansible_collections.sfjwt.salesforce.plugins.plugin_utils import _action, _core_internals as core
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._in_process import in_process_refusal

CORE = tuple(int(part) for part in core_version.split('.')[:2])


def needed_here():
    """The touchpoints the worker path uses on this core."""
    names = [core.ARGUMENTS, core.WARNINGS, core.DEPRECATIONS, core.UPDATE_MODULE_ARGS, core.PARSE_RETURNED_DATA,
             core.COMPUTE_ENVIRONMENT]
    if CORE >= (2, 19):
        names += [core.PROFILE, core.PARSED_ARGUMENTS, core.PROFILE_CODEC, core.PROFILE_DIRECTION]
    names.append(core.TYPED_RESULT if CORE >= (2, 21) else core.REMOVE_INTERNAL_KEYS)
    return names


def remove(monkeypatch, touchpoint):
    """Removes what a touchpoint names, as a core that moved it would not have it."""
    module_name, dummy, path = touchpoint.partition(':')
    owner = importlib.import_module(module_name)
    parents, attribute = path.split('.')[:-1], path.split('.')[-1]
    for parent in parents:
        owner = getattr(owner, parent)
    monkeypatch.delattr(owner, attribute)


def test_every_touchpoint_resolves_on_this_core():
    missing = [name for name in needed_here() if not core.has(name)]
    assert missing == [], 'ansible-core %s moved %s: see plugin_utils/_core_internals.py' % (core_version, missing)
    assert core.worker_refusal() is None
    assert core.has_serialization_profiles() is (CORE >= (2, 19))
    # the results API: a dict cleaned by ansible.vars.clean up to 2.20, a typed result from 2.21
    assert core.has(core.REMOVE_INTERNAL_KEYS) is (CORE < (2, 21))


def test_every_touchpoint_names_a_place_in_ansible_core_and_says_what_for():
    for name in core.TOUCHPOINTS:
        module_name, colon, path = name.partition(':')
        assert colon and module_name.startswith('ansible.') and path and core.PURPOSES[name], name


def named_by_the_refusal(touchpoint):
    # Without the profile encoder the core is taken for 2.16 - 2.18, whose _parse_returned_data takes no profile.
    return core.PARSE_RETURNED_DATA if touchpoint == core.PROFILE_CODEC else touchpoint


@pytest.mark.parametrize('touchpoint', needed_here())
def test_without_a_touchpoint_the_worker_path_is_refused_and_says_which(monkeypatch, touchpoint):
    remove(monkeypatch, touchpoint)
    refusal = core.worker_refusal()
    assert refusal is not None and refusal.startswith('this ansible-core does not have ')
    assert named_by_the_refusal(touchpoint) in refusal


def test_a_changed_signature_is_refused(monkeypatch):
    monkeypatch.setattr(core.resolve('ansible.plugins.action:ActionBase'), '_compute_environment_string',
                        lambda self: '')
    assert core.worker_refusal() == ('this ansible-core does not have %s(raw_environment_out=...)' % core.COMPUTE_ENVIRONMENT)
    assert core.task_environment(action_for({})) is None


def test_a_module_that_fails_to_import_is_missing_not_a_crash(monkeypatch):
    def broken(name, *args, **kwargs):
        raise RuntimeError('a moved module that fails at import')
    monkeypatch.setattr(core.importlib, 'import_module', broken)
    assert core.has(core.ARGUMENTS) is False
    assert core.worker_refusal().startswith('this ansible-core does not have ansible.module_utils.basic:_ANSIBLE_ARGS')


def test_resolve_names_what_is_missing():
    with pytest.raises(LookupError, match='ansible.no_such_module:thing'):
        core.resolve('ansible.no_such_module:thing')
    with pytest.raises(LookupError, match='ansible.module_utils.basic:_NO_SUCH_NAME'):
        core.resolve('ansible.module_utils.basic:_NO_SUCH_NAME')


class _LocalConnection:
    transport = 'local'
    has_native_async = False
    _shell = shell_loader.get('sh')


def action_for(task_args, task_vars=None):
    task = Task()
    task.args = task_args
    task.environment = []
    loader = DataLoader()
    return _action.SalesforceAction(task, _LocalConnection(), PlayContext(), loader, Templar(loader=loader, variables=task_vars or {}), None)


@pytest.mark.parametrize('touchpoint', needed_here())
def test_without_a_touchpoint_the_task_runs_its_module_as_a_process(monkeypatch, touchpoint):
    action = action_for({'path': 'limits'})
    task_vars = {'ansible_python_interpreter': 'auto'}
    monkeypatch.delenv('SFJWT_IN_PROCESS', raising=False)
    assert in_process_refusal(action, task_vars, {}) is None   # this core: the worker
    executed, said = [], []
    monkeypatch.setattr(action, '_execute_module',
                        lambda module_args, task_vars, wrap_async: executed.append(module_args) or {'changed': False, 'status': 200})
    monkeypatch.setattr(_action.display, 'vvv', said.append)
    monkeypatch.setattr(_action, 'run_module_in_process', lambda *args: pytest.fail('ran in the worker'))
    remove(monkeypatch, touchpoint)
    assert action._run_module({'path': 'limits'}, task_vars, False) == {'changed': False, 'status': 200}
    assert executed == [{'path': 'limits'}]
    assert len(said) == 1 and said[0].startswith('sfjwt.salesforce: running the module as a process: this ansible-core '
                                                 'does not have ') and named_by_the_refusal(touchpoint) in said[0]
