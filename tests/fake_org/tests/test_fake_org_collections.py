# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake org's records API behaves as Salesforce's: sObject Collections, External IDs, field validation, SOQL
IN / NOT IN / dates / escapes, the SOQL and request URI limits, and the API-call counter per endpoint.

Plain HTTP clients (requests); no Ansible. Fixtures come from fake_org.pytest_plugin (through conftest.py).
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlencode

import pytest
import requests

from fake_org import soql as soql_module
from fake_org.messages import RestError

API = '/services/data/v62.0'
SETTING = 'Integration_Setting__c'
COLLECTION = '/composite/sobjects'
UPSERT = '/composite/sobjects/Integration_Setting__c/Key__c'
ROLLED_BACK = {'statusCode': 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
               'message': 'Record rolled back because not all records were valid and the request was using AllOrNone header', 'fields': []}
LIMIT_ERROR = [{'message': 'record limit reached. cannot submit more than 200 records into this call', 'errorCode': 'EXCEEDED_ID_LIMIT'}]
SOQL_ESCAPES = {'\\': '\\\\', "'": "\\'", '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f'}


class Api:
    def __init__(self, org, token):
        self.org = org
        self.session = requests.Session()
        self.session.headers['Authorization'] = 'Bearer ' + token

    def call(self, method, path, **kwargs):
        # verify per request: a Session's verify loses to REQUESTS_CA_BUNDLE in the environment
        return self.session.request(method, self.org.url + (path if path.startswith('/services') else API + path), timeout=10,
                                    verify=self.org.ca_path, **kwargs)

    def write(self, method, path, records, all_or_none=None, status=200):
        body = {'records': records}
        if all_or_none is not None:
            body['allOrNone'] = all_or_none
        response = self.call(method, path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    def query(self, soql, endpoint='query'):
        return self.call('GET', '/' + endpoint, params={'q': soql})

    def rows(self, soql):
        response = self.query(soql)
        assert response.status_code == 200, response.text
        return response.json()['records']

    def keys(self, where):
        return sorted(r['Key__c'] for r in self.rows('SELECT Key__c FROM Integration_Setting__c WHERE ' + where))


@pytest.fixture
def api(fake_org_app):
    org = fake_org_app.org
    response = requests.post(org.url + '/services/oauth2/token', verify=org.ca_path, timeout=10,
                             data={'grant_type': 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'assertion': fake_org_app.assertion()})
    assert response.status_code == 200, response.text
    client = Api(org, response.json()['access_token'])
    yield client
    client.session.close()


def rec(sobject=SETTING, **fields):
    return dict({'attributes': {'type': sobject}}, **fields)


def quoted(value):
    return "'%s'" % ''.join(SOQL_ESCAPES.get(char, char) for char in value)


def failure(status_code, message, fields=(), record_id=None, **extra):
    entry = {'id': record_id} if record_id else {}
    entry.update(success=False, errors=[{'statusCode': status_code, 'message': message, 'fields': list(fields)}], **extra)
    return entry


def seed(org, *records):
    return org.add_records(SETTING, [dict({'Name': record.get('Key__c', 'n')}, **record) for record in records])


# -- the object and its describe --------------------------------------------------------------------


def test_describe_lists_types_external_ids_and_access(api):
    response = api.call('GET', '/sobjects/Integration_Setting__c/describe')
    assert response.status_code == 200
    described = response.json()
    assert (described['name'], described['keyPrefix'], described['custom']) == (SETTING, 'a0B', True)
    fields = {f['name']: f for f in described['fields']}
    assert list(fields) == ['Id', 'IsDeleted', 'Name', 'Key__c', 'Value__c', 'Enabled__c', 'Limit__c', 'Effective_Date__c',
                            'Secret_Token__c', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp']
    assert {name: f['type'] for name, f in fields.items()} == {
        'Id': 'id', 'IsDeleted': 'boolean', 'Name': 'string', 'Key__c': 'string', 'Value__c': 'string', 'Enabled__c': 'boolean',
        'Limit__c': 'double', 'Effective_Date__c': 'date', 'Secret_Token__c': 'string', 'CreatedDate': 'datetime',
        'LastModifiedDate': 'datetime', 'SystemModstamp': 'datetime'}
    assert [n for n, f in fields.items() if f['externalId']] == ['Key__c'] and [n for n, f in fields.items() if f['unique']] == ['Key__c']
    assert (fields['Key__c']['length'], fields['Name']['length'], fields['Name']['nillable'], fields['Value__c']['nillable']) == (80, 80, False, True)
    assert [n for n, f in fields.items() if not f['updateable']] == ['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp']
    assert [n for n, f in fields.items() if not f['createable']] == ['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp']

    account = {f['name']: f for f in api.call('GET', '/sobjects/Account/describe').json()['fields']}
    assert (account['Legacy_Id__c']['externalId'], account['Legacy_Id__c']['unique'], account['Legacy_Id__c']['length']) == (True, True, 40)
    assert account['AnnualRevenue']['type'] == 'currency' and account['Name']['externalId'] is False


# -- create, update, upsert, delete, retrieve -------------------------------------------------------


def test_create_and_read_back_values_as_salesforce_returns_them(api):
    results = api.write('POST', COLLECTION, [
        rec(Name='Alpha', Key__c='alpha', Value__c='one', Enabled__c=True, Limit__c=5, Effective_Date__c='2024-02-29', Secret_Token__c='s'),
        rec(Name='Beta', key__c='beta', Value__c='', Limit__c='7.5', Enabled__c='TRUE'),
        rec(Name='Gamma', Key__c='gamma', Value__c=42, Enabled__c=None, Effective_Date__c=None),
    ])
    assert [set(result) for result in results] == [{'id', 'success', 'errors'}] * 3
    assert [(r['success'], r['errors']) for r in results] == [(True, [])] * 3
    assert all(re.fullmatch(r'a0B[0-9A-Za-z]{15}', r['id']) for r in results) and len({r['id'] for r in results}) == 3

    response = api.query('SELECT Id, Name, Key__c, Value__c, Enabled__c, Limit__c, Effective_Date__c, Secret_Token__c, IsDeleted, '
                         'CreatedDate FROM Integration_Setting__c ORDER BY Key__c')
    assert '"Limit__c": 5.0' in response.text and '"Enabled__c": true' in response.text and '"Value__c": null' in response.text
    alpha, beta, gamma = response.json()['records']
    assert alpha['attributes'] == {'type': SETTING, 'url': '%s/sobjects/%s/%s' % (API, SETTING, results[0]['id'])}
    assert {k: v for k, v in alpha.items() if k not in ('attributes', 'CreatedDate')} == {
        'Id': results[0]['id'], 'Name': 'Alpha', 'Key__c': 'alpha', 'Value__c': 'one', 'Enabled__c': True, 'Limit__c': 5.0,
        'Effective_Date__c': '2024-02-29', 'Secret_Token__c': 's', 'IsDeleted': False}
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000', alpha['CreatedDate'])
    # an empty text is null, a numeric text a number, 'TRUE' a boolean, a number into a text its text, null into a boolean false
    assert (beta['Value__c'], beta['Limit__c'], beta['Enabled__c'], beta['Effective_Date__c']) == (None, 7.5, True, None)
    assert (gamma['Value__c'], gamma['Enabled__c'], gamma['Limit__c']) == ('42', False, None)


def test_update_by_id_then_retrieve(api):
    first, second = seed(api.org, {'Key__c': 'a', 'Value__c': 'old', 'Limit__c': 1}, {'Key__c': 'b', 'Enabled__c': True})
    results = api.write('PATCH', COLLECTION, [rec(id=first, Value__c='new', Limit__c=None), rec(Id=second[:15], Enabled__c=False)])
    assert results == [{'id': first, 'success': True, 'errors': []}, {'id': second, 'success': True, 'errors': []}]

    unknown = 'a0B' + 'z' * 15
    params = {'ids': ','.join([first, second, unknown]), 'fields': 'Value__c,Enabled__c,Limit__c'}
    retrieved = api.call('GET', '/composite/sobjects/Integration_Setting__c', params=params)
    assert retrieved.status_code == 200
    got = retrieved.json()
    assert got[2] is None and [{k: v for k, v in r.items() if k != 'attributes'} for r in got[:2]] == [
        {'Id': first, 'Value__c': 'new', 'Enabled__c': False, 'Limit__c': None}, {'Id': second, 'Value__c': None, 'Enabled__c': False,
                                                                                  'Limit__c': None}]
    posted = api.call('POST', '/composite/sobjects/Integration_Setting__c', json={'ids': [second], 'fields': ['Key__c']})
    assert [r['Key__c'] for r in posted.json()] == ['b']
    assert api.call('GET', '/composite/sobjects/Integration_Setting__c', params={'ids': first}).status_code == 400


def test_upsert_by_external_id_matches_case_insensitively_and_reports_created(api):
    (alpha,) = seed(api.org, {'Key__c': 'alpha', 'Value__c': 'old'})
    results = api.write('PATCH', UPSERT, [rec(Key__c='ALPHA', Value__c='upserted'), rec(Key__c='gamma', Name='Gamma', Limit__c=2.5)])
    assert results[0] == {'id': alpha, 'success': True, 'errors': [], 'created': False}
    assert set(results[1]) == {'id', 'success', 'errors', 'created'} and (results[1]['success'], results[1]['created']) == (True, True)
    assert api.rows("SELECT Key__c, Value__c, Limit__c FROM Integration_Setting__c ORDER BY Key__c") == [
        {'attributes': {'type': SETTING, 'url': '%s/sobjects/%s/%s' % (API, SETTING, alpha)}, 'Key__c': 'ALPHA', 'Value__c': 'upserted',
         'Limit__c': None},
        {'attributes': {'type': SETTING, 'url': '%s/sobjects/%s/%s' % (API, SETTING, results[1]['id'])}, 'Key__c': 'gamma',
         'Value__c': None, 'Limit__c': 2.5}]
    # the same upsert again changes the values to what they are: every record is an update
    again = api.write('PATCH', UPSERT, [rec(Key__c='alpha', Value__c='upserted'), rec(Key__c='gamma', Name='Gamma', Limit__c=2.5)])
    assert [(r['id'], r['created']) for r in again] == [(alpha, False), (results[1]['id'], False)]

    account = api.write('PATCH', '/composite/sobjects/Account/Legacy_Id__c', [rec('Account', Legacy_Id__c='L-1', Name='Legacy one')])
    assert account[0]['created'] is True and account[0]['id'].startswith('001')
    assert api.rows("SELECT Name FROM Account WHERE Legacy_Id__c = 'l-1'")[0]['Name'] == 'Legacy one'


def test_delete_by_ids_with_per_id_results(api):
    alpha, beta = seed(api.org, {'Key__c': 'alpha'}, {'Key__c': 'beta'})
    unknown = 'a0B000000000999AAA'
    response = api.call('DELETE', COLLECTION, params={'ids': ','.join([alpha, beta, alpha, unknown, 'bogus']), 'allOrNone': 'false'})
    assert response.status_code == 200
    assert response.json() == [
        {'id': alpha, 'success': True, 'errors': []}, {'id': beta, 'success': True, 'errors': []},
        failure('ENTITY_IS_DELETED', 'entity is deleted', record_id=alpha),
        failure('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', record_id=unknown),
        failure('MALFORMED_ID', 'malformed id bogus')]
    assert api.rows('SELECT Id FROM Integration_Setting__c') == []
    deleted = api.query('SELECT Key__c, IsDeleted FROM Integration_Setting__c ORDER BY Key__c', 'queryAll').json()['records']
    assert [(r['Key__c'], r['IsDeleted']) for r in deleted] == [('alpha', True), ('beta', True)]
    # a deleted record no longer holds its external id
    assert api.write('PATCH', UPSERT, [rec(Key__c='alpha', Name='again')])[0]['created'] is True


# -- limits and allOrNone -----------------------------------------------------------------------------


@pytest.mark.parametrize('method, path', [('POST', COLLECTION), ('PATCH', COLLECTION), ('PATCH', UPSERT)])
def test_more_than_200_records_refuse_the_whole_call(api, method, path):
    records = [rec(Name='n%d' % i, Key__c='k%d' % i) for i in range(201)]
    response = api.call(method, path, json={'allOrNone': False, 'records': records})
    assert (response.status_code, response.json()) == (400, LIMIT_ERROR)
    assert api.org.records(SETTING) == []


def test_200_records_are_one_call_and_201_ids_are_refused(api):
    results = api.write('PATCH', UPSERT, [rec(Name='n%d' % i, Key__c='k%03d' % i) for i in range(200)])
    assert [r['created'] for r in results] == [True] * 200 and len(api.org.records(SETTING)) == 200
    ids = [r['id'] for r in results] + ['a0B000000000999AAA']
    response = api.call('DELETE', COLLECTION, params={'ids': ','.join(ids)})
    assert (response.status_code, response.json()) == (400, LIMIT_ERROR)
    assert len(api.org.records(SETTING)) == 200


def test_all_or_none_create(api):
    records = [rec(Name='Good one', Key__c='g1'), rec(Key__c='no-name'), rec(Name='Good two', Key__c='g2')]
    missing = failure('REQUIRED_FIELD_MISSING', 'Required fields are missing: [Name]', ['Name'])
    assert api.write('POST', COLLECTION, records, all_or_none=True) == [
        {'success': False, 'errors': [ROLLED_BACK]}, missing, {'success': False, 'errors': [ROLLED_BACK]}]
    assert api.org.records(SETTING) == []

    partial = api.write('POST', COLLECTION, records, all_or_none=False)
    assert [r['success'] for r in partial] == [True, False, True] and partial[1] == missing
    assert sorted(r['Key__c'] for r in api.org.records(SETTING)) == ['g1', 'g2']


def test_all_or_none_update_upsert_and_delete(api):
    first, second = seed(api.org, {'Key__c': 'a', 'Value__c': 'keep'}, {'Key__c': 'b', 'Value__c': 'keep'})
    bad_type = failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Enabled__c: value not of required type: yes', ['Enabled__c'], record_id=second)
    assert api.write('PATCH', COLLECTION, [rec(Id=first, Value__c='changed'), rec(Id=second, Enabled__c='yes')], all_or_none=True) == [
        {'id': first, 'success': False, 'errors': [ROLLED_BACK]}, bad_type]
    upserted = api.write('PATCH', UPSERT, [rec(Key__c='a', Value__c='changed'), rec(Key__c='new', Name='New'),
                                           rec(Key__c='b', Limit__c='many')], all_or_none=True)
    assert upserted == [{'id': first, 'success': False, 'errors': [ROLLED_BACK], 'created': False},
                        {'success': False, 'errors': [ROLLED_BACK], 'created': False},
                        failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Limit__c: value not of required type: many', ['Limit__c'],
                                record_id=second, created=False)]
    deleted = api.call('DELETE', COLLECTION, params={'ids': '%s,bogus' % first, 'allOrNone': 'true'}).json()
    assert deleted == [{'id': first, 'success': False, 'errors': [ROLLED_BACK]}, failure('MALFORMED_ID', 'malformed id bogus')]
    assert sorted((r['Key__c'], r['Value__c'], r['IsDeleted']) for r in api.org.records(SETTING, include_deleted=True)) == [
        ('a', 'keep', False), ('b', 'keep', False)]

    partial = api.write('PATCH', UPSERT, [rec(Key__c='a', Value__c='changed'), rec(Key__c='b', Limit__c='many')], all_or_none=False)
    assert partial[0] == {'id': first, 'success': True, 'errors': [], 'created': False} and partial[1]['success'] is False
    assert [r['Value__c'] for r in api.org.records(SETTING)] == ['changed', 'keep']


# -- per-record errors ----------------------------------------------------------------------------------

TOO_LONG = 'Name: data value too large: %s... (max length=80)' % ('x' * 20)
NOT_WRITABLE = ('Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write '
                'for your profile or permission set.')


@pytest.mark.parametrize('record, expected', [
    (rec(Name='x', Nope__c=1), failure('INVALID_FIELD', "No such column 'Nope__c' on sobject of type Integration_Setting__c")),
    (rec(Name='x', Enabled__c='yes'), failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Enabled__c: value not of required type: yes', ['Enabled__c'])),
    (rec(Name='x', Enabled__c=1), failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Enabled__c: value not of required type: 1', ['Enabled__c'])),
    (rec(Name='x', Effective_Date__c=20240101),
     failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Effective_Date__c: value not of required type: 20240101', ['Effective_Date__c'])),
    (rec(Name='x', Effective_Date__c='2024-02-30'),
     failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Effective_Date__c: value not of required type: 2024-02-30', ['Effective_Date__c'])),
    (rec(Name='x', Limit__c='lots'), failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Limit__c: value not of required type: lots', ['Limit__c'])),
    (rec(Name='x', Limit__c=True), failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Limit__c: value not of required type: true', ['Limit__c'])),
    (rec(Name='x', Value__c={'a': 1}),
     failure('INVALID_TYPE_ON_FIELD_IN_RECORD', 'Value__c: value not of required type: {"a": 1}', ['Value__c'])),
    (rec(Key__c='k'), failure('REQUIRED_FIELD_MISSING', 'Required fields are missing: [Name]', ['Name'])),
    (rec(Name=''), failure('REQUIRED_FIELD_MISSING', 'Required fields are missing: [Name]', ['Name'])),
    (rec(Name='x' * 81), failure('STRING_TOO_LONG', TOO_LONG, ['Name'])),
    (rec(Name='x', CreatedDate='2024-01-01T00:00:00.000+0000'),
     failure('INVALID_FIELD_FOR_INSERT_UPDATE', NOT_WRITABLE % 'CreatedDate', ['CreatedDate'])),
    (rec(Name='x', IsDeleted=False), failure('INVALID_FIELD_FOR_INSERT_UPDATE', NOT_WRITABLE % 'IsDeleted', ['IsDeleted'])),
    (rec(Name='x', Id='a0B000000000001AAA'), failure('INVALID_FIELD', 'cannot specify Id in an insert call')),
    ({'Name': 'x'}, failure('INVALID_TYPE', 'Must send a concrete entity type.')),
    (rec('Nope__c', Name='x'), failure('INVALID_TYPE', "sObject type 'Nope__c' is not supported.")),
])
def test_create_errors(api, record, expected):
    assert api.write('POST', COLLECTION, [record]) == [expected]
    assert api.org.records(SETTING) == []


def test_update_errors(api):
    live, deleted = seed(api.org, {'Key__c': 'live', 'Value__c': 'v'}, {'Key__c': 'deleted'})
    api.org.data.delete_collection([deleted], False)
    user_id = api.rows('SELECT Id FROM User')[0]['Id']
    unknown = 'a0B000000000999AAA'
    results = api.write('PATCH', COLLECTION, [
        rec(Value__c='no id'),
        rec(Id='bogus', Value__c='x'),
        rec(Id='001000000000001AAA', Value__c='an Account id'),
        rec(Id=unknown, Value__c='x'),
        rec(Id=deleted, Value__c='x'),
        rec(Id=live, CreatedDate='2024-01-01T00:00:00.000+0000'),
        rec(Id=live, Name=None),
        rec(Id=live, Value__c='v' * 256),
        rec('User', Id=user_id, Email='x@example.com'),
        rec(Id=live, Value__c='fine'),
    ])
    assert results == [
        failure('MISSING_ARGUMENT', 'Id not specified in an update call'),
        failure('MALFORMED_ID', 'Integration_Setting__c ID: id value of incorrect type: bogus', ['Id']),
        failure('MALFORMED_ID', 'Integration_Setting__c ID: id value of incorrect type: 001000000000001AAA', ['Id']),
        failure('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', record_id=unknown),
        failure('ENTITY_IS_DELETED', 'entity is deleted', record_id=deleted),
        failure('INVALID_FIELD_FOR_INSERT_UPDATE', NOT_WRITABLE % 'CreatedDate', ['CreatedDate'], record_id=live),
        failure('REQUIRED_FIELD_MISSING', 'Required fields are missing: [Name]', ['Name'], record_id=live),
        failure('STRING_TOO_LONG', 'Value__c: data value too large: %s... (max length=255)' % ('v' * 20), ['Value__c'], record_id=live),
        failure('INVALID_TYPE_FOR_OPERATION', 'entity type cannot be updated: User', record_id=user_id),
        {'id': live, 'success': True, 'errors': []},
    ]


def test_duplicate_values_of_a_unique_external_id(api):
    (existing,) = seed(api.org, {'Key__c': 'Taken'})
    created = api.write('POST', COLLECTION, [rec(Name='a', Key__c='taken'), rec(Name='b', Key__c='fresh'), rec(Name='c', Key__c='FRESH')])
    duplicate = 'duplicate value found: Key__c duplicates value on record with id: %s'
    assert created[0] == failure('DUPLICATE_VALUE', duplicate % existing)
    assert created[1]['success'] is True and created[2] == failure('DUPLICATE_VALUE', duplicate % created[1]['id'])
    assert api.write('PATCH', COLLECTION, [rec(Id=existing, Key__c='fresh')]) == [
        failure('DUPLICATE_VALUE', duplicate % created[1]['id'], record_id=existing)]

    upserted = api.write('PATCH', UPSERT, [rec(Key__c='k', Name='one'), rec(Key__c='K', Name='two'), rec(Name='no key'),
                                           rec('Account', Key__c='z', Name='wrong type')])
    assert upserted == [failure('DUPLICATE_EXTERNAL_ID', 'Duplicate external id specified: k', ['Key__c'], created=False),
                        failure('DUPLICATE_EXTERNAL_ID', 'Duplicate external id specified: K', ['Key__c'], created=False),
                        failure('MISSING_ARGUMENT', 'Key__c not specified', created=False),
                        failure('INVALID_TYPE', 'The record type Account is not Integration_Setting__c, the object of this upsert',
                                created=False)]
    assert sorted(r['Key__c'] for r in api.org.records(SETTING)) == ['Taken', 'fresh']


@pytest.mark.parametrize('path, status, error', [
    ('/composite/sobjects/Integration_Setting__c/Nope__c', 400,
     {'errorCode': 'INVALID_FIELD', 'message': 'Provided external ID field does not exist or is not accessible: Nope__c'}),
    ('/composite/sobjects/Integration_Setting__c/Value__c', 400,
     {'errorCode': 'INVALID_FIELD', 'message': 'Field Value__c is not an external ID or indexed field for Integration_Setting__c'}),
    ('/composite/sobjects/Integration_Setting__c/Id', 400,
     {'errorCode': 'INVALID_FIELD', 'message': 'Field Id is not an external ID or indexed field for Integration_Setting__c'}),
    ('/composite/sobjects/Nope__c/Key__c', 404, {'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}),
])
def test_upsert_needs_an_external_id_field(api, path, status, error):
    response = api.call('PATCH', path, json={'records': [rec(Key__c='k', Name='n')]})
    assert (response.status_code, response.json()) == (status, [error])
    assert api.org.records(SETTING) == []


@pytest.mark.parametrize('method, body, status, code', [
    ('POST', b'{"records": [', 400, 'JSON_PARSER_ERROR'),
    ('POST', {'allOrNone': True}, 400, 'JSON_PARSER_ERROR'),
    ('POST', {'records': [rec(Name='x')], 'allOrNone': 'yes'}, 400, 'JSON_PARSER_ERROR'),
    ('POST', {'records': ['not a record']}, 400, 'JSON_PARSER_ERROR'),
    ('POST', {'records': [], 'allornone': True}, 400, 'JSON_PARSER_ERROR'),
    ('PUT', {'records': []}, 405, 'METHOD_NOT_ALLOWED'),
    ('DELETE', None, 400, 'MISSING_ARGUMENT'),
])
def test_malformed_collection_requests(api, method, body, status, code):
    kwargs = {'data': body, 'headers': {'Content-Type': 'application/json'}} if isinstance(body, bytes) else {'json': body}
    response = api.call(method, COLLECTION, **kwargs)
    assert response.status_code == status and response.json()[0]['errorCode'] == code


# -- SOQL -----------------------------------------------------------------------------------------------

TRICKY_KEYS = ["o'brien", 'back\\slash', 'quote"d', "x' OR Name != '", 'multi\nline', 'tab\there', '50%_off', 'bell\b\f']


def test_in_and_not_in_with_escaped_strings_are_one_literal_each(api):
    seed(api.org, *[{'Key__c': key} for key in ['plain'] + TRICKY_KEYS])
    assert api.keys('Key__c IN (%s)' % ', '.join(quoted(key) for key in TRICKY_KEYS)) == sorted(TRICKY_KEYS)
    for key in TRICKY_KEYS:
        assert api.keys('Key__c = %s' % quoted(key)) == [key]
    # injection attempts stay one literal: the quote is escaped, so OR is text, not SOQL
    assert api.keys('Key__c IN (%s)' % quoted("nobody' OR Name != '")) == []
    assert api.keys('Key__c = %s' % quoted("x' OR Name != '")) == ["x' OR Name != '"]
    # ... where the same text unescaped is SOQL, and matches everything
    assert len(api.keys("Key__c = 'x' OR Name != ''")) == 1 + len(TRICKY_KEYS)
    assert api.keys('Key__c NOT IN (%s)' % ', '.join(quoted(key) for key in TRICKY_KEYS[1:])) == sorted(['plain', "o'brien"])
    assert api.keys("Key__c IN ('PLAIN', 'nothing')") == ['plain']
    assert api.keys(r"Key__c LIKE '50\%\_off'") == ['50%_off'] and api.keys(r"Key__c LIKE '50\%\_of'") == []
    assert api.keys(r"Key__c LIKE 'back\\%'") == ['back\\slash'] and api.keys("Key__c LIKE 'o_brien'") == ["o'brien"]
    assert api.keys(r"Key__c = 'O\'BRIEN'") == ["o'brien"] and api.keys(r"Key__c = 'multi\Nline'") == ['multi\nline']
    response = api.query(r"SELECT Id FROM Integration_Setting__c WHERE Key__c = 'a\qb'")
    assert response.status_code == 400 and response.json()[0]['errorCode'] == 'MALFORMED_QUERY'


def test_typed_literals_dates_booleans_numbers_null(api):
    seed(api.org, {'Key__c': 'feb', 'Effective_Date__c': '2024-02-29', 'Enabled__c': True, 'Limit__c': 1},
         {'Key__c': 'mar', 'Effective_Date__c': '2024-03-01', 'Limit__c': 2.5, 'Value__c': 'v'},
         {'Key__c': 'none'})
    assert api.keys('Effective_Date__c >= 2024-03-01') == ['mar']
    assert api.keys('Effective_Date__c < 2024-03-01 AND Effective_Date__c > 2024-01-31') == ['feb']
    assert api.keys('Effective_Date__c IN (2024-02-29, 2024-03-01)') == ['feb', 'mar']
    assert api.keys('Effective_Date__c = null') == ['none'] and api.keys('Effective_Date__c != null') == ['feb', 'mar']
    assert api.keys('Enabled__c IN (true)') == ['feb'] and api.keys('Enabled__c = false') == ['mar', 'none']
    assert api.keys('Limit__c IN (1, 2.5)') == ['feb', 'mar'] and api.keys('Limit__c NOT IN (1)') == ['mar', 'none']
    assert api.keys("Value__c IN (null, 'v')") == ['feb', 'mar', 'none'] and api.keys('Value__c NOT IN (null)') == ['mar']
    assert api.keys('CreatedDate > 2000-01-01T00:00:00Z AND CreatedDate < 2999-01-01T00:00:00+02:00') == ['feb', 'mar', 'none']
    assert api.keys("(Key__c = 'feb' OR Key__c = 'mar') AND NOT Limit__c = 1") == ['mar']
    feb_id = api.org.records(SETTING)[0]['Id']
    assert api.keys("Id IN ('%s', 'a0B000000000999')" % feb_id[:15]) == ['feb'] and api.keys("Id = '%s'" % feb_id) == ['feb']
    assert api.keys("Id != '%s' AND Id NOT IN ('%s')" % (feb_id[:15], feb_id.lower())) == ['mar', 'none']
    ordered = api.rows('SELECT Key__c FROM Integration_Setting__c ORDER BY Limit__c DESC NULLS LAST LIMIT 2 OFFSET 1')
    assert [r['Key__c'] for r in ordered] == ['feb', 'none']
    assert [r['Key__c'] for r in api.rows('SELECT Key__c FROM Integration_Setting__c ORDER BY Limit__c NULLS LAST')] == ['feb', 'mar', 'none']


@pytest.mark.parametrize('where, message', [
    ("Effective_Date__c = '2024-03-01'", "value of filter criterion for field 'Effective_Date__c' must be of type date and should not be "
                                         "enclosed in quotes"),
    ("Enabled__c = 'true'", "value of filter criterion for field 'Enabled__c' must be of type boolean and should not be enclosed in quotes"),
    ("Limit__c IN (1, '2')", "value of filter criterion for field 'Limit__c' must be of type double and should not be enclosed in quotes"),
    ('Key__c = 5', "value of filter criterion for field 'Key__c' must be of type string and should be enclosed in quotes"),
    ('CreatedDate > 2024-01-01', "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in "
                                 "quotes"),
])
def test_a_literal_of_the_wrong_type_is_invalid_field(api, where, message):
    response = api.query('SELECT Id FROM Integration_Setting__c WHERE ' + where)
    assert (response.status_code, response.json()) == (400, [{'message': message, 'errorCode': 'INVALID_FIELD'}])


def test_integration_settings_page_like_accounts(api):
    api.org.add_records(SETTING, [{'Name': 'n%04d' % i, 'Key__c': 'k%04d' % i} for i in range(2100)])
    first = api.query('SELECT Key__c FROM Integration_Setting__c ORDER BY Key__c DESC').json()
    assert (first['totalSize'], first['done'], len(first['records']), first['records'][0]['Key__c']) == (2100, False, 2000, 'k2099')
    second = api.call('GET', first['nextRecordsUrl']).json()
    assert (second['done'], len(second['records']), second['records'][-1]['Key__c']) == (True, 100, 'k0000')
    assert api.query('SELECT COUNT() FROM Integration_Setting__c').json()['totalSize'] == 2100
    assert api.org.api_calls()[('GET', '/query')] == 3


# -- the SOQL statement and request URI limits -------------------------------------------------------


def test_soql_statements_longer_than_100000_characters_are_malformed():
    base = "SELECT Id FROM Integration_Setting__c WHERE Key__c IN ('x')"
    assert soql_module.parse(base + ' ' * (100000 - len(base))).sobject == SETTING   # exactly 100,000 characters parse
    with pytest.raises(RestError) as refused:
        soql_module.parse(base + ' ' * (100001 - len(base)))
    assert (refused.value.error_code, refused.value.message) == ('MALFORMED_QUERY', 'SOQL statements can not be longer than 100000 characters.')


def test_a_request_uri_longer_than_16384_bytes_is_414(api):
    path = API + '/query'
    soql = "SELECT Id FROM Integration_Setting__c WHERE Key__c IN ('x')"

    def target(length):
        padding = length - len(path) - 1 - len(urlencode({'q': soql}))
        return path + '?' + urlencode({'q': soql + ' ' * padding})   # spaces: one byte each ('+')

    assert len(target(16384)) == 16384
    fits = api.call('GET', target(16384))
    assert fits.status_code == 200, fits.text
    refused = api.call('GET', target(16385))
    assert refused.status_code == 414 and 'URI Too Long' in refused.text
    assert refused.headers['Content-Type'].startswith('text/html')
    anonymous = requests.get(api.org.url + target(20000), verify=api.org.ca_path, timeout=10)
    assert anonymous.status_code == 414   # before the session is checked
    assert [e['status'] for e in api.org.received_log()[-3:]] == [200, 414, 414]
    assert api.org.api_calls() == Counter({('GET', '/query'): 1})
    assert api.call('GET', '/limits').status_code == 200   # the connection still serves


# -- the API-call counter, the request log, reset and the admin API ------------------------------------


def test_api_calls_are_counted_per_endpoint(api):
    org = api.org
    (seeded,) = seed(org, {'Key__c': 'seeded'})   # the org's own writes are no API call
    assert org.api_calls() == Counter()
    api.write('PATCH', UPSERT, [rec(Key__c='a', Name='a'), rec(Key__c='seeded', Value__c='x')])
    api.write('PATCH', UPSERT, [rec(Key__c='a', Value__c='again')])
    created = api.write('POST', COLLECTION, [rec(Name='b', Key__c='b')])
    api.write('PATCH', COLLECTION, [rec(Id=created[0]['id'], Value__c='y')])
    api.call('DELETE', COLLECTION, params={'ids': seeded})
    api.call('GET', '/composite/sobjects/Integration_Setting__c', params={'ids': seeded, 'fields': 'Name'})
    api.rows("SELECT Id FROM Account WHERE Name LIKE 'Acme%'")
    account_id = api.rows('SELECT Id FROM Account LIMIT 1')[0]['Id']
    api.call('GET', '/sobjects/Account/%s' % account_id)
    api.call('GET', '/sobjects/Integration_Setting__c/describe')
    api.call('GET', '/services/data/v62.0')
    requests.get(org.url + '/services/data', verify=org.ca_path, timeout=10)   # the version list needs no session: no API call
    requests.get(org.url + API + '/limits', headers={'Authorization': 'Bearer nope'}, verify=org.ca_path, timeout=10)   # 401: none

    expected = Counter({('PATCH', '/composite/sobjects/Integration_Setting__c/Key__c'): 2, ('POST', '/composite/sobjects'): 1,
                        ('PATCH', '/composite/sobjects'): 1, ('DELETE', '/composite/sobjects'): 1,
                        ('GET', '/composite/sobjects/Integration_Setting__c'): 1, ('GET', '/query'): 2, ('GET', '/sobjects/Account'): 1,
                        ('GET', '/sobjects/Integration_Setting__c/describe'): 1, ('GET', '/'): 1})
    assert org.api_calls() == expected
    assert org.stats()['api_usage'] == sum(expected.values())

    listed = requests.get(org.url + '/_fake/api_calls', verify=org.ca_path, timeout=10).json()
    assert listed == sorted(({'method': m, 'path': p, 'count': c} for (m, p), c in expected.items()), key=lambda e: (e['path'], e['method']))

    sent = [e['json'] for e in org.received_log() if e['path'] == API + UPSERT]
    assert sent[0] == {'records': [rec(Key__c='a', Name='a'), rec(Key__c='seeded', Value__c='x')]}
    delete = [e for e in org.received_log() if e['method'] == 'DELETE'][0]
    assert delete['query'] == {'ids': seeded}

    org.reset()
    assert org.api_calls() == Counter() and org.records(SETTING) == []


def test_reset_puts_back_every_data_object(api):
    org = api.org
    (upserted,) = api.write('PATCH', UPSERT, [rec(Key__c='a', Name='a')])
    api.write('PATCH', '/composite/sobjects/Account/Legacy_Id__c', [rec('Account', Legacy_Id__c='L1', Name='Legacy')])
    first_account = org.records('Account')[0]['Id']
    api.call('DELETE', COLLECTION, params={'ids': first_account})
    org.reset()
    assert org.records(SETTING, include_deleted=True) == []
    accounts = org.records('Account')
    assert len(accounts) == 2500 and accounts[0]['Id'] == first_account and not [a for a in accounts if a['Legacy_Id__c']]
    assert seed(org, {'Key__c': 'fresh'}) == [upserted['id']]   # ids start over too


def test_admin_api_seeds_and_lists_records(fake_org):
    org = fake_org

    def admin(method, endpoint, **kwargs):
        response = requests.request(method, org.url + '/_fake/' + endpoint, verify=org.ca_path, timeout=10, **kwargs)
        return response.status_code, response.json()

    seeded = [{'Name': 'One', 'Key__c': 'one', 'Limit__c': 3}, {'Name': 'Two', 'Key__c': 'two'}]
    status, answer = admin('POST', 'records', json={'sobject': SETTING, 'records': seeded})
    assert status == 200 and [i[:3] for i in answer['ids']] == ['a0B', 'a0B']
    status, listed = admin('GET', 'records', params={'sobject': SETTING})
    assert status == 200 and [(r['Id'], r['Key__c'], r['Limit__c'], r['Enabled__c']) for r in listed] == [
        (answer['ids'][0], 'one', 3.0, False), (answer['ids'][1], 'two', None, False)]
    assert admin('GET', 'record_count', params={'sobject': SETTING}) == (200, {'sobject': SETTING, 'count': 2})

    bad = [{'Name': 'Three', 'Key__c': 'three'}, {'Key__c': 'ONE', 'Name': 'dup'}, {'Key__c': 'x'}]
    status, refused = admin('POST', 'records', json={'sobject': SETTING, 'records': bad})
    assert status == 400 and 'DUPLICATE_VALUE' in refused['error'] and 'REQUIRED_FIELD_MISSING' in refused['error']
    assert len(org.records(SETTING)) == 2
    assert admin('POST', 'records', json={'sobject': 'Nope__c', 'records': []})[0] == 400
    assert admin('GET', 'api_calls') == (200, [])


def test_single_record_upsert_by_external_id(fake_org_app):
    org = fake_org_app.org
    token = org.open_session(org.find_user(fake_org_app.username), org.find_app(fake_org_app.consumer_key))['access_token']
    url = org.url + '/services/data/v62.0/sobjects/Integration_Setting__c/Key__c/one'
    headers = {'Authorization': 'Bearer ' + token}
    created = requests.patch(url, json={'Name': 'One', 'Value__c': 'a'}, headers=headers, verify=org.ca_path, timeout=30)
    assert created.status_code == 201 and created.json()['created'] is True
    updated = requests.patch(url, json={'Value__c': 'b'}, headers=headers, verify=org.ca_path, timeout=30)
    assert updated.status_code == 200 and updated.json() == {'id': created.json()['id'], 'success': True, 'errors': [],
                                                             'created': False}
    assert [(r['Key__c'], r['Value__c']) for r in org.records('Integration_Setting__c')] == [('one', 'b')]
    wrong = requests.patch(org.url + '/services/data/v62.0/sobjects/Integration_Setting__c/Name/x', json={'Value__c': 'c'},
                           headers=headers, verify=org.ca_path, timeout=30)
    assert wrong.status_code == 400 and wrong.json()[0]['errorCode'] == 'NOT_FOUND'
