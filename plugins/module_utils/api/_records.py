# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Salesforce records the Ansible way: read what is there, write only what differs, in sObject Collections batches.

The SOQL is built in _soql (never templated by users), values are compared in _record_values (as Salesforce returns
them), so that a rerun with the same records changes nothing.
"""

from __future__ import annotations

import json
import math

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._answers import salesforce_errors
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, AuthError, HttpError, InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._record_values import (
    NUMBER_TYPES,
    TEXT_TYPES,
    as_number,
    json_value,
    same_typed_value,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._soql import api_name, chunked_key_queries, shown

# Salesforce's limit for one sObject Collections call.
BATCH_SIZE = 200
MASK = '********'


# ---------------------------------------------------------------------------------------------- the records

class RecordSet:
    """The records of a task, validated: one key each, unique, every field an API name."""

    def __init__(self, sobject, records, key_field='Id', no_log_fields=()):
        self.sobject = api_name(sobject, 'sobject')
        self.key_field = api_name(key_field, 'external_id_field')
        self.by_id = key_field.lower() == 'id'
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list) or not records:
            raise InputError('records must be a list of field mappings (or one mapping), with at least one record.')
        self.no_log_fields = {name.lower() for name in no_log_fields or ()}
        # Set from the describe (Records.check_fields): how Salesforce matches keys of this field.
        self.fold_case = False
        self.numeric_key = False
        self.records = []
        self.fields = []
        seen_fields = {}
        seen_keys = {}
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise InputError('records[%d] is a %s, not a mapping of field names to values.' % (index, type(record).__name__))
            clean = {}
            for name, value in record.items():
                if name == 'attributes':
                    continue
                api_name(name, 'records[%d] field' % index)
                if name.lower() in {n.lower() for n in clean}:
                    raise InputError('records[%d] names the field %s twice (field names are case-insensitive).' % (index, name))
                if isinstance(value, (dict, list)):
                    raise InputError('records[%d] field %s is a %s; give a string, a number, a boolean, a date or null.'
                                     % (index, name, type(value).__name__))
                if isinstance(value, float) and not math.isfinite(value):
                    raise InputError('records[%d] field %s is %r, not a number Salesforce stores.' % (index, name, value))
                clean[name] = value
                if name.lower() not in seen_fields and name.lower() != key_field.lower():
                    seen_fields[name.lower()] = name
            key = _key_of(clean, key_field)
            if key is None:
                raise InputError('records[%d] has no %s: every record needs its key (external_id_field=%s).'
                                 % (index, key_field, key_field))
            if isinstance(key, (dict, list, float, bool)) or (isinstance(key, str) and not key.strip()):
                raise InputError('records[%d] %s %s is not a key value: give a non-empty string or an integer.'
                                 % (index, key_field, shown(key)))
            norm = self.normalize(key)
            if norm in seen_keys:
                raise InputError('records[%d] and records[%d] have the same %s %s; give each record once.'
                                 % (seen_keys[norm], index, key_field, shown(key)))
            seen_keys[norm] = index
            self.records.append((key, clean))
        self.fields = [seen_fields[name] for name in sorted(seen_fields)]

    def normalize(self, key):
        """The key as Salesforce matches it: a 15-character Id, a number by value, a case-insensitive text folded."""
        if self.numeric_key and as_number(key) is not None:
            number = as_number(key)
            return repr(int(number)) if number.is_integer() else repr(number)
        text = str(key)
        if self.by_id:
            return text[:15] if len(text) == 18 else text
        return text.lower() if self.fold_case else text

    def check_keys(self):
        """Two records whose keys Salesforce takes for one (Key and key on a case-insensitive field, 1001 and 1001.0)."""
        seen = {}
        for index, (key, dummy) in enumerate(self.records):
            norm = self.normalize(key)
            if norm in seen:
                raise InputError('records[%d] and records[%d] have keys that Salesforce takes for the same %s (%s and %s); give '
                                 'each record once.' % (seen[norm][0], index, self.key_field, shown(seen[norm][1]), shown(key)))
            seen[norm] = (index, key)

    def shown(self, field, value):
        return MASK if field.lower() in self.no_log_fields and value not in (None, '') else value

    def hide_secret_errors(self, errors):
        """Errors about a no_log field keep their code and fields; their message (which may quote the value) is hidden."""
        for error in errors:
            if any(str(name).lower() in self.no_log_fields for name in error.get('fields') or ()):
                error['message'] = '(hidden: it concerns a field of no_log_fields)'
        return errors

    def secret_values(self):
        return secret_values([record for dummy, record in self.records], self.no_log_fields)


def secret_values(records, no_log_fields):
    """The values of no_log_fields in records as given (not validated yet), as text."""
    names = {str(name).lower() for name in no_log_fields or ()}
    found = []
    for record in records if isinstance(records, list) else [records]:
        if isinstance(record, dict):
            found.extend(str(value) for name, value in record.items()
                         if str(name).lower() in names and value not in (None, '') and not isinstance(value, (dict, list)))
    return found


def _key_of(record, key_field):
    for name, value in record.items():
        if name.lower() == key_field.lower():
            return value
    return None


class Records:
    """Reads and writes one sObject's records through a RestClient."""

    def __init__(self, client, record_set, all_or_none=False):
        self.client = client
        self.set = record_set
        self.all_or_none = bool(all_or_none)
        self._fields = None

    def described(self):
        """{lower field name: describe entry} of the object (one call): names checked, keys and values compared by type."""
        if self._fields is None:
            self._fields = describe_fields(self.client, self.set.sobject)
        return self._fields

    def field_types(self):
        return {name: field['type'] for name, field in self.described().items()}

    def check_fields(self):
        """Before anything is read or written: every field exists, the key field identifies records, keys are distinct."""
        fields = self.described()
        unknown = sorted({name for dummy, record in self.set.records for name in record if name.lower() not in fields})
        if unknown:
            raise InputError('%s has no field %s (as the describe of the object lists them): correct the name%s; nothing was '
                             'written.' % (self.set.sobject, ', '.join(unknown), '' if len(unknown) == 1 else 's'))
        if not self.set.by_id:
            key = fields.get(self.set.key_field.lower())
            if key is None:
                raise InputError('%s has no field %s: external_id_field must be one of its External ID fields, or Id.'
                                 % (self.set.sobject, self.set.key_field))
            if not key.get('externalId') and not key.get('idLookup'):
                raise InputError('%s.%s is not an External ID field, so Salesforce cannot find or create records by it: mark it '
                                 'External ID (and Unique), or use another external_id_field, or Id.'
                                 % (self.set.sobject, self.set.key_field))
            self.set.fold_case = key['type'] in TEXT_TYPES and not key.get('caseSensitive')
            self.set.numeric_key = key['type'] in NUMBER_TYPES
        self.set.check_keys()

    # -- reading -------------------------------------------------------------------------------

    def read_current(self, fields):
        """{normalized key: record as Salesforce returns it} for the task's keys that exist."""
        select = ['Id'] if self.set.by_id else ['Id', self.set.key_field]
        select += [f for f in fields if f.lower() not in {s.lower() for s in select}]
        path = '/services/data/v%s/query' % self.client.api_version()
        keys = [key for key, dummy in self.set.records]
        found = {}
        key_field = 'Id' if self.set.by_id else self.set.key_field
        key_type = self.field_types().get(key_field.lower())
        for soql in chunked_key_queries(select, self.set.sobject, key_field, keys, path, key_type):
            try:
                answer = self.client.query(soql)
            except (ApiError, AuthError, HttpError) as exc:
                raise exc.add_context('Reading the current %s records failed: ' % self.set.sobject)
            for record in answer['records']:
                if not isinstance(record, dict):
                    continue
                if not isinstance(record.get('Id'), str):
                    raise ApiError('Reading the current %s records: Salesforce answered a record without an Id (%s).'
                                   % (self.set.sobject, shown(strip_attributes(record))))
                key = record.get('Id') if self.set.by_id else _key_of(record, self.set.key_field)
                if key is not None:
                    found[self.set.normalize(key)] = record
        return found

    # -- planning ------------------------------------------------------------------------------

    def plan_present(self):
        """[(key, action, changes, current)] with action created / updated / unchanged."""
        self.check_fields()
        types = self.field_types()
        current = self.read_current(self.set.fields)
        plan = []
        for key, record in self.set.records:
            existing = current.get(self.set.normalize(key))
            if existing is None:
                if self.set.by_id:
                    raise ApiError('%s has no record with Id %s: records are created only by an external id '
                                   '(set external_id_field), never by Id.' % (self.set.sobject, key))
                changes = {name: value for name, value in record.items() if name.lower() != self.set.key_field.lower()}
                plan.append((key, 'created', changes, None))
                continue
            changes = {}
            for name, value in record.items():
                if name.lower() == self.set.key_field.lower():
                    continue
                if not same_typed_value(_key_of(existing, name), value, types.get(name.lower())):
                    changes[name] = value
            plan.append((key, 'updated' if changes else 'unchanged', changes, existing))
        return plan

    def plan_absent(self):
        self.check_fields()
        current = self.read_current([])
        plan = []
        for key, dummy in self.set.records:
            existing = current.get(self.set.normalize(key))
            plan.append((key, 'deleted' if existing is not None else 'absent', {}, existing))
        return plan

    # -- writing -------------------------------------------------------------------------------

    def _collection_call(self, method, path, body=None, params=None):
        data = json.dumps(body) if body is not None else None
        try:
            answer = self.client.request(method, path, params=params, body=data)
        except (ApiError, AuthError, HttpError) as exc:   # no answer (connection, timeout) or no session: what the call did is unknown
            raise exc.add_context('%s %s failed: ' % (method, path), status=None, errors=None)
        if answer.status != 200 or answer.json_error or not isinstance(answer.json, list):
            raise ApiError('%s %s answered HTTP %d with %s; nothing more was sent.'
                           % (method, path, answer.status, answer.json_error or answer.describe()),
                           status=answer.status, errors=salesforce_errors(answer.json))
        return answer.json

    def write(self, plan, state):
        """Send the planned writes in batches; returns {key: (action, id, errors)} for the records written or refused."""
        outcome = {}
        writes = [entry for entry in plan if entry[1] in ('created', 'updated', 'deleted')]
        for start in range(0, len(writes), BATCH_SIZE):
            batch = writes[start:start + BATCH_SIZE]
            try:
                if state == 'absent':
                    ids = [existing['Id'] for dummy, dummy2, dummy3, existing in batch]
                    answers = self._collection_call('DELETE', 'composite/sobjects',
                                                    params={'ids': ','.join(ids), 'allOrNone': str(self.all_or_none).lower()})
                else:
                    answers = self._send_upserts(batch)
            except (ApiError, AuthError, HttpError) as exc:
                # The call failed as a whole: a refusal (4xx) wrote nothing of it; without an answer or with a 5xx, its
                # records may have been written. The later batches were not sent.
                status = exc.details.get('status')
                action = 'failed' if isinstance(status, int) and 400 <= status < 500 else 'unknown'
                errors = [{'statusCode': str(error.get('errorCode') or ''), 'message': str(error.get('message') or ''),
                           'fields': [str(f) for f in error['fields']] if isinstance(error.get('fields'), list) else []}
                          for error in exc.details.pop('errors', None) or []]
                for key, dummy, dummy2, existing in batch:
                    outcome[self.set.normalize(key)] = (action, (existing or {}).get('Id'),
                                                        errors or [{'statusCode': None, 'message': exc.message, 'fields': []}])
                exc.details['outcome'] = outcome
                exc.details['unsent'] = [key for key, dummy, dummy2, dummy3 in writes[start + BATCH_SIZE:]]
                raise
            batch_failed = False
            for (key, action, dummy, existing), answer in zip(batch, answers + [None] * (len(batch) - len(answers))):
                outcome[self.set.normalize(key)] = _result_of(action, answer, existing)
                batch_failed = batch_failed or outcome[self.set.normalize(key)][0] == 'failed'
            if batch_failed and self.all_or_none and start + BATCH_SIZE < len(writes):
                # All or none: Salesforce rolled this batch back; the next ones are not sent.
                raise ApiError('all_or_none: a record of a batch failed, so Salesforce rolled the batch back and the later '
                               'batches were not sent.', outcome=outcome,
                               unsent=[key for key, dummy, dummy2, dummy3 in writes[start + BATCH_SIZE:]])
        return outcome

    def _send_upserts(self, batch):
        records = []
        for key, dummy, changes, existing in batch:
            record = {'attributes': {'type': self.set.sobject}}
            record.update((name, json_value(value)) for name, value in changes.items())
            if self.set.by_id:
                record['id'] = existing['Id']
            else:
                record[self.set.key_field] = json_value(key)
            records.append(record)
        body = {'allOrNone': self.all_or_none, 'records': records}
        if self.set.by_id:
            return self._collection_call('PATCH', 'composite/sobjects', body=body)
        return self._collection_call('PATCH', 'composite/sobjects/%s/%s' % (self.set.sobject, self.set.key_field), body=body)


