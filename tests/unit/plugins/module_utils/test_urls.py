# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What messages show of a URL and of a value (module_utils/core/_urls): never a path, a query, a credential or the value."""

from __future__ import annotations

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import json_type, url_origin, without_userinfo


# ---------------------------------------------------------------- url_origin

@pytest.mark.parametrize('url, origin', [
    ('https://acme.my.salesforce.com/services/oauth2/token?secret=x#frag', 'https://acme.my.salesforce.com'),
    ('https://user:p%40ss@acme.my.salesforce.com:8443/x', 'https://acme.my.salesforce.com:8443'),
    ('HTTPS://ACME.My.Salesforce.com:443/x', 'https://acme.my.salesforce.com'),
    ('http://proxy.example:80/', 'http://proxy.example'),
    ('http://proxy.example:443/', 'http://proxy.example:443'),
    ('https://proxy.example:80/', 'https://proxy.example:80'),
    ('https://[::1]:9/x', 'https://[::1]:9'),
    ('https://[2001:DB8::1]/x', 'https://[2001:db8::1]'),
    ('//acme.my.salesforce.com/path', 'https://acme.my.salesforce.com'),
    ('socks5://proxy.example:1080', 'socks5://proxy.example:1080'),
    ('', 'https://'),
])
def test_url_origin_is_scheme_host_and_a_port_that_is_not_the_default(url, origin):
    assert url_origin(url) == origin


@pytest.mark.parametrize('url', [
    'https://user:hunter2@host/p?token=00Dxx!AQ#hunter2',
    'https://hunter2@host/',
    'https://host/services/data?access_token=hunter2',
])
def test_url_origin_never_shows_a_credential_path_or_query(url):
    origin = url_origin(url)
    assert origin == 'https://host'
    assert 'hunter2' not in origin


@pytest.mark.parametrize('url', ['https://host:99999/', 'https://host:abc/', 'https://[::1/', 'https://[not-an-ip]/'])
def test_url_origin_of_a_malformed_url_does_not_raise(url):
    assert isinstance(url_origin(url), str)


# ---------------------------------------------------------------- json_type

@pytest.mark.parametrize('value, name', [
    (None, 'null'),
    (True, 'a boolean'),
    (False, 'a boolean'),
    (0, 'a number'),
    (-1.5, 'a number'),
    (float('nan'), 'a number'),
    ('00Dxx!AQ-secret', 'a string'),
    ('', 'a string'),
    ([], 'a list'),
    ([1], 'a list'),
    ({}, 'an object'),
    ({'access_token': 'x'}, 'an object'),
    (b'bytes', 'a bytes'),
    ((1, 2), 'a tuple'),
    (object(), 'a object'),
])
def test_json_type_names_the_type_never_the_value(value, name):
    assert json_type(value) == name


# ---------------------------------------------------------------- without_userinfo

@pytest.mark.parametrize('url, shown', [
    ('https://user:pw@host/path', ('https://host/path', True)),
    ('https://user:p/ss?w#rd@host:8443/x', ('https://host:8443/x', True)),
    ('https://u@s:p@ss@host/', ('https://host/', True)),
    ('http://proxy-user:secret@proxy.example:3128', ('http://proxy.example:3128', True)),
    ('user:pw@host', ('host', True)),
    ('https://host/path@version', ('https://version', True)),
    ('https://host/path', ('https://host/path', False)),
    ('', ('', False)),
])
def test_without_userinfo_drops_everything_up_to_the_last_at(url, shown):
    assert without_userinfo(url) == shown


@pytest.mark.parametrize('value', [None, 42, b'https://user:pw@host', ['https://user:pw@host']])
def test_without_userinfo_leaves_what_is_not_a_string_alone(value):
    assert without_userinfo(value) == (value, False)
