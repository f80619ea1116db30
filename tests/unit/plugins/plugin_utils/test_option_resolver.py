# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller's option resolver: which of option, sfjwt_* variable, SFJWT_* environment and default wins, for the
action plugins and the token lookup."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleActionFail, AnsibleLookupError

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import OPTION_NAMES
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._option_resolver import option_sources, resolve_module_args
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.plugin_utils.templating import OMIT, templar_for, trust_as_template

PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n'


def sources(task_args, task_vars, environment=None):
    task_vars = dict(task_vars, omit=OMIT)
    return option_sources(task_args, task_vars, templar_for(task_vars), environment or {})


def test_every_option_has_a_source():
    found = sources({}, {})
    assert sorted(found) == sorted(OPTION_NAMES)
    assert found == {
        'consumer_key': 'not set', 'username': 'not set', 'private_key_path': 'not set', 'private_key': 'not set',
        'private_key_passphrase': 'not set', 'login_url': 'default', 'audience': 'not set', 'certificate_path': 'not set',
        'validate_certs': 'default', 'ca_path': 'not set', 'timeout': 'default', 'retries': 'default', 'cache': 'default',
        'cache_ttl': 'default', 'cache_dir': 'not set',
    }


def test_option_beats_variable_beats_environment_beats_default():
    found = sources(
        {'consumer_key': 'FROMTASK'},
        {'sfjwt_consumer_key': 'FROMVAR', 'sfjwt_username': 'var@example.com', 'sfjwt_timeout': 5},
        {'SFJWT_CONSUMER_KEY': 'FROMENV', 'SFJWT_USERNAME': 'env@example.com', 'SFJWT_CA_PATH': '/env/ca.pem',
         'SFJWT_TIMEOUT': '7'})
    assert found['consumer_key'] == 'option'
    assert found['username'] == 'variable sfjwt_username'
    assert found['timeout'] == 'variable sfjwt_timeout'
    assert found['ca_path'] == 'environment SFJWT_CA_PATH'
    assert found['retries'] == 'default'
    assert found['cache_dir'] == 'not set'


def test_an_option_set_to_anything_is_the_tasks():
    # An empty or null task option still counts as set, as for the module's own environment fallback.
    found = sources({'private_key': '', 'audience': None}, {'sfjwt_private_key': PEM, 'sfjwt_audience': 'https://x'},
                    {'SFJWT_AUDIENCE': 'https://y'})
    assert found['private_key'] == 'option' and found['audience'] == 'option'


def test_a_task_option_found_in_the_provision_directory_names_the_directory():
    # The doctor playbook passes on what it found in ./sfjwt as task options; they are not the user's task options.
    task_args = {'consumer_key': 'FROMPROJECT', 'private_key_path': '/srv/acme/sfjwt/server.key', 'username': 'me@example.com'}
    found = option_sources(task_args, {}, templar_for({}), {'SFJWT_CONSUMER_KEY': 'FROMENV'},
                           found_in={'consumer_key': '/srv/acme/sfjwt', 'private_key_path': '/srv/acme/sfjwt'})
    assert (found['consumer_key'], found['private_key_path'], found['username']) == (
        'provision directory /srv/acme/sfjwt', 'provision directory /srv/acme/sfjwt', 'option')


@pytest.mark.parametrize('value', [None, trust_as_template('{{ none_value }}'), trust_as_template('{{ omit }}'),
                                   trust_as_template('{{ not_defined | default(omit) }}')])
def test_none_and_omitted_variables_are_skipped(value):
    found = sources({}, {'sfjwt_ca_path': value, 'none_value': None}, {'SFJWT_CA_PATH': '/env/ca.pem'})
    assert found['ca_path'] == 'environment SFJWT_CA_PATH'
    task_vars = {'sfjwt_ca_path': value, 'none_value': None, 'omit': OMIT}
    assert resolve_module_args({'path': 'limits'}, task_vars, templar_for(task_vars)) == {'path': 'limits'}


def test_module_args_hold_the_templated_variables_and_keep_the_tasks():
    task_args = {'path': 'limits', 'username': 'task@example.com'}
    task_vars = {'omit': OMIT, 'ca_dir': '/etc/pki', 'sfjwt_ca_path': trust_as_template('{{ ca_dir }}/sf.pem'),
                 'sfjwt_username': 'var@example.com', 'sfjwt_validate_certs': False, 'sfjwt_private_key': PEM,
                 'sfjwt_api_version': '62.0', 'sfjwt_access_token': 'not an option of this kind'}
    args = resolve_module_args(task_args, task_vars, templar_for(task_vars))
    assert args == {'path': 'limits', 'username': 'task@example.com', 'ca_path': '/etc/pki/sf.pem', 'validate_certs': False,
                    'private_key': PEM}
    assert task_args == {'path': 'limits', 'username': 'task@example.com'}


def test_a_variable_that_does_not_template_names_the_variable_and_the_fix():
    task_vars = {'sfjwt_ca_path': trust_as_template('{{ ca_dir }}/sf.pem')}
    with pytest.raises(AnsibleActionFail) as caught:
        resolve_module_args({}, task_vars, templar_for(task_vars), error=AnsibleActionFail)
    message = caught.value.message
    assert message.startswith('The variable sfjwt_ca_path could not be templated (')
    assert 'ca_dir' in message
    assert message.endswith('Define what it refers to, or remove sfjwt_ca_path to use the environment variable SFJWT_CA_PATH '
                            'or the default.')


@pytest.mark.parametrize('error', [AnsibleActionFail, AnsibleLookupError])
def test_a_secret_that_does_not_template_is_not_quoted(error):
    secret = 'S3cr3t{{ word'
    task_vars = {'sfjwt_private_key_passphrase': trust_as_template(secret)}
    with pytest.raises(error) as caught:
        resolve_module_args({}, task_vars, templar_for(task_vars), error=error)
    assert caught.value.message == (
        'The variable sfjwt_private_key_passphrase could not be templated (its value is not shown, it is a secret; a value '
        'holding {{ or {% is a template unless tagged !unsafe). Define what it refers to, or remove '
        'sfjwt_private_key_passphrase to use the environment variable '
        'SFJWT_PRIVATE_KEY_PASSPHRASE or the default.')
    assert 'S3cr3t' not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_variables_of_options_the_task_sets_are_not_templated():
    # A broken variable does no harm while the task gives the option.
    task_vars = {'sfjwt_ca_path': trust_as_template('{{ ca_dir }}/sf.pem')}
    assert resolve_module_args({'ca_path': '/task/ca.pem'}, task_vars, templar_for(task_vars)) == {'ca_path': '/task/ca.pem'}
