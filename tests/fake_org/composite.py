# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sObject Collections under /services/data/vXX.X/composite/sobjects, as Salesforce answers them.

  POST   composite/sobjects                   {"allOrNone": bool, "records": [{"attributes": {"type": X}, field: value...}]}
                                              create; entries {"id", "success": true, "errors": []}
  PATCH  composite/sobjects                   the same with "id" in each record: update by Id
  PATCH  composite/sobjects/<X>/<ExternalId>  upsert by an External ID field; entries also hold "created": true | false
  DELETE composite/sobjects?ids=a,b&allOrNone=false
  GET    composite/sobjects/<X>?ids=a,b&fields=F1,F2   (or POST with {"ids": [...], "fields": [...]}): the records, null
                                              for an id that names no live record of X

A write answers 200 with one entry per record (or id), in order: success or {"success": false, "errors":
[{"statusCode", "message", "fields"}]}; "id" is there when the record has one (an update, a delete, the update side
of an upsert, a create that succeeded). Records are applied in order, so a record sees those before it (a
duplicate Key__c within one call fails on the second). allOrNone true: when one record fails nothing is
applied, and the records that would have succeeded answer ALL_OR_NONE_OPERATION_ROLLED_BACK.

The whole call is refused (HTTP 400, [{"errorCode", "message"}], nothing applied) for more than 200 records or
ids (EXCEEDED_ID_LIMIT, 2000 for a retrieve), a body that is not {"allOrNone", "records": [objects]}
(JSON_PARSER_ERROR), and an upsert field that is unknown or not an External ID (INVALID_FIELD).

Per-record errors (statusCode: message [fields]):
  INVALID_TYPE                      Must send a concrete entity type. (no attributes.type) / sObject type 'X' is not supported.
  INVALID_FIELD                     No such column 'F' on sobject of type X  /  cannot specify Id in an insert call
  INVALID_TYPE_ON_FIELD_IN_RECORD   F: value not of required type: V  [F]
  INVALID_FIELD_FOR_INSERT_UPDATE   Unable to create/update fields: F. Please check the security settings... [F]
  REQUIRED_FIELD_MISSING            Required fields are missing: [Name]  [Name]
  STRING_TOO_LONG                   F: data value too large: <first 20 characters>... (max length=N)  [F]
  DUPLICATE_VALUE                   duplicate value found: Key__c duplicates value on record with id: a0B...
  DUPLICATE_EXTERNAL_ID             Duplicate external id specified: V  [Key__c]   (the same key twice in one upsert)
  MISSING_ARGUMENT                  Id not specified in an update call  /  Key__c not specified (upsert)
  MALFORMED_ID                      X ID: id value of incorrect type: V  [Id] (update)  /  malformed id V (delete)
  INVALID_CROSS_REFERENCE_KEY       invalid cross reference id  (an id of no record)
  ENTITY_IS_DELETED                 entity is deleted  (a deleted record)
  INVALID_TYPE_FOR_OPERATION        entity type cannot be updated: User (objects the API may not write)