def _result_of(action, answer, existing):
    if not isinstance(answer, dict):
        return ('failed', (existing or {}).get('Id'), [{'statusCode': None, 'message': 'Salesforce answered nothing for this record.',
                                                        'fields': []}])
    record_id = answer.get('id') if isinstance(answer.get('id'), str) else (existing or {}).get('Id')
    if answer.get('success') is True:
        if action != 'deleted' and isinstance(answer.get('created'), bool):
            action = 'created' if answer['created'] else 'updated'
        return (action, record_id, [])
    errors = []
    for error in answer.get('errors') if isinstance(answer.get('errors'), list) else []:
        if isinstance(error, dict):
            fields = error.get('fields') if isinstance(error.get('fields'), list) else []
            # Salesforce's words, made printable: they go into the result and the message, which reach a terminal.
            errors.append({'statusCode': printable(str(error.get('statusCode') or '')),
                           'message': printable(str(error.get('message') or '')), 'fields': [printable(str(f)) for f in fields]})
    return ('failed', record_id, errors or [{'statusCode': None, 'message': 'Salesforce refused the record without a reason.',
                                             'fields': []}])


def run(client, record_set, state='present', all_or_none=False, check_mode=False, diff=False):
    """The module's result; raises ApiError (with the counts and per-record list) when records failed."""
    records = Records(client, record_set, all_or_none)
    plan = records.plan_present() if state == 'present' else records.plan_absent()
    outcome = {}
    failure = None
    if not check_mode:
        try:
            outcome = records.write(plan, state)
        except (ApiError, AuthError, HttpError) as exc:
            failure = exc
            outcome = exc.details.pop('outcome', {})
    result = summarize(record_set, plan, outcome, check_mode, failure)
    record_set.hide_secret_errors(result['errors'])
    if diff:
        result['diff'] = build_diff(record_set, plan, outcome, state, check_mode)
    if failure is not None:
        unsent = failure.details.pop('unsent', [])
        listed = '\n' + _failed_message(record_set, result, written=False) if result['errors'] else ''
        raise ApiError('%s %s%s' % (failure.message, _written_note(result, unsent), listed), **dict(result, **failure.details))
    if result['errors']:
        raise ApiError(_failed_message(record_set, result), **result)
    return result


