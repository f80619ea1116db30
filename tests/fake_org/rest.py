# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The REST API under /services/data: versions, limits, query / queryAll, sobjects, composite/sobjects,
metadata/deployRequest.

Every resource below /services/data/vXX.X needs `Authorization: Bearer <live session>`, else
401 [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]. Each
authenticated call counts against the daily API limit, reported in `Sforce-Limit-Info`, and per endpoint
(OrgData.api_calls(), keyed by (method, normalized_path(...))).

query / queryAll: ?q=<SOQL> (the subset of soql.py); with &columns=true the query's columnMetadata instead of its
records, as Salesforce answers the Salesforce CLI's `data query` (@salesforce/plugin-data retrieveColumns).
sobjects: Account (full CRUD, seeded; Legacy_Id__c is an External ID), Integration_Setting__c (full CRUD, empty;
Key__c is an External ID), and the setup objects of directory.py (User, PermissionSet, PermissionSetAssignment,
Organization: read and query; PermissionSetAssignment also insert and delete). GET sobjects/<X>/describe lists
the fields with type, length, externalId, unique, nillable, createable, updateable.
composite/sobjects: sObject Collections, see composite.py.
metadata/deployRequest: see deploy.py (admins only).
"""

from __future__ import annotations

import re

from . import composite, deploy
from .data import project
from .messages import RestError, Response, empty_response, json_response, method_not_allowed, not_found

API_PREFIX = '/services/data'
MIN_VERSION = 31
MAX_VERSION = 62
DAILY_API_MAX = 100000

_VERSION_PATH = re.compile(r'^/services/data/v(?P<version>\d+\.\d+)(?P<rest>/.*)?$')
# A path segment that is a record id (a key prefix holds a digit) or a query locator with its offset.
_ID_SEGMENT = re.compile(r'^(?=[0-9A-Za-z]{0,2}[0-9])[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?(?:-\d+)?$')


def normalized_path(rest: str) -> str:
    """The endpoint of a path below /services/data/vXX.X, as api_calls() counts it: the version is gone (the path
    given starts after it), and so is every segment that is a record id or a query locator; no query string.

        /query?q=...                                  -> /query        (the next pages, /query/01g...-2000, too)
        /sobjects/Account/001000000000001AAA          -> /sobjects/Account
        /sobjects/Account/describe                    -> /sobjects/Account/describe
        /composite/sobjects?ids=...                   -> /composite/sobjects
        /composite/sobjects/Integration_Setting__c/Key__c   (names stay as sent)
        /metadata/deployRequest/0Af...                -> /metadata/deployRequest
        (the version resource itself)                 -> /
    """
    parts = [part for part in (rest or '').split('?')[0].split('/') if part and not _ID_SEGMENT.match(part)]
    return '/' + '/'.join(parts)


def versions() -> list:
    """The API versions, oldest first; 31.0 was Summer '14 and releases go Winter, Spring, Summer."""
    listing = []
    for number in range(MIN_VERSION, MAX_VERSION + 1):
        index = number - MIN_VERSION
        season = ('Summer', 'Winter', 'Spring')[index % 3]
        year = 14 + (index + 2) // 3
        listing.append({'label': "%s '%02d" % (season, year), 'url': '/services/data/v%d.0' % number, 'version': '%d.0' % number})
    return listing


def handle(org, request) -> Response:
    """Answer a request whose path starts with /services/data."""
    try:
        response = _route(org, request)
    except RestError as exc:
        response = exc.response()
    response.headers['Sforce-Limit-Info'] = 'api-usage=%d/%d' % (org.daily_api_max - org.daily_api_remaining, org.daily_api_max)
    return response


def _route(org, request) -> Response:
    if request.path in (API_PREFIX, API_PREFIX + '/'):
        if request.method not in ('GET', 'HEAD'):
            raise method_not_allowed(request.method, 'GET,HEAD')
        return json_response(200, versions())
    match = _VERSION_PATH.match(request.path)
    if match is None:
        raise not_found()
    session = org.session_for(request.bearer_token())
    if session is None:
        raise RestError(401, 'INVALID_SESSION_ID', 'Session expired or invalid')
    data = org.data
    data.count_api_call(request.method, normalized_path(match.group('rest')))
    version = 'v' + match.group('version')
    if match.group('version') not in {v['version'] for v in versions()}:
        raise not_found()
    parts = [part for part in (match.group('rest') or '').split('/') if part]

    if not parts:
        _allow(request, 'GET')
        names = ('composite', 'limits', 'query', 'queryAll', 'sobjects')
        return json_response(200, {name: '/services/data/%s/%s' % (version, name) for name in names})
    if parts == ['limits']:
        _allow(request, 'GET')
        return json_response(200, _limits(org.daily_api_max, org.daily_api_remaining))
    if parts[0] in ('query', 'queryAll') and len(parts) <= 2:   # q=<SOQL>; columns=true: the columns only
        _allow(request, 'GET')
        include_deleted = parts[0] == 'queryAll'
        if len(parts) == 2:
            return json_response(200, data.next_query_page(version, parts[0], parts[1]))
        if request.query.get('columns') == 'true':
            # The Salesforce CLI's `data query` asks for the columns to lay out its table (plugin-data retrieveColumns).
            return json_response(200, data.query_columns(request.query.get('q')))
        return json_response(200, data.run_query(version, parts[0], request.query.get('q'), include_deleted,
                                                 _batch_size(request, data.batch_size)))
    if parts[0] == 'sobjects':
        return _sobjects(data, request, version, parts[1:])
    if parts[:2] == ['composite', 'sobjects']:
        return composite.handle(data, request, version, parts[2:])
    if parts[:2] == ['metadata', 'deployRequest']:
        return deploy.handle(org, request, version, parts[2:], session)
    if parts[0] == 'tooling' and org.tooling is not None:   # a fleet's production org (tooling.py)
        return org.tooling.handle(request, version, parts[1:])
    raise not_found()


