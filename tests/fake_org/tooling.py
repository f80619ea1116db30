# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Tooling API of a fleet's production org (sandboxes) and the Dev Hub objects of a fleet's Dev Hub (scratch orgs).

Under /services/data/vNN.0/tooling/ of a production org (FakeFleet.add_org sets org.tooling):

    GET    tooling/query?q=<SOQL on SandboxInfo or SandboxProcess>    (the SOQL subset of soql.py, one page)
    GET    tooling/sobjects/SandboxInfo/<id>, tooling/sobjects/SandboxProcess/<id>
    POST   tooling/sobjects/SandboxInfo {"SandboxName", "LicenseType", "AutoActivate", "Description", "ActivationUserGroupId"}
           -> 201 {"id", "success": true, "errors": []}: a copy starts (a SandboxProcess row, Status Pending)
    PATCH  tooling/sobjects/SandboxInfo/<id> {"LicenseType", "AutoActivate", ...} -> 204: a refresh starts (a new SandboxProcess row)
    DELETE tooling/sobjects/SandboxInfo/<id> -> 204: the sandbox is gone at once (its processes say Deleted)

A running SandboxProcess advances one step on every GET or query that reads it (query, or GET by id): Pending ->
Processing (CopyProgress rising) -> Completed after fleet.sandbox_polls_to_finish steps (0: complete at once). On
completion the fleet copies the sandbox from production (FakeFleet.add_sandbox / refresh_sandbox).

Refusals, as Salesforce words them: SandboxName not 1-10 letters and digits starting with a letter -> 400
FIELD_INTEGRITY_EXCEPTION; a name in use -> 400 DUPLICATE_VALUE; LicenseType missing or not DEVELOPER, DEVELOPER_PRO,
PARTIAL, FULL -> 400 INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST; a refresh or delete while a copy runs -> 400
INVALID_OPERATION. Deviation: ActivationUserGroupId, which Salesforce requires for DEVELOPER and DEVELOPER_PRO when
the org uses activation groups, is only required when fleet.require_activation_group is True.

Dev Hub (standard API, FakeFleet.add_org(kind='devhub')): ScratchOrgInfo and ActiveScratchOrg are objects of the hub's
OrgData, so the standard query endpoint answers them; the fleet writes them (read-only over REST).
"""

from __future__ import annotations

import datetime
import re
import threading

from . import soql
from .data import project
from .messages import RestError, Response, empty_response, json_response, method_not_allowed, not_found
from .records import Field, SObjectStore

LICENSE_TYPES = ('DEVELOPER', 'DEVELOPER_PRO', 'PARTIAL', 'FULL')
SANDBOX_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9]{0,9}$')
PENDING, PROCESSING, COMPLETED, DELETED = 'Pending', 'Processing', 'Completed', 'Deleted'

SANDBOX_INFO_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('IsDeleted', 'boolean', updateable=False),
    Field('SandboxName', 'string', 10, required=True, createable=True, updateable=False),
    Field('LicenseType', 'string', 40, required=True),
    Field('Description', 'string', 255),
    Field('AutoActivate', 'boolean'),
    Field('SourceId', 'reference', 18),
    Field('ActivationUserGroupId', 'reference', 18),
    Field('HistoryDays', 'int'),
    Field('CopyChatter', 'boolean'),
    Field('ApexClassId', 'reference', 18),
)
SANDBOX_PROCESS_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('IsDeleted', 'boolean', updateable=False),
    Field('SandboxInfoId', 'reference', 18, updateable=False),
    Field('SandboxName', 'string', 10, updateable=False),
    Field('LicenseType', 'string', 40, updateable=False),
    Field('Status', 'string', 40, updateable=False),
    Field('CopyProgress', 'int', updateable=False),
    Field('SandboxOrganization', 'string', 18, updateable=False),
    Field('Description', 'string', 255, updateable=False),
    Field('AutoActivate', 'boolean', updateable=False),
    Field('StartDate', 'datetime', updateable=False),
    Field('EndDate', 'datetime', updateable=False),
    Field('ActivatedDate', 'datetime', updateable=False),
)
SCRATCH_ORG_INFO_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('IsDeleted', 'boolean', updateable=False),
    Field('OrgName', 'string', 80, updateable=False),
    Field('SignupUsername', 'string', 80, updateable=False),
    Field('LoginUrl', 'string', 255, updateable=False),
    Field('ScratchOrg', 'string', 15, updateable=False),
    Field('ExpirationDate', 'date', updateable=False),
    Field('Status', 'string', 40, updateable=False),
    Field('Edition', 'string', 40, updateable=False),
    Field('ConnectedAppConsumerKey', 'string', 255, updateable=False),
)
ACTIVE_SCRATCH_ORG_FIELDS = (
    Field('Id', 'id', 18, updateable=False),
    Field('IsDeleted', 'boolean', updateable=False),
    Field('ScratchOrg', 'string', 15, updateable=False),
    Field('ScratchOrgInfoId', 'reference', 18, updateable=False),
    Field('SignupUsername', 'string', 80, updateable=False),
    Field('Edition', 'string', 40, updateable=False),
    Field('ExpirationDate', 'date', updateable=False),
)


def devhub_stores() -> dict:
    """{name: store} of the Dev Hub objects, empty; FakeFleet adds them to a Dev Hub's OrgData.objects."""
    info = SObjectStore('ScratchOrgInfo', '2SR', SCRATCH_ORG_INFO_FIELDS, insertable=False, updateable=False, deletable=False)
    active = SObjectStore('ActiveScratchOrg', '2AS', ACTIVE_SCRATCH_ORG_FIELDS, insertable=False, updateable=False, deletable=False)
    return {info.name: info, active.name: active}


