# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The token lookup, loaded through ansible-core's plugin loader (so its documented options are its config)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar
from ansible.utils.collection_loader import AnsibleCollectionConfig

try:  # ansible-core 2.19+ templates only strings marked as coming from a trusted source, as playbook variables are
    from ansible.template import trust_as_template as trusted
except ImportError:  # ansible-core 2.16 templates every string
    def trusted(value):
        return value

from ansible_collections.sfjwt.salesforce.plugins.lookup import token as token_lookup
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _auth
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import TokenSession
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.auth_helpers import refusal
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import FakeHttp

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))

SESSION = TokenSession(access_token='00DLOOKUP!token', instance_url='https://acme.my.salesforce.com',
                       id='https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6eAAC', org_id='00Dxx0000001gPLEAY',
                       user_id='005xx000001Sv6eAAC', scope='api', token_type='Bearer', from_cache=True)


@pytest.fixture(scope='module', autouse=True)
def collection_loader():
    """The plugin loader needs ansible-core's collection finder, which ansible-test units installs before importing tests
    (with plain pytest: -p ansible_test._util.target.pytest.plugins.ansible_pytest_collections)."""
    assert AnsibleCollectionConfig.collection_finder is not None, 'run under ansible-test units (collection finder missing)'


@pytest.fixture(autouse=True)
def fresh_options_memo():
    token_lookup._OPTIONS_MEMO.clear()
    yield
    token_lookup._OPTIONS_MEMO.clear()


@pytest.fixture(autouse=True)
def no_sfjwt_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith('SFJWT_'):
            monkeypatch.delenv(name)


@pytest.fixture
def seen(monkeypatch):
    """Replace the auth core: record the options the lookup built, answer with SESSION."""
    calls = []

    def fake_get_session(options):
        calls.append(options)
        return SESSION

    monkeypatch.setattr(token_lookup, 'get_session', fake_get_session)
    return calls


def load(name):
    loader = DataLoader()
    plugin = lookup_loader.get(name, loader=loader, templar=Templar(loader=loader))
    assert plugin is not None, name
    return plugin


@pytest.fixture
def lookup():
    return load('sfjwt.salesforce.token')


def test_returns_the_access_token(lookup, seen):
    assert lookup.run([], variables={}, consumer_key='CK', username='u@acme.example') == ['00DLOOKUP!token']
    [options] = seen
    assert (options.consumer_key, options.username, options.login_url, options.cache, options.cache_ttl, options.timeout) == (
        'CK', 'u@acme.example', 'https://login.salesforce.com', True, 600, 30)


def test_output_choices(lookup, seen):
    assert lookup.run([], variables={}, output='instance_url') == ['https://acme.my.salesforce.com']
    assert lookup.run([], variables={}, output='session') == [SESSION.as_result()]
    with pytest.raises(Exception) as caught:
        lookup.run([], variables={}, output='refresh_token')
    assert 'refresh_token' in str(caught.value)


def test_option_sources_and_precedence(lookup, seen, monkeypatch):
    monkeypatch.setenv('SFJWT_CONSUMER_KEY', 'EnvKey')
    monkeypatch.setenv('SFJWT_USERNAME', 'env@acme.example')
    monkeypatch.setenv('SFJWT_LOGIN_URL', 'https://env.my.salesforce.com')
    monkeypatch.setenv('SFJWT_PRIVATE_KEY_PASSPHRASE', 'env-phrase')
    monkeypatch.setenv('SFJWT_CACHE_TTL', '300')
    monkeypatch.setenv('SFJWT_VALIDATE_CERTS', 'false')
    variables = {'sfjwt_username': 'vars@acme.example', 'sfjwt_login_url': 'https://vars.my.salesforce.com',
                 'sfjwt_private_key_path': '/vars/server.key', 'sfjwt_retries': 1}
    lookup.run([], variables=variables, login_url='https://direct.my.salesforce.com')
    [options] = seen
    assert options.login_url == 'https://direct.my.salesforce.com'   # keyword wins
    assert options.username == 'vars@acme.example'                   # then variables
    assert options.consumer_key == 'EnvKey'                          # then environment
    assert options.private_key_path == '/vars/server.key'
    assert options.private_key_passphrase == 'env-phrase'
    assert (options.cache_ttl, options.validate_certs, options.retries) == (300, False, 1)


def test_every_option_has_env_and_vars(lookup):
    from ansible import constants as C
    definitions = C.config.get_configuration_definitions('lookup', lookup._load_name)
    from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import OPTION_NAMES
    for name in OPTION_NAMES:
        assert definitions[name]['env'] == [{'name': 'SFJWT_' + name.upper()}], name
        assert definitions[name]['vars'] == [{'name': 'sfjwt_' + name}], name
    assert definitions['output']['default'] == 'access_token'


def test_terms_are_refused(lookup, seen):
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run(['something'], variables={})
    assert str(caught.value) == ('The sfjwt.salesforce.token lookup takes no positional terms; give options as keywords, for '
                                 'example lookup("sfjwt.salesforce.token", username="integration@acme.com").')
    assert seen == []


