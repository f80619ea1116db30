# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sandbox module's work without a network (module_utils/api/_sandbox): a scripted production org's Tooling API
(SandboxInfo, SandboxProcess), create / present / refreshed / absent, check mode, waiting with progress and its
timeout, and answers that are not Salesforce's."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _sandbox as sandbox
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, InputError
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import INSTANCE, TOKEN, FakeHttp, make_response

API = '/services/data/v62.0/'
QUERY_PATH = API + 'tooling/query'
INFO_PATH = API + 'tooling/sobjects/SandboxInfo'
INFO_ID = '0GQxx0000000001GAA'
SANDBOX_ORG = '00Dxx0000009999EAA'
NOW = datetime.datetime(2026, 12, 8, 12, 0, tzinfo=datetime.timezone.utc)


def stamp(days_ago):
    return (NOW - datetime.timedelta(days=days_ago)).strftime('%Y-%m-%dT%H:%M:%S.000+0000')


class Org:
    """A production org's Tooling API for sandboxes. ``infos``: SandboxInfo rows; ``processes``: SandboxProcess rows. A
    copy started by POST or PATCH moves one step a SandboxProcess query (Pending, Processing at 50%, Completed), after
    ``steps`` queries Completed; ``script`` replaces the answer of the n-th SandboxProcess query (1, 2, ...)."""

    def __init__(self, infos=(), processes=(), steps=2, script=None, end_status='Completed'):
        self.infos = [dict(row) for row in infos]
        self.processes = [dict(row) for row in processes]
        self.steps = steps
        self.script = dict(script or {})
        self.end_status = end_status
        self.process_queries = 0
        self.writes = []
        self.http = FakeHttp(self.handle)
        self.client = rest.RestClient(rest.StaticCredentials(TOKEN, INSTANCE), self.http, api_version='62.0')

    def start_copy(self, info_id, name, license_type):
        number = len(self.processes) + 1
        self.processes.append({'Id': '0GRxx%010dAAA' % number, 'SandboxInfoId': info_id, 'SandboxName': name,
                               'LicenseType': license_type, 'Status': 'Pending', 'CopyProgress': 0,
                               'SandboxOrganization': None, 'StartDate': stamp(0), 'EndDate': None,
                               'LastModifiedDate': stamp(0), 'steps': 0})

    def advance(self):
        for row in self.processes:
            if 'steps' in row and row['Status'] not in ('Completed', 'Stopped'):
                row['steps'] += 1
                if row['steps'] >= self.steps:
                    row.update(Status=self.end_status, CopyProgress=100 if self.end_status == 'Completed' else 60,
                               SandboxOrganization=SANDBOX_ORG, EndDate=stamp(0))
                else:
                    row.update(Status='Processing', CopyProgress=int(100 * row['steps'] / self.steps))

    def handle(self, call):
        method, path = call['method'], call['path']
        if method == 'GET' and path == QUERY_PATH:
            soql = call['params']['q']
            name = re.search(r"WHERE SandboxName = '([^']*)'", soql).group(1)
            if ' FROM SandboxInfo' in soql:
                rows = [row for row in self.infos if row['SandboxName'].lower() == name.lower()]
                return make_response(200, {'totalSize': len(rows), 'done': True, 'records': rows})
            self.process_queries += 1
            if self.process_queries in self.script:
                return self.script[self.process_queries]
            self.advance()
            rows = [{k: v for k, v in row.items() if k != 'steps'} for row in self.processes if row['SandboxName'] == name]
            return make_response(200, {'totalSize': len(rows), 'done': True, 'records': rows})
        body = json.loads(call['data']) if call['data'] else None
        self.writes.append((method, path, body))
        if method == 'POST' and path == INFO_PATH:
            self.infos.append(dict(body, Id=INFO_ID))
            self.start_copy(INFO_ID, body['SandboxName'], body['LicenseType'])
            return make_response(201, {'id': INFO_ID, 'success': True, 'errors': []})
        info = next((row for row in self.infos if path == INFO_PATH + '/' + row['Id']), None)
        if info is not None and method == 'PATCH':
            info.update(body)
            self.start_copy(info['Id'], info['SandboxName'], body['LicenseType'])
            return make_response(204)
        if info is not None and method == 'DELETE':
            self.infos.remove(info)
            return make_response(204)
        return pytest.fail('unexpected request %s %s' % (method, path))