def summarize(record_set, plan, outcome, check_mode, failure=None):
    counts = {'created': 0, 'updated': 0, 'deleted': 0, 'unchanged': 0}
    listed = []
    errors = []
    for key, action, dummy, existing in plan:
        record_id = (existing or {}).get('Id')
        norm = record_set.normalize(key)
        if action in ('unchanged', 'absent'):
            counts['unchanged'] += 1
        elif check_mode:
            counts[action] += 1
        elif norm in outcome:
            action, record_id, record_errors = outcome[norm]
            if action in ('failed', 'unknown'):
                errors.extend(dict(error, key=key) for error in record_errors)
            else:
                counts[action] += 1
        else:
            action = 'not sent' if failure is not None else action
        listed.append({'key': key, 'id': record_id, 'action': action})
    # A record whose call got no answer may have been written: the task may have changed the org.
    changed = bool(counts['created'] or counts['updated'] or counts['deleted'] or any(r['action'] == 'unknown' for r in listed))
    return dict(changed=changed, records=listed, errors=errors, **counts)


def _written_note(result, unsent):
    written = [r['key'] for r in result['records'] if r['action'] in ('created', 'updated', 'deleted')]
    failed = [r['key'] for r in result['records'] if r['action'] == 'failed']
    unknown = [r['key'] for r in result['records'] if r['action'] == 'unknown']
    note = 'Written before the failure: %s.' % (_key_list(written) if written else 'nothing')
    if failed:
        note += ' Failed: %s.' % _key_list(failed)
    if unknown:
        note += (' Sent, but Salesforce\'s answer did not come back, so they may or may not be written (run the task again '
                 'to find out): %s.' % _key_list(unknown))
    if unsent:
        note += ' Not sent: %s.' % _key_list(unsent)
    return note