def test_auth_error_becomes_lookup_error(lookup, monkeypatch):
    def refuse(options):
        raise AuthError('User u has not approved the app.')
    monkeypatch.setattr(token_lookup, 'get_session', refuse)
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([], variables={})
    assert str(caught.value) == 'User u has not approved the app.'


def test_unknown_keywords_are_refused_by_name(lookup, seen):
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([], variables={}, bogus=1, private_key_pasphrase='s3cret-phrase', username='u@acme.example')
    assert str(caught.value) == (
        'The sfjwt.salesforce.token lookup has no option bogus, private_key_pasphrase. Check the spelling; its options are: '
        'audience, ca_path, cache, cache_dir, cache_ttl, certificate_path, consumer_key, login_url, output, private_key, '
        'private_key_passphrase, private_key_path, retries, timeout, username, validate_certs.')
    assert 's3cret-phrase' not in str(caught.value)
    assert seen == []


def test_salesforce_words_in_a_refusal_reach_the_lookup_error_escaped(lookup, monkeypatch, tmp_path):
    """The lookup's error is the auth core's message for a real refusal, Salesforce's words escaped."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = tmp_path / 'server.key'
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    answer = refusal('invalid_grant', 'nope\x1b[2J\x1b]0;owned\x07\r\nok: [localhost]\x9b\u202e')

    def get_session_answered_by_a_fake_salesforce(options):
        options.http = FakeHttp(answer)
        return _auth.get_session(options)
    monkeypatch.setattr(token_lookup, 'get_session', get_session_answered_by_a_fake_salesforce)
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([], variables={}, consumer_key='CK', username='u@acme.example', private_key_path=str(key_path),
                   cache=False)
    assert str(caught.value) == (
        'Salesforce at https://login.salesforce.com refused the token request for user u@acme.example and consumer key CK '
        'with HTTP 400 (invalid_grant: nope\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aok: [localhost]\\x9b\\u202e). The '
        'assertion was sent to the token host https://login.salesforce.com with the audience https://login.salesforce.com '
        '(derived from login_url).')


def test_short_name_from_lookup_plugins_directory(seen):
    """lookup('sfjwt.token') resolves by file name in a lookup_plugins directory and is the same lookup."""
    lookup_loader.add_directory(os.path.join(COLLECTION_ROOT, 'playbooks', 'lookup_plugins'))
    short = load('sfjwt.token')
    assert type(short).__name__ == 'LookupModule' and isinstance(short, token_lookup.LookupModule)
    assert short.run([], variables={'sfjwt_consumer_key': 'VarsKey'}, output='instance_url') == ['https://acme.my.salesforce.com']
    assert seen[0].consumer_key == 'VarsKey'


# ---------------------------------------------------------------- calls after the first, in one process

def count_set_options(monkeypatch, lookup):
    calls = []
    original = lookup.set_options

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)
    monkeypatch.setattr(lookup, 'set_options', counting)
    return calls


def test_the_same_call_again_skips_resolving_the_options(lookup, seen, monkeypatch):
    resolved = count_set_options(monkeypatch, lookup)
    variables = {'sfjwt_consumer_key': 'CK', 'sfjwt_username': 'u@acme.example'}
    for dummy in range(3):
        assert lookup.run([], variables=variables, output='instance_url') == ['https://acme.my.salesforce.com']
    assert len(resolved) == 1 and len(seen) == 3 and seen[0] is seen[2]


def test_other_keywords_variables_or_environment_are_resolved_anew(lookup, seen, monkeypatch):
    resolved = count_set_options(monkeypatch, lookup)
    lookup.run([], variables={'sfjwt_username': 'a@acme.example'}, consumer_key='CK')
    lookup.run([], variables={'sfjwt_username': 'b@acme.example'}, consumer_key='CK')
    lookup.run([], variables={'sfjwt_username': 'b@acme.example'}, consumer_key='CK2')
    monkeypatch.setenv('SFJWT_PRIVATE_KEY_PASSPHRASE', 'another')
    lookup.run([], variables={'sfjwt_username': 'b@acme.example'}, consumer_key='CK2')
    assert len(resolved) == 4
    assert [(options.username, options.consumer_key) for options in seen] == [
        ('a@acme.example', 'CK'), ('b@acme.example', 'CK'), ('b@acme.example', 'CK2'), ('b@acme.example', 'CK2')]
    assert seen[-1].private_key_passphrase == 'another'


def test_a_variable_holding_a_template_is_resolved_every_time(lookup, seen, monkeypatch):
    # "{{ item }}" reads the same each time but may mean another user at every loop item.
    resolved = count_set_options(monkeypatch, lookup)
    for user in ('a@acme.example', 'b@acme.example'):
        lookup._templar.available_variables = {'who': user}
        lookup.run([], variables={'sfjwt_username': trusted('{{ who }}'), 'who': user}, consumer_key='CK')
    assert len(resolved) == 2
    assert [options.username for options in seen] == ['a@acme.example', 'b@acme.example']
