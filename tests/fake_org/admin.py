# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The admin API under /_fake/: how tests, the demo and the benchmarks drive a fake org in another process.

No authentication (the server only listens on loopback). Requests to /_fake/ are not recorded, not
counted and never hit by faults. Errors answer 400 {"error": "..."}.

  GET  /_fake/stats       {"token_requests", "token_requests_by_user", "sessions", "requests", "api_usage", "api_calls", "users",
                           "admins", "apps", "pending_apps", "external_client_apps", "connected_apps", "permission_sets",
                           "deployments", "settings", "faults", ...}
  GET  /_fake/received    the request log (?path_prefix=/services/oauth2 filters it); "json" holds each parsed body
  GET  /_fake/api_calls   REST API calls per endpoint since the last reset: [{"method", "path", "count"}], sorted by
                          path (FakeOrg.api_calls(): the path without /services/data/vXX.X, ids, locators, query string)
  GET  /_fake/records     ?sobject=Integration_Setting__c[&include_deleted=true]: the object's records
  GET  /_fake/record_count  ?sobject=Integration_Setting__c: {"sobject", "count"} (live records)
  POST /_fake/records     {"sobject": "Integration_Setting__c", "records": [{field: value, ...}, ...]}: inserted as the
                          REST API validates them, all or none, uncounted, any number; answers {"ids": [...]}
  GET  /_fake/deployments the deploy log, oldest first (FakeOrg.deploy_log(): id, status, deployOptions as received,
                          members, package_xml, username, deployResult with details)
  POST /_fake/reset       counters, log, faults, sessions, clock offset and records; {"identities": true}
                          also removes users, apps, deployed components, permission sets, assignments and deploys,
                          and restores the accepted audience and the settings of /_fake/config
  POST /_fake/faults      {"fail_next": {"count", "status", "html", "path_prefix"}, "latency": seconds,
                           "slow_next": {"count", "seconds", "path_prefix"}, "reset_next": {"count", "path_prefix"},
                           "non_json_next": {"count", "path_prefix"}, "expire_session_next": {"count", "path_prefix"},
                           "rate_limit_logins": true | false | {"enabled", "status"},
                           "clock_offset": seconds, "clear": true (clear the faults first)}
  POST /_fake/config      {"accepted_audience": "https://test.salesforce.com", "clock_offset": seconds,
                           "propagation_delay": seconds, "hold_deploys": bool, "deploy_polls_to_finish": n >= 1,
                           "allow_oauth_secrets_via_metadata": bool, "is_sandbox": bool, "organization_type": text};
                          answers every setting
  POST /_fake/users       one object or a list: {"username", "active", "permission_sets", "org_active", "admin", "name", "email"}
  POST /_fake/apps        one object or a list: {"consumer_key", "certificate_pem", "admin_approved", "permission_sets",
                           "approved_users", "ip_restricted", "invalid_app_access"}
  POST /_fake/connected_apps  one object or a list: {"name", "consumer_key", "certificate_pem", "permission_sets",
                           "admin_approved", "label", "contact_email"}: Connected Apps that exist (deploys may update them)
  POST /_fake/revoke_all  end every session (the next REST call gets 401 INVALID_SESSION_ID)
  GET  /_fake/components  ?type=ExtlClntAppOauthConfigurablePolicies&full_name=Acme_oauthPlcy: {"type", "full_name",
                          "fields"} of a saved component (FakeOrg.deployed_component); 404 when the org has none
  POST /_fake/components  {"type", "full_name", "changes": {field: text, or null to remove it}, "changed_by": username}:
                          change it as an admin in Setup would, without a deploy (FakeOrg.change_component: a drift);
                          answers {"type", "full_name", "fields"}; 404 when the org has no such component