def existing(name='uat', license_type='DEVELOPER', status='Completed', days_ago=3, progress=100):
    """An org with one sandbox whose last copy ended ``days_ago`` days ago."""
    return Org(infos=[{'Id': INFO_ID, 'SandboxName': name, 'LicenseType': license_type, 'Description': None,
                       'AutoActivate': True, 'SourceId': None}],
               processes=[{'Id': '0GRxx0000000000AAA', 'SandboxInfoId': INFO_ID, 'SandboxName': name,
                           'LicenseType': license_type, 'Status': status, 'CopyProgress': progress,
                           'SandboxOrganization': SANDBOX_ORG, 'StartDate': stamp(days_ago + 1),
                           'EndDate': stamp(days_ago) if status == 'Completed' else None, 'LastModifiedDate': stamp(days_ago)}])


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def run(org, name='uat', clock=None, wait=True, wait_timeout=3600, poll_interval=30, **options):
    """(result, progress lines, warnings) of one run against org."""
    lines, warnings = [], []
    clock = clock or Clock()
    work = sandbox.Sandbox(org.client, name, wait=wait, wait_timeout=wait_timeout, poll_interval=poll_interval,
                           progress=lines.append, warn=warnings.append, clock=clock, sleep=clock.sleep, now=lambda: NOW)
    return work.run(**options), lines, warnings


def failure(org, kind=ApiError, **options):
    with pytest.raises(kind) as excinfo:
        run(org, **options)
    return excinfo.value


# -- options -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['', '1uat', 'uat_1', 'abcdefghijk', 'ua t', "u'at", None])
def test_a_name_salesforce_refuses_is_refused_before_sending(name):
    org = Org()
    error = failure(org, kind=InputError, name=name, state='present', license_type='DEVELOPER')
    assert '1 to 10 letters and digits, starting with a letter' in error.message
    assert org.http.calls == []


@pytest.mark.parametrize('value, seconds', [('7d', 7 * 86400), ('12h', 43200), ('30m', 1800), ('2w', 14 * 86400),
                                            (7, 7 * 86400), ('3', 3 * 86400), (' 5D ', 5 * 86400)])
def test_refresh_older_than_reads_ages(value, seconds):
    assert sandbox.parse_age(value) == seconds


@pytest.mark.parametrize('value', ['0', '0d', 'seven days', '7y', '-1d', '1.5d', True, ''])
def test_refresh_older_than_refuses_what_is_not_an_age(value):
    with pytest.raises(InputError) as excinfo:
        sandbox.parse_age(value)
    assert 'for example 7d or 12h' in excinfo.value.message


def test_refresh_older_than_is_only_for_refreshed():
    org = existing()
    error = failure(org, kind=InputError, state='present', refresh_older_than='7d')
    assert error.message == 'refresh_older_than is used only with state=refreshed; remove it, or set state=refreshed.'
    assert org.http.calls == []


@pytest.mark.parametrize('wait_timeout, poll_interval, problem', [(0, 30, 'wait_timeout'), (10 ** 7, 30, 'wait_timeout'),
                                                                  (60, 0, 'poll_interval'), (60, 7200, 'poll_interval')])
def test_waiting_bounds(wait_timeout, poll_interval, problem):
    with pytest.raises(InputError) as excinfo:
        sandbox.Sandbox(Org().client, 'uat', wait_timeout=wait_timeout, poll_interval=poll_interval)
    assert excinfo.value.message.startswith(problem + ' must be')


# -- present -------------------------------------------------------------------------------------------------

def test_present_creates_a_missing_sandbox_and_waits_for_its_copy():
    org = Org(steps=3)
    clock = Clock()
    result, lines, warnings = run(org, clock=clock, state='present', license_type='DEVELOPER', description='UAT',
                                  activation_user_group_id='00Gxx0000000001AAA')
    assert org.writes == [('POST', INFO_PATH, {'SandboxName': 'uat', 'LicenseType': 'DEVELOPER', 'AutoActivate': True,
                                               'Description': 'UAT', 'ActivationUserGroupId': '00Gxx0000000001AAA'})]
    assert lines == ['Sandbox uat: not in the production org, creating a DEVELOPER sandbox',
                     'Sandbox uat: Processing, 33% copied (0 s)',
                     'Sandbox uat: Processing, 66% copied (30 s)',
                     'Sandbox uat: Completed, 100% copied (60 s)']
    assert result == dict(changed=True, action='created', sandbox_name='uat', sandbox_info_id=INFO_ID,
                          license_type='DEVELOPER', status='Completed', copy_progress=100, sandbox_org_id=SANDBOX_ORG,
                          last_copy_completed=stamp(0), waited=60)
    assert clock.sleeps == [30, 30]
    assert warnings == []


