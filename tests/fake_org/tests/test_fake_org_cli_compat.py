# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the official Salesforce CLI (@salesforce/cli) reads from the REST API, answered as Salesforce does:
`query?q=...&columns=true` (columnMetadata, what `sf data query` lays its table out with), the Organization and User
fields the CLI queries after a login, the audit fields (CreatedDate, LastModifiedDate, SystemModstamp) of every
sObject, and the SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_MONTH...).

Plain HTTP clients (requests); no Ansible. Fixtures come from fake_org.pytest_plugin (through conftest.py).
"""

from __future__ import annotations

import datetime

import pytest
import requests

API = '/services/data/v62.0'
SETTING = 'Integration_Setting__c'
UTC = datetime.timezone.utc
# The org's clock in the date literal tests: noon on a leap-year Friday, so that month and year edges are near.
NOON = datetime.datetime(2024, 3, 15, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def api(fake_org_app):
    org = fake_org_app.org
    response = requests.post(org.url + '/services/oauth2/token', verify=org.ca_path, timeout=10,
                             data={'grant_type': 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'assertion': fake_org_app.assertion()})
    assert response.status_code == 200, response.text
    session = requests.Session()
    session.headers['Authorization'] = 'Bearer ' + response.json()['access_token']

    def get(path, **params):
        return session.get(org.url + API + path, params=params, verify=org.ca_path, timeout=10)
    get.org = org
    get.user_id = response.json()['id'].rsplit('/', 1)[1]
    yield get
    session.close()


def rows(api, soql):
    response = api('/query', q=soql)
    assert response.status_code == 200, response.text
    return [{k: v for k, v in record.items() if k != 'attributes'} for record in response.json()['records']]


def set_clock(org, moment: datetime.datetime) -> None:
    org.clock_offset = moment.timestamp() - datetime.datetime.now(UTC).timestamp()


def column(name, apex_type, insertable=False, updatable=False, custom=False, text=False, number=False, boolean=False):
    return {'aggregate': False, 'apexType': apex_type, 'booleanType': boolean, 'columnName': name, 'custom': custom,
            'displayName': name, 'foreignKeyName': None, 'insertable': insertable, 'joinColumns': [], 'numberType': number,
            'textType': text, 'updatable': updatable}


# -- columns=true ------------------------------------------------------------------------------------


def test_columns_true_answers_the_column_metadata_not_the_records(api):
    response = api('/query', q="SELECT Id, Name, AnnualRevenue, NumberOfEmployees, Legacy_Id__c, CreatedDate FROM Account "
                               "WHERE CreatedDate = LAST_N_DAYS:7 LIMIT 5", columns='true')
    assert response.status_code == 200, response.text
    assert response.json() == {
        'columnMetadata': [
            column('Id', 'Id'),
            column('Name', 'String', insertable=True, updatable=True, text=True),
            column('AnnualRevenue', 'Decimal', insertable=True, updatable=True, number=True),
            column('NumberOfEmployees', 'Integer', insertable=True, updatable=True, number=True),
            column('Legacy_Id__c', 'String', insertable=True, updatable=True, custom=True, text=True),
            column('CreatedDate', 'Datetime'),
        ],
        'entityName': 'Account', 'groupBy': False, 'idSelected': True, 'keyPrefix': '001'}

    enabled = api('/queryAll', q='select enabled__c, effective_date__c from integration_setting__c', columns='true').json()
    assert enabled == {'columnMetadata': [column('Enabled__c', 'Boolean', True, True, custom=True, boolean=True),
                                          column('Effective_Date__c', 'Date', True, True, custom=True)],
                       'entityName': SETTING, 'groupBy': False, 'idSelected': False, 'keyPrefix': 'a0B'}
    assert api('/query', q='SELECT COUNT() FROM Account', columns='true').json() == {
        'columnMetadata': [], 'entityName': 'Account', 'groupBy': False, 'idSelected': False, 'keyPrefix': '001'}


@pytest.mark.parametrize('soql, status, body', [
    ('SELECT Id, Nmae FROM Account', 400, [{'message': "No such column 'Nmae' on entity 'Account'. If you are attempting to use a custom "
                                                       "field, be sure to append the '__c' after the custom field name.",
                                            'errorCode': 'INVALID_FIELD'}]),
    ('SELECT Id FROM Account WHERE Name = TODAY', 400, [{'message': "value of filter criterion for field 'Name' must be of type string "
                                                                    "and should be enclosed in quotes", 'errorCode': 'INVALID_FIELD'}]),
    ('SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS', 400, [{'message': "unexpected token: 'LAST_N_DAYS', expected a value",
                                                                      'errorCode': 'MALFORMED_QUERY'}]),
])
def test_columns_true_checks_the_query_as_running_it_does(api, soql, status, body):
    for columns in ('true', None):
        response = api('/query', q=soql, columns=columns)
        assert (response.status_code, response.json()) == (status, body)


# -- what the CLI reads after a login ------------------------------------------------------------------


def test_organization_answers_the_fields_the_cli_reads_after_a_login(api):
    # @salesforce/core determineOrg, word for word.
    (organization,) = rows(api, 'SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization')
    assert organization == {'Name': 'sfjwt fake org', 'InstanceName': 'NA1', 'IsSandbox': False, 'TrialExpirationDate': None,
                            'NamespacePrefix': None, 'OrganizationType': 'Enterprise Edition'}
    (more,) = rows(api, 'SELECT Id, Country, DefaultLocaleSidKey, LanguageLocaleKey, TimeZoneSidKey, Division FROM Organization')
    assert more == {'Id': api.org.org_id, 'Country': 'US', 'DefaultLocaleSidKey': 'en_US', 'LanguageLocaleKey': 'en_US',
                    'TimeZoneSidKey': 'GMT', 'Division': None}


def test_user_answers_the_fields_the_cli_reads(api):
    api.org.add_user('jane.q.public@example.com', name='Jane Q Public')
    # @salesforce/core User REQUIRED_FIELDS, as the CLI words the query.
    fields = 'Id, Username, LastName, Alias, TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, ProfileId, LanguageLocaleKey, Email'
    (jane,) = rows(api, "SELECT %s, FirstName, Name FROM User WHERE Username='jane.q.public@example.com'" % fields)
    (integration,) = rows(api, "SELECT %s, FirstName, Name FROM User WHERE Id = '%s'" % (fields, api.user_id))
    profile_id = jane['ProfileId']
    assert profile_id.startswith('00e') and len(profile_id) == 18
    assert jane == {'Id': jane['Id'], 'Username': 'jane.q.public@example.com', 'LastName': 'Public', 'Alias': 'jane.q.p',
                    'TimeZoneSidKey': 'GMT', 'LocaleSidKey': 'en_US', 'EmailEncodingKey': 'UTF-8', 'ProfileId': profile_id,
                    'LanguageLocaleKey': 'en_US', 'Email': 'jane.q.public@example.com', 'FirstName': 'Jane Q', 'Name': 'Jane Q Public'}
    assert integration == dict(jane, Id=api.user_id, Username='integration@example.com', LastName='integration', Alias='integrat',
                               Email='integration@example.com', FirstName=None, Name='integration')


# -- audit fields ---------------------------------------------------------------------------------------


@pytest.mark.parametrize('sobject', ['Account', SETTING, 'User', 'PermissionSet', 'PermissionSetAssignment', 'Organization'])
def test_every_sobject_has_the_audit_fields(api, sobject):
    described = api('/sobjects/%s/describe' % sobject).json()
    audit = [f for f in described['fields'] if f['name'] in ('CreatedDate', 'LastModifiedDate', 'SystemModstamp')]
    assert [(f['name'], f['type'], f['createable'], f['updateable'], f['nillable']) for f in audit] == [
        ('CreatedDate', 'datetime', False, False, False), ('LastModifiedDate', 'datetime', False, False, False),
        ('SystemModstamp', 'datetime', False, False, False)]
    if sobject != SETTING:   # it starts empty
        (record,) = rows(api, 'SELECT CreatedDate, LastModifiedDate, SystemModstamp FROM %s LIMIT 1' % sobject)
        assert record['CreatedDate'] <= record['LastModifiedDate'] == record['SystemModstamp']


def test_create_and_update_set_the_audit_fields_by_the_org_clock(api, fake_org_app):
    org = api.org
    session = {'Authorization': 'Bearer ' + requests.post(org.url + '/services/oauth2/token', verify=org.ca_path, timeout=10, data={
        'grant_type': 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'assertion': fake_org_app.assertion()}).json()['access_token']}
    set_clock(org, NOON)
    created = requests.post(org.url + API + '/sobjects/' + SETTING, json={'Name': 'a', 'Key__c': 'a'}, headers=session,
                            verify=org.ca_path, timeout=10)
    assert created.status_code == 201, created.text
    record_id = created.json()['id']
    (first,) = rows(api, "SELECT CreatedDate, LastModifiedDate, SystemModstamp FROM %s WHERE Id = '%s'" % (SETTING, record_id))
    assert first['CreatedDate'] == first['LastModifiedDate'] == first['SystemModstamp']
    assert first['CreatedDate'][:19] == '2024-03-15T12:00:00' and first['CreatedDate'].endswith('+0000')

    set_clock(org, NOON + datetime.timedelta(days=1, hours=2))
    updated = requests.patch(org.url + API + '/sobjects/%s/%s' % (SETTING, record_id), json={'Value__c': 'v'}, headers=session,
                             verify=org.ca_path, timeout=10)
    assert updated.status_code == 204, updated.text
    (second,) = rows(api, "SELECT CreatedDate, LastModifiedDate, SystemModstamp FROM %s WHERE Id = '%s'" % (SETTING, record_id))
    assert second['CreatedDate'] == first['CreatedDate']
    assert second['LastModifiedDate'] == second['SystemModstamp'] and second['LastModifiedDate'][:19] == '2024-03-16T14:00:00'


# -- date literals -------------------------------------------------------------------------------------

# Effective_Date__c of each record (key: the day it holds); the org's today is 2024-03-15.
DAYS = ['2023-12-31', '2024-01-01', '2024-02-29', '2024-03-01', '2024-03-07', '2024-03-08', '2024-03-14', '2024-03-15',
        '2024-03-16', '2024-03-17', '2024-03-31', '2024-04-01', '2025-01-01']


@pytest.fixture
def dated(api):
    """One record per day of DAYS, each also created on that day at 23:59:59 UTC (CreatedDate), or at 00:00:00 for
    keys ending in '@0'; the org's clock at NOON of 2024-03-15 afterwards."""
    org = api.org
    for day in DAYS:
        for suffix, time_of_day in (('', datetime.time(23, 59, 59)), ('@0', datetime.time(0, 0, 0))):
            set_clock(org, datetime.datetime.combine(datetime.date.fromisoformat(day), time_of_day, tzinfo=UTC))
            org.add_records(SETTING, [{'Name': day + suffix, 'Key__c': day + suffix, 'Effective_Date__c': day}])
    set_clock(org, NOON)
    return api


