# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Salesforce's own CLI (@salesforce/cli, pinned in sf_cli.py) works against the fake org as against Salesforce: the
fake org is only worth its tests while the real client accepts it.

The CLI is installed from the npm registry once into an ignored folder (sf_cli.installed_cli) and reused; without
Node, npm or the registry the test is skipped with the reason. Its state stays in the test's own HOME.

Steps, in one test because each needs the login before it (the fake_org fixture resets the org between tests):
org login jwt (the admin), org display, data query (Organization, User, a date literal), org assign permset.
"""

from __future__ import annotations

import datetime
import os
import time

import jwt
import pytest

from sf_cli import SF_CLI_VERSION, SfCli, installed_cli

# The CLI does not run Ansible: where the API modules run (SFJWT_TEST_IN_PROCESS) changes nothing for it.
pytestmark = pytest.mark.skipif(os.environ.get('SFJWT_TEST_IN_PROCESS', 'true') == 'false',
                                reason='the official CLI runs no Ansible module: once per core, with the default execution path')


@pytest.fixture(scope='module')
def sf_binary():
    return installed_cli()


def records(result) -> list:
    return [{k: v for k, v in record.items() if k != 'attributes'} for record in result['records']]


def test_official_cli_logs_in_displays_queries_and_assigns(sf_binary, fake_org_admin, tmp_path):
    org = fake_org_admin.org
    # The org's clock at noon of today (UTC), so that TODAY below holds even when the test runs across midnight.
    today = datetime.datetime.now(datetime.timezone.utc).date()
    org.clock_offset = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.timezone.utc).timestamp() - time.time()
    integration_id = org.add_user('integration@example.com', name='Jane Integration').user_id
    permission_set_id, _created = org.data.save_permission_set('SFJWT_Integration', label='SFJWT Integration')
    sf = SfCli(sf_binary, tmp_path / 'sf', org)
    started = time.monotonic()

    version = sf.run('version').answer   # `version --json` answers bare, without status and result
    assert version['cliVersion'] == '@salesforce/cli/' + SF_CLI_VERSION

    # -- org login jwt: the admin, with the admin app's key and consumer key -------------------------------
    login = sf.json('org', 'login', 'jwt', '--username', fake_org_admin.username, '--jwt-key-file', str(fake_org_admin.key_path),
                    '--client-id', fake_org_admin.consumer_key, '--instance-url', org.url, '--alias', 'admin')
    assert {k: login[k] for k in ('username', 'orgId', 'instanceUrl', 'loginUrl', 'clientId')} == {
        'username': 'admin@example.com', 'orgId': org.org_id, 'instanceUrl': org.url, 'loginUrl': org.url + '/',
        'clientId': fake_org_admin.consumer_key}
    token_posts = [entry for entry in org.received_log() if entry['path'] == '/services/oauth2/token']
    tried = [(entry['status'], jwt.decode(entry['form']['assertion'], options={'verify_signature': False})) for entry in token_posts]
    # The CLI tries the instance URL as the audience first (@salesforce/core getLoginAudienceCombos); the org wants
    # https://login.salesforce.com (a production org) and refuses it, as Salesforce does.
    assert [(status, claims['iss'], claims['sub'], claims['aud']) for status, claims in tried] == [
        (400, fake_org_admin.consumer_key, 'admin@example.com', org.url + '/'),
        (200, fake_org_admin.consumer_key, 'admin@example.com', 'https://login.salesforce.com')]

    # -- org display ----------------------------------------------------------------------------------------
    display = sf.json('org', 'display', '--target-org', 'admin')
    assert {k: display.get(k) for k in ('id', 'instanceUrl', 'username', 'clientId', 'alias', 'connectedStatus', 'apiVersion')} == {
        'id': org.org_id, 'instanceUrl': org.url, 'username': 'admin@example.com', 'clientId': fake_org_admin.consumer_key,
        'alias': 'admin', 'connectedStatus': 'Connected', 'apiVersion': '62.0'}
    assert display['accessToken'] in org.issued_access_tokens()

    # -- data query: the query, then query?columns=true for its columns --------------------------------------
    organization = sf.json('data', 'query', '--target-org', 'admin', '--query',
                           'SELECT Id, Name, InstanceName, IsSandbox, OrganizationType, TrialExpirationDate FROM Organization')
    assert (organization['totalSize'], organization['done']) == (1, True)
    assert records(organization) == [{'Id': org.org_id, 'Name': 'sfjwt fake org', 'InstanceName': 'NA1', 'IsSandbox': False,
                                      'OrganizationType': 'Enterprise Edition', 'TrialExpirationDate': None}]
    users = sf.json('data', 'query', '--target-org', 'admin', '--query',
                    'SELECT Username, Name, LastName, IsActive FROM User ORDER BY Username')
    assert records(users) == [
        {'Username': 'admin@example.com', 'Name': 'admin', 'LastName': 'admin', 'IsActive': True},
        {'Username': 'integration@example.com', 'Name': 'Jane Integration', 'LastName': 'Integration', 'IsActive': True}]
    # Users were made today (by the org's clock); none before the last seven days.
    made_today = sf.json('data', 'query', '--target-org', 'admin', '--query', 'SELECT Username FROM User WHERE CreatedDate = TODAY')
    assert sorted(r['Username'] for r in records(made_today)) == ['admin@example.com', 'integration@example.com']
    older = sf.json('data', 'query', '--target-org', 'admin', '--query',
                    'SELECT Username FROM User WHERE CreatedDate < LAST_N_DAYS:7')
    assert (older['totalSize'], older['records']) == (0, [])
    queries = [(entry['query'].get('q'), entry['query'].get('columns')) for entry in org.received_log()
               if entry['path'] == '/services/data/v62.0/query' and entry['status'] == 200]
    # The query, then its columns (what `data query` lays its table out with; none for an empty answer).
    assert [columns for q, columns in queries if q == 'SELECT Username FROM User WHERE CreatedDate = TODAY'] == [None, 'true']
    assert [columns for q, columns in queries if q == 'SELECT Username FROM User WHERE CreatedDate < LAST_N_DAYS:7'] == [None]

    # -- org assign permset -------------------------------------------------------------------------------
    assigned = sf.json('org', 'assign', 'permset', '--target-org', 'admin', '--name', 'SFJWT_Integration',
                       '--on-behalf-of', 'integration@example.com')
    assert assigned == {'successes': [{'name': 'integration@example.com', 'value': 'SFJWT_Integration'}], 'failures': []}
    assert org.data.permission_sets_of(integration_id) == {'SFJWT_Integration'}
    again = sf.run('org', 'assign', 'permset', '--target-org', 'admin', '--name', 'SFJWT_Integration',
                   '--on-behalf-of', 'integration@example.com')
    # Assigned already: the org's DUPLICATE_VALUE, passed on by the CLI as a failure of that user (exit 1).
    assert (again.rc, again.answer['status'], again.answer['result']) == (1, 1, {'successes': [], 'failures': [
        {'name': 'integration@example.com', 'message': 'Duplicate PermissionSetAssignment. Assignee: %s; Permission Set: %s'
         % (integration_id, permission_set_id)}]})

    # -- project deploy start / report: the SOAP Metadata API comes with its own change (issue 18, item 2) ---
    # Here: `sf project deploy start --source-dir <app_metadata project> --target-org admin` over SOAP, then over REST
    # (SF_ORG_METADATA_REST_DEPLOY=true), `sf project deploy report --job-id <id>`, and `org login jwt` as the deployed
    # app's integration user.

    # Seconds for every step after the install (the report of the change quotes it).
    print('official CLI steps: %.1f s' % (time.monotonic() - started))