"""

from __future__ import annotations

from .data import api_call_list
from .faults import Faults
from .identities import App, User
from .messages import Response, json_response

PREFIX = '/_fake/'

_FAULT_SWITCHES = {
    'fail_next': ('fail_next', ('count', 'status', 'html', 'path_prefix')),
    'slow_next': ('slow_next', ('count', 'seconds', 'path_prefix')),
    'reset_next': ('reset_next', ('count', 'path_prefix')),
    'non_json_next': ('non_json_next', ('count', 'path_prefix')),
    'expire_session_next': ('expire_session_next', ('count', 'path_prefix')),
}
_USER_KEYS = ('username', 'active', 'permission_sets', 'org_active', 'admin', 'name', 'email')
_CONNECTED_APP_KEYS = ('name', 'consumer_key', 'certificate_pem', 'permission_sets', 'admin_approved', 'label', 'contact_email')
_BOOLEAN_SETTINGS = ('hold_deploys', 'allow_oauth_secrets_via_metadata', 'is_sandbox')
_CONFIG_KEYS = ('accepted_audience', 'clock_offset', 'propagation_delay', 'deploy_polls_to_finish', 'organization_type') + _BOOLEAN_SETTINGS
_APP_KEYS = ('consumer_key', 'certificate_pem', 'admin_approved', 'permission_sets', 'approved_users', 'ip_restricted',
             'invalid_app_access')


class AdminError(Exception):
    pass


def handle(org, request) -> Response:
    endpoint = request.path[len(PREFIX):].rstrip('/')
    routes = {
        ('GET', 'stats'): _stats,
        ('GET', 'received'): _received,
        ('GET', 'deployments'): _deployments,
        ('GET', 'api_calls'): _api_calls,
        ('GET', 'records'): _records,
        ('GET', 'record_count'): _record_count,
        ('POST', 'records'): _add_records,
        ('POST', 'reset'): _reset,
        ('POST', 'faults'): _faults,
        ('POST', 'config'): _config,
        ('POST', 'users'): _users,
        ('POST', 'apps'): _apps,
        ('POST', 'connected_apps'): _connected_apps,
        ('POST', 'revoke_all'): _revoke_all,
        ('GET', 'components'): _component,
        ('POST', 'components'): _change_component,
    }
    route = routes.get((request.method, endpoint))
    if route is None:
        known = ', '.join('%s %s%s' % (method, PREFIX, name) for method, name in routes)
        return json_response(404, {'error': 'no admin endpoint %s %s; known: %s' % (request.method, request.path, known)})
    if request.json_error:
        return json_response(400, {'error': 'the body is not JSON: %s' % request.json_error})
    try:
        return route(org, request)
    except (AdminError, ValueError, TypeError) as exc:
        return json_response(400, {'error': str(exc)})


def _stats(org, request) -> Response:
    return json_response(200, org.stats())


def _received(org, request) -> Response:
    prefix = request.query.get('path_prefix', '')
    return json_response(200, [entry for entry in org.received_log() if entry['path'].startswith(prefix)])


def _deployments(org, request) -> Response:
    return json_response(200, org.deploy_log())


def _api_calls(org, request) -> Response:
    return json_response(200, api_call_list(org.api_calls()))


def _records(org, request) -> Response:
    include_deleted = (request.query.get('include_deleted') or '').lower() == 'true'
    return json_response(200, org.records(request.query.get('sobject') or '', include_deleted))


def _record_count(org, request) -> Response:
    sobject = request.query.get('sobject') or ''
    return json_response(200, {'sobject': sobject, 'count': len(org.records(sobject))})


def _add_records(org, request) -> Response:
    body = _object(request.json, ('sobject', 'records'), 'records')
    if not isinstance(body.get('sobject'), str) or not isinstance(body.get('records'), list):
        raise AdminError('records: expected {"sobject": name, "records": [{field: value, ...}, ...]}')
    return json_response(200, {'ids': org.add_records(body['sobject'], body['records'])})


def _reset(org, request) -> Response:
    options = _object(request.json or {}, ('identities',), 'reset')
    if options.get('identities'):
        org.restore_defaults()
    else:
        org.reset()
    return json_response(200, org.stats())


def _faults(org, request) -> Response:
    body = _object(request.json, tuple(_FAULT_SWITCHES) + ('latency', 'rate_limit_logins', 'clock_offset', 'clear'), 'faults')
    offset = _number(body['clock_offset'], 'clock_offset') if 'clock_offset' in body else None
    # Apply everything to a scratch Faults first, so a bad value changes nothing.
    for target in (Faults(), org.faults):
        if body.get('clear') and target is org.faults:
            target.clear()
        for key, (method, allowed) in _FAULT_SWITCHES.items():
            if key in body:
                getattr(target, method)(**_object(body[key], allowed, key))
        if 'latency' in body:
            target.set_latency(body['latency'])
        if 'rate_limit_logins' in body:
            setting = body['rate_limit_logins']
            if isinstance(setting, bool):
                target.rate_limit_logins(setting)
            else:
                target.rate_limit_logins(**_object(setting, ('enabled', 'status'), 'rate_limit_logins'))
    if offset is not None:
        org.clock_offset = offset
    return json_response(200, org.faults.snapshot())


def _config(org, request) -> Response:
    body = _object(request.json, _CONFIG_KEYS, 'config')
    # Check every value first, so a bad one changes nothing.
    changes = {}
    for key in ('accepted_audience', 'organization_type'):
        if key in body:
            if not isinstance(body[key], str) or not body[key]:
                raise AdminError('%s must be a non-empty string' % key)
            changes[key] = body[key]
    if 'clock_offset' in body:
        changes['clock_offset'] = _number(body['clock_offset'], 'clock_offset')
    if 'propagation_delay' in body:
        changes['propagation_delay'] = _number(body['propagation_delay'], 'propagation_delay')
        if changes['propagation_delay'] < 0:
            raise AdminError('propagation_delay must be a number of seconds >= 0')
    if 'deploy_polls_to_finish' in body:
        polls = body['deploy_polls_to_finish']
        if isinstance(polls, bool) or not isinstance(polls, int) or polls < 1:
            raise AdminError('deploy_polls_to_finish must be an integer >= 1')
        changes['deploy_polls_to_finish'] = polls
    for key in _BOOLEAN_SETTINGS:
        if key in body:
            if not isinstance(body[key], bool):
                raise AdminError('%s must be true or false' % key)
            changes[key] = body[key]
    for key, value in changes.items():
        setattr(org, key, value)
    return json_response(200, org.settings())


def _users(org, request) -> Response:
    users = []
    for spec in _list(request.json):
        if 'username' not in _object(spec, _USER_KEYS, 'user'):
            raise AdminError('a user needs a username')
        users.append(User.create(**spec))
    return json_response(200, {'users': [org.register_user(user).username for user in users]})


def _apps(org, request) -> Response:
    apps = []
    for spec in _list(request.json):
        if not {'consumer_key', 'certificate_pem'} <= set(_object(spec, _APP_KEYS, 'app')):
            raise AdminError('an app needs a consumer_key and a certificate_pem')
        apps.append(App.create(**spec))
    return json_response(200, {'apps': [org.register_app(app).consumer_key for app in apps]})


def _connected_apps(org, request) -> Response:
    specs = []
    for spec in _list(request.json):
        if not {'name', 'consumer_key', 'certificate_pem'} <= set(_object(spec, _CONNECTED_APP_KEYS, 'connected app')):
            raise AdminError('a connected app needs a name, a consumer_key and a certificate_pem')
        App.create(spec['consumer_key'], spec['certificate_pem'])   # check the certificate before changing anything
        specs.append(spec)
    return json_response(200, {'connected_apps': [org.add_connected_app(**spec).consumer_key for spec in specs]})


def _revoke_all(org, request) -> Response:
    return json_response(200, {'revoked': org.revoke_all_sessions()})


def _component(org, request) -> Response:
    type_name, full_name = request.query.get('type') or '', request.query.get('full_name') or ''
    fields = org.deployed_component(type_name, full_name)
    if fields is None:
        return json_response(404, {'error': 'no component %s %s in the org' % (type_name, full_name)})
    return json_response(200, {'type': type_name, 'full_name': full_name, 'fields': fields})


def _change_component(org, request) -> Response:
    body = _object(request.json, ('type', 'full_name', 'changes', 'changed_by'), 'components')
    changes = _object(body.get('changes'), tuple(body.get('changes') or ()), 'changes')
    for name, value in changes.items():
        if value is not None and not isinstance(value, (str, list, dict)):   # metadata fields are text, as in the XML
            raise AdminError('changes.%s must be text (e.g. "true"), a list, an object or null' % name)
    if not isinstance(body.get('type'), str) or not isinstance(body.get('full_name'), str):
        raise AdminError('components: expected {"type", "full_name", "changes": {...}}')
    try:
        fields = org.change_component(body['type'], body['full_name'], changed_by=body.get('changed_by'), **changes)
    except KeyError:
        return json_response(404, {'error': 'no component %s %s in the org' % (body['type'], body['full_name'])})
    return json_response(200, {'type': body['type'], 'full_name': body['full_name'], 'fields': fields})


def _list(body) -> list:
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list) and body:
        return body
    raise AdminError('expected a JSON object or a non-empty list of objects')


def _object(value, allowed: tuple, what: str) -> dict:
    if not isinstance(value, dict):
        raise AdminError('%s: expected a JSON object, got %s' % (what, type(value).__name__))
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise AdminError('%s: unknown keys %s; allowed: %s' % (what, ', '.join(unknown), ', '.join(allowed)))
    return value


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AdminError('%s must be a number of seconds' % what)
    return float(value)
