# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The REST client of the API modules (module_utils/api/_api_module.api_client): the token given, or the auth core's session."""

from __future__ import annotations

import copy
import os

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _api_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._api_module import API_ARGUMENT_SPEC, api_client
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import ENV_PREFIX, argument_spec
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import (
    INSTANCE, INVALID_SESSION, NEW_TOKEN, TOKEN, FakeAuth, FakeHttp, FakeModule, bearer, make_response)

GIVEN_TOKEN = '00Dxx0000001gPL!AQ-given-token'
LIMITS = {'DailyApiRequests': {'Max': 15000, 'Remaining': 14998}}


class RecordingAuth(FakeAuth):
    """A FakeAuth that keeps the options each session was asked with."""

    def __init__(self):
        super().__init__()
        self.asked_with = []

    def get_session(self, options):
        self.asked_with.append(options)
        return super().get_session(options)


@pytest.fixture
def auth(monkeypatch):
    """The auth core api_client logs in with: no network, every call counted."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    fake = RecordingAuth()
    monkeypatch.setattr(_api_module, 'auth', fake)
    return fake


def module(**params):
    """A module whose params went through the API modules' argument spec (defaults included)."""
    extra = dict(propagation_timeout=dict(type='int')) if 'propagation_timeout' in params else {}
    spec = argument_spec(**copy.deepcopy(API_ARGUMENT_SPEC), **extra)
    return FakeModule.validated(spec, **params)


# ---------------------------------------------------------------- access_token + instance_url

def test_a_given_token_is_used_as_it_is_without_logging_in(auth):
    client = api_client(module(access_token=GIVEN_TOKEN, instance_url=' %s/ ' % INSTANCE, api_version='v62.0',
                               consumer_key='3MVG9key', username='u@acme.example'))
    assert auth.minted == 0
    assert client.credentials.access_token == GIVEN_TOKEN
    assert client.instance_url == INSTANCE
    assert client.credentials.renewable is False
    assert (client.requested_version, client.version) == ('62.0', '62.0')


def test_the_given_token_is_what_a_call_sends_to_the_instance(auth):
    client = api_client(module(access_token=GIVEN_TOKEN, instance_url=INSTANCE, api_version='62.0'))
    client.http = FakeHttp(make_response(200, LIMITS))
    answer = client.request('GET', 'limits', accepted=(200,))
    assert answer.json == LIMITS
    [call] = client.http.calls
    assert (call['method'], call['url'], bearer(call)) == ('GET', INSTANCE + '/services/data/v62.0/limits', GIVEN_TOKEN)
    assert auth.minted == 0


def test_a_rejected_given_token_is_not_renewed(auth):
    client = api_client(module(access_token=GIVEN_TOKEN, instance_url=INSTANCE, api_version='62.0'))
    client.http = FakeHttp(make_response(401, INVALID_SESSION))
    with pytest.raises(ApiError) as caught:
        client.request('GET', 'limits')
    assert str(caught.value).startswith('Salesforce rejected the access_token given (401 INVALID_SESSION_ID')
    assert caught.value.details == {'status': 401}
    assert len(client.http.calls) == 1
    assert (auth.minted, auth.invalidated) == (0, [])


def test_the_latest_api_version_is_left_to_discover(auth):
    client = api_client(module(access_token=GIVEN_TOKEN, instance_url=INSTANCE))
    assert (client.requested_version, client.version) == ('latest', None)


@pytest.mark.parametrize('instance_url, message', [
    ('http://acme.my.salesforce.com', "instance_url 'http://acme.my.salesforce.com' must be an https:// URL (the "
                                      "instance_url returned with the access token); Salesforce serves its API over HTTPS only."),
    ('https://acme.my.salesforce.com/services/data', "instance_url 'https://acme.my.salesforce.com/services/data' must be "
                                                     "the instance origin only (https://host), without a path."),
    ('   ', 'instance_url is empty: give the instance_url returned with the access token.'),
])
def test_a_given_token_with_an_unusable_instance_url_is_refused(auth, instance_url, message):
    with pytest.raises(InputError) as caught:
        api_client(module(access_token=GIVEN_TOKEN, instance_url=instance_url))
    assert str(caught.value) == message
    assert auth.minted == 0


