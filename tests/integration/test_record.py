# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt.salesforce.record and record_info through ansible-playbook against the fake org's sObject Collections."""

from __future__ import annotations

import json

import pytest

SOBJECT = 'Integration_Setting__c'
UPSERT = ('PATCH', '/composite/sobjects/Integration_Setting__c/Key__c')
TASK = 'Make the records present or absent'
INFO = 'Read records'


@pytest.fixture
def org(fake_org_app, ansible):
    ansible.env.update({'SFJWT_LOGIN_URL': fake_org_app.url, 'SFJWT_CA_PATH': fake_org_app.ca_path,
                        'SFJWT_CONSUMER_KEY': fake_org_app.consumer_key, 'SFJWT_USERNAME': fake_org_app.username,
                        'SFJWT_PRIVATE_KEY_PATH': str(fake_org_app.key_path)})
    return fake_org_app.org


def run(ansible, tmp_path, check=False, diff=False, verbosity=0, **extra):
    """The record playbook with its variables in a file (500 records do not belong on a command line)."""
    path = tmp_path / ('vars-%d.json' % len(list(tmp_path.glob('vars-*.json'))))
    path.write_text(json.dumps(extra))
    return ansible.playbook('record.yml', extra_args=['-e', '@%s' % path], check=check, diff=diff, verbosity=verbosity)


def setting(number, **overrides):
    record = {'Key__c': 'key-%04d' % number, 'Name': 'Setting %d' % number, 'Value__c': 'v%d' % number,
              'Enabled__c': number % 2 == 0, 'Limit__c': number * 10, 'Effective_Date__c': '2026-01-%02d' % (number % 28 + 1)}
    record.update(overrides)
    return record


def writes(org):
    return [e for e in org.received_log() if e['method'] in ('POST', 'PATCH', 'DELETE') and '/composite/' in e['path']]


def test_500_records_in_three_calls_then_nothing_then_only_what_changed(ansible, org, tmp_path):
    records = [setting(n) for n in range(1, 501)]
    first = run(ansible, tmp_path, records=records)
    assert first.rc == 0, first.output
    result = first.result(TASK)
    assert (result['created'], result['updated'], result['deleted'], result['unchanged']) == (500, 0, 0, 0)
    assert result['changed'] is True and result['errors'] == []
    assert [r['action'] for r in result['records']] == ['created'] * 500
    assert all(r['id'] for r in result['records'])
    calls = writes(org)
    assert [(e['method'], e['path'].split('/v62.0')[1]) for e in calls] == [UPSERT] * 3
    assert [len(e['json']['records']) for e in calls] == [200, 200, 100]
    assert org.api_calls()[UPSERT] == 3
    # the 500 keys fit in one query (well under both limits), and its answer in one page
    assert org.api_calls()[('GET', '/query')] == 1

    before = len(writes(org))
    again = run(ansible, tmp_path, records=records)
    assert again.rc == 0, again.output
    result = again.result(TASK)
    assert result['changed'] is False and result['unchanged'] == 500 and result['created'] == 0
    assert len(writes(org)) == before, 'nothing is written when nothing differs'

    changed = [setting(n, Value__c='changed-%d' % n) if n % 70 == 0 else setting(n) for n in range(1, 501)]
    third = run(ansible, tmp_path, records=changed)
    assert third.rc == 0, third.output
    result = third.result(TASK)
    assert (result['updated'], result['unchanged']) == (7, 493)
    calls = writes(org)[before:]
    assert len(calls) == 1
    assert calls[0]['json']['records'] == [
        {'attributes': {'type': SOBJECT}, 'Value__c': 'changed-%d' % n, 'Key__c': 'key-%04d' % n} for n in range(70, 501, 70)]


def test_check_mode_and_diff(ansible, org, tmp_path):
    assert run(ansible, tmp_path, records=[setting(1), setting(2)]).rc == 0
    before = len(writes(org))
    records = [setting(1, Enabled__c=True, Limit__c=10.0), setting(2, Value__c='new', Effective_Date__c='2026-02-01'),
               setting(3, Secret_Token__c='tok-secret-3')]
    check = run(ansible, tmp_path, check=True, diff=True, records=records, no_log_fields=['Secret_Token__c'])
    assert check.rc == 0, check.output
    result = check.result(TASK)
    assert (result['created'], result['updated'], result['unchanged']) == (1, 2, 0)
    assert result['changed'] is True
    assert [r['action'] for r in result['records']] == ['updated', 'updated', 'created']
    assert result['diff'] == {
        'before_header': 'Integration_Setting__c records (Key__c)', 'after_header': 'Integration_Setting__c records (Key__c)',
        'before': {'key-0001': {'Enabled__c': False},
                   'key-0002': {'Effective_Date__c': '2026-01-03', 'Value__c': 'v2'}},
        'after': {'key-0001': {'Enabled__c': True},
                  'key-0002': {'Effective_Date__c': '2026-02-01', 'Value__c': 'new'},
                  'key-0003': {'Effective_Date__c': '2026-01-04', 'Enabled__c': False, 'Limit__c': 30, 'Name': 'Setting 3',
                               'Secret_Token__c': '********', 'Value__c': 'v3'}}}
    assert len(writes(org)) == before, 'check mode writes nothing'
    assert 'tok-secret-3' not in check.output
    # the same in a real run, then nothing left to do
    real = run(ansible, tmp_path, diff=True, records=records, no_log_fields=['Secret_Token__c'], verbosity=3)
    assert real.rc == 0, real.output
    assert real.result(TASK)['diff'] == result['diff']
    assert 'tok-secret-3' not in real.output
    assert run(ansible, tmp_path, records=records, no_log_fields=['Secret_Token__c']).result(TASK)['changed'] is False


