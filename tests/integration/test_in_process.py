# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where the API modules run: in the worker process on a local connection, else as a module process.

The whole integration suite runs both ways (scripts/test.sh); these tests check the choice itself and what running in
the worker must not change: the task's environment, warnings per loop item, and the switch back to module processes.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import yaml

from ansible.release import __version__ as core_version

REST_TASK = 'GET limits'
MODULE_FILE = 'Using module file'
CORE = tuple(int(part) for part in core_version.split('.')[:2])
WITHOUT_CORE_INTERNAL = Path(__file__).resolve().parent / 'without_core_internal.py'


def core_internals_ansible_playbook_does_not_use():
    """The private names of plugin_utils/_core_internals.py that can go without breaking ansible-core itself (the unit
    tests remove every one)."""
    names = ['ansible.module_utils.basic:_ANSIBLE_ARGS', 'ansible.module_utils.common.warnings:_global_warnings',
             'ansible.module_utils.common.warnings:_global_deprecations',
             'ansible.plugins.action:ActionBase._compute_environment_string']
    if CORE >= (2, 19):
        names += ['ansible.module_utils.basic:_ANSIBLE_PROFILE', 'ansible.module_utils.basic:_PARSED_MODULE_ARGS']
    if CORE < (2, 21):
        names.append('ansible.vars.clean:remove_internal_keys')
    return names


def write_playbook(ansible, name, tasks, **play):
    path = ansible.workdir / name
    play = dict({'name': 'In process', 'hosts': 'localhost', 'gather_facts': False}, **play)
    play['tasks'] = tasks
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return path


def rest_task(**extra):
    task = {'name': REST_TASK, 'sfjwt.salesforce.rest': {'path': 'limits'}, 'register': 'limits'}
    task.update(extra)
    return task


def module_file_lines(run):
    return [line for line in run.output.splitlines() if MODULE_FILE in line and '/rest.py' in line]


def test_a_local_task_runs_in_the_worker_and_gives_the_same_result_as_a_module_process(ansible, fake_org_app):
    playbook = write_playbook(ansible, 'rest.yml', [rest_task()])
    env = fake_org_app.sfjwt_env()
    in_worker = ansible.playbook(playbook, env=dict(env, SFJWT_IN_PROCESS='true'), verbosity=3)
    as_process = ansible.playbook(playbook, env=dict(env, SFJWT_IN_PROCESS='false'), verbosity=3)
    assert in_worker.rc == 0 and as_process.rc == 0, in_worker.output + as_process.output
    assert module_file_lines(in_worker) == []
    assert len(module_file_lines(as_process)) == 1
    assert 'running the module as a process: sfjwt_in_process is false.' in as_process.output
    first, second = in_worker.result(REST_TASK), as_process.result(REST_TASK)
    assert sorted(first) == sorted(second)
    assert (first['status'], first['changed'], first['url']) == (second['status'], second['changed'], second['url'])
    assert first['invocation'] == second['invocation']


def test_the_switch_as_a_task_variable_and_async_run_a_module_process(ansible, fake_org_app):
    playbook = write_playbook(ansible, 'fallbacks.yml', [
        rest_task(name='Switched off', vars={'sfjwt_in_process': False}),
        rest_task(name='Async', **{'async': 60, 'poll': 1}),
        rest_task(name='In the worker'),
    ])
    run = ansible.playbook(playbook, env=dict(fake_org_app.sfjwt_env(), SFJWT_IN_PROCESS='true'), verbosity=3)
    assert run.rc == 0, run.output
    assert 'running the module as a process: sfjwt_in_process is false.' in run.output
    assert 'running the module as a process: the task is async.' in run.output
    assert len(module_file_lines(run)) == 2
    for task in ('Switched off', 'Async', 'In the worker'):
        assert run.result(task)['status'] == 200


def test_the_task_environment_applies_to_its_loop_item_and_task_only(ansible, fake_org_app):
    # A proxy that refuses connections in the environment of one loop item: that item fails on it; the next item (the
    # same worker process) and the next task do not see it.
    with socket.socket() as closed:
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
    proxy = 'http://127.0.0.1:%d' % port
    playbook = write_playbook(ansible, 'environment.yml', [
        rest_task(name='Through a dead proxy, then without it', ignore_errors=True, loop=[1, 2, 3],
                  environment="{{ {'HTTPS_PROXY': '%s', 'NO_PROXY': ''} if item == 1 else {} }}" % proxy),
        rest_task(name='Without it'),
    ])
    run = ansible.playbook(playbook, env=dict(fake_org_app.sfjwt_env(), SFJWT_CACHE='false', NO_PROXY='', no_proxy=''))
    assert run.rc == 0, run.output
    first, second, third = run.result('Through a dead proxy, then without it')['results']
    assert first['failed'] is True and first['msg'].startswith('The proxy failed to connect to %s' % fake_org_app.url), first
    assert not second.get('failed') and not third.get('failed'), (second, third)
    assert (second['status'], third['status']) == (200, 200)
    assert run.result('Without it')['status'] == 200


