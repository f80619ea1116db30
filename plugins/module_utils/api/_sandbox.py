# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""A sandbox of a production org, through that org's Tooling API: SandboxInfo (the sandbox's definition: create with
POST, refresh with PATCH, delete with DELETE) and SandboxProcess (one row per copy: Status, CopyProgress, the sandbox
org's id). Every answer is checked before use: a field of the wrong type, an unknown status or an id that is not an id
stops the module with a message naming the field, never a traceback or a value shown raw."""

from __future__ import annotations

import datetime
import json
import re
import time

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, HttpError, InputError, SalesforceError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import ORG_ID_RE
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import json_type

STATES = ('present', 'refreshed', 'absent')
LICENSE_TYPES = ('DEVELOPER', 'DEVELOPER_PRO', 'PARTIAL', 'FULL')
NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9]{0,9}\Z')
ID_RE = re.compile(r'^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?\Z')
AGE_RE = re.compile(r'^\s*([0-9]{1,6})\s*([wdhm]?)\s*\Z', re.I)
AGE_UNITS = {'w': 7 * 86400, 'd': 86400, 'h': 3600, 'm': 60, '': 86400}

# Bounds for the options that set waiting: a full copy can take days; past this, wait=false and a later run are better.
MAX_WAIT_TIMEOUT = 7 * 86400
MIN_POLL_INTERVAL = 0.1
MAX_POLL_INTERVAL = 3600
# The status check made when wait_timeout is (nearly) reached may still take this long.
LAST_CHECK_SECONDS = 5.0
# Pages of one Tooling query at most (a production org has a few hundred sandboxes at most, 2,000 rows a page).
MAX_PAGES = 50
# How long a text from the server may be in a message or a result.
MAX_TEXT = 200

# SandboxProcess.Status: the copy is done; it is still on its way; it ended without a usable sandbox.
DONE = 'Completed'
RUNNING = ('Pending', 'Queued', 'Processing', 'Activating', 'Sampling', 'Copying')
ENDED = ('Stopped', 'Failed', 'Suspended', 'Locked', 'Discarding', 'Deleting', 'Deleted')
KNOWN_STATUSES = (DONE,) + RUNNING + ENDED

SANDBOX_INFO_FIELDS = 'Id, SandboxName, LicenseType, Description, AutoActivate, SourceId'
SANDBOX_PROCESS_FIELDS = ('Id, SandboxInfoId, SandboxName, LicenseType, Status, CopyProgress, SandboxOrganization, StartDate, '
                          'EndDate, LastModifiedDate')
WHERE_TO_LOOK = 'Setup > Sandboxes in the production org'
NOT_PRODUCTION_HINT = (' The sandboxes of an org are managed through the Tooling API of the production org: log in to the '
                       'production org (not a sandbox), as a user with the "Manage Sandboxes" permission.')


# ---------------------------------------------------------------------------------------------- options

def check_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError('name %r is not a sandbox name Salesforce accepts: 1 to 10 letters and digits, starting with a '
                         'letter (for example uat or dev2).' % (name,))
    return name


def parse_age(value):
    """Seconds from refresh_older_than: '7d', '12h', '30m', '2w', or a whole number of days."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = None
    match = AGE_RE.match(str(value)) if value is not None else None
    seconds = int(match.group(1)) * AGE_UNITS[match.group(2).lower()] if match else 0
    if not seconds:
        raise InputError('refresh_older_than %r is not an age: give a whole number with a unit, w (weeks), d (days), h '
                         '(hours) or m (minutes), for example 7d or 12h; a number alone counts days. It must be more than '
                         '0.' % (value,))
    return seconds


def check_wait(wait_timeout, poll_interval):
    if not isinstance(wait_timeout, int) or isinstance(wait_timeout, bool) or not 1 <= wait_timeout <= MAX_WAIT_TIMEOUT:
        raise InputError('wait_timeout must be a number of seconds from 1 to %d (got %r).' % (MAX_WAIT_TIMEOUT, wait_timeout))
    if not isinstance(poll_interval, (int, float)) or isinstance(poll_interval, bool) \
            or not MIN_POLL_INTERVAL <= poll_interval <= MAX_POLL_INTERVAL:
        raise InputError('poll_interval must be from %s to %d seconds (got %r).' % (MIN_POLL_INTERVAL, MAX_POLL_INTERVAL, poll_interval))


# ---------------------------------------------------------------------------------------------- answers

def shown(value):
    """A server's text as a message may quote it: printable and short."""
    text = printable(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + '...'


def parse_time(value):
    """An aware datetime from Salesforce's '2024-05-01T10:00:00.000+0000' (or ISO 8601 forms), else None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    text = value.strip()
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    text = re.sub(r'([+-][0-9]{2})([0-9]{2})\Z', r'\1:\2', text)
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


class Answers:
    """Checks of the fields of one Tooling row, each failure an ApiError naming the object, the field and the sandbox."""

    def __init__(self, sobject, name):
        self.sobject = sobject
        self.name = name

    def bad(self, field, value, expected):
        return ApiError('The production org answered a %s of sandbox %s whose %s is %s, not %s; that is not an answer of '
                        'Salesforce\'s Tooling API. Check that login_url / instance_url point at the production org, '
                        'not a proxy or another service.' % (self.sobject, self.name, field, json_type(value), expected))

    def text(self, row, field, required=True, pattern=None):
        value = row.get(field)
        if value is None and not required:
            return None
        if not isinstance(value, str) or len(value) > 1000 or (pattern is not None and not pattern.match(value)):
            raise self.bad(field, value, 'an id' if pattern is ID_RE or pattern is ORG_ID_RE else 'a text')
        return value

    def progress(self, row):
        value = row.get('CopyProgress')
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise self.bad('CopyProgress', value, 'a percentage from 0 to 100')
        return int(value)


def sandbox_info(row, name):
    check = Answers('SandboxInfo', name)
    return {
        'id': check.text(row, 'Id', pattern=ID_RE),
        'name': check.text(row, 'SandboxName'),
        'license_type': check.text(row, 'LicenseType', required=False),
        'description': check.text(row, 'Description', required=False),
    }


def sandbox_process(row, name):
    check = Answers('SandboxProcess', name)
    status = check.text(row, 'Status')
    if status not in KNOWN_STATUSES:
        raise ApiError("The SandboxProcess of sandbox %s has status '%s', which this module does not know (it knows %s). "
                       'Look at the sandbox in %s; the copy may still be going on there.'
                       % (name, shown(status), ', '.join(KNOWN_STATUSES), WHERE_TO_LOOK), status=shown(status))
    org_id = check.text(row, 'SandboxOrganization', required=False, pattern=ORG_ID_RE)
    return {
        'id': check.text(row, 'Id', pattern=ID_RE),
        'sandbox_info_id': check.text(row, 'SandboxInfoId', required=False, pattern=ID_RE),
        'status': status,
        'copy_progress': check.progress(row),
        'sandbox_org_id': org_id,
        'license_type': check.text(row, 'LicenseType', required=False),
        'start': parse_time(row.get('StartDate')),
        'end': parse_time(row.get('EndDate')),
        'end_text': shown(row['EndDate']) if isinstance(row.get('EndDate'), str) else None,
        'modified': parse_time(row.get('LastModifiedDate')),
        'raw': (row.get('Status'), row.get('EndDate'), row.get('LastModifiedDate'), row.get('CopyProgress')),
    }


def other_license(info, license_type):
    """Whether license_type is set and is not the sandbox's (case aside: a picklist value's case is not its meaning)."""
    return license_type is not None and (info['license_type'] or '').upper() != license_type


def newest(processes):
    """The newest copy: by start, then last change; a row without dates counts as the oldest."""
    oldest = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    return max(processes, key=lambda p: (p['start'] or oldest, p['modified'] or oldest), default=None)


# ---------------------------------------------------------------------------------------------- the Tooling API

class Tooling:
    """The calls this module makes, each failure framed with what was being done (and, for a refusal of the Tooling
    objects, that the identity must be the production org's)."""

    def __init__(self, client, name):
        self.client = client
        self.name = name

    def call(self, method, path, what, accepted, **kwargs):
        try:
            return self.client.request(method, path, accepted=accepted, **kwargs)
        except (ApiError, HttpError) as exc:
            codes = [error.get('errorCode') for error in exc.details.get('errors') or []]
            status = exc.details.get('status')
            hint = NOT_PRODUCTION_HINT if ('INVALID_TYPE' in codes or status == 403 or (status == 404 and method == 'GET')) else ''
            raise exc.add_context('%s failed: ' % what, hint)

    def query(self, soql, what, give_up_after=None):
        limit = {} if give_up_after is None else {'give_up_after': give_up_after}
        answer = self.call('GET', 'tooling/query', what, (200,), params={'q': soql}, **limit)
        records = []
        for page in range(MAX_PAGES):
            payload = answer.json
            if answer.json_error or not isinstance(payload, dict) or not isinstance(payload.get('records'), list):
                raise ApiError('%s: the production org answered HTTP %d with %s, not a Tooling API query result.'
                               % (what, answer.status, shown(answer.json_error or answer.describe())), status=answer.status)
            records.extend(row for row in payload['records'] if isinstance(row, dict))
            next_url = payload.get('nextRecordsUrl')
            if payload.get('done', True) is True or not isinstance(next_url, str) or not next_url.startswith('/services/'):
                return records
            answer = self.call('GET', next_url, what, (200,), **limit)
        raise ApiError('%s: the answer goes on past %d pages; that is not a production org\'s sandbox list.' % (what, MAX_PAGES))

    def info(self):
        rows = self.query("SELECT %s FROM SandboxInfo WHERE SandboxName = '%s'" % (SANDBOX_INFO_FIELDS, self.name),
                          'Reading sandbox %s (SandboxInfo)' % self.name)
        infos = [sandbox_info(row, self.name) for row in rows]
        infos = [info for info in infos if info['name'].lower() == self.name.lower()]
        if len(infos) > 1:
            raise ApiError('The production org answered %d SandboxInfo rows named %s; sandbox names are unique. Look at the '
                           'sandboxes in %s.' % (len(infos), self.name, WHERE_TO_LOOK))
        return infos[0] if infos else None

    def processes(self, info_id, give_up_after=None):
        rows = self.query("SELECT %s FROM SandboxProcess WHERE SandboxName = '%s'" % (SANDBOX_PROCESS_FIELDS, self.name),
                          'Reading the copies of sandbox %s (SandboxProcess)' % self.name, give_up_after=give_up_after)
        processes = [sandbox_process(row, self.name) for row in rows]
        # Rows of an earlier sandbox of the same name (deleted) belong to another SandboxInfo.
        return [p for p in processes if p['sandbox_info_id'] in (None, info_id)]

    def create(self, body):
        answer = self.call('POST', 'tooling/sobjects/SandboxInfo', 'Creating sandbox %s' % self.name, (200, 201),
                           body=json.dumps(body))
        payload = answer.json if isinstance(answer.json, dict) else {}
        info_id = payload.get('id')
        if payload.get('success') is False or not isinstance(info_id, str) or not ID_RE.match(info_id):
            raise ApiError('Creating sandbox %s: the production org answered HTTP %d without the new SandboxInfo\'s id (%s). '
                           'The sandbox may have been created all the same: look in %s before running again.'
                           % (self.name, answer.status, shown(answer.describe()), WHERE_TO_LOOK), status=answer.status)
        return info_id

    def refresh(self, info_id, body):
        self.call('PATCH', 'tooling/sobjects/SandboxInfo/%s' % info_id, 'Refreshing sandbox %s' % self.name, (200, 204),
                  body=json.dumps(body))

    def delete(self, info_id):
        self.call('DELETE', 'tooling/sobjects/SandboxInfo/%s' % info_id, 'Deleting sandbox %s' % self.name, (200, 204))


# ---------------------------------------------------------------------------------------------- the module's work

def copy_line(name, process, elapsed):
    if process is None:
        return 'Sandbox %s: waiting for Salesforce to start the copy (%d s)' % (name, elapsed)
    progress = '' if process['copy_progress'] is None else ', %d%% copied' % process['copy_progress']
    return 'Sandbox %s: %s%s (%d s)' % (name, process['status'], progress, elapsed)


class Sandbox:
    """One run of the module: read, decide, change (not in check mode), wait."""

    def __init__(self, client, name, wait=True, wait_timeout=3600, poll_interval=30.0, progress=None, warn=None,
                 clock=time.monotonic, sleep=time.sleep, now=None):
        check_wait(wait_timeout, poll_interval)
        self.name = check_name(name)
        self.tooling = Tooling(client, name)
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.poll_interval = float(poll_interval)
        self.say = progress or (lambda line: None)
        self.warn = warn or (lambda message: None)
        self.clock = clock
        self.sleep = sleep
        self.now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self.result = dict(changed=False, action='none', sandbox_name=name, sandbox_info_id=None, license_type=None,
                           status=None, copy_progress=None, sandbox_org_id=None, last_copy_completed=None, waited=0)

    def report(self, process):
        if process is None:
            self.result.update(status=None, copy_progress=None)
        else:
            self.result.update(status=process['status'], copy_progress=process['copy_progress'])
            if process['sandbox_org_id']:
                self.result['sandbox_org_id'] = process['sandbox_org_id']
            if process['status'] == DONE:
                self.result['last_copy_completed'] = process['end_text']

    def run(self, state='present', license_type=None, description=None, auto_activate=True, activation_user_group_id=None,
            refresh_older_than=None, check_mode=False):
        """The result; a SalesforceError carries the result fields known when it happened (changed, action, ...)."""
        try:
            return self._run(state, license_type, description, auto_activate, activation_user_group_id, refresh_older_than,
                             check_mode)
        except SalesforceError as exc:
            for key, value in self.result.items():
                exc.details.setdefault(key, value)
            raise

    def _run(self, state, license_type, description, auto_activate, activation_user_group_id, refresh_older_than, check_mode):
        if state not in STATES:
            raise InputError('state must be one of %s.' % ', '.join(STATES))
        if license_type is not None and license_type not in LICENSE_TYPES:
            raise InputError('license_type must be one of %s.' % ', '.join(LICENSE_TYPES))
        if refresh_older_than is not None and state != 'refreshed':
            raise InputError('refresh_older_than is used only with state=refreshed; remove it, or set state=refreshed.')
        max_age = parse_age(refresh_older_than)
        if activation_user_group_id is not None and not ID_RE.match(activation_user_group_id):
            raise InputError('activation_user_group_id %r is not a Salesforce id (15 or 18 letters and digits: the Id of a '
                             'public group, 00G...).' % (activation_user_group_id,))
        info = self.tooling.info()
        if info is None:
            if state == 'absent':
                self.say('Sandbox %s: not in the production org, nothing to delete' % self.name)
                return self.result
            return self.create(license_type, description, auto_activate, activation_user_group_id, check_mode)
        self.result.update(sandbox_info_id=info['id'], license_type=info['license_type'])
        processes = self.tooling.processes(info['id'])
        current = newest(processes)
        self.report(current)
        if state == 'absent':
            return self.delete(info, check_mode)
        if state == 'refreshed':
            reason = self.refresh_reason(info, current, license_type, max_age)
            if reason:
                return self.refresh(info, processes, reason, license_type, auto_activate, activation_user_group_id,
                                    check_mode)
        elif other_license(info, license_type):
            self.warn('Sandbox %s is a %s sandbox, not %s as license_type asks; state=present does not change a sandbox '
                      'that exists. Its license changes with a refresh: run with state=refreshed and license_type=%s to '
                      'copy it again as a %s sandbox (its data and changes are replaced).'
                      % (self.name, shown(info['license_type']), license_type, license_type, license_type))
        if current is not None and current['status'] in ENDED:
            raise self.ended(current, 'its last copy')
        if current is None or current['status'] != DONE:
            if check_mode or not self.wait:
                return self.result
            self.say('Sandbox %s: a copy is going on, waiting for it' % self.name)
            self.follow(info['id'], known={})
        return self.result

    def refresh_reason(self, info, current, license_type, max_age):
        """Why state=refreshed refreshes now, or None (the copy is recent enough, or one is going on)."""
        if current is not None and current['status'] in RUNNING:
            self.say('Sandbox %s: a copy is going on already (%s), not starting another' % (self.name, current['status']))
            return None
        if other_license(info, license_type):
            return 'its license type is %s, %s is asked' % (shown(info['license_type']), license_type)
        if max_age is None:
            return 'refresh_older_than is not set'
        if current is None or current['status'] != DONE:
            return 'it has no completed copy'
        completed = current['end'] or current['modified']
        if completed is None:
            raise ApiError('Sandbox %s: the production org does not say when its last copy completed (SandboxProcess '
                           'EndDate is %s), so its age is not known. Remove refresh_older_than to refresh it anyway.'
                           % (self.name, current['end_text'] or 'empty'))
        age = (self.now() - completed).total_seconds()
        if age <= max_age:
            self.say('Sandbox %s: last copied %s, within refresh_older_than (%s); not refreshed'
                     % (self.name, current['end_text'] or completed.isoformat(), describe_age(max_age)))
            return None
        return 'its last copy completed %s, more than %s ago' % (current['end_text'] or completed.isoformat(), describe_age(max_age))

    def create(self, license_type, description, auto_activate, activation_user_group_id, check_mode):
        if license_type is None:
            raise InputError('Sandbox %s does not exist in the production org; creating it needs license_type (%s).'
                             % (self.name, ', '.join(LICENSE_TYPES)))
        body = {'SandboxName': self.name, 'LicenseType': license_type, 'AutoActivate': bool(auto_activate)}
        if description is not None:
            body['Description'] = description
        if activation_user_group_id is not None:
            body['ActivationUserGroupId'] = activation_user_group_id
        self.say('Sandbox %s: not in the production org, %s a %s sandbox'
                 % (self.name, 'would create' if check_mode else 'creating', license_type))
        # changed once Salesforce took the request (a refused one changed nothing)
        if check_mode:
            return self.changed('created', license_type=license_type)
        info_id = self.tooling.create(body)
        self.changed('created', license_type=license_type, sandbox_info_id=info_id)
        self.finish(info_id, known={})
        return self.result

    def refresh(self, info, processes, reason, license_type, auto_activate, activation_user_group_id, check_mode):
        body = {'LicenseType': license_type or info['license_type'], 'AutoActivate': bool(auto_activate)}
        if activation_user_group_id is not None:
            body['ActivationUserGroupId'] = activation_user_group_id
        self.say('Sandbox %s: %s (%s)' % (self.name, 'would refresh' if check_mode else 'refreshing', reason))
        if check_mode:
            return self.changed('refreshed', license_type=body['LicenseType'])
        self.tooling.refresh(info['id'], body)
        self.changed('refreshed', license_type=body['LicenseType'])
        self.finish(info['id'], known={p['id']: p['raw'] for p in processes})
        return self.result

    def delete(self, info, check_mode):
        self.say('Sandbox %s: %s' % (self.name, 'would delete' if check_mode else 'deleting'))
        if check_mode:
            return self.changed('deleted')
        self.tooling.delete(info['id'])
        return self.changed('deleted', status='Deleted', copy_progress=None)

    def changed(self, action, **values):
        self.result.update(changed=True, action=action, **values)
        return self.result

    def finish(self, info_id, known):
        """After a create or a refresh: follow the new copy, or read its first status once (wait=false)."""
        if self.wait:
            self.follow(info_id, known)
            return
        fresh = [p for p in self.tooling.processes(info_id) if known.get(p['id']) != p['raw']]
        process = newest(fresh)
        self.report(process)
        self.say(copy_line(self.name, process, 0) + '; not waiting (wait=false)')

    def follow(self, info_id, known):
        """Poll the copy (a SandboxProcess row not in ``known``, {id: fields before}) until Completed; fail when it ends
        otherwise, or on wait_timeout saying that the copy goes on in Salesforce."""
        started = self.clock()
        process = None
        while True:
            remaining = self.wait_timeout - (self.clock() - started)
            try:
                fresh = [p for p in self.tooling.processes(info_id, give_up_after=max(remaining, LAST_CHECK_SECONDS))
                         if known.get(p['id']) != p['raw']]
            except HttpError:
                elapsed = self.clock() - started
                if elapsed >= self.wait_timeout:
                    raise self.timed_out(process, elapsed)
                raise
            elapsed = self.clock() - started
            self.result['waited'] = int(elapsed)
            process = newest(fresh)
            self.report(process)
            self.say(copy_line(self.name, process, elapsed))
            if process is not None and process['status'] == DONE:
                return
            if process is not None and process['status'] in ENDED:
                raise self.ended(process, 'the copy')
            if elapsed >= self.wait_timeout:
                raise self.timed_out(process, elapsed)
            self.sleep(min(self.poll_interval, max(0.0, self.wait_timeout - elapsed) or self.poll_interval))

    def ended(self, process, which):
        return ApiError('Sandbox %s: %s ended as %s%s; the sandbox is not usable as it is. Look at it in %s; state=refreshed '
                        'copies it again, state=absent deletes it.'
                        % (self.name, which, process['status'],
                           '' if process['copy_progress'] is None else ' at %d%%' % process['copy_progress'], WHERE_TO_LOOK),
                        **self.result)

    def timed_out(self, process, elapsed):
        last = 'no copy had started yet' if process is None else 'its last status was %s%s' % (
            process['status'], '' if process['copy_progress'] is None else ', %d%% copied' % process['copy_progress'])
        return ApiError('Sandbox %s is not ready after wait_timeout (%d s, waited %d s): %s. The copy goes on in Salesforce; '
                        'run again with state=present to wait for it again (a longer wait_timeout, or wait=false not to '
                        'wait), or look at it in %s.' % (self.name, self.wait_timeout, elapsed, last, WHERE_TO_LOOK),
                        **self.result)


def describe_age(seconds):
    for size, word in ((86400, 'day'), (3600, 'hour'), (60, 'minute')):
        if seconds % size == 0:
            count = seconds // size
            return '%d %s%s' % (count, word, '' if count == 1 else 's')
    return '%d seconds' % seconds


def run(client, name, state='present', license_type=None, description=None, auto_activate=True,
        activation_user_group_id=None, refresh_older_than=None, wait=True, wait_timeout=3600, poll_interval=30.0,
        check_mode=False, progress=None, warn=None):
    """The module's work; returns its result, raises a SalesforceError (result fields in its details) on failure."""
    sandbox = Sandbox(client, name, wait=wait, wait_timeout=wait_timeout, poll_interval=poll_interval, progress=progress,
                      warn=warn)
    return sandbox.run(state=state, license_type=license_type, description=description, auto_activate=auto_activate,
                       activation_user_group_id=activation_user_group_id, refresh_older_than=refresh_older_than,
                       check_mode=check_mode)
