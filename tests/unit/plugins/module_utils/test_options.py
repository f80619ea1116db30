# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The option adapter: one set of names, defaults and SFJWT_* variables for modules and plugins."""

from __future__ import annotations

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sfjwt.salesforce.plugins.doc_fragments import auth, cache, connection
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _options
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import (
    OPTION_NAMES,
    AuthOptions,
    argument_spec,
    options_from_mapping,
    options_from_module,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.auth_helpers import TOKEN, error_message, make_options
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeModule

FRAGMENTS = {
    'auth': (auth.ModuleDocFragment, _options.AUTH_ARGUMENT_SPEC),
    'connection': (connection.ModuleDocFragment, _options.CONNECTION_ARGUMENT_SPEC),
    'cache': (cache.ModuleDocFragment, _options.CACHE_ARGUMENT_SPEC),
}


@pytest.fixture(autouse=True)
def no_sfjwt_environment(monkeypatch):
    import os
    for name in list(os.environ):
        if name.startswith('SFJWT_'):
            monkeypatch.delenv(name)


@pytest.mark.parametrize('group', sorted(FRAGMENTS))
def test_fragment_documents_the_argument_spec(group):
    fragment, spec = FRAGMENTS[group]
    documented = yaml.safe_load(fragment.DOCUMENTATION)['options']
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc['type'] == option['type'], name
        assert doc.get('default') == option.get('default'), name
        assert 'E(%s)' % _options.env_var(name) in ' '.join(doc['description']), name


@pytest.mark.parametrize('group', sorted(FRAGMENTS))
def test_plugins_fragment_adds_env_and_vars(group):
    fragment, spec = FRAGMENTS[group]
    sources = yaml.safe_load(fragment.PLUGINS)['options']
    assert sorted(sources) == sorted(spec)
    for name in spec:
        assert sources[name] == {'env': [{'name': 'SFJWT_' + name.upper()}], 'vars': [{'name': 'sfjwt_' + name}]}


def test_argument_spec_covers_every_option_with_env_fallback():
    spec = argument_spec(path=dict(type='str'))
    assert sorted(spec) == sorted(OPTION_NAMES + ('api_version', 'path'))   # api_version: the group's shared option
    for name in OPTION_NAMES:
        assert spec[name]['fallback'][1] == ['SFJWT_' + name.upper()]
    assert {name for name in OPTION_NAMES if spec[name].get('no_log')} == {'private_key', 'private_key_passphrase'}
    # names that look secret but are not carry an explicit no_log=False (sanity: no-log-needed)
    assert spec['consumer_key']['no_log'] is False and spec['private_key_path']['no_log'] is False
    # a fresh copy each time: a module adding suboptions cannot change another module's spec
    spec['consumer_key']['type'] = 'raw'
    assert argument_spec()['consumer_key']['type'] == 'str'


def test_environment_fallback_and_masking(monkeypatch):
    monkeypatch.setenv('SFJWT_CONSUMER_KEY', 'EnvConsumerKey')
    monkeypatch.setenv('SFJWT_USERNAME', 'env@acme.example')
    monkeypatch.setenv('SFJWT_PRIVATE_KEY', 'env-key-content-secret')
    monkeypatch.setenv('SFJWT_TIMEOUT', '12')
    monkeypatch.setenv('SFJWT_CACHE', 'no')
    result = ArgumentSpecValidator(argument_spec()).validate({'username': 'direct@acme.example'})
    assert not result.error_messages
    params = result.validated_parameters
    assert params['consumer_key'] == 'EnvConsumerKey'
    assert params['username'] == 'direct@acme.example'  # a given value wins over the environment
    assert params['timeout'] == 12 and params['cache'] is False
    assert params['login_url'] == 'https://login.salesforce.com' and params['retries'] == 3 and params['cache_ttl'] == 600
    assert 'env-key-content-secret' in result._no_log_values  # masked in everything the module returns


def test_options_from_module():
    params = ArgumentSpecValidator(argument_spec()).validate({
        'consumer_key': 'CK', 'username': 'u@acme.example', 'private_key_path': '/keys/server.key', 'timeout': 5,
    }).validated_parameters
    module = FakeModule(params)
    options = options_from_module(module)
    assert options == AuthOptions(consumer_key='CK', username='u@acme.example', private_key_path='/keys/server.key', timeout=5)
    options.warn('retrying')
    assert module.warnings == ['retrying']


@pytest.mark.parametrize('propagation_timeout, share', [(None, True), (0, True), (600, False)])
def test_a_task_waiting_for_propagation_takes_no_refusal_shared_a_moment_ago(propagation_timeout, share):
    """The token module's propagation_timeout runs it again on purpose while Salesforce refuses: each try must ask."""
    params = ArgumentSpecValidator(argument_spec(propagation_timeout=dict(type='int'))).validate({
        'consumer_key': 'CK', 'propagation_timeout': propagation_timeout,
    }).validated_parameters
    assert options_from_module(FakeModule(params)).share_recent_refusals is share
    assert AuthOptions().share_recent_refusals is True


def test_options_from_mapping_fills_defaults():
    options = options_from_mapping({'login_url': None, 'timeout': None, 'private_key': b'PEM'})
    assert (options.login_url, options.timeout, options.retries, options.cache, options.cache_ttl, options.validate_certs) == (
        'https://login.salesforce.com', 30, 3, True, 600, True)
    assert options.private_key == 'PEM'
    assert 'PEM' not in repr(options)


def test_secrets_not_in_repr():
    options = AuthOptions(private_key='-----BEGIN KEY-----', private_key_passphrase='Sekrit-Phrase')
    assert 'BEGIN' not in repr(options) and 'Sekrit' not in repr(options)


def test_http_session_is_built_once_from_the_options(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    options = AuthOptions(ca_path=str(ca), timeout=4, retries=2)
    session = options.http
    assert session is options.http
    assert (session.verify, session.default_timeout) == (str(ca), 4)
    retry = session.get_adapter('https://login.salesforce.com').max_retries
    assert (retry.total, retry.connect, retry.read, retry.status) == (2, 2, 2, 2)
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}
    assert 'POST' in retry.allowed_methods
    assert AuthOptions(ca_path=str(ca), validate_certs=False).http.verify is False
    assert AuthOptions().http.verify is True


# ---------------------------------------------------------------- characters that cost a refused login

@pytest.mark.parametrize('name, value, what, position', [
    ('audience', 'https://login.salesforce.com\r\nX-Injected: 1', 'a line break (CR) (U+000D)', 29),
    ('login_url', 'https://login.sales\nforce.com', 'a line break (LF) (U+000A)', 20),
    ('login_url', '  https://login.salesforce.com\x00', 'a NUL character (U+0000)', 31),
    ('consumer_key', '3MVG9\x00abc', 'a NUL character (U+0000)', 6),
    ('consumer_key', '3MVG9\x1b[31mabc', 'an escape character (U+001B)', 6),
    ('consumer_key', '\ufeff3MVG9abc', 'a byte order mark (U+FEFF)', 1),
    ('username', 'integration@acme\u200b.example', 'a zero-width space (U+200B)', 17),
    ('username', 'integration@acme.example\u202e', 'an invisible formatting character (zero-width or text direction) (U+202E)', 25),
    ('username', 'integration@acme\x9b.example', 'a control character (U+009B)', 17),
    ('audience', 'https://login.\u2028salesforce.com', 'a line separator (U+2028)', 15),
], ids=['audience CRLF', 'login_url LF', 'login_url NUL', 'consumer_key NUL', 'consumer_key ESC', 'consumer_key BOM',
        'username zero-width', 'username bidi', 'username C1', 'audience line separator'])
def test_options_sent_to_salesforce_refuse_invisible_characters_before_any_login(tmp_path, key_path, name, value, what, position):
    options = make_options(tmp_path, key_path, **{name: value})
    assert error_message(options) == (
        '%s contains %s at character %d. Salesforce takes it as one line of printable text: remove the character (it often '
        'comes with a value copied from a document, a web page or a file), and check the variable sfjwt_%s and the '
        'environment variable SFJWT_%s too if the option is set there.' % (name, what, position, name, name.upper()))
    assert options.http.calls == []   # no login spent on it


def test_white_space_around_a_sent_option_is_still_stripped(tmp_path, key_path):
    options = make_options(tmp_path, key_path, audience=' https://login.salesforce.com\n', login_url='https://login.salesforce.com\t')
    assert _auth.get_session(options).access_token == TOKEN


def test_every_member_of_the_action_group_accepts_the_group_options():
    """A module_defaults default for group/sfjwt.salesforce.salesforce must be usable by every member: each module's
    argument spec takes api_version (the API modules with their own default)."""
    validator = ArgumentSpecValidator(argument_spec(project_path=dict(type='path')))   # the doctor's
    result = validator.validate({'api_version': '62.0', 'username': 'u@acme.example'})
    assert result.error_messages == [] and result.validated_parameters['api_version'] == '62.0'
    assert argument_spec(api_version=dict(type='str', default='latest'))['api_version']['default'] == 'latest'