def test_present_needs_license_type_to_create():
    org = Org()
    error = failure(org, kind=InputError, state='present')
    assert error.message == ('Sandbox uat does not exist in the production org; creating it needs license_type '
                             '(DEVELOPER, DEVELOPER_PRO, PARTIAL, FULL).')
    assert org.writes == []


def test_present_on_a_completed_sandbox_sends_nothing():
    org = existing()
    result, lines, warnings = run(org, state='present', license_type='DEVELOPER')
    assert org.writes == []
    assert [call['method'] for call in org.http.calls] == ['GET', 'GET']
    assert result['changed'] is False and result['action'] == 'none'
    assert result['status'] == 'Completed' and result['sandbox_org_id'] == SANDBOX_ORG
    assert result['last_copy_completed'] == stamp(3)
    assert lines == [] and warnings == []


def test_present_with_another_license_type_warns_and_changes_nothing():
    org = existing(license_type='DEVELOPER')
    result, dummy, warnings = run(org, state='present', license_type='PARTIAL')
    assert org.writes == []
    assert result['changed'] is False and result['license_type'] == 'DEVELOPER'
    assert warnings == ['Sandbox uat is a DEVELOPER sandbox, not PARTIAL as license_type asks; state=present does not '
                        'change a sandbox that exists. Its license changes with a refresh: run with state=refreshed and '
                        'license_type=PARTIAL to copy it again as a PARTIAL sandbox (its data and changes are replaced).']


def test_present_waits_for_a_copy_going_on_without_starting_one():
    org = existing(status='Processing', progress=40)
    org.processes[0]['steps'] = 0
    org.steps = 3
    result, lines, dummy = run(org, state='present')
    assert org.writes == []
    # the first read (33%) decides; the polls follow
    assert lines == ['Sandbox uat: a copy is going on, waiting for it', 'Sandbox uat: Processing, 66% copied (0 s)',
                     'Sandbox uat: Completed, 100% copied (30 s)']
    assert result['changed'] is False and result['status'] == 'Completed'


def test_present_fails_on_a_sandbox_whose_last_copy_stopped():
    org = existing(status='Stopped', progress=20)
    error = failure(org, state='present')
    assert error.message == ('Sandbox uat: its last copy ended as Stopped at 20%; the sandbox is not usable as it is. Look '
                             'at it in Setup > Sandboxes in the production org; state=refreshed copies it again, '
                             'state=absent deletes it.')
    assert org.writes == []


def test_check_mode_create_sends_no_write():
    org = Org()
    result, lines, dummy = run(org, state='present', license_type='FULL', check_mode=True)
    assert org.writes == []
    assert result['changed'] is True and result['action'] == 'created' and result['sandbox_info_id'] is None
    assert lines == ['Sandbox uat: not in the production org, would create a FULL sandbox']


def test_wait_false_returns_after_the_first_status():
    org = Org(steps=5)
    clock = Clock()
    result, lines, dummy = run(org, clock=clock, state='present', license_type='DEVELOPER', wait=False)
    assert result['status'] == 'Processing' and result['copy_progress'] == 20 and result['waited'] == 0
    assert lines[-1] == 'Sandbox uat: Processing, 20% copied (0 s); not waiting (wait=false)'
    assert clock.sleeps == []


# -- refreshed -----------------------------------------------------------------------------------------------

def test_refreshed_without_an_age_always_refreshes_and_follows_the_new_copy():
    org = existing(days_ago=0)
    result, lines, dummy = run(org, state='refreshed', auto_activate=False)
    assert org.writes == [('PATCH', INFO_PATH + '/' + INFO_ID, {'LicenseType': 'DEVELOPER', 'AutoActivate': False})]
    # the old Completed copy is not taken for the new one
    assert lines == ['Sandbox uat: refreshing (refresh_older_than is not set)',
                     'Sandbox uat: Processing, 50% copied (0 s)',
                     'Sandbox uat: Completed, 100% copied (30 s)']
    assert result['changed'] is True and result['action'] == 'refreshed' and result['status'] == 'Completed'