def _timestamp(moment: datetime.datetime) -> str:
    return moment.strftime('%Y-%m-%dT%H:%M:%S.000+0000')


class ToolingApi:
    """The sandbox objects of one production org and their Tooling API resources.

    fleet: the FakeFleet (sandbox_polls_to_finish, require_activation_group, and the callbacks that build, re-copy
    and remove sandbox orgs: copy_sandbox(prod, name, license_type) -> FakeOrg, sandbox_deleted(prod, name)).
    """

    def __init__(self, fleet, org):
        self.fleet = fleet
        self.org = org
        self._lock = threading.RLock()
        self.info = SObjectStore('SandboxInfo', '0GQ', SANDBOX_INFO_FIELDS)
        self.process = SObjectStore('SandboxProcess', '0GR', SANDBOX_PROCESS_FIELDS, insertable=False, updateable=False, deletable=False)
        self._steps = {}   # SandboxProcess id -> steps taken, while it runs

    def _now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.org.now(), tz=datetime.timezone.utc)

    # -- the fleet's side ---------------------------------------------------------------------

    def create(self, values: dict, status: str = PENDING) -> tuple:
        """A new SandboxInfo (checked as a POST is) and its SandboxProcess; (info id, process id)."""
        with self._lock:
            values = self._checked_new(values)
            info_id = self.info.create(values, self._now())
            process_id = self._start(info_id, status)
            return info_id, process_id

    def refresh(self, name: str, changes: dict | None = None, status: str = PENDING) -> str:
        """Start a refresh of sandbox `name`: a new SandboxProcess; its id."""
        with self._lock:
            info = self.find_info(name)
            if info is None:
                raise ValueError('production org %s has no sandbox %s' % (self.org.name, name))
            self._refuse_while_running(info['Id'])
            if changes:
                self.info.update(info['Id'], self._checked_changes(changes), self._now())
            return self._start(info['Id'], status)

    def delete(self, name: str) -> None:
        with self._lock:
            info = self.find_info(name)
            if info is None:
                raise ValueError('production org %s has no sandbox %s' % (self.org.name, name))
            self._delete(info)

    def find_info(self, name: str) -> dict | None:
        with self._lock:
            for record in self.info.find():
                if record['SandboxName'].lower() == name.lower():
                    return record
            return None

    def processes(self, name: str | None = None) -> list:
        """Copies of the SandboxProcess rows (of sandbox `name`), oldest first, without advancing them."""
        with self._lock:
            return [dict(r) for r in self.process.find() if name is None or r['SandboxName'].lower() == name.lower()]

    def set_organization(self, name: str, org_id: str) -> None:
        with self._lock:
            for record in self.process.find():
                if record['SandboxName'].lower() == name.lower() and record['Status'] != DELETED:
                    record['SandboxOrganization'] = org_id[:15]

    # -- REST -----------------------------------------------------------------------------------

    def handle(self, request, version: str, parts: list) -> Response:
        if parts == ['query'] or parts == ['query', '']:
            _allow(request, 'GET')
            return json_response(200, self._query(version, request.query.get('q')))
        if parts[:1] != ['sobjects'] or len(parts) < 2:
            raise not_found()
        store = {'sandboxinfo': self.info, 'sandboxprocess': self.process}.get(parts[1].lower())
        if store is None:
            raise not_found()
        if len(parts) == 2:
            if request.method == 'POST' and store is self.info:
                body = self._body(request)
                info_id, _process_id = self.create(body)
                return json_response(201, {'id': info_id, 'success': True, 'errors': []},
                                     {'Location': '/services/data/%s/tooling/sobjects/SandboxInfo/%s' % (version, info_id)})
            raise method_not_allowed(request.method, 'GET,HEAD,POST' if store is self.info else 'GET,HEAD')
        if len(parts) != 3:
            raise not_found()
        with self._lock:
            record = store.get(parts[2])
            if request.method in ('GET', 'HEAD'):
                if store is self.process:
                    self._advance([record])
                return json_response(200, project(store.name, record, [f.name for f in store.fields.values()], version))
            if store is not self.info:
                raise method_not_allowed(request.method, 'GET,HEAD')
            if request.method == 'PATCH':
                changes = self._body(request)
                self._refuse_while_running(record['Id'])
                self.info.update(record['Id'], self._checked_changes(changes), self._now())
                self._start(record['Id'], PENDING)
                return empty_response(204)
            if request.method == 'DELETE':
                self._refuse_while_running(record['Id'])
                self._delete(record)
                return empty_response(204)
        raise method_not_allowed(request.method, 'GET,HEAD,PATCH,DELETE')

    def _query(self, version: str, text) -> dict:
        query = soql.parse(text)
        store = {'sandboxinfo': self.info, 'sandboxprocess': self.process}.get(query.sobject.lower())
        if store is None:
            raise RestError(400, 'INVALID_TYPE', "sObject type '%s' is not supported." % query.sobject)
        with self._lock:
            if store is self.process:
                self._advance(self.process.find())
            fields, rows = store.run(query, False, self._now().date())
            if query.count_only:
                return {'size': len(rows), 'totalSize': len(rows), 'done': True, 'queryLocator': None, 'entityTypeName': store.name,
                        'records': []}
            records = [project(store.name, row, fields, version) for row in rows]
            # The Tooling API answers size and entityTypeName besides the standard API's fields.
            return {'size': len(records), 'totalSize': len(records), 'done': True, 'queryLocator': None, 'entityTypeName': store.name,
                    'records': [dict(r, attributes=dict(r['attributes'], url=r['attributes']['url'].replace(
                        '/services/data/%s/' % version, '/services/data/%s/tooling/' % version))) for r in records]}

    # -- internals (the lock held) --------------------------------------------------------------

    @staticmethod
    def _body(request) -> dict:
        if request.json_error:
            raise RestError(400, 'JSON_PARSER_ERROR', request.json_error)
        if not isinstance(request.json, dict):
            raise RestError(400, 'JSON_PARSER_ERROR', 'Expected a JSON object with the fields of SandboxInfo')
        return request.json

    def _checked_new(self, values) -> dict:
        if not isinstance(values, dict):
            raise RestError(400, 'JSON_PARSER_ERROR', 'Expected a JSON object with the fields of SandboxInfo')
        name = values.get('SandboxName')
        if not isinstance(name, str) or not SANDBOX_NAME.match(name):
            raise RestError(400, 'FIELD_INTEGRITY_EXCEPTION', 'Sandbox name (%s) must be 1-10 alphanumeric characters and begin with a '
                            'letter' % name, ['SandboxName'])
        if self.find_info(name) is not None:
            raise RestError(400, 'DUPLICATE_VALUE', 'A sandbox named %s already exists: choose another name' % name, ['SandboxName'])
        checked = self._checked_changes(values)
        if self.fleet.require_activation_group and checked.get('LicenseType') in ('DEVELOPER', 'DEVELOPER_PRO') \
                and not values.get('ActivationUserGroupId'):
            raise RestError(400, 'FIELD_INTEGRITY_EXCEPTION', 'ActivationUserGroupId is required for a %s sandbox: name the public '
                            'group whose members may activate it' % checked['LicenseType'], ['ActivationUserGroupId'])
        return values

    def _checked_changes(self, values: dict) -> dict:
        license_type = values.get('LicenseType')
        if 'LicenseType' in values or 'SandboxName' in values:
            if license_type not in LICENSE_TYPES:
                raise RestError(400, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', 'LicenseType: bad value for restricted picklist field: %s'
                                % license_type, ['LicenseType'])
        return {name: value for name, value in values.items() if name != 'SandboxName'}

    def _refuse_while_running(self, info_id: str) -> None:
        for record in self.process.find(SandboxInfoId=info_id):
            if record['Status'] in (PENDING, PROCESSING):
                raise RestError(400, 'INVALID_OPERATION', 'sandbox %s is being copied (SandboxProcess %s is %s): wait until it completes'
                                % (record['SandboxName'], record['Id'], record['Status']))

    def _start(self, info_id: str, status: str) -> str:
        info = self.info.get(info_id)
        process_id = self.process.put({'SandboxInfoId': info['Id'], 'SandboxName': info['SandboxName'], 'LicenseType': info['LicenseType'],
                                       'Description': info['Description'], 'AutoActivate': info['AutoActivate'], 'Status': PENDING,
                                       'CopyProgress': 0, 'StartDate': _timestamp(self._now())}, self._now())
        record = self.process.records[process_id]
        self._steps[process_id] = 0
        if status == COMPLETED or self.fleet.sandbox_polls_to_finish <= 0:
            self._complete(record)
        elif status == PROCESSING:
            record['Status'] = PROCESSING
        return process_id

    def _advance(self, records: list) -> None:
        for record in records:
            if record['Status'] not in (PENDING, PROCESSING):
                continue
            steps = self._steps.get(record['Id'], 0) + 1
            self._steps[record['Id']] = steps
            if steps >= self.fleet.sandbox_polls_to_finish:
                self._complete(record)
            else:
                record['Status'] = PROCESSING
                record['CopyProgress'] = 100 * steps // max(self.fleet.sandbox_polls_to_finish, 1)
                self.process.put({}, self._now(), record_id=record['Id'])

    def _complete(self, record: dict) -> None:
        sandbox = self.fleet.copy_sandbox(self.org, record['SandboxName'], record['LicenseType'])
        self._steps.pop(record['Id'], None)
        now = self._now()
        self.process.put({'Status': COMPLETED, 'CopyProgress': 100, 'EndDate': _timestamp(now), 'ActivatedDate': _timestamp(now),
                          'SandboxOrganization': sandbox.org_id[:15]}, now, record_id=record['Id'])

    def _delete(self, info: dict) -> None:
        now = self._now()
        for record in self.process.find(SandboxInfoId=info['Id']):
            self._steps.pop(record['Id'], None)
            self.process.put({'Status': DELETED}, now, record_id=record['Id'])
        self.info.delete(info['Id'], now)
        self.fleet.sandbox_deleted(self.org, info['SandboxName'])


def _allow(request, allowed: str) -> None:
    methods = allowed.split(',') + ['HEAD']
    if request.method not in methods:
        raise method_not_allowed(request.method, ','.join(methods))