def test_warnings_belong_to_the_loop_item_that_had_them(ansible, fake_org_app):
    fake_org_app.org.fail_next(1, status=503, path_prefix='/services/data/v62.0/limits')
    playbook = write_playbook(ansible, 'warnings.yml', [
        rest_task(name='Loop', loop=[1, 2, 3], **{'sfjwt.salesforce.rest': {'path': 'limits', 'api_version': '62.0'}}),
    ])
    run = ansible.playbook(playbook, env=fake_org_app.sfjwt_env())
    assert run.rc == 0, run.output
    items = run.result('Loop')['results']
    assert [item['status'] for item in items] == [200, 200, 200]
    # Shown once, for the item that was retried: a warning collected in the worker must not come back with later items.
    assert run.output.count('retry 1 of 3.') == 1, run.output   # (2.16 wraps the line after 'HTTP')


def test_a_task_environment_a_worker_cannot_take_runs_a_module_process_and_leaves_the_worker_intact(ansible, fake_org_app):
    playbook = write_playbook(ansible, 'bad_environment.yml', [
        rest_task(name='Environments', ignore_errors=True, environment='{{ item }}',
                  loop=[{'PYTHONPATH': '/nonexistent'}, {'A=B': 'x'}, {}]),
        rest_task(name='Switched off in the environment', environment={'SFJWT_IN_PROCESS': 'false'}),
    ])
    run = ansible.playbook(playbook, env=dict(fake_org_app.sfjwt_env(), SFJWT_IN_PROCESS='true'), verbosity=3)
    assert run.rc == 0, run.output
    items = run.result('Environments').get('results')
    assert items is not None, run.output
    assert [item['status'] for item in items] == [200, 200, 200], items
    assert 'running the module as a process: the task environment sets PYTHONPATH' in run.output
    assert 'running the module as a process: the task environment has a name or value that an environment cannot hold' \
        in run.output
    assert 'running the module as a process: sfjwt_in_process is false.' in run.output
    assert run.result('Switched off in the environment')['status'] == 200


def test_a_delegated_task_follows_the_delegates_interpreter(ansible, fake_org_app):
    inventory = ansible.workdir / 'delegation.ini'
    inventory.write_text('other ansible_connection=local\n'
                         'localhost ansible_connection=local ansible_python_interpreter=/nonexistent/bin/python3\n')
    playbook = write_playbook(ansible, 'delegated.yml', [rest_task(delegate_to='localhost', ignore_errors=True)], hosts='other')
    run = ansible.playbook(playbook, inventory=str(inventory), env=dict(fake_org_app.sfjwt_env(), SFJWT_IN_PROCESS='true'),
                           verbosity=3)
    assert run.rc == 0, run.output
    assert ('running the module as a process: the Python interpreter for the host is /nonexistent/bin/python3'
            in run.output)
    assert run.status(REST_TASK, host='other') == 'failed', run.output


def test_messages_name_the_module_by_its_full_name_both_ways(ansible, fake_org_app):
    playbook = write_playbook(ansible, 'unsupported.yml', [
        {'name': 'Unknown option', 'sfjwt.salesforce.rest': {'path': 'limits', 'bogus': 1}, 'ignore_errors': True}])
    for in_process in ('true', 'false'):
        run = ansible.playbook(playbook, env=dict(fake_org_app.sfjwt_env(), SFJWT_IN_PROCESS=in_process))
        assert run.result('Unknown option')['msg'].startswith(
            'Unsupported parameters for (sfjwt.salesforce.rest) module: bogus.'), (in_process, run.output)


@pytest.mark.parametrize('touchpoint', core_internals_ansible_playbook_does_not_use())
def test_an_ansible_core_that_moved_a_private_name_runs_the_module_as_a_process(ansible, fake_org_app, touchpoint):
    playbook = write_playbook(ansible, 'moved.yml', [rest_task()])
    run = ansible.playbook(playbook, env=dict(fake_org_app.sfjwt_env(), SFJWT_IN_PROCESS='true'), verbosity=3,
                           launcher=(sys.executable, str(WITHOUT_CORE_INTERNAL), touchpoint))
    assert run.rc == 0, run.output
    assert run.result(REST_TASK)['status'] == 200
    assert len(module_file_lines(run)) == 1
    assert 'sfjwt.salesforce: running the module as a process: this ansible-core does not have %s' % touchpoint in run.output
