# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The org's data behind the REST API: records, SOQL with server-side cursors, sObject Collections, the API counters.

Two kinds of records: the data objects, Account (seeded) and Integration_Setting__c (empty), which reset() puts
back as they were (only those written to since, to keep reset cheap); and the setup objects of directory.py
(User, PermissionSet, PermissionSetAssignment, Organization), which reset() keeps and clear_setup() empties,
as FakeOrg keeps users and apps over reset() and removes them in restore_defaults().

API calls are counted in total (api_usage, the Sforce-Limit-Info header) and per endpoint (api_calls(): a
Counter keyed by (method, normalized path), see rest.normalized_path).

Thread-safe: one lock guards the records, the cursors and the counters.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections import Counter, OrderedDict

from . import composite, soql
from .directory import setup_stores
from .ids import PERMISSION_SET_ID_PREFIX, QUERY_LOCATOR_PREFIX, random_id, stable_id
from .messages import RestError
from .records import INTEGRATION_SETTING, account_store, integration_setting_store

_NEXT_PAGE = re.compile(r'^(?P<locator>01g[0-9A-Za-z]{15})-(?P<offset>\d+)$')
_MAX_OPEN_CURSORS = 1000
PROFILE_ID_PREFIX = '00e'
# Every user has the org's standard profile and locale; the org is no trial, in the US, on GMT.
_USER_DEFAULTS = {'ProfileId': stable_id(PROFILE_ID_PREFIX, 'Profile:Standard User'), 'TimeZoneSidKey': 'GMT', 'LocaleSidKey': 'en_US',
                  'LanguageLocaleKey': 'en_US', 'EmailEncodingKey': 'UTF-8'}
_ORGANIZATION_DEFAULTS = {'TrialExpirationDate': None, 'Division': None, 'Country': 'US', 'DefaultLocaleSidKey': 'en_US',
                          'LanguageLocaleKey': 'en_US', 'TimeZoneSidKey': 'GMT'}


def project(object_name: str, record: dict, names: list, version: str) -> dict:
    """A record as the API returns it: attributes first, then the requested fields."""
    shaped = {'attributes': {'type': object_name, 'url': '/services/data/%s/sobjects/%s/%s' % (version, object_name, record['Id'])}}
    shaped.update((name, record[name]) for name in names)
    return shaped


def api_call_list(calls: Counter) -> list:
    """api_calls() as JSON: [{"method", "path", "count"}], sorted by path, then method."""
    return [{'method': method, 'path': path, 'count': count} for (method, path), count in sorted(calls.items(), key=lambda i: (i[0][1], i[0][0]))]


