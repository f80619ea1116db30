# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The org's records: the generic sObject store (the validation the REST API applies, SOQL evaluation) and Account.

Not thread-safe by itself: the OrgData lock guards every call. The setup objects (User, PermissionSet,
PermissionSetAssignment, Organization) are built on the same store in directory.py.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .ids import ACCOUNT_ID_PREFIX, sequential_id
from .messages import RestError, not_found
from .soql import Query, like_pattern


@dataclass(frozen=True)
class Field:
    name: str
    type: str            # id, reference, boolean, string, email, textarea, currency, int, datetime
    length: int | None = None
    updateable: bool = True
    required: bool = False


ACCOUNT_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('IsDeleted', 'boolean', updateable=False),
    Field('Name', 'string', 255, required=True),
    Field('Type', 'string', 255),
    Field('Industry', 'string', 255),
    Field('AnnualRevenue', 'currency'),
    Field('NumberOfEmployees', 'int'),
    Field('BillingCity', 'string', 40),
    Field('Description', 'textarea', 32000),
    Field('CreatedDate', 'datetime', updateable=False),
    Field('LastModifiedDate', 'datetime', updateable=False),
)

_SEED_NAMES = ('Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli')
_SEED_INDUSTRIES = ('Technology', 'Manufacturing', 'Retail', 'Energy', 'Finance')
_SEED_EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def _timestamp(moment: datetime.datetime) -> str:
    return moment.strftime('%Y-%m-%dT%H:%M:%S.000+0000')


class SObjectStore:
    """One object type's records, in insertion order.

    Deleted records stay, flagged IsDeleted (recycle bin), unless soft_delete is False. insertable / updateable /
    deletable say what the REST API may do (else 400 INVALID_TYPE_FOR_OPERATION); on_insert(store, values) checks
    an insert further (cross references, duplicates) and raises RestError. The org itself writes any record with put().
    """

    def __init__(self, name: str, key_prefix: str, fields: tuple, *, insertable: bool = True, updateable: bool = True,
                 deletable: bool = True, soft_delete: bool = True, on_insert=None):
        self.name = name
        self.key_prefix = key_prefix
        self.fields = {f.name.lower(): f for f in fields}
        self.records = {}
        self.insertable = insertable
        self.updateable = updateable
        self.deletable = deletable
        self.soft_delete = soft_delete
        self._on_insert = on_insert
        self._next_number = 1

    def field(self, name: str) -> Field:
        found = self.fields.get(name.lower())
        if found is None:
            raise RestError(400, 'INVALID_FIELD', "No such column '%s' on entity '%s'. If you are attempting to use a custom field, "
                            "be sure to append the '__c' after the custom field name." % (name, self.name))
        return found

    # -- REST: sobjects ---------------------------------------------------------------------

    def create(self, values, now: datetime.datetime) -> str:
        self._refuse_unless(self.insertable, 'inserted')
        changes = self._validated(values, creating=True)
        if self._on_insert is not None:
            self._on_insert(self, changes)
        return self.put(changes, now)

    def put(self, values: dict, now: datetime.datetime, record_id: str | None = None) -> str:
        """Insert (or, with an existing record_id, replace the fields of) a record, unchecked: the org's own writes."""
        if record_id is None:
            record_id = sequential_id(self.key_prefix, self._next_number)
            self._next_number += 1
        record = self.records.get(record_id)
        if record is None:
            record = {f.name: None for f in self.fields.values()}
            record.update({'Id': record_id, 'IsDeleted': False})
            self._stamp(record, now, 'CreatedDate')
            self.records[record_id] = record
        record.update(values)
        self._stamp(record, now, 'LastModifiedDate')
        return record_id

    def get(self, record_id: str) -> dict:
        record = self.records.get(self._canonical_id(record_id))
        if record is None or record['IsDeleted']:
            raise not_found()
        return record

    def find(self, **criteria) -> list:
        """Live records whose fields equal every criterion (exact comparison)."""
        return [r for r in self.records.values() if not r['IsDeleted'] and all(r.get(k) == v for k, v in criteria.items())]

    def update(self, record_id: str, values, now: datetime.datetime) -> None:
        self._refuse_unless(self.updateable, 'updated')
        record = self.get(record_id)
        record.update(self._validated(values, creating=False))
        self._stamp(record, now, 'LastModifiedDate')

    def delete(self, record_id: str, now: datetime.datetime) -> None:
        self._refuse_unless(self.deletable, 'deleted')
        record = self.get(record_id)
        if not self.soft_delete:
            del self.records[record['Id']]
            return
        record['IsDeleted'] = True
        self._stamp(record, now, 'LastModifiedDate')

    def remove(self, record_id: str) -> None:
        """Delete a record for good, unchecked: the org's own writes."""
        self.records.pop(record_id, None)

    def _stamp(self, record: dict, now: datetime.datetime, name: str) -> None:
        if name.lower() in self.fields:
            record[name] = _timestamp(now)

    def _refuse_unless(self, allowed: bool, verb: str) -> None:
        if not allowed:
            raise RestError(400, 'INVALID_TYPE_FOR_OPERATION', 'entity type cannot be %s: %s' % (verb, self.name))

    def seed(self, count: int) -> None:
        for number in range(count):
            self.create({
                'Name': '%s %05d' % (_SEED_NAMES[number % len(_SEED_NAMES)], number + 1),
                'Industry': _SEED_INDUSTRIES[number % len(_SEED_INDUSTRIES)],
                'AnnualRevenue': float((number + 1) * 1000),
                'NumberOfEmployees': (number % 500) + 1,
            }, _SEED_EPOCH + datetime.timedelta(minutes=number))

    def _canonical_id(self, record_id: str) -> str:
        # The API takes 15- and 18-character ids alike.
        if len(record_id) == 15:
            for known in self.records:
                if known.startswith(record_id):
                    return known
        return record_id

    def _validated(self, values, creating: bool) -> dict:
        if not isinstance(values, dict):
            raise RestError(400, 'JSON_PARSER_ERROR', 'Expected a JSON object with the fields of %s' % self.name)
        changes = {}
        for name, value in values.items():
            if name == 'attributes':
                continue
            spec = self.field(name)
            if not spec.updateable:
                raise RestError(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', 'Unable to create/update fields: %s. Please check the security '
                                'settings of this field and verify that it is read/write for your profile or permission set.' % spec.name,
                                [spec.name])
            changes[spec.name] = _checked_value(spec, value)
        required = [f.name for f in self.fields.values() if f.required]
        # An insert must set every required field; an update must not blank one.
        missing = [name for name in required if (creating or name in changes) and changes.get(name) in (None, '')]
        if missing:
            raise RestError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [%s]' % ', '.join(missing), missing)
        return changes

    # -- SOQL -----------------------------------------------------------------------------------

    def run(self, query: Query, include_deleted: bool) -> tuple:
        """Return (matching field-name list, matching records) for a parsed query on this object."""
        fields = [self.field(name).name for name in query.fields]
        conditions = [(self.field(c.field).name, c.op, c.value) for c in query.conditions]
        order_by = [(self.field(name).name, descending) for name, descending in query.order_by]
        rows = [r for r in self.records.values() if (include_deleted or not r['IsDeleted'])
                and all(_matches(r[name], op, value) for name, op, value in conditions)]
        for name, descending in reversed(order_by):
            rows.sort(key=lambda r, n=name: _sort_key(r[n]), reverse=descending)
        rows = rows[query.offset:]
        if query.limit is not None:
            rows = rows[:query.limit]
        return fields, rows