def test_refreshed_leaves_a_recent_copy_alone():
    org = existing(days_ago=3)
    result, lines, dummy = run(org, state='refreshed', refresh_older_than='7d')
    assert org.writes == []
    assert result['changed'] is False and result['action'] == 'none'
    assert lines == ['Sandbox uat: last copied %s, within refresh_older_than (7 days); not refreshed' % stamp(3)]


def test_refreshed_refreshes_an_old_copy():
    org = existing(days_ago=8)
    result, lines, dummy = run(org, state='refreshed', refresh_older_than=7)
    assert [write[0] for write in org.writes] == ['PATCH']
    assert lines[0] == 'Sandbox uat: refreshing (its last copy completed %s, more than 7 days ago)' % stamp(8)
    assert result['action'] == 'refreshed'


def test_refreshed_with_another_license_type_refreshes_with_it_whatever_the_age():
    org = existing(days_ago=1, license_type='DEVELOPER')
    result, lines, dummy = run(org, state='refreshed', refresh_older_than='7d', license_type='DEVELOPER_PRO')
    assert org.writes == [('PATCH', INFO_PATH + '/' + INFO_ID, {'LicenseType': 'DEVELOPER_PRO', 'AutoActivate': True})]
    assert lines[0] == 'Sandbox uat: refreshing (its license type is DEVELOPER, DEVELOPER_PRO is asked)'
    assert result['license_type'] == 'DEVELOPER_PRO'


def test_refreshed_does_not_start_a_second_copy_while_one_runs():
    org = existing(status='Processing', progress=10)
    org.processes[0]['steps'] = 0
    result, lines, dummy = run(org, state='refreshed')
    assert org.writes == []
    assert lines[0] == 'Sandbox uat: a copy is going on already (Processing), not starting another'
    assert result['changed'] is False and result['status'] == 'Completed'


def test_refreshed_check_mode_reads_only():
    org = existing(days_ago=30)
    result, lines, dummy = run(org, state='refreshed', refresh_older_than='7d', check_mode=True)
    assert org.writes == []
    assert result['changed'] is True and result['action'] == 'refreshed'
    assert lines == ['Sandbox uat: would refresh (its last copy completed %s, more than 7 days ago)' % stamp(30)]


def test_refreshed_without_an_end_date_says_the_age_is_unknown():
    org = existing()
    org.processes[0].update(EndDate='yesterday', LastModifiedDate=None)
    error = failure(org, state='refreshed', refresh_older_than='1d')
    assert error.message == ('Sandbox uat: the production org does not say when its last copy completed (SandboxProcess '
                             'EndDate is yesterday), so its age is not known. Remove refresh_older_than to refresh it anyway.')
    assert org.writes == []


# -- absent --------------------------------------------------------------------------------------------------

def test_absent_deletes_an_existing_sandbox():
    org = existing()
    result, lines, dummy = run(org, state='absent')
    assert org.writes == [('DELETE', INFO_PATH + '/' + INFO_ID, None)]
    assert result['changed'] is True and result['action'] == 'deleted' and result['status'] == 'Deleted'
    assert org.infos == []


def test_absent_on_a_missing_sandbox_sends_nothing():
    org = Org()
    result, lines, dummy = run(org, state='absent')
    assert org.writes == []
    assert result['changed'] is False and result['action'] == 'none'
    assert lines == ['Sandbox uat: not in the production org, nothing to delete']


def test_absent_check_mode_deletes_nothing():
    org = existing()
    result, dummy, dummy2 = run(org, state='absent', check_mode=True)
    assert org.writes == [] and result['changed'] is True and result['action'] == 'deleted'


# -- waiting -------------------------------------------------------------------------------------------------

