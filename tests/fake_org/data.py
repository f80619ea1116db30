# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The org's data behind the REST API: records, SOQL with server-side cursors, the API usage counter.

Two kinds of records: Account (seeded; reset() restores the seed) and the setup objects of directory.py
(User, PermissionSet, PermissionSetAssignment, Organization), which reset() keeps and clear_setup() empties,
as FakeOrg keeps users and apps over reset() and removes them in restore_defaults().

Thread-safe: one lock guards the records, the cursors and the counter.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections import OrderedDict

from . import soql
from .directory import setup_stores
from .ids import PERMISSION_SET_ID_PREFIX, QUERY_LOCATOR_PREFIX, random_id, stable_id
from .messages import RestError
from .records import account_store

_NEXT_PAGE = re.compile(r'^(?P<locator>01g[0-9A-Za-z]{15})-(?P<offset>\d+)$')
_MAX_OPEN_CURSORS = 1000


def project(object_name: str, record: dict, names: list, version: str) -> dict:
    """A record as the API returns it: attributes first, then the requested fields."""
    shaped = {'attributes': {'type': object_name, 'url': '/services/data/%s/sobjects/%s/%s' % (version, object_name, record['Id'])}}
    shaped.update((name, record[name]) for name in names)
    return shaped


class OrgData:
    def __init__(self, clock, account_count: int = 2500, batch_size: int = 2000):
        if batch_size < 1:
            raise ValueError('batch_size must be at least 1')
        self._clock = clock
        self._lock = threading.Lock()
        self.account_count = account_count
        self.batch_size = batch_size
        self.objects = {'Account': None}
        self.objects.update(setup_stores())
        self._modified = True
        self.reset()

    def reset(self) -> None:
        """Back to the seeded Account records, no open cursor, no API call counted; the setup objects stay."""
        with self._lock:
            if self._modified:   # reseeding costs more than a typical test: only when records changed
                self.objects['Account'] = account_store(self.account_count)
                self._modified = False
            self._cursors = OrderedDict()
            self._api_usage = 0

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

    def count_api_call(self) -> None:
        with self._lock:
            self._api_usage += 1

    def object_store(self, name: str):
        for store in self.objects.values():
            if store.name.lower() == name.lower():
                return store
        return None

    # -- sobjects -------------------------------------------------------------------------------

    def create_record(self, store, values) -> str:
        with self._lock:
            self._modified = self._modified or store.name == 'Account'
            return store.create(values, self._now())

    def read_record(self, store, record_id: str) -> dict:
        with self._lock:
            return dict(store.get(record_id))

    def update_record(self, store, record_id: str, values) -> None:
        with self._lock:
            self._modified = self._modified or store.name == 'Account'
            store.update(record_id, values, self._now())

    def delete_record(self, store, record_id: str) -> None:
        with self._lock:
            self._modified = self._modified or store.name == 'Account'
            store.delete(record_id, self._now())

    # -- setup objects: the org's own writes and lookups ------------------------------------------

    def put_user(self, user) -> None:
        with self._lock:
            self.objects['User'].put({'Username': user.username, 'Name': user.name, 'Email': user.email, 'IsActive': user.active},
                                     self._now(), record_id=user.user_id)

    def put_organization(self, values: dict, org_id: str) -> None:
        with self._lock:
            self.objects['Organization'].put(values, self._now(), record_id=org_id)

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

    def run_query(self, version: str, endpoint: str, text, include_deleted: bool, batch_size: int) -> dict:
        """First page of a query; the rest stays in a cursor that nextRecordsUrl points at."""
        query = soql.parse(text)
        store = self.object_store(query.sobject)
        if store is None:
            raise RestError(400, 'INVALID_TYPE', "sObject type '%s' is not supported. If you are attempting to use a custom object, "
                            "be sure to append the '__c' after the entity name." % query.sobject)
        with self._lock:
            fields, rows = store.run(query, include_deleted)
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
