# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Records without a network (module_utils/api/_records): validation, and plan / write / run against a scripted org
(reads, batches, failures, check and diff), record_info end to end. The SOQL is tested in test_soql.py, the value
comparison in test_record_values.py."""

from __future__ import annotations

import datetime
import json
from urllib.parse import urlsplit

import pytest
import requests

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _record_values as record_values
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _records as records
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _soql
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, AuthError, InputError
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import INSTANCE, INVALID_SESSION, TOKEN, FakeAuth, FakeHttp, make_response
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.soql_reading import QUERY_PATH, SOBJECT, in_list, keys_of, request_uri

COLLECTIONS = '/services/data/v62.0/composite/sobjects'
UPSERT_PATH = COLLECTIONS + '/Setting__c/Key__c'
HTML = b'<html><head><title>Maintenance</title></head><body>Down</body></html>'


def sf_id(number):
    """An 18-character Id with its case checksum ('a0B' + 12 digits: the suffix is EAA)."""
    return 'a0B%012dEAA' % number


SETTING_FIELDS = {'Id': 'id', 'Name': 'string', 'Key__c': 'string', 'Value__c': 'double', 'Enabled__c': 'boolean',
                  'Effective_Date__c': 'date', 'Number_Key__c': 'double', 'Secret__c': 'string', 'When__c': 'datetime',
                  'Tags__c': 'string', 'Other__c': 'string', 'Flag__c': 'boolean', 'Limit__c': 'double'}
EXTERNAL_IDS = ('Key__c', 'Number_Key__c')


class DescribingHttp(FakeHttp):
    """FakeHttp that answers GET .../sobjects/<X>/describe itself (kept apart in `describes`, not in `calls`)."""

    def __init__(self, handler, fields=None):
        super().__init__(handler)
        self.fields = SETTING_FIELDS if fields is None else fields
        self.describes = []

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):
        if method == 'GET' and urlsplit(url).path.endswith('/describe'):
            self.describes.append(urlsplit(url).path)
            response = make_response(200, {'name': SOBJECT, 'fields': [
                {'name': name, 'type': kind, 'externalId': name in EXTERNAL_IDS, 'idLookup': name in EXTERNAL_IDS + ('Id',)}
                for name, kind in self.fields.items()]})
            response.url = url
            return response
        return super().request(method, url, params=params, data=data, headers=headers, **kwargs)


class Org:
    """A scripted org for Setting__c: answers the key queries and sObject Collections, records every call.

    script maps the number of a write call (1, 2, ...) to a response, or to a function turning the answers the
    org would give into the answers it gives."""

    def __init__(self, existing=(), refuse=None, script=None, query_answer=None):
        self.stored = {}
        self.next_id = 1
        self.refuse = dict(refuse or {})
        self.script = dict(script or {})
        self.query_answer = query_answer
        self.write_calls = []
        for record in existing:
            self.store(dict(record))
        self.http = DescribingHttp(self.handle)
        self.client = rest.RestClient(rest.StaticCredentials(TOKEN, INSTANCE), self.http, api_version='62.0')

    def store(self, record):
        if 'Id' not in record:
            record['Id'] = sf_id(self.next_id)
            self.next_id += 1
        self.stored[record['Id']] = record
        return record

    def by_key(self, key):
        return next((r for r in self.stored.values() if r.get('Key__c') == key), None)

    def handle(self, call):
        if call['method'] == 'GET':
            return self.query(call['params']['q'])
        self.write_calls.append(call)
        answers = self.delete(call) if call['method'] == 'DELETE' else self.upsert(call)
        scripted = self.script.get(len(self.write_calls))
        if isinstance(scripted, requests.Response):
            return scripted
        return make_response(200, scripted(answers) if scripted else answers)

    def query(self, soql):
        if self.query_answer is not None:
            return make_response(200, self.query_answer)
        select, dummy, field, values = in_list(soql)
        found = []
        for record in self.stored.values():
            # External ids match case-insensitively, as Salesforce's do (unless marked case-sensitive).
            folded = [v.lower() if isinstance(v, str) else v for v in values]
            value = record.get(field)
            if (field == 'Id' and record['Id'][:15] in [v[:15] for v in values]) or (
                    field != 'Id' and (value.lower() if isinstance(value, str) else value) in folded):
                answer = {'attributes': {'type': SOBJECT, 'url': '/services/data/v62.0/sobjects/Setting__c/' + record['Id']}}
                answer.update((name, record.get(name)) for name in select)
                found.append(answer)
        return make_response(200, {'totalSize': len(found), 'done': True, 'records': found})

    def upsert(self, call):
        assert call['path'] in (UPSERT_PATH, COLLECTIONS)
        answers = []
        for record in json.loads(call['data'])['records']:
            key = record.get('Key__c') or record.get('id')
            if key in self.refuse:
                answers.append({'id': None, 'success': False, 'errors': self.refuse[key]})
                continue
            fields = {name: value for name, value in record.items() if name not in ('attributes', 'id')}
            existing = self.stored.get(record['id']) if 'id' in record else self.by_key(key)
            if existing is not None:
                existing.update(fields)
                answers.append({'id': existing['Id'], 'success': True, 'errors': [], 'created': False})
            else:
                answers.append({'id': self.store(fields)['Id'], 'success': True, 'errors': [], 'created': True})
        if call['path'] == COLLECTIONS:
            for answer in answers:
                answer.pop('created', None)
        return answers

    def delete(self, call):
        assert call['path'] == COLLECTIONS
        answers = []
        for record_id in call['params']['ids'].split(','):
            self.stored.pop(record_id)
            answers.append({'id': record_id, 'success': True, 'errors': []})
        return answers

    def bodies(self):
        return [json.loads(call['data']) for call in self.write_calls]


def settings(count, **extra):
    return [dict({'Key__c': key, 'Name': 'Setting %s' % key, 'Value__c': number}, **extra) for number, key in enumerate(keys_of(count))]


def stored_settings(count):
    """What Salesforce holds for settings(count): numbers come back as doubles."""
    return [dict(record, Value__c=float(record['Value__c'])) for record in settings(count)]


def run(org, given, key_field='Key__c', **kwargs):
    no_log_fields = kwargs.pop('no_log_fields', ())
    return records.run(org.client, records.RecordSet(SOBJECT, given, key_field, no_log_fields), **kwargs)


@pytest.mark.parametrize('sobject, key_field, record, what', [
    ('Account WHERE Id != null', 'Key__c', {'Key__c': 'a'}, 'sobject'),
    ('Account\n', 'Key__c', {'Key__c': 'a'}, 'sobject'),
    (SOBJECT, 'Key__c) OR (Id', {'Key__c': 'a'}, 'external_id_field'),
    (SOBJECT, 'Key__c', {'Key__c': 'a', 'Name FROM User --': 'x'}, 'records[0] field'),
    (SOBJECT, 'Key__c', {'Key__c': 'a', 'Owner.Name': 'x'}, 'records[0] field'),
])
def test_record_set_refuses_names_that_are_not_api_names(sobject, key_field, record, what):
    with pytest.raises(InputError) as excinfo:
        records.RecordSet(sobject, [record], key_field)
    assert excinfo.value.msg.startswith(what + ' ')
    assert 'is not a Salesforce API name' in excinfo.value.msg


# -- the record set --------------------------------------------------------------------------------------

def record_set_error(given, key_field='Key__c'):
    with pytest.raises(InputError) as excinfo:
        records.RecordSet(SOBJECT, given, key_field)
    return excinfo.value.msg


def test_record_set_fields_and_keys():
    record_set = records.RecordSet(SOBJECT, [{'Key__c': 'a', 'Name': 'x', 'attributes': {'type': SOBJECT}},
                                             {'key__c': 'b', 'Value__c': 1, 'name': 'y'}], 'Key__c', ['value__C'])
    assert record_set.fields == ['Name', 'Value__c']
    assert record_set.records == [('a', {'Key__c': 'a', 'Name': 'x'}), ('b', {'key__c': 'b', 'Value__c': 1, 'name': 'y'})]
    assert record_set.secret_values() == ['1']
    assert not record_set.by_id


def test_one_mapping_is_one_record():
    record_set = records.RecordSet(SOBJECT, {'Key__c': 'a'}, 'Key__c')
    assert record_set.records == [('a', {'Key__c': 'a'})]
    assert record_set.fields == []


@pytest.mark.parametrize('given', [[], None, 'Key__c: a', 5, ({'Key__c': 'a'},)])
def test_records_must_be_a_list(given):
    assert record_set_error(given) == 'records must be a list of field mappings (or one mapping), with at least one record.'


@pytest.mark.parametrize('given, message', [
    ([{'Key__c': 'a'}, {'Name': 'b'}], 'records[1] has no Key__c: every record needs its key (external_id_field=Key__c).'),
    ({}, 'records[0] has no Key__c: every record needs its key (external_id_field=Key__c).'),
    ([{'Key__c': None}], 'records[0] has no Key__c: every record needs its key (external_id_field=Key__c).'),
    ([{'Key__c': 'a'}, 'b'], 'records[1] is a str, not a mapping of field names to values.'),
    ([{'Key__c': ''}], 'records[0] Key__c  is not a key value: give a non-empty string or an integer.'),
    ([{'Key__c': '  '}], 'records[0] Key__c    is not a key value: give a non-empty string or an integer.'),
    ([{'Key__c': 1.5}], 'records[0] Key__c 1.5 is not a key value: give a non-empty string or an integer.'),
    ([{'Key__c': True}], 'records[0] Key__c true is not a key value: give a non-empty string or an integer.'),
    ([{'Key__c': 'a'}, {'Key__c': 'b'}, {'Key__c': 'a'}], 'records[0] and records[2] have the same Key__c a; give each record once.'),
    ([{'Key__c': 5}, {'Key__c': '5'}], 'records[0] and records[1] have the same Key__c 5; give each record once.'),
    ([{'Key__c': 'a', 'Tags__c': ['x']}], 'records[0] field Tags__c is a list; give a string, a number, a boolean, a date or null.'),
    ([{'Key__c': 'a', 'Owner': {'Name': 'x'}}], 'records[0] field Owner is a dict; give a string, a number, a boolean, a date or null.'),
    ([{'Key__c': {'a': 1}}], 'records[0] field Key__c is a dict; give a string, a number, a boolean, a date or null.'),
    ([{'Key__c': 'a', 'Name': 'x', 'NAME': 'y'}], 'records[0] names the field NAME twice (field names are case-insensitive).'),
    ([{'Key__c': 'a', 'KEY__C': 'a'}], 'records[0] names the field KEY__C twice (field names are case-insensitive).'),
    ([{'Key__c': 'a', 'Value__c': float('nan')}], 'records[0] field Value__c is nan, not a number Salesforce stores.'),
    ([{'Key__c': 'a', 'Value__c': float('inf')}], 'records[0] field Value__c is inf, not a number Salesforce stores.'),
])
def test_record_set_refuses(given, message):
    assert record_set_error(given) == message


def test_fifteen_and_eighteen_character_ids_are_one_record():
    assert record_set_error([{'Id': '001A0000006Vm9r'}, {'Id': '001A0000006Vm9rIAC'}], 'Id') == (
        'records[0] and records[1] have the same Id 001A0000006Vm9rIAC; give each record once.')
    assert record_set_error([{'id': '001A0000006Vm9rIAC'}, {'ID': '001A0000006Vm9rIAC'}], 'ID') == (
        'records[0] and records[1] have the same ID 001A0000006Vm9rIAC; give each record once.')
    # External ids of 18 characters are not Ids: only equal texts are the same key.
    record_set = records.RecordSet(SOBJECT, [{'Key__c': 'ABCDEFGHIJKLMNOPQR'}, {'Key__c': 'ABCDEFGHIJKLMNOXYZ'}], 'Key__c')
    assert len(record_set.records) == 2


# -- present: reads, then writes in batches ----------------------------------------------------------------

def test_500_new_records_are_read_then_created_in_3_calls():
    org = Org()
    result = run(org, settings(500))
    assert [m for m, p in org.http.paths()] == ['GET', 'PATCH', 'PATCH', 'PATCH']
    assert org.http.paths()[1:] == [('PATCH', UPSERT_PATH)] * 3
    read = org.http.calls[0]['params']['q']
    assert in_list(read)[:3] == (['Id', 'Key__c', 'Name', 'Value__c'], SOBJECT, 'Key__c')
    assert in_list(read)[3] == keys_of(500)
    bodies = org.bodies()
    assert [len(b['records']) for b in bodies] == [200, 200, 100]
    assert all(b['allOrNone'] is False for b in bodies)
    assert bodies[2]['records'][-1] == {'attributes': {'type': SOBJECT}, 'Key__c': 'k499', 'Name': 'Setting k499', 'Value__c': 499}
    assert [r['Key__c'] for b in bodies for r in b['records']] == keys_of(500)
    assert org.http.calls[1]['headers']['Content-Type'] == 'application/json'
    assert {k: result[k] for k in ('changed', 'created', 'updated', 'deleted', 'unchanged', 'errors')} == dict(
        changed=True, created=500, updated=0, deleted=0, unchanged=0, errors=[])
    assert result['records'][0] == {'key': 'k000', 'id': sf_id(1), 'action': 'created'}
    assert result['records'][499] == {'key': 'k499', 'id': sf_id(500), 'action': 'created'}
    assert 'diff' not in result


def test_rerun_of_the_same_records_writes_nothing():
    org = Org(existing=stored_settings(500))
    result = run(org, settings(500))
    assert org.http.paths() == [('GET', QUERY_PATH)]
    assert (result['changed'], result['unchanged'], result['created'], result['updated']) == (False, 500, 0, 0)
    assert result['records'][3] == {'key': 'k003', 'id': sf_id(4), 'action': 'unchanged'}


def test_only_the_differing_fields_of_the_differing_records_are_sent():
    org = Org(existing=stored_settings(500))
    given = settings(500)
    changed_keys = ['k007', 'k100', 'k101', 'k250', 'k398', 'k400', 'k499']
    for record in given:
        if record['Key__c'] in changed_keys:
            record['Name'] = 'Renamed'
    given[8]['Value__c'] = '8'  # the same number, as text
    result = run(org, given)
    assert org.http.paths() == [('GET', QUERY_PATH), ('PATCH', UPSERT_PATH)]
    assert org.bodies() == [{'allOrNone': False, 'records': [{'attributes': {'type': SOBJECT}, 'Key__c': key, 'Name': 'Renamed'}
                                                             for key in changed_keys]}]
    assert (result['changed'], result['updated'], result['unchanged'], result['created']) == (True, 7, 493, 0)
    assert [r['key'] for r in result['records'] if r['action'] == 'updated'] == changed_keys


def test_keys_too_long_for_one_read_are_read_in_several_queries():
    keys = ['%03d' % n + '€' * 300 for n in range(40)]
    org = Org(existing=[{'Key__c': key, 'Name': 'x'} for key in keys])
    result = run(org, [{'Key__c': key, 'Name': 'x'} for key in keys])
    assert [m for m, p in org.http.paths()] == ['GET'] * 7
    for call in org.http.calls:
        assert len(urlsplit(call['url']).path) + 1 + len(urlsplit(call['url']).query) <= _soql.MAX_URI_BYTES
    assert [v for call in org.http.calls for v in in_list(call['params']['q'])[3]] == keys
    assert result['unchanged'] == 40 and not result['changed']


def test_updates_by_id_use_the_collection_with_id():
    org = Org(existing=[{'Id': sf_id(1), 'Name': 'A', 'Value__c': 1.0}, {'Id': sf_id(2), 'Name': 'B', 'Value__c': 2.0}])
    result = run(org, [{'Id': sf_id(1)[:15], 'Name': 'A', 'Value__c': 10}, {'id': sf_id(2), 'Name': 'B', 'Value__c': 2}], key_field='Id')
    read = org.http.calls[0]['params']['q']
    assert read == "SELECT Id, Name, Value__c FROM Setting__c WHERE Id IN ('a0B000000000001', '%s')" % sf_id(2)
    assert org.http.paths()[1:] == [('PATCH', COLLECTIONS)]
    assert org.bodies() == [{'allOrNone': False, 'records': [{'attributes': {'type': SOBJECT}, 'Value__c': 10, 'id': sf_id(1)}]}]
    assert result['records'] == [{'key': sf_id(1)[:15], 'id': sf_id(1), 'action': 'updated'},
                                 {'key': sf_id(2), 'id': sf_id(2), 'action': 'unchanged'}]


def test_an_id_not_found_fails_before_any_write():
    org = Org(existing=[{'Id': sf_id(1), 'Name': 'A'}])
    with pytest.raises(ApiError) as excinfo:
        run(org, [{'Id': sf_id(1), 'Name': 'B'}, {'Id': sf_id(9), 'Name': 'C'}], key_field='Id')
    assert excinfo.value.msg == ('Setting__c has no record with Id %s: records are created only by an external id '
                                 '(set external_id_field), never by Id.' % sf_id(9))
    assert [m for m, p in org.http.paths()] == ['GET']


def test_all_or_none_is_sent():
    org = Org()
    run(org, settings(2), all_or_none=True)
    assert org.bodies()[0]['allOrNone'] is True


def test_a_field_the_object_does_not_have_is_refused_before_any_read():
    org = Org()
    with pytest.raises(InputError) as excinfo:
        run(org, [{'Key__c': 'a', 'Nope__c': 1, 'Name': 'x'}])
    assert excinfo.value.msg == ('Setting__c has no field Nope__c (as the describe of the object lists them): correct the name; '
                                 'nothing was written.')
    assert org.http.calls == []


def test_a_key_field_that_is_no_external_id_is_refused_before_any_read():
    org = Org()
    with pytest.raises(InputError) as excinfo:
        run(org, [{'Name': 'a'}], key_field='Name')
    assert excinfo.value.msg == ('Setting__c.Name is not an External ID field, so Salesforce cannot find or create records by it: '
                                 'mark it External ID (and Unique), or use another external_id_field, or Id.')
    assert org.http.calls == []


def test_a_failed_read_names_salesforce_error_and_writes_nothing():
    def handler(call):
        return make_response(400, [{'errorCode': 'INVALID_FIELD', 'message': "No such column 'Nope__c'"}])
    org = Org()
    org.http.fields = dict(SETTING_FIELDS, Nope__c='string')   # the describe knows it, the query refuses it
    org.http.handler = handler
    with pytest.raises(ApiError) as excinfo:
        run(org, [{'Key__c': 'a', 'Nope__c': 1}])
    assert excinfo.value.msg == ("Reading the current Setting__c records failed: GET %s answered HTTP 400 (accepted: 200, 201, 204) "
                                 "with INVALID_FIELD: No such column 'Nope__c'." % QUERY_PATH)
    assert excinfo.value.details['status'] == 400
    assert len(org.http.calls) == 1


@pytest.mark.parametrize('answer_records, message', [
    ([{'Key__c': 'a', 'Name': 'x'}], 'Reading the current Setting__c records: Salesforce answered a record without an Id ({"Key__c": "a", "Name": "x"}).'),
    ([{'Id': 5, 'Key__c': 'a'}], 'Reading the current Setting__c records: Salesforce answered a record without an Id ({"Id": 5, "Key__c": "a"}).'),
])
def test_read_answers_without_ids_are_refused(answer_records, message):
    org = Org(query_answer={'totalSize': 1, 'done': True, 'records': answer_records})
    with pytest.raises(ApiError) as excinfo:
        run(org, [{'Key__c': 'a', 'Name': 'y'}], state='absent')
    assert excinfo.value.msg == message
    assert not org.write_calls


def test_read_answers_that_are_not_records_are_skipped():
    org = Org(query_answer={'totalSize': 2, 'done': True, 'records': ['x', None, {'Id': sf_id(1), 'Key__c': 'other'}]})
    result = run(org, [{'Key__c': 'a', 'Name': 'y'}])
    assert result['created'] == 1


# -- absent ----------------------------------------------------------------------------------------------

def test_absent_deletes_found_records_in_batches_of_200():
    org = Org(existing=stored_settings(450))
    result = run(org, [{'Key__c': key} for key in keys_of(500)], state='absent')
    read = org.http.calls[0]['params']['q']
    assert in_list(read)[:3] == (['Id', 'Key__c'], SOBJECT, 'Key__c')
    assert org.http.paths()[1:] == [('DELETE', COLLECTIONS)] * 3
    params = [call['params'] for call in org.write_calls]
    assert [p['ids'].split(',') for p in params] == [[sf_id(n) for n in range(1, 201)], [sf_id(n) for n in range(201, 401)],
                                                     [sf_id(n) for n in range(401, 451)]]
    assert [p['allOrNone'] for p in params] == ['false'] * 3
    assert org.write_calls[0]['data'] is None
    assert (result['changed'], result['deleted'], result['unchanged']) == (True, 450, 50)
    assert result['records'][0] == {'key': 'k000', 'id': sf_id(1), 'action': 'deleted'}
    assert result['records'][499] == {'key': 'k499', 'id': None, 'action': 'absent'}
    assert not org.stored
    rerun = run(org, [{'Key__c': key} for key in keys_of(500)], state='absent')
    assert (rerun['changed'], rerun['deleted'], rerun['unchanged']) == (False, 0, 500)
    assert len(org.write_calls) == 3


def test_absent_by_id_with_all_or_none():
    org = Org(existing=[{'Id': sf_id(1)}])
    result = run(org, [{'Id': sf_id(1)[:15]}, {'Id': sf_id(2)}], key_field='Id', state='absent', all_or_none=True)
    assert org.write_calls[0]['params'] == {'ids': sf_id(1), 'allOrNone': 'true'}
    assert org.write_calls[0]['url'] == INSTANCE + COLLECTIONS + '?ids=%s&allOrNone=true' % sf_id(1)
    assert result['records'] == [{'key': sf_id(1)[:15], 'id': sf_id(1), 'action': 'deleted'}, {'key': sf_id(2), 'id': None, 'action': 'absent'}]


# -- check mode and diff ---------------------------------------------------------------------------------

def diff_org():
    return Org(existing=[{'Key__c': 'a', 'Name': 'Old', 'Secret__c': 'old-secret', 'Value__c': 1.0},
                         {'Key__c': 'c', 'Name': 'C', 'Secret__c': None}])


DIFF_RECORDS = [{'Key__c': 'a', 'Name': 'New', 'Secret__c': 'new-secret', 'Value__c': 1},
                {'Key__c': 'b', 'Name': 'B', 'Secret__c': 's', 'When__c': datetime.datetime(2024, 1, 1)},
                {'Key__c': 'c', 'Name': 'C', 'Secret__c': ''}]
EXPECTED_DIFF = {
    'before': {'a': {'Name': 'Old', 'Secret__c': '********'}},
    'after': {'a': {'Name': 'New', 'Secret__c': '********'}, 'b': {'Name': 'B', 'Secret__c': '********', 'When__c': '2024-01-01T00:00:00Z'}},
    'before_header': 'Setting__c records (Key__c)',
    'after_header': 'Setting__c records (Key__c)',
}


def test_check_mode_sends_no_write_and_diff_masks_no_log_fields():
    org = diff_org()
    result = run(org, DIFF_RECORDS, no_log_fields=['secret__C'], check_mode=True, diff=True)
    assert [m for m, p in org.http.paths()] == ['GET']
    assert result['diff'] == EXPECTED_DIFF
    assert {k: result[k] for k in ('changed', 'created', 'updated', 'deleted', 'unchanged', 'errors')} == dict(
        changed=True, created=1, updated=1, deleted=0, unchanged=1, errors=[])
    assert result['records'] == [{'key': 'a', 'id': sf_id(1), 'action': 'updated'}, {'key': 'b', 'id': None, 'action': 'created'},
                                 {'key': 'c', 'id': sf_id(2), 'action': 'unchanged'}]
    assert org.stored[sf_id(1)]['Name'] == 'Old'


def test_diff_of_a_real_run_is_the_same_and_secrets_are_listed_for_no_log():
    org = diff_org()
    record_set = records.RecordSet(SOBJECT, DIFF_RECORDS, 'Key__c', ['Secret__c'])
    assert record_set.secret_values() == ['new-secret', 's']
    result = records.run(org.client, record_set, diff=True)
    assert result['diff'] == EXPECTED_DIFF
    assert org.bodies() == [{'allOrNone': False, 'records': [
        {'attributes': {'type': SOBJECT}, 'Name': 'New', 'Secret__c': 'new-secret', 'Key__c': 'a'},
        {'attributes': {'type': SOBJECT}, 'Name': 'B', 'Secret__c': 's', 'When__c': '2024-01-01T00:00:00Z', 'Key__c': 'b'}]}]
    assert (result['updated'], result['created']) == (1, 1)


def test_check_mode_absent_and_its_diff():
    org = Org(existing=[{'Key__c': 'a'}])
    result = run(org, [{'Key__c': 'a'}, {'Key__c': 'b'}], state='absent', check_mode=True, diff=True)
    assert not org.write_calls
    assert result['diff']['before'] == {'a': {'Id': sf_id(1)}} and result['diff']['after'] == {}
    assert (result['changed'], result['deleted'], result['unchanged']) == (True, 1, 1)


def test_no_change_no_diff():
    org = Org(existing=[{'Key__c': 'a', 'Name': 'x'}])
    result = run(org, [{'Key__c': 'a', 'Name': 'x'}], diff=True)
    assert result['diff']['before'] == {} and result['diff']['after'] == {}
    assert not result['changed']


# -- failures --------------------------------------------------------------------------------------------

DUPLICATE = [{'statusCode': 'DUPLICATE_VALUE', 'message': 'duplicate value found: Key__c', 'fields': ['Key__c']}]


def test_records_refused_are_listed_with_what_was_written():
    org = Org(existing=[{'Key__c': 'c', 'Name': 'old'}],
              refuse={'b': DUPLICATE, 'd': [{'statusCode': 'REQUIRED_FIELD_MISSING', 'message': 'Required fields are missing', 'fields': []},
                                            {'statusCode': 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'message': 'Too big', 'fields': ['Value__c', 'Name']}]})
    with pytest.raises(ApiError) as excinfo:
        run(org, [{'Key__c': key, 'Name': key} for key in 'abcd'], diff=True)
    error = excinfo.value
    assert error.msg == ('2 of 4 Setting__c records failed:\n'
                         '- Key__c b: DUPLICATE_VALUE: duplicate value found: Key__c (fields: Key__c)\n'
                         '- Key__c d: REQUIRED_FIELD_MISSING: Required fields are missing; '
                         'FIELD_CUSTOM_VALIDATION_EXCEPTION: Too big (fields: Value__c, Name)\n'
                         'Written: a, c (created 1, updated 1, deleted 0).')
    details = error.details
    assert details['errors'] == [
        {'key': 'b', 'statusCode': 'DUPLICATE_VALUE', 'message': 'duplicate value found: Key__c', 'fields': ['Key__c']},
        {'key': 'd', 'statusCode': 'REQUIRED_FIELD_MISSING', 'message': 'Required fields are missing', 'fields': []},
        {'key': 'd', 'statusCode': 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'message': 'Too big', 'fields': ['Value__c', 'Name']}]
    assert details['records'] == [{'key': 'a', 'id': sf_id(2), 'action': 'created'}, {'key': 'b', 'id': None, 'action': 'failed'},
                                  {'key': 'c', 'id': sf_id(1), 'action': 'updated'}, {'key': 'd', 'id': None, 'action': 'failed'}]
    assert (details['changed'], details['created'], details['updated'], details['unchanged']) == (True, 1, 1, 0)
    assert details['diff']['after'] == {'a': {'Name': 'a'}, 'c': {'Name': 'c'}}


def test_salesforce_words_about_a_record_are_escaped_in_the_message():
    # An escape sequence, a fake line, a C1 control and a bidi override in Salesforce's error: shown, never acted on.
    hostile = [{'statusCode': 'BAD\x1b[2J', 'message': 'no\x1b]0;owned\x07\r\nok: [localhost]\x9b\u202e',
                'fields': ['Name\u200b']}]
    org = Org(refuse={'b': hostile})
    with pytest.raises(ApiError) as excinfo:
        run(org, [{'Key__c': 'b', 'Name': 'b'}])
    assert excinfo.value.msg == ('1 of 1 Setting__c records failed:\n'
                                 '- Key__c b: BAD\\x1b[2J: no\\x1b]0;owned\\x07\\x0d\\x0aok: [localhost]\\x9b\\u202e '
                                 '(fields: Name\\u200b)\n'
                                 'Written: nothing (created 0, updated 0, deleted 0).')
    assert excinfo.value.details['errors'] == [
        {'key': 'b', 'statusCode': 'BAD\\x1b[2J', 'message': 'no\\x1b]0;owned\\x07\\x0d\\x0aok: [localhost]\\x9b\\u202e',
         'fields': ['Name\\u200b']}]


def test_many_failures_are_cut_in_the_message():
    org = Org(refuse={key: DUPLICATE for key in keys_of(25)})
    with pytest.raises(ApiError) as excinfo:
        run(org, settings(25))
    lines = excinfo.value.msg.split('\n')
    assert lines[0] == '25 of 25 Setting__c records failed:'
    assert lines[-2:] == ['- ... and 5 more (see errors).', 'Written: nothing (created 0, updated 0, deleted 0).']
    assert len(lines) == 23
    assert excinfo.value.details['changed'] is False


def key_list(keys):
    return ', '.join(keys[:20]) + (' and %d more' % (len(keys) - 20) if len(keys) > 20 else '')


WHOLE_CALL_FAILURES = [
    (make_response(400, [{'errorCode': 'EXCEEDED_ID_LIMIT', 'message': 'record limit reached. cannot submit more than 200 records into this call'}]),
     'HTTP 400 with EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than 200 records into this call',
     [{'statusCode': 'EXCEEDED_ID_LIMIT', 'message': 'record limit reached. cannot submit more than 200 records into this call', 'fields': []}]),
    (make_response(500, HTML, content_type='text/html'), 'HTTP 500 with an HTML page titled "Maintenance" (maintenance or an error page)', None),
    (make_response(200, {'records': 'not a list'}), 'HTTP 200 with application/json: {"records": "not a list"}', None),
    (make_response(200, b'[{"id": ', content_type='application/json'), 'HTTP 200 with the body is not valid JSON (JSONDecodeError)', None),
    (make_response(201, []), 'HTTP 201 with application/json: []', None),
    (make_response(502, None), 'HTTP 502 with an empty body', None),
]


@pytest.mark.parametrize('response, answered, errors', WHOLE_CALL_FAILURES)
def test_a_call_failing_as_a_whole_says_what_was_written_and_what_was_not_sent(response, answered, errors):
    org = Org(script={2: response})
    with pytest.raises(ApiError) as excinfo:
        run(org, settings(450), diff=True)
    assert len(org.write_calls) == 2
    call_message = 'PATCH composite/sobjects/Setting__c/Key__c answered %s; nothing more was sent.' % answered
    keys = keys_of(450)
    # A refusal (4xx) wrote nothing of its batch; any other answer leaves it unknown whether the batch was written.
    action = 'failed' if response.status_code == 400 else 'unknown'
    middle = ('Failed: %s.' % key_list(keys[200:400]) if action == 'failed' else
              "Sent, but Salesforce's answer did not come back, so they may or may not be written (run the task again to find "
              "out): %s." % key_list(keys[200:400]))
    assert excinfo.value.msg.startswith('%s Written before the failure: %s. %s Not sent: %s.\n200 of 450 Setting__c records failed:\n'
                                        % (call_message, key_list(keys[:200]), middle, key_list(keys[400:])))
    details = excinfo.value.details
    assert details['status'] == response.status_code
    assert (details['changed'], details['created'], details['updated']) == (True, 200, 0)
    assert [r['action'] for r in details['records']] == ['created'] * 200 + [action] * 200 + ['not sent'] * 50
    expected_errors = errors or [{'statusCode': None, 'message': call_message, 'fields': []}]
    assert details['errors'] == [dict(error, key=key) for key in keys[200:400] for error in expected_errors]
    assert sorted(details['diff']['after']) == keys[:200]


def test_the_first_call_failing_means_nothing_written():
    org = Org(script={1: make_response(500, HTML, content_type='text/html')})
    with pytest.raises(ApiError) as excinfo:
        run(org, settings(3), state='present')
    assert ("; nothing more was sent. Written before the failure: nothing. Sent, but Salesforce's answer did not come back, so "
            "they may or may not be written (run the task again to find out): k000, k001, k002.\n") in excinfo.value.msg
    assert excinfo.value.details['changed'] is True, 'a 500 may have been applied'
    assert [r['action'] for r in excinfo.value.details['records']] == ['unknown'] * 3


def test_a_delete_call_failing_as_a_whole():
    org = Org(existing=stored_settings(3), script={1: make_response(400, [{'errorCode': 'INVALID_ID_FIELD', 'message': 'bad id'}])})
    with pytest.raises(ApiError) as excinfo:
        run(org, settings(3), state='absent')
    assert excinfo.value.msg.startswith('DELETE composite/sobjects answered HTTP 400 with INVALID_ID_FIELD: bad id; nothing more '
                                        'was sent. Written before the failure: nothing. Failed: k000, k001, k002.\n')
    assert excinfo.value.details['changed'] is False
    assert excinfo.value.details['records'][0] == {'key': 'k000', 'id': sf_id(1), 'action': 'failed'}


# -- hostile answers -------------------------------------------------------------------------------------

NOTHING = [{'statusCode': None, 'message': 'Salesforce answered nothing for this record.', 'fields': []}]
NO_REASON = [{'statusCode': None, 'message': 'Salesforce refused the record without a reason.', 'fields': []}]


@pytest.mark.parametrize('rewrite, actions, errors', [
    (lambda answers: [], ['failed', 'failed'], {'a': NOTHING, 'b': NOTHING}),
    (lambda answers: answers[:1], ['created', 'failed'], {'b': NOTHING}),
    (lambda answers: answers + answers + [{'id': 'x', 'success': False}], ['created', 'updated'], {}),
    (lambda answers: ['x', None], ['failed', 'failed'], {'a': NOTHING, 'b': NOTHING}),
    (lambda answers: [[answers[0]], 5], ['failed', 'failed'], {'a': NOTHING, 'b': NOTHING}),
    (lambda answers: [{'success': False, 'errors': 'boom'}, {'success': False}], ['failed', 'failed'], {'a': NO_REASON, 'b': NO_REASON}),
    (lambda answers: [{'success': False, 'errors': [None, 'x', {'statusCode': 5, 'message': None, 'fields': 'Name'}]},
                      {'success': False, 'errors': [{'fields': [1, None]}]}],
     ['failed', 'failed'], {'a': [{'statusCode': '5', 'message': '', 'fields': []}], 'b': [{'statusCode': '', 'message': '', 'fields': ['1', 'None']}]}),
    (lambda answers: [{'id': 12, 'success': True, 'created': 'yes'}, {'id': ['x'], 'success': True, 'created': None}],
     ['created', 'updated'], {}),
    (lambda answers: [{'success': 'true', 'id': 'x'}, {'success': 1}], ['failed', 'failed'], {'a': NO_REASON, 'b': NO_REASON}),
    (lambda answers: [{'success': True, 'created': False}, {'success': True, 'created': True}], ['updated', 'created'], {}),
])
def test_hostile_write_answers_do_not_crash(rewrite, actions, errors):
    org = Org(existing=[{'Key__c': 'b', 'Name': 'old'}], script={1: rewrite})
    given = [{'Key__c': 'a', 'Name': 'A'}, {'Key__c': 'b', 'Name': 'B'}]
    if errors:
        with pytest.raises(ApiError) as excinfo:
            run(org, given, diff=True)
        result = excinfo.value.details
    else:
        result = run(org, given, diff=True)
    assert [r['action'] for r in result['records']] == actions
    assert result['records'][1]['id'] == sf_id(1)
    assert result['errors'] == [dict(error, key=key) for key in sorted(errors) for error in errors[key]]
    assert result['created'] == actions.count('created') and result['updated'] == actions.count('updated')


def test_hostile_delete_answers_do_not_crash():
    org = Org(existing=stored_settings(2), script={1: lambda answers: [{'id': None, 'success': False, 'errors': [
        {'statusCode': 'ENTITY_IS_DELETED', 'message': 'entity is deleted', 'fields': []}]}]})
    with pytest.raises(ApiError) as excinfo:
        run(org, settings(2), state='absent')
    assert excinfo.value.msg == ('2 of 2 Setting__c records failed:\n'
                                 '- Key__c k000: ENTITY_IS_DELETED: entity is deleted\n'
                                 '- Key__c k001: ERROR: Salesforce answered nothing for this record.\n'
                                 'Written: nothing (created 0, updated 0, deleted 0).')
    assert excinfo.value.details['records'][0] == {'key': 'k000', 'id': sf_id(1), 'action': 'failed'}


# -- record_info -----------------------------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, expected', [
    (dict(fields=['Id', 'Name']), 'SELECT Id, Name FROM Account'),
    (dict(fields=['Id', 'Owner.Name'], where={'Name': "O'Brien", 'Key__c': ['a', 'b'], 'Enabled__c': True, 'Deleted__c': None, 'Amount': 1.5}),
     "SELECT Id, Owner.Name FROM Account WHERE Amount = 1.5 AND Deleted__c = null AND Enabled__c = true AND Key__c IN ('a', 'b') "
     "AND Name = 'O\\'Brien'"),
    (dict(fields=['Id'], where={'Industry': 'Energy'}, where_soql=' CreatedDate = LAST_N_DAYS:30 OR Name = null '),
     "SELECT Id FROM Account WHERE Industry = 'Energy' AND (CreatedDate = LAST_N_DAYS:30 OR Name = null)"),
    (dict(fields=['Id'], where_soql='Name != null'), 'SELECT Id FROM Account WHERE (Name != null)'),
    (dict(fields=['Id'], where={}, where_soql='  '), 'SELECT Id FROM Account'),
    (dict(fields=['Id'], order_by=' CreatedDate DESC, Name asc nulls last ', limit=10),
     'SELECT Id FROM Account ORDER BY CreatedDate DESC, Name asc nulls last LIMIT 10'),
    (dict(fields=['Id'], order_by='Owner.Name', limit=50000), 'SELECT Id FROM Account ORDER BY Owner.Name LIMIT 50000'),
])
def test_info_query(kwargs, expected):
    assert _soql.info_query('Account', **kwargs) == expected


@pytest.mark.parametrize('kwargs, message', [
    (dict(fields=[]), 'fields must name at least one field, for example [Id, Name].'),
    (dict(fields='Id'), 'fields must name at least one field, for example [Id, Name].'),
    (dict(fields=['Id', 'Name, (SELECT Id FROM Contacts)']), "field 'Name, (SELECT Id FROM Contacts)' is not a Salesforce field name"),
    (dict(fields=['Name\n']), "field 'Name\\n' is not a Salesforce field name"),
    (dict(fields=['A.B.C.D.E.F']), "field 'A.B.C.D.E.F' is not a Salesforce field name"),
    (dict(fields=[None]), 'field None is not a Salesforce field name'),
    (dict(fields=['Id'], where={"Name = 'x' OR Id": 'y'}), 'where field "Name = \'x\' OR Id" is not a Salesforce API name'),
    (dict(fields=['Id'], where={'Owner.Name': 'x'}), "where field 'Owner.Name' is not a Salesforce API name"),
    (dict(fields=['Id'], where={1: 'x', 'Name': 'y'}), 'where field 1 is not a Salesforce API name'),
    (dict(fields=['Id'], where={'Name': []}), 'where Name is an empty list: no record can match it.'),
    (dict(fields=['Id'], where={'Name': {'a': 1}}), "{'a': 1} (a dict) cannot be compared in SOQL"),
    (dict(fields=['Id'], where={'Name': ['a', ['b']]}), "['b'] (a list) cannot be compared in SOQL"),
    (dict(fields=['Id'], where={'Amount': float('nan')}), 'nan is not a number Salesforce stores.'),
    (dict(fields=['Id'], where='Name = 1'), 'where must be a mapping of field names to values.'),
    (dict(fields=['Id'], order_by='Name; DELETE'), "order_by 'Name; DELETE' is not a SOQL ORDER BY list"),
    (dict(fields=['Id'], order_by='Name DESC LIMIT 1'), "order_by 'Name DESC LIMIT 1' is not a SOQL ORDER BY list"),
    (dict(fields=['Id'], order_by="Name' OR"), 'order_by "Name\' OR" is not a SOQL ORDER BY list'),
    (dict(fields=['Id'], order_by='Name,'), "order_by 'Name,' is not a SOQL ORDER BY list"),
    (dict(fields=['Id'], limit=0), 'limit must be from 1 to 50000 (got 0).'),
    (dict(fields=['Id'], limit=-1), 'limit must be from 1 to 50000 (got -1).'),
    (dict(fields=['Id'], limit=50001), 'limit must be from 1 to 50000 (got 50001).'),
    (dict(fields=['Id'], limit=True), 'limit must be from 1 to 50000 (got True).'),
    (dict(fields=['Id'], limit='10'), "limit must be from 1 to 50000 (got '10')."),
    (dict(fields=['Id'], limit=1.5), 'limit must be from 1 to 50000 (got 1.5).'),
])
def test_info_query_refuses(kwargs, message):
    with pytest.raises(InputError) as excinfo:
        _soql.info_query('Account', **kwargs)
    assert excinfo.value.msg.startswith(message)


def test_info_query_refuses_sobject_injection():
    with pytest.raises(InputError):
        _soql.info_query('Account WHERE Id != null', ['Id'])


def test_info_query_too_long_for_the_uri_or_soql():
    values = keys_of(2000, 'key-%05d')
    soql = _soql.info_query('Account', ['Id'], {'Key__c': values[:800]})
    assert len(request_uri(soql)) <= _soql.MAX_URI_BYTES
    with pytest.raises(InputError) as excinfo:
        _soql.info_query('Account', ['Id'], {'Key__c': values})
    long_soql = 'SELECT Id FROM Account WHERE Key__c IN (%s)' % ', '.join("'%s'" % v for v in values)
    assert excinfo.value.msg == ('The query takes %d bytes in the request URI; Salesforce takes at most 16384. Narrow where.'
                                 % len(request_uri(long_soql)))
    where_soql = 'Name = null OR ' * 7000 + 'Name = null'
    with pytest.raises(InputError) as excinfo:
        _soql.info_query('Account', ['Id'], where_soql=where_soql)
    assert excinfo.value.msg == ('The query has %d characters; Salesforce takes at most 100000. Narrow where.'
                                 % len('SELECT Id FROM Account WHERE (%s)' % where_soql))


def test_strip_attributes():
    assert records.strip_attributes({'attributes': {'type': 'Account'}, 'Id': '1', 'Owner': {'attributes': {}, 'Name': 'x'}}) == {
        'Id': '1', 'Owner': {'Name': 'x'}}
    assert records.strip_attributes('x') == 'x'


@pytest.mark.parametrize('value, field_type, literal', [
    ('2026-01-31', 'date', '2026-01-31'),
    (datetime.date(2026, 1, 31), 'date', '2026-01-31'),
    ('2026-01-31T10:00:00+02:00', 'datetime', '2026-01-31T08:00:00Z'),
    ('42', 'double', '42'),
    ('1.50', 'currency', '1.50'),
    (7, 'int', '7'),
    ('TRUE', 'boolean', 'true'),
    (1001, 'string', "'1001'"),
    ('2026-01-31', 'string', "'2026-01-31'"),
    ("o'brien", 'string', "'o\\'brien'"),
    ('not a number', 'double', "'not a number'"),
    ('2026-13-45x', 'date', "'2026-13-45x'"),
    (None, 'date', 'null'),
    ('x', None, "'x'"),
])
def test_typed_literal_writes_values_as_their_field_wants(value, field_type, literal):
    assert _soql.typed_literal(value, field_type) == literal


def test_where_values_follow_the_field_types():
    types = {'effective_date__c': 'date', 'limit__c': 'double', 'key__c': 'string'}
    assert _soql.where_clause({'Effective_Date__c': '2026-01-31', 'Limit__c': ['5', 6], 'Key__c': 5}, types) == (
        "Effective_Date__c = 2026-01-31 AND Key__c = '5' AND Limit__c IN (5, 6)")


def test_number_keys_on_a_number_external_id_are_unquoted():
    org = Org()
    record_set = records.RecordSet(SOBJECT, [{'Number_Key__c': '1001', 'Name': 'x'}], 'Number_Key__c')
    records.Records(org.client, record_set).read_current(['Name'])
    assert org.http.calls[0]['params']['q'] == 'SELECT Id, Number_Key__c, Name FROM Setting__c WHERE Number_Key__c IN (1001)'
    assert org.http.describes == ['/services/data/v62.0/sobjects/Setting__c/describe']


def test_an_unknown_sobject_fails_at_describe():
    org = Org()
    org.http.describes = []

    def refuse(method, url, **kwargs):
        answer = make_response(404, [{'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}])
        answer.url = url
        return answer
    org.http.request = refuse
    with pytest.raises(ApiError) as excinfo:
        run(org, [{'Key__c': 'a'}])
    assert excinfo.value.msg == ('Describing Setting__c failed: Salesforce answered HTTP 404 with NOT_FOUND: The requested '
                                 'resource does not exist. Check the sobject name (custom objects end in __c).')


@pytest.mark.parametrize('current, desired, field_type, same', [
    (True, 'true', 'boolean', True),
    (False, 'False', 'boolean', True),
    (False, None, 'boolean', True),
    (False, '', 'boolean', True),
    (True, 1, 'boolean', False),
    ('true', True, 'string', True),
    ('123', 123, 'string', True),
    ('0123', 123, 'string', False),
    (5.0, '5', 'double', True),
    (None, 0, 'double', False),
    ('10:00:00.000Z', '10:00', 'time', True),
    ('10:00:00.000Z', '10:00:01', 'time', False),
    ('2024-01-01T00:00:00.000+0000', '2024-01-01T00:00:00z', 'datetime', True),
])
def test_values_compare_as_their_field_type(current, desired, field_type, same):
    assert record_values.same_typed_value(current, desired, field_type) is same


def test_keys_differing_in_case_are_one_key_on_a_case_insensitive_external_id():
    org = Org(existing=[{'Key__c': 'key-1', 'Name': 'x'}])
    result = run(org, [{'Key__c': 'KEY-1'}], state='absent')
    assert [r['action'] for r in result['records']] == ['deleted']
    with pytest.raises(InputError) as excinfo:
        run(Org(), [{'Key__c': 'a', 'Name': 'x'}, {'Key__c': 'A', 'Name': 'y'}])
    assert excinfo.value.msg == ('records[0] and records[1] have keys that Salesforce takes for the same Key__c (a and A); give '
                                 'each record once.')


def test_all_or_none_stops_after_the_first_batch_that_fails():
    keys = keys_of(450)
    org = Org(refuse={keys[5]: [{'statusCode': 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'message': 'no', 'fields': []}]})
    with pytest.raises(ApiError) as excinfo:
        run(org, settings(450), all_or_none=True)
    assert len(org.write_calls) == 1
    details = excinfo.value.details
    assert [r['action'] for r in details['records']].count('not sent') == 250
    assert excinfo.value.msg.startswith('all_or_none: a record of a batch failed, so Salesforce rolled the batch back and the '
                                        'later batches were not sent.')
    assert '\n- Key__c k005: FIELD_CUSTOM_VALIDATION_EXCEPTION: no' in excinfo.value.msg


def test_errors_about_a_secret_field_hide_their_message():
    org = Org(refuse={'k000': [{'statusCode': 'STRING_TOO_LONG', 'message': 'Secret__c: data value too large: TOPSECRET-PREFIX...',
                                'fields': ['Secret__c']}]})
    with pytest.raises(ApiError) as excinfo:
        run(org, [{'Key__c': 'k000', 'Secret__c': 'TOPSECRET-PREFIX-and-more'}], no_log_fields=['Secret__c'])
    assert 'TOPSECRET' not in excinfo.value.msg and 'TOPSECRET' not in repr(excinfo.value.details)
    assert excinfo.value.details['errors'][0]['message'] == '(hidden: it concerns a field of no_log_fields)'


@pytest.mark.parametrize('where_soql', ["Key__c = 'x') OR (Name != null", "(Name = 'a'", "Name = 'a", "Name = ')'("])
def test_where_soql_cannot_leave_its_parentheses(where_soql):
    with pytest.raises(InputError) as excinfo:
        _soql.info_query('Setting__c', ['Id'], where={'Enabled__c': True}, where_soql=where_soql)
    assert 'has unbalanced parentheses or an unclosed string' in excinfo.value.msg


def test_control_characters_and_absurd_numbers_are_refused():
    with pytest.raises(InputError):
        _soql.soql_literal('a\x00b')
    with pytest.raises(InputError):
        _soql.typed_literal('1e999999999', 'double')


class RenewalRefused(FakeAuth):
    """A session that Salesforce rejects at the second batch, and a renewal the token endpoint refuses."""

    def get_session(self, options):
        if self.minted:
            raise AuthError('Salesforce refused the token request (invalid_grant: user is not admin approved).',
                            details={'status_code': 400, 'salesforce_error': 'invalid_grant'})
        return super().get_session(options)


def test_a_renewal_refused_between_batches_keeps_what_was_written():
    org = Org(script={2: make_response(401, INVALID_SESSION)})
    org.client = rest.RestClient(rest.SessionCredentials(None, RenewalRefused()), org.http, api_version='62.0')
    with pytest.raises(ApiError) as excinfo:
        run(org, settings(210))
    actions = [entry['action'] for entry in excinfo.value.details['records']]
    assert (actions.count('created'), actions.count('unknown'), len(org.write_calls)) == (200, 10, 2)
    assert excinfo.value.details['changed'] is True
    assert 'user is not admin approved' in excinfo.value.msg