def test_wait_timeout_says_where_the_copy_was_and_that_it_goes_on():
    org = Org(steps=1000)
    clock = Clock()
    error = failure(org, clock=clock, state='present', license_type='DEVELOPER', wait_timeout=100, poll_interval=30)
    assert error.message == ('Sandbox uat is not ready after wait_timeout (100 s, waited 100 s): its last status was '
                             'Processing, 0% copied. The copy goes on in Salesforce; run again with state=present to wait '
                             'for it again (a longer wait_timeout, or wait=false not to wait), or look at it in Setup > '
                             'Sandboxes in the production org.')
    # the last sleep is cut to the deadline
    assert clock.sleeps == [30, 30, 30, 10]
    assert error.details['changed'] is True and error.details['action'] == 'created'
    assert error.details['sandbox_info_id'] == INFO_ID and error.details['waited'] == 100


def test_a_stopped_copy_fails_the_task_naming_it():
    org = Org(steps=2, end_status='Stopped')
    error = failure(org, state='present', license_type='DEVELOPER')
    assert error.message.startswith('Sandbox uat: the copy ended as Stopped at 60%; the sandbox is not usable as it is.')
    assert error.details['status'] == 'Stopped' and error.details['changed'] is True


def test_a_copy_not_listed_yet_is_waited_for():
    org = Org(steps=2, script={1: make_response(200, {'totalSize': 0, 'done': True, 'records': []})})
    result, lines, dummy = run(org, state='present', license_type='DEVELOPER')
    assert lines[1] == 'Sandbox uat: waiting for Salesforce to start the copy (0 s)'
    assert result['status'] == 'Completed'


def test_rows_of_an_earlier_sandbox_of_the_same_name_are_not_this_ones():
    org = existing()
    org.processes[0].update(SandboxInfoId='0GQxx0000000002GAA', Status='Deleted')
    org.infos[0]['Id'] = INFO_ID
    result, dummy, dummy2 = run(org, state='present', wait=False)
    assert result['status'] is None and org.writes == []


# -- answers that are not Salesforce's -----------------------------------------------------------------------

def process_row(**values):
    row = {'Id': '0GRxx0000000000AAA', 'SandboxInfoId': INFO_ID, 'SandboxName': 'uat', 'LicenseType': 'DEVELOPER',
           'Status': 'Completed', 'CopyProgress': 100, 'SandboxOrganization': SANDBOX_ORG, 'StartDate': stamp(2),
           'EndDate': stamp(1), 'LastModifiedDate': stamp(1)}
    row.update(values)
    return row


@pytest.mark.parametrize('values, field, expected', [
    ({'Status': 7}, 'Status', 'a number, not a text'),
    ({'CopyProgress': 'lots'}, 'CopyProgress', 'a string, not a percentage from 0 to 100'),
    ({'CopyProgress': 10 ** 30}, 'CopyProgress', 'a number, not a percentage from 0 to 100'),
    ({'CopyProgress': True}, 'CopyProgress', 'a boolean, not a percentage from 0 to 100'),
    ({'SandboxOrganization': 'not-an-org\x1b[2J'}, 'SandboxOrganization', 'a string, not an id'),
    ({'Id': ['0GR']}, 'Id', 'a list, not an id'),
])
def test_odd_process_fields_are_named(values, field, expected):
    org = existing()
    org.processes = [process_row(**values)]
    error = failure(org, state='present')
    assert error.message.startswith('The production org answered a SandboxProcess of sandbox uat whose %s is %s; '
                                    % (field, expected))
    assert '\x1b' not in error.message


def test_an_unknown_status_is_refused_printably():
    org = existing()
    org.processes = [process_row(Status='Exploding\x1b]0;owned\x07' + 'x' * 500)]
    error = failure(org, state='present')
    assert error.message.startswith("The SandboxProcess of sandbox uat has status 'Exploding\\x1b]0;owned\\x07xxx")
    assert 'which this module does not know' in error.message and 'the copy may still be going on there' in error.message
    assert '\x1b' not in error.message and len(error.message) < 800


def test_a_sandbox_info_without_an_id_is_refused():
    org = existing()
    org.infos[0]['Id'] = None
    error = failure(org, state='present')
    assert error.message.startswith('The production org answered a SandboxInfo of sandbox uat whose Id is null, not an id')


def test_a_query_answer_that_is_not_one_is_refused():
    org = existing()
    org.handle = None
    org.http.handler = lambda call: make_response(200, {'records': 'all of them'})
    error = failure(org, state='present')
    assert error.message.startswith('Reading sandbox uat (SandboxInfo): the production org answered HTTP 200 with ')
    assert 'not a Tooling API query result' in error.message


