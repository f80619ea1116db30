# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the collection knows about Salesforce (module_utils/core/_salesforce_facts): API versions, host kinds and audiences,
the table of login refusals."""

from __future__ import annotations

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _salesforce_facts as facts


# ---------------------------------------------------------------- API versions

@pytest.mark.parametrize('text, version', [
    ('62.0', (62, 0)), ('v62.0', (62, 0)), ('V59.0', (59, 0)), (' 62.0 ', (62, 0)), ('100.0', (100, 0)), ('20.0', (20, 0)),
    ('9.0', None), ('62', None), ('62.10', None), ('062.0', None), ('62.0\n', (62, 0)), ('62.0\nx', None), ('6 2.0', None),
    ('', None), (None, None), (62.0, None), (['62.0'], None), ('1000.0', None), ('latest', None),
])
def test_parse_api_version(text, version):
    assert facts.parse_api_version(text) == version


def test_latest_api_version_compares_numerically_and_skips_what_is_not_a_version():
    assert facts.latest_api_version(['9.0', '100.0', '62.0', None, 61.0, 'v99.0', 'x']) == '100.0'
    assert facts.latest_api_version(['59.0', '62.0', '60.0']) == '62.0'
    assert facts.latest_api_version([None, {}, 'latest']) is None
    assert facts.latest_api_version([]) is None
    assert facts.format_api_version((62, 0)) == '62.0'


# ---------------------------------------------------------------- token hosts and audiences

@pytest.mark.parametrize('host, kind, audience', [
    ('login.salesforce.com', 'the production login host', facts.PRODUCTION_AUDIENCE),
    ('LOGIN.Salesforce.COM.', 'the production login host', facts.PRODUCTION_AUDIENCE),
    ('test.salesforce.com', 'the sandbox login host', facts.SANDBOX_AUDIENCE),
    ('Test.Salesforce.com.', 'the sandbox login host', facts.SANDBOX_AUDIENCE),
    ('acme--uat.sandbox.my.salesforce.com', 'a sandbox My Domain', facts.SANDBOX_AUDIENCE),
    ('ACME--UAT.SANDBOX.MY.SALESFORCE.COM.', 'a sandbox My Domain', facts.SANDBOX_AUDIENCE),
    ('acme.my.salesforce.com', 'a production My Domain', facts.PRODUCTION_AUDIENCE),
    ('Acme.My.Salesforce.com.', 'a production My Domain', facts.PRODUCTION_AUDIENCE),
    ('acme.my.site.com', 'an Experience Cloud site', facts.EXPERIENCE_CLOUD_AUDIENCE),
    ('acme.force.com', 'an Experience Cloud site', facts.EXPERIENCE_CLOUD_AUDIENCE),
    ('ACME.FORCE.COM.', 'an Experience Cloud site', facts.EXPERIENCE_CLOUD_AUDIENCE),
    ('acme.my.salesforce.mil', 'a Government Cloud host', None),
    ('acme.my.salesforce-gov.com', 'a Government Cloud host', None),
    ('acme.my.salesforce.us', 'a Government Cloud host', None),
    ('sandbox.my.salesforce.com.evil.example', 'not a Salesforce host name (a test server, proxy or custom domain)', None),
    ('login.salesforce.com.evil.example', 'not a Salesforce host name (a test server, proxy or custom domain)', None),
    ('localhost', 'not a Salesforce host name (a test server, proxy or custom domain)', None),
    ('::1', 'not a Salesforce host name (a test server, proxy or custom domain)', None),
    ('', 'not a Salesforce host name (a test server, proxy or custom domain)', None),
    (None, 'not a Salesforce host name (a test server, proxy or custom domain)', None),
])
def test_host_kind(host, kind, audience):
    assert facts.host_kind(host) == (kind, audience)


@pytest.mark.parametrize('login_url, audience', [
    ('https://login.salesforce.com', 'https://login.salesforce.com'),
    ('https://test.salesforce.com', 'https://test.salesforce.com'),
    ('https://TEST.salesforce.com/', 'https://test.salesforce.com'),
    ('https://acme--uat.sandbox.my.salesforce.com', 'https://test.salesforce.com'),
    ('https://acme.my.salesforce.com', 'https://login.salesforce.com'),
    ('https://acme.my.site.com', 'https://login.salesforce.com'),
    ('https://sandbox.my.salesforce.com.evil.example', 'https://login.salesforce.com'),
])
def test_default_audience(login_url, audience):
    assert facts.default_audience(login_url) == audience


# ---------------------------------------------------------------- login refusals

@pytest.mark.parametrize('error, description, code, awaits_propagation', [
    ('invalid_grant', 'LOGIN_RATE_EXCEEDED', 'rate_limit', False),
    ('invalid_client_id', 'client identifier invalid', 'unknown_consumer_key', True),
    ('invalid_client_id', None, 'unknown_consumer_key', True),
    ('invalid_client', 'client identifier invalid', 'unknown_consumer_key', True),
    ('invalid_app_access', 'user is not admin approved to access this app', 'not_admin_approved', False),
    ('INVALID_APP_ACCESS', None, 'not_admin_approved', False),
    ('invalid_grant', "user hasn't approved this consumer", 'not_approved', False),
    ('invalid_grant', 'audience is invalid', 'audience', False),
    ('invalid_grant', 'invalid assertion', 'invalid_assertion', True),
    ('invalid_grant', 'expired authorization code', 'expired_assertion', False),
    ('invalid_grant', 'ip restricted', 'ip_restricted', False),
    ('invalid_grant', 'IP restriction on this user', 'ip_restricted', False),
    ('invalid_grant', 'inactive user', 'inactive_user', False),
    ('invalid_grant', 'inactive org', 'inactive_org', False),
    ('invalid_grant', 'something new', None, None),
    (None, None, None, None),
])
def test_login_refusal(error, description, code, awaits_propagation):
    refusal = facts.login_refusal(error, description)
    assert (refusal.code, refusal.awaits_propagation) == (code, awaits_propagation) if code else refusal is None


def test_every_refusal_code_is_one_of_a_kind_and_is_matched():
    codes = [refusal.code for refusal in facts.LOGIN_REFUSALS]
    assert len(codes) == len(set(codes))
    assert all(refusal.errors or refusal.texts for refusal in facts.LOGIN_REFUSALS)


@pytest.mark.parametrize('status, error, final', [
    (400, 'invalid_grant', True), (400, 'INVALID_CLIENT_ID', True), (401, 'invalid_client', True),
    (400, 'invalid_app_access', True), (429, 'invalid_grant', False), (500, 'invalid_grant', False),
    (400, 'unknown_error', False), (None, 'invalid_grant', False), ('400', 'invalid_grant', False), (True, 'invalid_grant', False),
])
def test_is_final_refusal(status, error, final):
    assert facts.is_final_refusal(status, error) is final


@pytest.mark.parametrize('org_id, expected', [
    ('00Dxx0000001gPL', '00Dxx0000001gPLEAY'), ('00D5g000004ABCD', '00D5g000004ABCDEA4'), ('001000000000000', '001000000000000AAA'),
    ('00DXXXXXXXXXXXX', '00DXXXXXXXXXXXX255'), ('00Dxx0000001gPLEAY', '00Dxx0000001gPLEAY'),
])
def test_ids_are_given_with_their_case_safe_suffix(org_id, expected):
    assert facts.id18(org_id) == expected


@pytest.mark.parametrize('token, org_id', [
    ('00Dxx0000001gPL!AQ.rest', '00Dxx0000001gPL'), ('00Dxx0000001gPLEAY!x', '00Dxx0000001gPLEAY'),
    ('opaque-token', None), ('00Dxx0000001gP!x', None), ('', None), (None, None),
])
def test_the_org_id_a_token_starts_with(token, org_id):
    assert facts.org_id_from_token(token) == org_id