def test_absent_deletes_and_a_rerun_is_unchanged(ansible, org, tmp_path):
    assert run(ansible, tmp_path, records=[setting(n) for n in range(1, 6)]).rc == 0
    gone = [{'Key__c': 'key-%04d' % n} for n in (2, 4, 9)]
    first = run(ansible, tmp_path, records=gone, state='absent')
    assert first.rc == 0, first.output
    result = first.result(TASK)
    assert (result['deleted'], result['unchanged']) == (2, 1)
    assert [r['action'] for r in result['records']] == ['deleted', 'deleted', 'absent']
    deletes = [e for e in writes(org) if e['method'] == 'DELETE']
    assert len(deletes) == 1 and deletes[0]['query']['allOrNone'] == 'false'
    assert sorted(deletes[0]['query']['ids'].split(',')) == sorted(r['id'] for r in result['records'][:2])
    again = run(ansible, tmp_path, records=gone, state='absent')
    assert again.rc == 0 and again.result(TASK)['changed'] is False and again.result(TASK)['unchanged'] == 3
    assert len([e for e in writes(org) if e['method'] == 'DELETE']) == 1
    info = run(ansible, tmp_path, info_fields=['Key__c'], info_where={'Key__c': ['key-%04d' % n for n in range(1, 6)]},
               info_order_by='Key__c')
    assert [r['Key__c'] for r in info.result(INFO)['records']] == ['key-0001', 'key-0003', 'key-0005']


def test_partial_failure_lists_the_failing_keys_and_what_was_written(ansible, org, tmp_path):
    records = [setting(1), setting(2, Enabled__c='yes'), setting(3), setting(4, Name='N' * 81)]
    failed = run(ansible, tmp_path, records=records)
    assert failed.rc != 0
    result = failed.result(TASK)
    assert (result['created'], result['updated']) == (2, 0)
    assert [r['action'] for r in result['records']] == ['created', 'failed', 'created', 'failed']
    assert sorted(e['key'] for e in result['errors']) == ['key-0002', 'key-0004']
    codes = {e['key']: e['statusCode'] for e in result['errors']}
    assert codes == {'key-0002': 'INVALID_TYPE_ON_FIELD_IN_RECORD', 'key-0004': 'STRING_TOO_LONG'}
    msg = result['msg']
    assert msg.startswith('2 of 4 Integration_Setting__c records failed:\n- Key__c key-0002: INVALID_TYPE_ON_FIELD_IN_RECORD: ')
    assert '\n- Key__c key-0004: STRING_TOO_LONG: ' in msg
    assert msg.endswith('Written: key-0001, key-0003 (created 2, updated 0, deleted 0).')


def test_record_info_values_are_escaped(ansible, org, tmp_path):
    tricky = "o'brien \\ x"
    assert run(ansible, tmp_path, records=[setting(1, Key__c=tricky), setting(2)]).rc == 0
    found = run(ansible, tmp_path, info_fields=['Key__c', 'Name'], info_where={'Key__c': tricky})
    assert found.rc == 0, found.output
    assert found.result(INFO)['records'] == [{'Key__c': tricky, 'Name': 'Setting 1'}]
    injected = run(ansible, tmp_path, info_fields=['Key__c'], info_where={'Key__c': "x' OR Name != '"})
    assert injected.rc == 0, injected.output
    assert injected.result(INFO)['records'] == [] and injected.result(INFO)['total_size'] == 0
    # and the record module finds the tricky key again: nothing to change
    again = run(ansible, tmp_path, records=[setting(1, Key__c=tricky)])
    assert again.result(TASK)['changed'] is False


def test_values_as_templating_gives_them_settle(ansible, org, tmp_path):
    """Booleans and numbers as text (-e, CSV, 2.16 templating), a key in another case: a rerun writes nothing."""
    assert run(ansible, tmp_path, records=[setting(1), setting(2)]).rc == 0
    before = len(writes(org))
    records = [setting(1, Enabled__c='false', Limit__c='10', Key__c='KEY-0001'), setting(2, Enabled__c='true', Limit__c=20.0)]
    again = run(ansible, tmp_path, records=records)
    assert again.rc == 0, again.output
    assert again.result(TASK)['changed'] is False and again.result(TASK)['unchanged'] == 2
    assert len(writes(org)) == before


def test_refused_records_never_show_a_secret(ansible, org, tmp_path):
    secret = 'tok-never-shown-7731'
    bad = run(ansible, tmp_path, verbosity=3, no_log_fields=['Secret_Token__c'],
              records=[setting(1, Secret_Token__c=secret), {'Name': 'no key', 'Secret_Token__c': secret}])
    assert bad.rc != 0
    assert bad.result(TASK)['msg'] == 'records[1] has no Key__c: every record needs its key (external_id_field=Key__c).'
    assert secret not in bad.output and secret not in json.dumps(bad.records)
    unknown = run(ansible, tmp_path, records=[setting(1, Unknown__c='x')])
    assert unknown.rc != 0
    assert unknown.result(TASK)['msg'] == ('Integration_Setting__c has no field Unknown__c (as the describe of the object lists '
                                           'them): correct the name; nothing was written.')
    assert writes(org) == []