def _key_list(keys, limit=20):
    listed = ', '.join(shown(key, 40) for key in keys[:limit])
    return listed + (' and %d more' % (len(keys) - limit) if len(keys) > limit else '')


def _failed_message(record_set, result, written=True):
    by_key = {}
    # The records that caused a failure first, the ones rolled back because of them (all or none) after.
    for error in sorted(result['errors'], key=lambda e: e['statusCode'] == 'ALL_OR_NONE_OPERATION_ROLLED_BACK'):
        # Salesforce's words, made printable: the message reaches a terminal.
        by_key.setdefault(error['key'], []).append(printable('%s: %s%s' % (
            error['statusCode'] or 'ERROR', error['message'], ' (fields: %s)' % ', '.join(error['fields']) if error['fields'] else '')))
    lines = ['%d of %d %s records failed:' % (len(by_key), len(result['records']), record_set.sobject)]
    for key in list(by_key)[:20]:
        lines.append('- %s %s: %s' % (record_set.key_field, shown(key, 60), '; '.join(by_key[key])))
    if len(by_key) > 20:
        lines.append('- ... and %d more (see errors).' % (len(by_key) - 20))
    if written:
        done = [r['key'] for r in result['records'] if r['action'] in ('created', 'updated', 'deleted')]
        lines.append('Written: %s (created %d, updated %d, deleted %d).' % (
            _key_list(done) if done else 'nothing', result['created'], result['updated'], result['deleted']))
    return '\n'.join(lines)


