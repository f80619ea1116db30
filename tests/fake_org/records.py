# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The org's records: the generic sObject store (the validation the REST API applies, SOQL evaluation), Account
and Integration_Setting__c.

Values are stored as Salesforce returns them: text as str (an empty text is stored as null), boolean as
true / false (never null: null or a missing value is false), int as int, double and currency as float, date as
'YYYY-MM-DD', datetime as 'YYYY-MM-DDTHH:MM:SS.000+0000' (UTC). Written values are converted as the API's JSON
reader does: a number or a boolean into a text field becomes its text ('5', '5.5', 'true'), a numeric text into
a number field its number, 'true' / 'false' into a boolean; anything else is the wrong type
(INVALID_TYPE_ON_FIELD_IN_RECORD in sObject Collections, JSON_PARSER_ERROR on /sobjects/<X>).

Unique fields (External IDs) are unique case-insensitively among live records (Salesforce's default); a
deleted record keeps its value but does not hold it.

Not thread-safe by itself: the OrgData lock guards every call. The setup objects (User, PermissionSet,
PermissionSetAssignment, Organization) are built on the same store in directory.py.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass

from .ids import ACCOUNT_ID_PREFIX, INTEGRATION_SETTING_ID_PREFIX, sequential_id
from .messages import RestError, not_found
from .soql import Literal, Query, date_range, walk

TEXT_TYPES = ('id', 'reference', 'string', 'email', 'textarea')
NUMBER_TYPES = ('int', 'double', 'currency')
# SOQL: the literal kinds a field of each type may be compared with (null always).
_LITERAL_KINDS = {'boolean': 'boolean', 'date': 'date', 'datetime': 'datetime'}
_LITERAL_NAMES = {'boolean': 'boolean', 'date': 'date', 'datetime': 'dateTime', 'number': 'double', 'string': 'string'}
_DATE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
_DATETIME = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$')
_NUMBER = re.compile(r'^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$')
_SYSTEM_FIELDS = ('Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp')
# Every sObject has these audit fields ("System Fields", Object Reference for the Salesforce Platform); the org sets them.
_AUDIT_FIELDS = ('CreatedDate', 'LastModifiedDate', 'SystemModstamp')
# columns=true: the Apex type of each field type.
_APEX_TYPES = {'id': 'Id', 'reference': 'Id', 'boolean': 'Boolean', 'string': 'String', 'email': 'String', 'textarea': 'String',
               'currency': 'Decimal', 'int': 'Integer', 'double': 'Double', 'date': 'Date', 'datetime': 'Datetime'}


@dataclass(frozen=True)
class Field:
    name: str
    type: str            # id, reference, boolean, string, email, textarea, currency, int, double, date, datetime
    length: int | None = None
    updateable: bool = True
    required: bool = False
    external_id: bool = False
    unique: bool = False
    createable: bool | None = None   # None: as updateable

    @property
    def is_createable(self) -> bool:
        return self.updateable if self.createable is None else self.createable

    @property
    def custom(self) -> bool:
        return self.name.endswith('__c')

    def describe(self) -> dict:
        """The field as GET .../sobjects/<X>/describe lists it."""
        nillable = not self.required and self.type not in ('id', 'boolean') and self.name not in _SYSTEM_FIELDS
        described = {'name': self.name, 'label': self.name[:-3].replace('_', ' ') if self.custom else self.name, 'type': self.type,
                     'length': self.length or 0, 'externalId': self.external_id, 'unique': self.unique, 'caseSensitive': False,
                     'idLookup': self.type == 'id' or self.external_id, 'nillable': nillable, 'createable': self.is_createable,
                     'updateable': self.updateable, 'custom': self.custom, 'defaultedOnCreate': self.type == 'boolean' or (
                         self.name in _SYSTEM_FIELDS)}
        if self.type == 'double':
            described.update(precision=18, scale=2)
        return described

    def column(self) -> dict:
        """The field as GET .../query?q=...&columns=true lists a selected column (what the Salesforce CLI's `data query`
        reads to name its columns: columnName, displayName, aggregate, joinColumns)."""
        return {'aggregate': False, 'apexType': _APEX_TYPES.get(self.type, 'String'), 'booleanType': self.type == 'boolean',
                'columnName': self.name, 'custom': self.custom, 'displayName': self.name, 'foreignKeyName': None,
                'insertable': self.is_createable, 'joinColumns': [], 'numberType': self.type in NUMBER_TYPES,
                'textType': self.type in ('string', 'email', 'textarea'), 'updatable': self.updateable}


def _system_fields(*fields) -> tuple:
    # The audit fields come last, added by SObjectStore.
    return (Field('Id', 'id', 18, updateable=False), Field('IsDeleted', 'boolean', updateable=False)) + fields


ACCOUNT_FIELDS = _system_fields(
    Field('Name', 'string', 255, required=True),
    Field('Type', 'string', 255),
    Field('Industry', 'string', 255),
    Field('AnnualRevenue', 'currency'),
    Field('NumberOfEmployees', 'int'),
    Field('BillingCity', 'string', 40),
    Field('Description', 'textarea', 32000),
    Field('Legacy_Id__c', 'string', 40, external_id=True, unique=True),
)

INTEGRATION_SETTING = 'Integration_Setting__c'
INTEGRATION_SETTING_FIELDS = _system_fields(
    Field('Name', 'string', 80, required=True),
    Field('Key__c', 'string', 80, external_id=True, unique=True),
    Field('Value__c', 'string', 255),
    Field('Enabled__c', 'boolean'),
    Field('Limit__c', 'double'),
    Field('Effective_Date__c', 'date'),
    Field('Secret_Token__c', 'string', 255),
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
        fields = tuple(fields) + tuple(Field(audit, 'datetime', updateable=False) for audit in _AUDIT_FIELDS
                                       if audit.lower() not in {f.name.lower() for f in fields})
        self.fields = {f.name.lower(): f for f in fields}
        self.records = {}
        self.insertable = insertable
        self.updateable = updateable
        self.deletable = deletable
        self.soft_delete = soft_delete
        self._on_insert = on_insert
        self._next_number = 1
        # unique or External ID field name -> {value, lower case: id of the live record holding it}
        self._unique = {f.name: {} for f in fields if f.unique or f.external_id}
        self._unique_names = {f.name for f in fields if f.unique}

    def columns(self, query: Query) -> dict:
        """GET .../query?q=...&columns=true: the query's columns, not its records (the Salesforce CLI asks for them to
        lay out `sf data query`), shaped as the Tooling API's QueryResultMetadata and QueryResultColumnMetadata
        (columnMetadata, entityName, groupBy, idSelected, keyPrefix; as @salesforce/types declares them). COUNT()
        selects no column."""
        columns = [self.field(name).column() for name in query.fields]
        return {'columnMetadata': columns, 'entityName': self.name, 'groupBy': False,
                'idSelected': any(column['columnName'] == 'Id' for column in columns), 'keyPrefix': self.key_prefix}

    def field(self, name: str) -> Field:
        """A field named in SOQL; INVALID_FIELD as the query endpoint words it."""
        found = self.fields.get(name.lower())
        if found is None:
            raise RestError(400, 'INVALID_FIELD', "No such column '%s' on entity '%s'. If you are attempting to use a custom field, "
                            "be sure to append the '__c' after the custom field name." % (name, self.name))
        return found

    def dml_field(self, name: str) -> Field:
        """A field named in a record sent for a write; INVALID_FIELD as the write endpoints word it."""
        found = self.fields.get(name.lower()) if isinstance(name, str) else None
        if found is None:
            raise RestError(400, 'INVALID_FIELD', "No such column '%s' on sobject of type %s" % (name, self.name), [])
        return found

    def describe_fields(self) -> list:
        return [f.describe() for f in self.fields.values()]

    # -- REST: sobjects ---------------------------------------------------------------------

    def create(self, values, now: datetime.datetime, collection: bool = False) -> str:
        self._refuse_unless(self.insertable, 'inserted')
        changes = self._validated(values, creating=True, collection=collection)
        self._check_unique(changes, None)
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
            record = {f.name: (False if f.type == 'boolean' else None) for f in self.fields.values()}
            record.update({'Id': record_id, 'IsDeleted': False})
            self._stamp(record, now, 'CreatedDate')
            self.records[record_id] = record
        self._unindex(record)
        record.update(values)
        self._index(record)
        self._stamp(record, now, 'LastModifiedDate')
        return record_id

    def get(self, record_id: str) -> dict:
        record = self.records.get(self._canonical_id(record_id))
        if record is None or record['IsDeleted']:
            raise not_found()
        return record

    def lookup(self, record_id: str) -> dict | None:
        """The record with this 15- or 18-character id, deleted or not; None when there is none."""
        return self.records.get(self._canonical_id(record_id))

    def find(self, **criteria) -> list:
        """Live records whose fields equal every criterion (exact comparison)."""
        return [r for r in self.records.values() if not r['IsDeleted'] and all(r.get(k) == v for k, v in criteria.items())]

    def find_unique(self, field_name: str, value) -> dict | None:
        """The live record whose unique or External ID field holds value (case-insensitive)."""
        record_id = self._unique[field_name].get(unique_key(value))
        return self.records.get(record_id) if record_id else None

    def update(self, record_id: str, values, now: datetime.datetime, collection: bool = False) -> None:
        self._refuse_unless(self.updateable, 'updated')
        record = self.get(record_id)
        changes = self._validated(values, creating=False, collection=collection)
        self._check_unique(changes, record['Id'])
        self._unindex(record)
        record.update(changes)
        self._index(record)
        self._stamp(record, now, 'LastModifiedDate')

    def delete(self, record_id: str, now: datetime.datetime) -> None:
        self._refuse_unless(self.deletable, 'deleted')
        record = self.get(record_id)
        self._unindex(record)
        if not self.soft_delete:
            del self.records[record['Id']]
            return
        record['IsDeleted'] = True
        self._stamp(record, now, 'LastModifiedDate')

    def remove(self, record_id: str) -> None:
        """Delete a record for good, unchecked: the org's own writes."""
        record = self.records.pop(record_id, None)
        if record is not None:
            self._unindex(record)

    def snapshot(self, record_id: str):
        """What restore() needs to undo changes to this record: a copy of it, or None when it does not exist."""
        record = self.records.get(record_id)
        return dict(record) if record is not None else None

    def restore(self, record_id: str, saved) -> None:
        """Put a record back as snapshot() saw it (None: it did not exist)."""
        record = self.records.get(record_id)
        if record is None or saved is None:
            self.remove(record_id)
            if saved is not None:
                self.records[record_id] = record = dict(saved)
                self._index(record)
            return
        self._unindex(record)
        record.clear()   # in place: the record keeps its position
        record.update(saved)
        self._index(record)

    @property
    def next_number(self) -> int:
        return self._next_number

    @next_number.setter
    def next_number(self, value: int) -> None:
        self._next_number = value

    def _index(self, record: dict) -> None:
        if record['IsDeleted']:
            return
        for name, index in self._unique.items():
            key = unique_key(record.get(name))
            if key is not None:
                index[key] = record['Id']

    def _unindex(self, record: dict) -> None:
        for name, index in self._unique.items():
            key = unique_key(record.get(name))
            if key is not None and index.get(key) == record['Id']:
                del index[key]

    def _check_unique(self, changes: dict, own_id: str | None) -> None:
        for name in self._unique_names:
            holder = self._unique[name].get(unique_key(changes.get(name)))
            if holder is not None and holder != own_id:
                raise RestError(400, 'DUPLICATE_VALUE', 'duplicate value found: %s duplicates value on record with id: %s' % (name, holder), [])

    def _stamp(self, record: dict, now: datetime.datetime, name: str) -> None:
        record[name] = _timestamp(now)
        if name == 'LastModifiedDate':   # SystemModstamp moves with every change, the org's own too
            record['SystemModstamp'] = record[name]

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
        if isinstance(record_id, str) and len(record_id) == 15:
            for known in self.records:
                if known.startswith(record_id):
                    return known
        return record_id

    def _validated(self, values, creating: bool, collection: bool = False) -> dict:
        if not isinstance(values, dict):
            raise RestError(400, 'JSON_PARSER_ERROR', 'Expected a JSON object with the fields of %s' % self.name)
        changes = {}
        for name, value in values.items():
            if name == 'attributes':
                continue
            spec = self.dml_field(name)
            if not (spec.is_createable if creating else spec.updateable):
                raise RestError(400, 'INVALID_FIELD_FOR_INSERT_UPDATE', 'Unable to create/update fields: %s. Please check the security '
                                'settings of this field and verify that it is read/write for your profile or permission set.' % spec.name,
                                [spec.name])
            changes[spec.name] = checked_value(spec, value, collection)
        required = [f.name for f in self.fields.values() if f.required]
        # An insert must set every required field; an update must not blank one.
        missing = [name for name in required if (creating or name in changes) and changes.get(name) is None]
        if missing:
            raise RestError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [%s]' % ', '.join(missing), missing)
        return changes

    # -- SOQL -----------------------------------------------------------------------------------

    def run(self, query: Query, include_deleted: bool, today: datetime.date | None = None) -> tuple:
        """Return (matching field-name list, matching records) for a parsed query on this object; `today` (UTC, the
        org's clock) anchors the relative date literals."""
        fields = [self.field(name).name for name in query.fields]
        today = today or datetime.datetime.now(datetime.timezone.utc).date()
        for condition in walk(query.where):
            spec = self.field(condition.field)
            condition.field = spec.name
            literals = condition.values or [Literal(condition.kind, condition.value)]
            for literal in literals:
                _check_literal(spec, literal.kind)
            condition.spans = [_span(spec, literal.value, today) for literal in literals if literal.kind == 'relative']
            if condition.op in ('IN', 'NOT IN'):
                condition.lookup = _in_lookup([literal for literal in literals if literal.kind != 'relative'],
                                              spec.type in ('id', 'reference'))
        order_by = [(self.field(name).name, descending, nulls_first) for name, descending, nulls_first in query.order_by]
        rows = [r for r in self.records.values() if (include_deleted or not r['IsDeleted']) and _holds(query.where, r, self)]
        for name, descending, nulls_first in reversed(order_by):
            if nulls_first is None:
                nulls_first = not descending
            null_rank = 0 if nulls_first != descending else 2
            rows.sort(key=lambda r, n=name, rank=null_rank: (rank, '') if r[n] is None else (1, _comparable(r[n])), reverse=descending)
        rows = rows[query.offset:]
        if query.limit is not None:
            rows = rows[:query.limit]
        return fields, rows


def unique_key(value):
    if value is None:
        return None
    return value.lower() if isinstance(value, str) else value


def _json_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def checked_value(spec: Field, value, collection: bool = False):
    """The value as the field stores it, or the error Salesforce answers for it (see the module docstring)."""
    if value is None:
        return False if spec.type == 'boolean' else None
    converted = _converted(spec, value)
    if converted is _MISMATCH:
        if collection:
            raise RestError(400, 'INVALID_TYPE_ON_FIELD_IN_RECORD', '%s: value not of required type: %s' % (spec.name, _json_text(value)),
                            [spec.name])
        token = 'VALUE_STRING' if isinstance(value, str) else 'VALUE_NUMBER' if isinstance(value, (int, float)) else 'START_OBJECT'
        raise RestError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of %s from %s value %s or request may be missing a '
                        'required field' % (spec.type, token, _json_text(value)))
    if isinstance(converted, str) and spec.length is not None and len(converted) > spec.length:
        raise RestError(400, 'STRING_TOO_LONG', '%s: data value too large: %s... (max length=%d)' % (spec.name, converted[:20], spec.length),
                        [spec.name])
    return converted


_MISMATCH = object()


def _converted(spec: Field, value):
    if isinstance(value, (dict, list)):
        return _MISMATCH
    if spec.type in TEXT_TYPES:
        if isinstance(value, bool):
            return 'true' if value else 'false'
        text = value if isinstance(value, str) else repr(value)
        return text if text != '' else None
    if spec.type == 'boolean':
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ('true', 'false'):
            return value.lower() == 'true'
        return _MISMATCH
    if spec.type in NUMBER_TYPES:
        return _number(spec, value)
    if spec.type == 'date':
        if not isinstance(value, str) or not _DATE.match(value):
            return _MISMATCH
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            return _MISMATCH
    if spec.type == 'datetime':
        return _datetime(value)
    return value


def _number(spec: Field, value):
    if isinstance(value, bool):
        return _MISMATCH
    if isinstance(value, str):
        if value.strip() == '':
            return None
        if not _NUMBER.match(value):
            return _MISMATCH
        value = float(value)
    if not isinstance(value, (int, float)):
        return _MISMATCH
    if spec.type == 'int':
        return int(value) if value == int(value) else _MISMATCH
    return float(value)


def _datetime(value):
    if not isinstance(value, str) or not _DATETIME.match(value):
        return _MISMATCH
    text = value.replace('Z', '+00:00')
    if re.search(r'[+-]\d{4}$', text):
        text = text[:-2] + ':' + text[-2:]
    fraction = re.search(r'\.(\d+)', text)
    if fraction:   # fromisoformat of Python < 3.11 takes 3 or 6 digits only
        text = text.replace(fraction.group(0), '.' + fraction.group(1)[:6].ljust(6, '0'))
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return _MISMATCH
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + '%03d+0000' % (moment.microsecond // 1000)


def _check_literal(spec: Field, kind: str) -> None:
    if kind == 'null' or (kind == 'relative' and spec.type in ('date', 'datetime')):
        return
    wanted = _LITERAL_KINDS.get(spec.type, 'number' if spec.type in NUMBER_TYPES else 'string')
    if kind != wanted:
        quoting = 'be enclosed in quotes' if wanted == 'string' else 'not be enclosed in quotes'
        raise RestError(400, 'INVALID_FIELD', "value of filter criterion for field '%s' must be of type %s and should %s"
                        % (spec.name, _LITERAL_NAMES[wanted], quoting))


def _holds(node, record: dict, store: SObjectStore) -> bool:
    if node is None:
        return True
    if hasattr(node, 'parts'):
        if node.op == 'NOT':
            return not _holds(node.parts[0], record, store)
        results = (_holds(part, record, store) for part in node.parts)
        return all(results) if node.op == 'AND' else any(results)
    actual = record[node.field]
    is_id = store.fields[node.field.lower()].type in ('id', 'reference')
    if node.op in ('IN', 'NOT IN'):
        values, null_listed = node.lookup
        if actual is None:
            found = null_listed
        else:
            found = (actual[:15] if is_id and isinstance(actual, str) else _comparable(actual)) in values or any(
                start <= actual < end for start, end in node.spans)
        return found if node.op == 'IN' else not found
    if node.spans:
        return _in_span(actual, node.op, node.spans[0])
    if node.op == 'LIKE':
        return isinstance(actual, str) and bool(node.pattern.match(actual))
    return _matches(actual, node.op, node.value, is_id)


def _span(spec: Field, literal: str, today: datetime.date) -> tuple:
    """A relative date literal's range in the stored format of the field: days for a date field, UTC midnights for a
    datetime field (stored values of one format compare as text)."""
    start, end = date_range(literal, today)
    if spec.type == 'date':
        return start.isoformat(), end.isoformat()
    return start.isoformat() + 'T00:00:00.000+0000', end.isoformat() + 'T00:00:00.000+0000'


def _in_span(actual, op: str, span: tuple) -> bool:
    # "Date Formats and Date Literals in WHERE": = finds values in the range, < and > values on either side of it.
    start, end = span
    if actual is None:
        return op == '!='
    inside = start <= actual < end
    return {'=': inside, '!=': not inside, '<': actual < start, '<=': actual < end, '>': actual >= end, '>=': actual >= start}[op]


def _in_lookup(literals: list, is_id: bool) -> tuple:
    values = set()
    for literal in literals:
        if literal.value is None:
            continue
        if is_id and isinstance(literal.value, str):
            if len(literal.value) in (15, 18):
                values.add(literal.value[:15])
        else:
            values.add(_comparable(literal.value))
    return values, any(literal.value is None for literal in literals)


def _matches(actual, op: str, expected, is_id: bool = False) -> bool:
    if actual is None or expected is None:
        equal = actual is None and expected is None
        return equal if op == '=' else (not equal if op == '!=' else False)
    if is_id and isinstance(actual, str) and isinstance(expected, str) and op in ('=', '!='):
        # Ids compare on their case-sensitive 15-character form: a query may use either form.
        return (actual[:15] == expected[:15] and len(expected) in (15, 18)) == (op == '=')
    left, right = _comparable(actual), _comparable(expected)
    try:
        return {'=': left == right, '!=': left != right, '<': left < right, '<=': left <= right,
                '>': left > right, '>=': left >= right}[op]
    except TypeError:
        return False


def _comparable(value):
    # SOQL compares text case-insensitively.
    return value.lower() if isinstance(value, str) else value


def account_store(count: int) -> SObjectStore:
    store = SObjectStore('Account', ACCOUNT_ID_PREFIX, ACCOUNT_FIELDS)
    store.seed(count)
    return store


def integration_setting_store() -> SObjectStore:
    """The custom object Integration_Setting__c (key prefix a0B), empty: Key__c is its External ID."""
    return SObjectStore(INTEGRATION_SETTING, INTEGRATION_SETTING_ID_PREFIX, INTEGRATION_SETTING_FIELDS)