def _sobjects(data, request, version: str, parts: list) -> Response:
    if not parts:
        _allow(request, 'GET')
        return json_response(200, {'encoding': 'UTF-8', 'maxBatchSize': 200,
                                   'sobjects': [_object_summary(store, version) for store in data.objects.values()]})
    store = data.object_store(parts[0])
    if store is None:
        raise not_found()
    if len(parts) == 1:
        if request.method == 'POST':
            if request.json_error:
                raise RestError(400, 'JSON_PARSER_ERROR', request.json_error)
            record_id = data.create_record(store, request.json)
            return json_response(201, {'id': record_id, 'success': True, 'errors': []},
                                 {'Location': '/services/data/%s/sobjects/%s/%s' % (version, store.name, record_id)})
        _allow(request, 'GET,HEAD,POST')
        return json_response(200, {'objectDescribe': _object_summary(store, version), 'recentItems': []})
    if parts[1] == 'describe' and len(parts) == 2:
        _allow(request, 'GET')
        summary = _object_summary(store, version)
        summary['fields'] = store.describe_fields()
        return json_response(200, summary)
    if len(parts) == 3 and request.method == 'PATCH':
        # Upsert by external id: 201 and created true for a new record, 200 and created false for an update (API 46+).
        if request.json_error:
            raise RestError(400, 'JSON_PARSER_ERROR', request.json_error)
        record_id, created = data.upsert_record(store, parts[1], parts[2], request.json)
        return json_response(201 if created else 200, {'id': record_id, 'success': True, 'errors': [], 'created': created})
    if len(parts) != 2:
        raise not_found()
    record_id = parts[1]
    if request.method == 'PATCH':
        if request.json_error:
            raise RestError(400, 'JSON_PARSER_ERROR', request.json_error)
        data.update_record(store, record_id, request.json)
        return empty_response(204)
    if request.method == 'DELETE':
        data.delete_record(store, record_id)
        return empty_response(204)
    _allow(request, 'GET,HEAD,PATCH,DELETE')
    record = data.read_record(store, record_id)
    wanted = request.query.get('fields')
    names = [store.field(name.strip()).name for name in wanted.split(',') if name.strip()] if wanted else [
        f.name for f in store.fields.values()]
    return json_response(200, project(store.name, record, names, version))


def _object_summary(store, version: str) -> dict:
    base = '/services/data/%s/sobjects/%s' % (version, store.name)
    return {'name': store.name, 'label': store.name, 'keyPrefix': store.key_prefix, 'custom': store.name.endswith('__c'),
            'queryable': True, 'createable': store.insertable,
            'updateable': store.updateable, 'deletable': store.deletable,
            'urls': {'sobject': base, 'describe': base + '/describe', 'rowTemplate': base + '/{ID}'}}


def _limits(daily_max: int, daily_remaining: int) -> dict:
    def limit(maximum, remaining=None):
        return {'Max': maximum, 'Remaining': maximum if remaining is None else remaining}
    return {
        'ConcurrentAsyncGetReportInstances': limit(200),
        'DailyApiRequests': limit(daily_max, daily_remaining),
        'DailyAsyncApexExecutions': limit(250000),
        'DailyBulkApiBatches': limit(15000),
        'DailyBulkV2QueryJobs': limit(10000),
        'DataStorageMB': limit(5),
        'FileStorageMB': limit(20),
        'HourlyTimeBasedWorkflow': limit(1000),
        'SingleEmail': limit(15),
    }


def _batch_size(request, default: int) -> int:
    # Sforce-Query-Options: batchSize=N (200..2000), as the API allows.
    header = request.header('Sforce-Query-Options') or ''
    match = re.search(r'batchSize=(\d+)', header)
    if match is None:
        return default
    return min(max(int(match.group(1)), 200), 2000)


def _allow(request, allowed: str) -> None:
    methods = allowed.split(',')
    if 'GET' in methods and 'HEAD' not in methods:
        methods.append('HEAD')
    if request.method not in methods:
        raise method_not_allowed(request.method, ','.join(methods))