def test_a_create_answer_without_an_id_says_to_look_before_running_again():
    org = Org()
    original = org.handle

    def no_id(call):
        if call['method'] == 'POST':
            return make_response(201, {'success': True, 'id': {'nested': 1}})
        return original(call)
    org.http.handler = no_id
    error = failure(org, state='present', license_type='DEVELOPER')
    assert error.message.startswith("Creating sandbox uat: the production org answered HTTP 201 without the new "
                                    "SandboxInfo's id")
    assert 'look in Setup > Sandboxes in the production org before running again' in error.message


def test_a_refused_tooling_object_says_to_use_the_production_org():
    org = Org()
    org.http.handler = lambda call: make_response(400, [{'errorCode': 'INVALID_TYPE',
                                                         'message': "sObject type 'SandboxInfo' is not supported."}])
    error = failure(org, state='present', license_type='DEVELOPER')
    assert error.message.startswith('Reading sandbox uat (SandboxInfo) failed: GET /services/data/v62.0/tooling/query '
                                    'answered HTTP 400')
    assert error.message.endswith(sandbox.NOT_PRODUCTION_HINT)


def test_a_duplicate_name_refused_by_salesforce_is_reported():
    org = Org()
    original = org.handle

    def duplicate(call):
        if call['method'] == 'POST':
            return make_response(400, [{'errorCode': 'DUPLICATE_VALUE', 'message': 'duplicate value found: SandboxName'}])
        return original(call)
    org.http.handler = duplicate
    error = failure(org, state='present', license_type='DEVELOPER')
    assert error.message.startswith('Creating sandbox uat failed: POST /services/data/v62.0/tooling/sobjects/SandboxInfo '
                                    'answered HTTP 400')
    assert 'DUPLICATE_VALUE' in error.message and 'duplicate value found: SandboxName' in error.message


def test_a_license_type_in_another_case_is_the_same_license():
    org = existing(days_ago=1, license_type='Developer')
    result, lines, warnings = run(org, state='refreshed', refresh_older_than='7d', license_type='DEVELOPER')
    assert org.writes == [] and warnings == [] and result['changed'] is False


def test_after_a_refresh_the_previous_completed_copy_does_not_end_the_wait():
    org = existing(days_ago=10)
    old_rows = [{k: v for k, v in row.items() if k != 'steps'} for row in org.processes]
    # the first poll after the PATCH lists only the copy from before
    org.script = {2: make_response(200, {'totalSize': 1, 'done': True, 'records': old_rows})}
    result, lines, dummy = run(org, state='refreshed')
    assert lines[1:] == ['Sandbox uat: waiting for Salesforce to start the copy (0 s)',
                         'Sandbox uat: Processing, 50% copied (30 s)', 'Sandbox uat: Completed, 100% copied (60 s)']
    assert result['last_copy_completed'] == stamp(0)


def test_a_refused_refresh_changed_nothing_and_says_why():
    org = existing(days_ago=30)
    original = org.handle

    def too_soon(call):
        if call['method'] == 'PATCH':
            return make_response(400, [{'errorCode': 'INVALID_OPERATION', 'message': 'You can refresh this sandbox in 1 day'}])
        return original(call)
    org.http.handler = too_soon
    error = failure(org, state='refreshed')
    assert error.message.startswith('Refreshing sandbox uat failed: PATCH /services/data/v62.0/tooling/sobjects/SandboxInfo/%s '
                                    'answered HTTP 400' % INFO_ID)
    assert 'You can refresh this sandbox in 1 day' in error.message
    assert error.details['changed'] is False and error.details['action'] == 'none'
    assert error.details['sandbox_info_id'] == INFO_ID


def test_an_unknown_status_after_a_create_keeps_the_create_in_the_result():
    org = Org(script={1: make_response(200, {'totalSize': 1, 'done': True, 'records': [
        dict(process_row(Status='Hatching'), SandboxInfoId=INFO_ID)]})})
    error = failure(org, state='present', license_type='DEVELOPER')
    assert "has status 'Hatching'" in error.message
    assert error.details['changed'] is True and error.details['action'] == 'created'
