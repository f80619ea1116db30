# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the module_utils share (module_utils/core/_common): the session, the identity URL, the approval URL, times."""

from __future__ import annotations

import time

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import (
    SESSION_FIELDS, TokenSession, approval_url, iso_time, split_identity_url)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import INSTANCE, TOKEN

ID_URL = 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001Sv6eAAC'
CACHED = {'access_token': TOKEN, 'instance_url': INSTANCE, 'id': ID_URL, 'org_id': '00Dxx0000001gPLEAY',
          'user_id': '005xx000001Sv6eAAC', 'scope': 'api', 'token_type': 'Bearer', 'issued_at': '1704067200000'}


# ---------------------------------------------------------------- the session

def test_the_session_repr_never_shows_the_token_or_the_cache_key():
    session = TokenSession(access_token=TOKEN, instance_url=INSTANCE, cache_key='secret-cache-key')
    assert TOKEN not in repr(session)
    assert 'secret-cache-key' not in repr(session)
    assert INSTANCE in repr(session)


def test_the_result_has_every_session_field_and_from_cache():
    session = TokenSession.from_cache_entry(CACHED, from_cache=True)
    assert session.as_result() == dict(CACHED, from_cache=True)


def test_the_result_leaves_out_issued_at_when_salesforce_sent_none():
    session = TokenSession(access_token=TOKEN, instance_url=INSTANCE)
    assert session.as_result() == {'access_token': TOKEN, 'instance_url': INSTANCE, 'id': None, 'org_id': None,
                                   'user_id': None, 'scope': None, 'token_type': None, 'from_cache': False}


def test_the_cache_holds_the_session_fields_only():
    session = TokenSession.from_cache_entry(CACHED, extra={'api_version': '62.0'}, cache_key='k')
    assert session.to_cache() == CACHED
    assert set(session.to_cache()) == set(SESSION_FIELDS)


def test_a_session_read_from_the_cache_ignores_unknown_keys_and_misses_none():
    entry = dict(CACHED, refresh_token='never-kept', expires=1)
    del entry['scope']
    session = TokenSession.from_cache_entry(entry, extra={'api_version': '62.0'}, from_cache=False, cache_key='k')
    assert session.to_cache() == dict(CACHED, scope=None)
    assert (session.from_cache, session.extra, session.cache_key) == (False, {'api_version': '62.0'}, 'k')
    assert TokenSession.from_cache_entry(CACHED).from_cache is True


def test_the_extra_given_is_copied_not_shared():
    extra = {'api_version': '62.0'}
    session = TokenSession.from_cache_entry(CACHED, extra=extra)
    session.extra['api_version'] = '63.0'
    assert extra == {'api_version': '62.0'}
    assert TokenSession.from_cache_entry(CACHED).extra == {}


def test_sessions_compare_without_their_cache_key_and_extras_are_their_own():
    first = TokenSession.from_cache_entry(CACHED, cache_key='a')
    assert first == TokenSession.from_cache_entry(CACHED, cache_key='b')
    assert first != TokenSession.from_cache_entry(dict(CACHED, access_token='other'), cache_key='a')
    plain = TokenSession(access_token=TOKEN, instance_url=INSTANCE)
    plain.extra['x'] = 1
    assert TokenSession(access_token=TOKEN, instance_url=INSTANCE).extra == {}


# ---------------------------------------------------------------- the identity URL

@pytest.mark.parametrize('url, ids', [
    (ID_URL, ('00Dxx0000001gPLEAY', '005xx000001Sv6eAAC')),
    (ID_URL + '/', ('00Dxx0000001gPLEAY', '005xx000001Sv6eAAC')),
    ('https://test.salesforce.com//id//00D//005?x=1#y', ('00D', '005')),
    ('https://login.salesforce.com/id/00D', ('id', '00D')),
    ('https://login.salesforce.com/00D', (None, None)),
    ('https://login.salesforce.com/', (None, None)),
    ('', (None, None)),
    (None, (None, None)),
])
def test_split_identity_url_gives_the_last_two_path_segments(url, ids):
    assert split_identity_url(url) == ids


@pytest.mark.parametrize('url', ['https://[x/id/00D/005', 'https://[zz]/id/00D/005'])
def test_split_identity_url_of_a_malformed_url_does_not_raise(url):
    assert split_identity_url(url) in (('00D', '005'), (None, None))


# ---------------------------------------------------------------- the approval URL

def test_approval_url_with_the_callback_url():
    assert approval_url('https://acme.my.salesforce.com/', '3MVG9key', 'https://localhost:1717/OauthRedirect') == (
        'https://acme.my.salesforce.com/services/oauth2/authorize?response_type=code&client_id=3MVG9key'
        '&redirect_uri=https%3A%2F%2Flocalhost%3A1717%2FOauthRedirect')


def test_approval_url_without_a_callback_url_names_the_placeholder():
    assert approval_url('https://login.salesforce.com', '3MVG9key') == (
        'https://login.salesforce.com/services/oauth2/authorize?response_type=code&client_id=3MVG9key'
        '&redirect_uri=<callback URL>')


def test_approval_url_quotes_a_consumer_key_that_would_add_parameters():
    url = approval_url('https://login.salesforce.com', 'key&redirect_uri=https://evil.example/#x y', 'https://cb/?a=1&b=2')
    assert url == ('https://login.salesforce.com/services/oauth2/authorize?response_type=code'
                   '&client_id=key%26redirect_uri%3Dhttps%3A%2F%2Fevil.example%2F%23x%20y'
                   '&redirect_uri=https%3A%2F%2Fcb%2F%3Fa%3D1%26b%3D2')
    assert url.count('&') == 2


def test_approval_url_without_a_login_url_or_key_still_is_text():
    assert approval_url(None, None) == '/services/oauth2/authorize?response_type=code&client_id=&redirect_uri=<callback URL>'


# ---------------------------------------------------------------- times

@pytest.mark.parametrize('timestamp, text', [
    (0, '1970-01-01T00:00:00Z'),
    (1704067200, '2024-01-01T00:00:00Z'),
    (1704067199.999, '2023-12-31T23:59:59Z'),
    (253402300799, '9999-12-31T23:59:59Z'),
    (-1, '1969-12-31T23:59:59Z'),
])
@pytest.mark.parametrize('zone', ['UTC', 'Asia/Kolkata', 'America/Los_Angeles'])
def test_iso_time_is_utc_to_the_second_whatever_the_local_zone(monkeypatch, zone, timestamp, text):
    monkeypatch.setenv('TZ', zone)
    time.tzset()
    try:
        assert iso_time(timestamp) == text
    finally:
        monkeypatch.undo()
        time.tzset()