def keys(api, where, field='Effective_Date__c'):
    # Dates: the records of midnight only, each day once; datetimes: both records of each day.
    suffix = " AND Key__c LIKE '%@0'" if field == 'Effective_Date__c' else ''
    return [r['Key__c'] for r in rows(api, 'SELECT Key__c FROM %s WHERE (%s)%s ORDER BY Key__c' % (SETTING, where.format(f=field), suffix))]


def at0(*days):
    return [day + '@0' for day in days]


@pytest.mark.parametrize('where, expected', [
    ('{f} = TODAY', ['2024-03-15']),
    ('{f} = today', ['2024-03-15']),
    ('{f} = YESTERDAY', ['2024-03-14']),
    ('{f} = TOMORROW', ['2024-03-16']),
    ('{f} > TODAY', ['2024-03-16', '2024-03-17', '2024-03-31', '2024-04-01', '2025-01-01']),
    ('{f} >= TOMORROW', ['2024-03-16', '2024-03-17', '2024-03-31', '2024-04-01', '2025-01-01']),
    ('{f} < YESTERDAY', ['2023-12-31', '2024-01-01', '2024-02-29', '2024-03-01', '2024-03-07', '2024-03-08']),
    ('{f} <= YESTERDAY', ['2023-12-31', '2024-01-01', '2024-02-29', '2024-03-01', '2024-03-07', '2024-03-08', '2024-03-14']),
    ('{f} != TODAY AND {f} >= YESTERDAY AND {f} <= TOMORROW', ['2024-03-14', '2024-03-16']),
    # LAST_N_DAYS:n includes today and the n days before it; NEXT_N_DAYS:n starts tomorrow.
    ('{f} = LAST_N_DAYS:7', ['2024-03-08', '2024-03-14', '2024-03-15']),
    ('{f} = LAST_N_DAYS:1', ['2024-03-14', '2024-03-15']),
    ('{f} < LAST_N_DAYS:7', ['2023-12-31', '2024-01-01', '2024-02-29', '2024-03-01', '2024-03-07']),
    ('{f} = NEXT_N_DAYS:2', ['2024-03-16', '2024-03-17']),
    ('{f} > NEXT_N_DAYS:2', ['2024-03-31', '2024-04-01', '2025-01-01']),
    ('{f} = THIS_MONTH', ['2024-03-01', '2024-03-07', '2024-03-08', '2024-03-14', '2024-03-15', '2024-03-16', '2024-03-17',
                          '2024-03-31']),
    ('{f} = LAST_MONTH', ['2024-02-29']),
    ('{f} = NEXT_MONTH', ['2024-04-01']),
    ('{f} = LAST_YEAR', ['2023-12-31']),
    ('{f} < THIS_YEAR OR {f} > THIS_YEAR', ['2023-12-31', '2025-01-01']),
    ('{f} IN (YESTERDAY, TOMORROW, 2024-01-01)', ['2024-01-01', '2024-03-14', '2024-03-16']),
    ('NOT {f} = THIS_YEAR', ['2023-12-31', '2025-01-01']),
])
def test_date_literals_on_a_date_field(dated, where, expected):
    assert keys(dated, where) == at0(*expected)


@pytest.mark.parametrize('where, expected', [
    ('{f} = TODAY', ['2024-03-15']),
    ('{f} = YESTERDAY', ['2024-03-14']),
    ('{f} = LAST_N_DAYS:7', ['2024-03-08', '2024-03-14', '2024-03-15']),
    ('{f} = LAST_MONTH', ['2024-02-29']),
    ('{f} > TODAY', ['2024-03-16', '2024-03-17', '2024-03-31', '2024-04-01', '2025-01-01']),
    ('{f} = THIS_YEAR AND {f} < LAST_MONTH', ['2024-01-01']),
])
def test_date_literals_on_a_datetime_field_cover_whole_utc_days(dated, where, expected):
    # Both the 00:00:00 and the 23:59:59 record of each day are in the day's range.
    assert keys(dated, where, field='CreatedDate') == sorted(sum(([day, day + '@0'] for day in expected), []))


def test_date_literals_follow_the_org_clock(dated):
    set_clock(dated.org, NOON + datetime.timedelta(days=1))
    assert keys(dated, '{f} = YESTERDAY') == at0('2024-03-15')
    assert keys(dated, '{f} = LAST_N_DAYS:0') == at0('2024-03-16')