"""

from __future__ import annotations

import re

from .messages import RestError, json_response, method_not_allowed, not_found
from .records import checked_value, unique_key

MAX_RECORDS = 200
MAX_RETRIEVE_IDS = 2000
ROLLED_BACK = {'statusCode': 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
               'message': 'Record rolled back because not all records were valid and the request was using AllOrNone header', 'fields': []}
_ID = re.compile(r'^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$')


def too_many(limit: int) -> RestError:
    return RestError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than %d records into this call' % limit)


def handle(data, request, version: str, parts: list):
    """Answer a request to composite/sobjects[/...]; parts are the path segments after composite/sobjects."""
    if not parts:
        if request.method in ('POST', 'PATCH'):
            all_or_none, records = _body(request)
            return json_response(200, data.save_collection('create' if request.method == 'POST' else 'update', records, all_or_none))
        if request.method == 'DELETE':
            ids = _id_list(request.query.get('ids'), MAX_RECORDS)
            all_or_none = (request.query.get('allOrNone') or 'false').strip().lower() == 'true'
            return json_response(200, data.delete_collection(ids, all_or_none))
        raise method_not_allowed(request.method, 'POST,PATCH,DELETE')
    store = data.object_store(parts[0])
    if store is None or len(parts) > 2:
        raise not_found()
    if len(parts) == 1:
        return _retrieve(data, request, version, store)
    if request.method != 'PATCH':
        raise method_not_allowed(request.method, 'PATCH')
    spec = store.fields.get(parts[1].lower())
    if spec is None:
        raise RestError(400, 'INVALID_FIELD', 'Provided external ID field does not exist or is not accessible: %s' % parts[1])
    if not spec.external_id:
        raise RestError(400, 'INVALID_FIELD', 'Field %s is not an external ID or indexed field for %s' % (spec.name, store.name))
    all_or_none, records = _body(request)
    return json_response(200, data.save_collection('upsert', records, all_or_none, store, spec))


def _body(request) -> tuple:
    if request.json_error:
        raise RestError(400, 'JSON_PARSER_ERROR', request.json_error)
    body = request.json
    if not isinstance(body, dict):
        raise RestError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize the request body: expected a JSON object {"allOrNone", "records"}')
    unknown = sorted(set(body) - {'allOrNone', 'records'})
    if unknown:
        raise RestError(400, 'JSON_PARSER_ERROR', 'Unrecognized field "%s" (expected only allOrNone and records)' % unknown[0])
    all_or_none = body.get('allOrNone', False)
    if not isinstance(all_or_none, bool):
        raise RestError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of boolean from value %s for allOrNone' % (all_or_none,))
    records = body.get('records')
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise RestError(400, 'JSON_PARSER_ERROR', 'records must be a list of JSON objects, one per record')
    if len(records) > MAX_RECORDS:
        raise too_many(MAX_RECORDS)
    return all_or_none, records


def _id_list(value, limit: int) -> list:
    if isinstance(value, list):
        ids = value
    else:
        ids = [part.strip() for part in (value or '').split(',') if part.strip()]
    if not ids or not all(isinstance(record_id, str) for record_id in ids):
        raise RestError(400, 'MISSING_ARGUMENT', 'ids: a comma-separated list of record ids is required')
    if len(ids) > limit:
        raise too_many(limit)
    return ids


def _retrieve(data, request, version: str, store):
    if request.method in ('GET', 'HEAD'):
        ids, fields = request.query.get('ids'), request.query.get('fields')
        fields = [name.strip() for name in (fields or '').split(',') if name.strip()]
    elif request.method == 'POST':
        if request.json_error:
            raise RestError(400, 'JSON_PARSER_ERROR', request.json_error)
        body = request.json if isinstance(request.json, dict) else {}
        ids, fields = body.get('ids'), body.get('fields')
        if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
            fields = []
    else:
        raise method_not_allowed(request.method, 'GET,HEAD,POST')
    ids = _id_list(ids, MAX_RETRIEVE_IDS)
    if not fields:
        raise RestError(400, 'MISSING_ARGUMENT', 'fields: the list of fields to retrieve is required')
    return json_response(200, data.retrieve_collection(store, ids, fields, version))


# -- applying a collection (OrgData calls these with its lock held) -----------------------------------


class Transaction:
    """The records a call changed, to undo them all (allOrNone)."""

    def __init__(self):
        self._saved = {}     # (store name, id) -> snapshot before the call (None: created by it)
        self._numbers = {}   # store name -> its next id number before the call
        self.stores = {}

    def enter(self, store) -> None:
        self.stores.setdefault(store.name, store)
        self._numbers.setdefault(store.name, store.next_number)

    def touch(self, store, record_id: str) -> None:
        self.enter(store)
        self._saved.setdefault((store.name, record_id), store.snapshot(record_id))

    def created(self, store, record_id: str) -> None:
        self._saved.setdefault((store.name, record_id), None)

    def rollback(self) -> None:
        for (name, record_id), saved in reversed(list(self._saved.items())):
            self.stores[name].restore(record_id, saved)
        for name, number in self._numbers.items():
            self.stores[name].next_number = number


def apply(items: list, one, all_or_none: bool, upsert: bool = False) -> tuple:
    """Run one(transaction, item, attempt) for each item; return (results, transaction) with allOrNone applied."""
    transaction = Transaction()
    results = []
    attempts = []
    failed = False
    for item in items:
        attempt = {}
        try:
            results.append(one(transaction, item, attempt))
        except RestError as exc:
            failed = True
            entry = {'id': attempt['id']} if attempt.get('id') else {}
            entry.update(success=False, errors=[{'statusCode': exc.error_code, 'message': exc.message, 'fields': list(exc.fields or [])}])
            if upsert:
                entry['created'] = False
            results.append(entry)
        attempts.append(attempt)
    if failed and all_or_none:
        transaction.rollback()
        results = [_rolled_back(result, attempt, upsert) if result['success'] else result for result, attempt in zip(results, attempts)]
    return results, transaction


def _rolled_back(result: dict, attempt: dict, upsert: bool) -> dict:
    entry = {} if attempt.get('new') else {'id': result['id']}
    entry.update(success=False, errors=[dict(ROLLED_BACK)])
    if upsert:
        entry['created'] = False
    return entry


def record_store(data, record: dict, wanted=None):
    attributes = record.get('attributes')
    type_name = attributes.get('type') if isinstance(attributes, dict) else None
    if not isinstance(type_name, str) or not type_name:
        raise RestError(400, 'INVALID_TYPE', 'Must send a concrete entity type.', [])
    store = data.object_store(type_name)
    if store is None:
        raise RestError(400, 'INVALID_TYPE', "sObject type '%s' is not supported." % type_name, [])
    if wanted is not None and store is not wanted:
        raise RestError(400, 'INVALID_TYPE', 'The record type %s is not %s, the object of this upsert' % (store.name, wanted.name), [])
    return store


def _pop_named(values: dict, name: str):
    for key in list(values):
        if key.lower() == name.lower():
            return key, values.pop(key)
    return None, None


def create_one(data, transaction, record, attempt):
    store = record_store(data, record)
    values = {name: value for name, value in record.items() if name != 'attributes'}
    _key, record_id = _pop_named(values, 'Id')
    if record_id is not None:
        raise RestError(400, 'INVALID_FIELD', 'cannot specify Id in an insert call', [])
    transaction.enter(store)
    new_id = store.create(values, data.now(), collection=True)
    transaction.created(store, new_id)
    attempt['new'] = True
    return {'id': new_id, 'success': True, 'errors': []}


def update_one(data, transaction, record, attempt):
    store = record_store(data, record)
    values = {name: value for name, value in record.items() if name != 'attributes'}
    _key, record_id = _pop_named(values, 'Id')
    if record_id in (None, ''):
        raise RestError(400, 'MISSING_ARGUMENT', 'Id not specified in an update call', [])
    if not isinstance(record_id, str) or not _ID.match(record_id) or not record_id.startswith(store.key_prefix):
        raise RestError(400, 'MALFORMED_ID', '%s ID: id value of incorrect type: %s' % (store.name, record_id), ['Id'])
    attempt['id'] = record_id
    existing = live_record(store, record_id, attempt)
    transaction.touch(store, existing['Id'])
    store.update(existing['Id'], values, data.now(), collection=True)
    return {'id': existing['Id'], 'success': True, 'errors': []}


def upsert_one(data, transaction, record, attempt, store, spec, repeated: set):
    record_store(data, record, store)
    values = {name: value for name, value in record.items() if name != 'attributes'}
    key_name = next((name for name in values if name.lower() == spec.name.lower()), None)
    key = values.get(key_name) if key_name else None
    if key in (None, ''):
        raise RestError(400, 'MISSING_ARGUMENT', '%s not specified' % spec.name, [])
    normalized = checked_value(spec, key, collection=True)
    if unique_key(normalized) in repeated:
        raise RestError(400, 'DUPLICATE_EXTERNAL_ID', 'Duplicate external id specified: %s' % normalized, [spec.name])
    existing = store.find_unique(spec.name, normalized)
    transaction.enter(store)
    if existing is not None:
        attempt['id'] = existing['Id']
        transaction.touch(store, existing['Id'])
        store.update(existing['Id'], values, data.now(), collection=True)
        return {'id': existing['Id'], 'success': True, 'errors': [], 'created': False}
    new_id = store.create(values, data.now(), collection=True)
    transaction.created(store, new_id)
    attempt['new'] = True
    return {'id': new_id, 'success': True, 'errors': [], 'created': True}


def repeated_keys(records: list, spec) -> set:
    """The normalized external ids that more than one record of an upsert names."""
    seen, repeated = set(), set()
    for record in records:
        for name, value in record.items():
            if name.lower() == spec.name.lower() and value not in (None, ''):
                try:
                    key = unique_key(checked_value(spec, value, collection=True))
                except RestError:
                    continue
                (repeated if key in seen else seen).add(key)
    return repeated


def delete_one(data, transaction, record_id, attempt):
    if not _ID.match(record_id):
        raise RestError(400, 'MALFORMED_ID', 'malformed id %s' % record_id, [])
    attempt['id'] = record_id
    store = data.store_for_id(record_id)
    if store is None:
        raise RestError(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [])
    existing = live_record(store, record_id, attempt)
    transaction.touch(store, existing['Id'])
    store.delete(existing['Id'], data.now())
    return {'id': existing['Id'], 'success': True, 'errors': []}


def live_record(store, record_id: str, attempt: dict) -> dict:
    existing = store.lookup(record_id)
    if existing is None:
        raise RestError(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [])
    attempt['id'] = existing['Id']
    if existing['IsDeleted']:
        raise RestError(400, 'ENTITY_IS_DELETED', 'entity is deleted', [])
    return existing