def build_diff(record_set, plan, outcome, state, check_mode):
    """Before and after of every record that changes (or would), field by field; no_log_fields masked."""
    before = {}
    after = {}
    for key, action, changes, existing in plan:
        norm = record_set.normalize(key)
        if not check_mode and (norm not in outcome or outcome[norm][0] in ('failed', 'unknown')):
            continue
        label = str(key)
        if action == 'created':
            after[label] = {name: record_set.shown(name, json_value(value)) for name, value in sorted(changes.items())}
        elif action == 'updated':
            before[label] = {name: record_set.shown(name, _key_of(existing, name)) for name in sorted(changes)}
            after[label] = {name: record_set.shown(name, json_value(value)) for name, value in sorted(changes.items())}
        elif action == 'deleted':
            before[label] = {'Id': existing.get('Id')}
    header = '%s records (%s)' % (record_set.sobject, record_set.key_field)
    return {'before': before, 'after': after, 'before_header': header, 'after_header': header}


def describe_types(client, sobject):
    """{lower field name: describe type} of an sObject; a clear error when Salesforce does not know it."""
    return {name: field['type'] for name, field in describe_fields(client, sobject).items()}


def describe_fields(client, sobject):
    """{lower field name: {'type', 'externalId', 'idLookup', 'caseSensitive'}} of an sObject's describe."""
    payload = client.describe(sobject)
    fields = {}
    for field in payload['fields']:
        if isinstance(field, dict) and isinstance(field.get('name'), str) and isinstance(field.get('type'), str):
            fields[field['name'].lower()] = {'type': field['type'], 'externalId': field.get('externalId') is True,
                                             'idLookup': field.get('idLookup') is True, 'caseSensitive': field.get('caseSensitive') is True}
    return fields


def strip_attributes(record):
    if not isinstance(record, dict):
        return record
    return {name: strip_attributes(value) for name, value in record.items() if name != 'attributes'}