def _checked_value(spec: Field, value):
    if value is None:
        return None
    if spec.type in ('string', 'email', 'textarea', 'reference'):
        if not isinstance(value, str):
            raise RestError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of string from %s value for field %s'
                            % (type(value).__name__, spec.name))
        if spec.length is not None and len(value) > spec.length:
            raise RestError(400, 'STRING_TOO_LONG', '%s: data value too large: %s... (max length=%d)' % (spec.name, value[:20], spec.length),
                            [spec.name])
        return value
    if spec.type in ('currency', 'int'):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (spec.type == 'int' and value != int(value)):
            raise RestError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of %s from %r for field %s' % (spec.type, value, spec.name))
        return int(value) if spec.type == 'int' else float(value)
    return value


def _matches(actual, op: str, expected) -> bool:
    if op == 'LIKE':
        return isinstance(actual, str) and isinstance(expected, str) and bool(like_pattern(expected).match(actual))
    if actual is None or expected is None:
        equal = actual is None and expected is None
        return equal if op == '=' else (not equal if op == '!=' else False)
    left, right = _comparable(actual), _comparable(expected)
    try:
        return {'=': left == right, '!=': left != right, '<': left < right, '<=': left <= right,
                '>': left > right, '>=': left >= right}[op]
    except TypeError:
        return False


def _comparable(value):
    # SOQL compares text case-insensitively.
    return value.lower() if isinstance(value, str) else value


def _sort_key(value):
    # ASC puts nulls first, as SOQL's default NULLS FIRST does.
    if value is None:
        return (0, '')
    return (1, _comparable(value))


def account_store(count: int) -> SObjectStore:
    store = SObjectStore('Account', ACCOUNT_ID_PREFIX, ACCOUNT_FIELDS)
    store.seed(count)
    return store