class OrgData:
    def __init__(self, clock, account_count: int = 2500, batch_size: int = 2000):
        if batch_size < 1:
            raise ValueError('batch_size must be at least 1')
        self._clock = clock
        self._lock = threading.Lock()
        self.account_count = account_count
        self.batch_size = batch_size
        self._data_objects = {'Account': lambda: account_store(self.account_count), INTEGRATION_SETTING: integration_setting_store}
        self.objects = dict.fromkeys(self._data_objects)
        self.objects.update(setup_stores())
        self._dirty = set(self._data_objects)
        self._api_calls = Counter()
        self.reset()

    def reset(self) -> None:
        """Back to the seeded Account records and no Integration_Setting__c, no open cursor, no API call counted;
        the setup objects stay."""
        with self._lock:
            for name in sorted(self._dirty):   # reseeding costs more than a typical test: only objects written to
                self.objects[name] = self._data_objects[name]()
            self._dirty.clear()
            self._cursors = OrderedDict()
            self._api_usage = 0
            self._api_calls.clear()

    def clear_setup(self) -> None:
        """Remove every user, permission set and assignment; the Organization row stays."""
        with self._lock:
            organization = self.objects['Organization']
            self.objects.update(setup_stores())
            self.objects['Organization'] = organization

    @property
    def api_usage(self) -> int:
        with self._lock:
            return self._api_usage

    def count_api_call(self, method: str = 'GET', path: str = '/') -> None:
        with self._lock:
            self._api_usage += 1
            self._api_calls[(method, path)] += 1

    def api_calls(self) -> Counter:
        with self._lock:
            return Counter(self._api_calls)

    def object_store(self, name: str):
        if not isinstance(name, str):
            return None
        for store in self.objects.values():
            if store.name.lower() == name.lower():
                return store
        return None

    def store_for_id(self, record_id: str):
        """The store whose key prefix starts record_id."""
        for store in self.objects.values():
            if record_id[:3] == store.key_prefix:
                return store
        return None

    def _touch(self, store) -> None:
        if store.name in self._data_objects:
            self._dirty.add(store.name)

    # -- sobjects -------------------------------------------------------------------------------

    def create_record(self, store, values) -> str:
        with self._lock:
            self._touch(store)
            return store.create(values, self._now())

    def read_record(self, store, record_id: str) -> dict:
        with self._lock:
            return dict(store.get(record_id))

    def update_record(self, store, record_id: str, values) -> None:
        with self._lock:
            self._touch(store)
            store.update(record_id, values, self._now())

    def upsert_record(self, store, field_name: str, key: str, values) -> tuple:
        """PATCH /sobjects/<X>/<External ID field>/<key>: (record id, created)."""
        spec = store.field(field_name)
        if not spec.external_id and spec.name != 'Id':
            raise RestError(400, 'NOT_FOUND', 'Provided external ID field does not exist or is not accessible: %s' % field_name)
        if not isinstance(values, dict):
            raise RestError(400, 'JSON_PARSER_ERROR', 'Expected a JSON object with the fields of %s' % store.name)
        with self._lock:
            self._touch(store)
            existing = store.find_unique(spec.name, key)
            if existing is not None:
                store.update(existing['Id'], values, self._now())
                return existing['Id'], False
            return store.create(dict(values, **{spec.name: key}), self._now()), True

    def delete_record(self, store, record_id: str) -> None:
        with self._lock:
            self._touch(store)
            store.delete(record_id, self._now())

    def records_of(self, name: str, include_deleted: bool = False) -> list:
        """Copies of the records of an object, in insertion order."""
        with self._lock:
            store = self.object_store(name)
            if store is None:
                raise ValueError('no object %s; known: %s' % (name, ', '.join(self.objects)))
            return [dict(r) for r in store.records.values() if include_deleted or not r['IsDeleted']]

    # -- sObject Collections (composite.py) -----------------------------------------------------

    def save_collection(self, operation: str, records: list, all_or_none: bool, store=None, spec=None) -> list:
        """create / update / upsert (into store, by External ID field spec) records; the per-record results."""
        with self._lock:
            if operation == 'upsert':
                repeated = composite.repeated_keys(records, spec)

                def one(transaction, record, attempt):
                    return composite.upsert_one(self, transaction, record, attempt, store, spec, repeated)
            else:
                save = composite.create_one if operation == 'create' else composite.update_one

                def one(transaction, record, attempt):
                    return save(self, transaction, record, attempt)
            results, transaction = composite.apply(records, one, all_or_none, upsert=operation == 'upsert')
            for touched in transaction.stores.values():
                self._touch(touched)
            return results

    def delete_collection(self, ids: list, all_or_none: bool) -> list:
        with self._lock:
            results, transaction = composite.apply(ids, lambda t, record_id, attempt: composite.delete_one(self, t, record_id, attempt),
                                                   all_or_none)
            for touched in transaction.stores.values():
                self._touch(touched)
            return results

    def retrieve_collection(self, store, ids: list, fields: list, version: str) -> list:
        with self._lock:
            names = ['Id'] + [name for name in (store.field(name).name for name in fields) if name != 'Id']
            found = []
            for record_id in ids:
                record = store.lookup(record_id) if record_id[:3] == store.key_prefix else None
                found.append(project(store.name, record, names, version) if record and not record['IsDeleted'] else None)
            return found

    def add_records(self, name: str, records: list) -> list:
        """Insert records (field dictionaries; attributes optional) as the API would, all or none, uncounted and without
        the 200-record limit; the new ids. ValueError lists the records refused."""
        store = self.object_store(name)
        if store is None:
            raise ValueError('no object %s; known: %s' % (name, ', '.join(self.objects)))
        if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
            raise ValueError('records must be a list of field dictionaries')
        typed = [dict(record, attributes={'type': store.name}) for record in records]
        results = self.save_collection('create', typed, True)
        refused = ['records[%d]: %s' % (index, '; '.join('%s: %s' % (e['statusCode'], e['message']) for e in result['errors']))
                   for index, result in enumerate(results) if not result['success'] and result['errors'] != [composite.ROLLED_BACK]]
        if refused:
            raise ValueError('nothing was added; %d record(s) refused: %s' % (len(refused), ', '.join(refused[:10])))
        return [result['id'] for result in results]

    def now(self) -> datetime.datetime:
        return self._now()

    # -- setup objects: the org's own writes and lookups ------------------------------------------

    def put_user(self, user) -> None:
        first, dummy, last = user.name.rpartition(' ')
        with self._lock:
            self.objects['User'].put(dict(_USER_DEFAULTS, Username=user.username, Name=user.name, FirstName=first or None, LastName=last,
                                          Alias=user.username.split('@')[0][:8], Email=user.email, IsActive=user.active),
                                     self._now(), record_id=user.user_id)

    def add_objects(self, stores: dict) -> None:
        """More setup objects ({name: SObjectStore}, e.g. a Dev Hub's ScratchOrgInfo): queryable, kept over reset()."""
        with self._lock:
            self.objects.update(stores)

    def put_record(self, name: str, values: dict, record_id: str | None = None) -> str:
        """Insert (or replace the fields of) a record of object `name`, unchecked: the org's own writes; its id."""
        with self._lock:
            return self.objects[name].put(values, self._now(), record_id=record_id)

    def put_organization(self, values: dict, org_id: str) -> None:
        with self._lock:
            self.objects['Organization'].put(dict(_ORGANIZATION_DEFAULTS, **values), self._now(), record_id=org_id)

    def save_permission_set(self, name: str, label: str | None = None, description: str | None = None) -> tuple:
        """Create or update PermissionSet `name`; return (id, created). Without a label an existing one is kept."""
        with self._lock:
            store = self.objects['PermissionSet']
            found = store.find(Name=name)
            values = {'Name': name, 'IsOwnedByProfile': False}
            if label is not None or not found:
                values['Label'] = label if label is not None else name
            if label is not None or description is not None:
                values['Description'] = description
            record_id = found[0]['Id'] if found else stable_id(PERMISSION_SET_ID_PREFIX, 'PermissionSet:' + name)
            store.put(values, self._now(), record_id=record_id)
            return record_id, not found

    def permission_set_names(self) -> set:
        with self._lock:
            return {record['Name'] for record in self.objects['PermissionSet'].find()}

    def assign(self, user_id: str, permission_set_id: str) -> tuple:
        """Give the user the permission set (no-op when held already); return (assignment id, created)."""
        with self._lock:
            store = self.objects['PermissionSetAssignment']
            found = store.find(AssigneeId=user_id, PermissionSetId=permission_set_id)
            if found:
                return found[0]['Id'], False
            return store.put({'AssigneeId': user_id, 'PermissionSetId': permission_set_id}, self._now()), True

    def unassign(self, assignment_id: str) -> None:
        with self._lock:
            self.objects['PermissionSetAssignment'].remove(assignment_id)

    def permission_sets_of(self, user_id: str) -> set:
        """Names of the permission sets the user holds through assignments."""
        with self._lock:
            names = {record['Id']: record['Name'] for record in self.objects['PermissionSet'].find()}
            return {names[a['PermissionSetId']] for a in self.objects['PermissionSetAssignment'].find(AssigneeId=user_id)
                    if a['PermissionSetId'] in names}

    # -- SOQL -----------------------------------------------------------------------------------

    def query_columns(self, text) -> dict:
        """GET .../query?q=...&columns=true: the columns of a valid query (checked as when it runs), no records."""
        query, store = self._parsed(text)
        with self._lock:
            store.run(query, False, self._now().date())   # the same errors as the query itself
            return store.columns(query)

    def _parsed(self, text) -> tuple:
        query = soql.parse(text)
        store = self.object_store(query.sobject)
        if store is None:
            raise RestError(400, 'INVALID_TYPE', "sObject type '%s' is not supported. If you are attempting to use a custom object, "
                            "be sure to append the '__c' after the entity name." % query.sobject)
        return query, store

    def run_query(self, version: str, endpoint: str, text, include_deleted: bool, batch_size: int) -> dict:
        """First page of a query; the rest stays in a cursor that nextRecordsUrl points at."""
        query, store = self._parsed(text)
        with self._lock:
            fields, rows = store.run(query, include_deleted, self._now().date())
            if query.count_only:
                return {'totalSize': len(rows), 'done': True, 'records': []}
            records = [project(store.name, row, fields, version) for row in rows]
            locator = random_id(QUERY_LOCATOR_PREFIX)
            self._cursors[locator] = (records, batch_size)
            while len(self._cursors) > _MAX_OPEN_CURSORS:
                self._cursors.popitem(last=False)
            return self._page(version, endpoint, locator, 0)

    def next_query_page(self, version: str, endpoint: str, token: str) -> dict:
        match = _NEXT_PAGE.match(token)
        with self._lock:
            if match is None or match.group('locator') not in self._cursors:
                raise RestError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator')
            return self._page(version, endpoint, match.group('locator'), int(match.group('offset')))

    def _page(self, version: str, endpoint: str, locator: str, offset: int) -> dict:
        # Called with the lock held. A cursor is closed once its last page has been read.
        records, batch_size = self._cursors[locator]
        end = offset + batch_size
        page = {'totalSize': len(records), 'done': end >= len(records), 'records': records[offset:end]}
        if page['done']:
            del self._cursors[locator]
        else:
            page['nextRecordsUrl'] = '/services/data/%s/%s/%s-%d' % (version, endpoint, locator, end)
        return page

    def _now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self._clock(), tz=datetime.timezone.utc)