def test_an_unusable_api_version_is_refused(auth):
    with pytest.raises(InputError) as caught:
        api_client(module(access_token=GIVEN_TOKEN, instance_url=INSTANCE, api_version='newest'))
    assert str(caught.value) == ("api_version 'newest' is not a Salesforce API version: use latest, or the form NN.N "
                                 "(for example 62.0).")


# ---------------------------------------------------------------- the auth core's session

def test_without_a_token_the_session_comes_from_the_auth_options(auth, tmp_path):
    given = module(consumer_key='3MVG9key', username='u@acme.example', private_key_path=str(tmp_path / 'server.key'),
                   login_url='https://test.salesforce.com', timeout=7, retries=1, validate_certs=True,
                   ca_path=str(tmp_path / 'ca.pem'), cache_ttl=120, cache_dir=str(tmp_path / 'cache'), api_version='61.0')
    client = api_client(given)
    [options] = auth.asked_with
    assert (options.consumer_key, options.username, options.private_key_path, options.login_url) == (
        '3MVG9key', 'u@acme.example', str(tmp_path / 'server.key'), 'https://test.salesforce.com')
    assert (options.timeout, options.retries, options.ca_path, options.cache, options.cache_ttl, options.cache_dir) == (
        7, 1, str(tmp_path / 'ca.pem'), True, 120, str(tmp_path / 'cache'))
    assert options.share_recent_refusals is True
    assert client.credentials.renewable is True
    assert (client.credentials.access_token, client.instance_url, client.version) == (TOKEN, INSTANCE, '61.0')


def test_the_session_is_renewed_once_when_salesforce_rejects_it(auth):
    client = api_client(module(consumer_key='3MVG9key', username='u@acme.example', api_version='62.0'))
    client.http = FakeHttp(make_response(401, INVALID_SESSION), make_response(200, LIMITS))
    assert client.request('GET', 'limits', accepted=(200,)).json == LIMITS
    assert [bearer(call) for call in client.http.calls] == [TOKEN, NEW_TOKEN]
    assert (auth.minted, auth.invalidated) == (2, [TOKEN])


def test_a_module_that_waits_for_propagation_asks_salesforce_each_time(auth):
    api_client(module(consumer_key='3MVG9key', username='u@acme.example', propagation_timeout=300))
    assert auth.asked_with[0].share_recent_refusals is False


def test_warnings_go_to_the_module(auth):
    given = module(consumer_key='3MVG9key', username='u@acme.example')
    client = api_client(given)
    client.warn('from the client')
    auth.asked_with[0].warn('from the auth core')
    assert given.warnings == ['from the client', 'from the auth core']


# ---------------------------------------------------------------- the HTTP session

@pytest.mark.parametrize('token', [GIVEN_TOKEN, None], ids=['given-token', 'session'])
def test_the_http_session_has_the_connection_options(auth, tmp_path, token):
    client = api_client(module(access_token=token, instance_url=INSTANCE if token else None, consumer_key='3MVG9key',
                               timeout=9, retries=2, ca_path=str(tmp_path / 'ca.pem')))
    assert (client.http.default_timeout, client.http.retries, client.http.verify) == (9, 2, str(tmp_path / 'ca.pem'))
    retry = client.http.get_adapter('https://acme.my.salesforce.com').max_retries
    assert retry.total == 2
    assert 'POST' not in retry.allowed_methods and 'PATCH' not in retry.allowed_methods
    assert {'GET', 'PUT', 'DELETE'} <= set(retry.allowed_methods)


def test_validate_certs_false_turns_verification_off(auth, tmp_path):
    client = api_client(module(access_token=GIVEN_TOKEN, instance_url=INSTANCE, validate_certs=False,
                               ca_path=str(tmp_path / 'ca.pem')))
    assert client.http.verify is False


def test_the_defaults_are_the_documented_ones(auth):
    client = api_client(module(access_token=GIVEN_TOKEN, instance_url=INSTANCE))
    assert (client.http.default_timeout, client.http.retries, client.http.verify) == (30, 3, True)
