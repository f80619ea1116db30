# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugins' shared code: the environment a module sees, and the same option resolution as
plugin_utils/_option_resolver.py."""

from __future__ import annotations

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import shell_loader
from ansible.template import Templar

from ansible_collections.sfjwt.salesforce.plugins.doc_fragments import auth, cache, connection
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils import _option_resolver as option_resolver
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._action import SalesforceAction
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.plugin_utils.templating import OMIT, trust_as_template


class _Connection:
    _shell = shell_loader.get('sh')


def action_for(task_args, environment, task_vars):
    task = Task()
    task.args = task_args
    task.environment = environment
    loader = DataLoader()
    return SalesforceAction(task, _Connection(), PlayContext(), loader, Templar(loader=loader, variables=task_vars), None)


def test_module_environment_is_the_process_environment_with_the_task_environment(monkeypatch):
    monkeypatch.setenv('SFJWT_USERNAME', 'process@example.com')
    monkeypatch.setenv('SFJWT_TIMEOUT', '9')
    monkeypatch.delenv('SFJWT_CA_PATH', raising=False)
    task_vars = {'ca_dir': '/etc/pki', 'omit': OMIT}
    # play, block and task levels, outermost first: later ones win
    action = action_for({}, [{'SFJWT_TIMEOUT': 5, 'SFJWT_RETRIES': '1'},
                             {'SFJWT_CA_PATH': trust_as_template('{{ ca_dir }}/sf.pem'), 'SFJWT_RETRIES': '2'}], task_vars)
    environment = action.module_environment()
    assert environment['SFJWT_USERNAME'] == 'process@example.com'
    assert (environment['SFJWT_TIMEOUT'], environment['SFJWT_RETRIES'], environment['SFJWT_CA_PATH']) == ('5', '2', '/etc/pki/sf.pem')
    found = action.option_sources(task_vars)
    assert (found['username'], found['timeout'], found['ca_path'], found['cache']) == (
        'environment SFJWT_USERNAME', 'environment SFJWT_TIMEOUT', 'environment SFJWT_CA_PATH', 'default')


def test_the_sources_of_a_task_reuse_its_module_args(monkeypatch):
    """The doctor's action reports sources after running the module: the sfjwt_* variables are not templated again."""
    monkeypatch.delenv('SFJWT_USERNAME', raising=False)
    task_vars = {'omit': OMIT, 'sfjwt_username': 'var@example.com'}
    action = action_for({'consumer_key': 'TASKKEY'}, [], task_vars)
    action.module_args(task_vars)

    def templated_again(*args, **kwargs):
        raise AssertionError('the sfjwt_* variables were templated a second time')
    monkeypatch.setattr(option_resolver, 'resolve_module_args', templated_again)
    found = action.option_sources(task_vars)
    assert (found['consumer_key'], found['username']) == ('option', 'variable sfjwt_username')


def test_the_action_uses_the_same_resolution(monkeypatch):
    monkeypatch.delenv('SFJWT_USERNAME', raising=False)
    task_vars = {'omit': OMIT, 'sfjwt_username': 'var@example.com', 'sfjwt_consumer_key': 'VARKEY'}
    action = action_for({'consumer_key': 'TASKKEY', 'path': 'limits'}, [], task_vars)
    assert action.module_args(task_vars) == {'consumer_key': 'TASKKEY', 'path': 'limits', 'username': 'var@example.com'}
    found = action.option_sources(task_vars)
    assert (found['consumer_key'], found['username']) == ('option', 'variable sfjwt_username')


@pytest.mark.parametrize('fragment', [auth, connection, cache], ids=['auth', 'connection', 'cache'])
def test_fragments_name_the_variable_before_the_environment_variable(fragment):
    for name, doc in yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)['options'].items():
        text = ' '.join(doc['description'])
        assert 'C(sfjwt_%s)' % name in text, name
        assert text.index('C(sfjwt_%s)' % name) < text.index('E(SFJWT_%s)' % name.upper()), name
