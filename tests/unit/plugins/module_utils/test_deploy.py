# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The metadata deploy without a network: source conversion, the zip, the record, the REST Metadata API exchange and
what a hostile project, record file or server can make of it."""

from __future__ import annotations

import datetime
import fcntl
import functools
import json
import os
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _deploy as deploy
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _deploy_source as deploy_source
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _org_metadata as org_metadata
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _io as io_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, HttpError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.deploy_projects import (
    APEX_SOURCE, DEFAULT, PEM_IN_TEXT, SOAP_PATH, DeployHttp as Http, apex_project, app_project, mode_of, raises,
    read_metadata_answer, unreadable_org, write_files, zip_components)
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import (
    INSTANCE,
    INVALID_SESSION,
    NEW_TOKEN,
    TOKEN,
    FakeAuth,
    bearer,
    make_response,
)

ORG_15 = '00Dxx0000001gPL'          # the org id the tokens of test_rest start with
ORG_18 = '00Dxx0000001gPLEAY'       # the same org id with its case-safe suffix
OTHER_ORG = '00Dxx0000002AbCEAU'
DEPLOY_ID = '0Afxx00000001ABCAA'
API = '/services/data/v62.0/'
DEPLOY_PATH = API + 'metadata/deployRequest'
STATUS_PATH = DEPLOY_PATH + '/' + DEPLOY_ID
OPAQUE_TOKEN = 'opaque-token-without-org-prefix'
GITIGNORE = deploy.RECORD_GITIGNORE_COMMENT + '/.sfjwt-deploy.json\n'


# -- helpers -------------------------------------------------------------------------------------------------

def failing(call):
    pytest.fail('nothing may be sent: %s %s' % (call['method'], call['path']))


class SessionWithOrg:
    def __init__(self, access_token, org_id):
        self.access_token = access_token
        self.instance_url = INSTANCE
        self.org_id = org_id
        self.extra = {}


class OrgAuth(FakeAuth):
    """FakeAuth whose sessions carry an org id, as the auth core's sessions do."""

    def __init__(self, org_id, **kwargs):
        super().__init__(**kwargs)
        self.org_id = org_id

    def get_session(self, options):
        token = self.tokens[min(self.minted, len(self.tokens) - 1)]
        self.minted += 1
        return SessionWithOrg(token, self.org_id)


def client_for(handler, token=TOKEN, auth=None):
    """A RestClient on a fake HTTP session: static credentials with token, or session credentials from auth."""
    http = Http(handler)
    if auth is not None:
        credentials = rest.SessionCredentials(None, auth)
    else:
        credentials = rest.StaticCredentials(token, INSTANCE)
    return rest.RestClient(credentials, http, api_version='62.0'), http


def deploy_result(status, done=None, **values):
    result = {'id': DEPLOY_ID, 'status': status, 'done': status in deploy.FINAL_STATUSES if done is None else done,
              'success': status == 'Succeeded', 'checkOnly': False, 'numberComponentsTotal': 7,
              'numberComponentsDeployed': 7 if status in ('Succeeded', 'SucceededPartial') else 0,
              'numberComponentErrors': 0, 'numberTestsTotal': 0, 'numberTestsCompleted': 0, 'numberTestErrors': 0,
              'details': {'componentFailures': [], 'componentSuccesses': []}}
    result.update(values)
    return result


class Org:
    """A scripted Metadata API: POST deployRequest answers ``start``; each status GET answers the next of ``polls``
    (the last one repeats); PATCH answers ``cancel`` and switches to ``after_cancel`` when given. The SOAP readMetadata
    answers from ``components`` ({(type, name): root element}): what a Succeeded deploy (not checkOnly) saved, or what a
    test put there."""

    def __init__(self, polls, start=None, cancel=None, after_cancel=None, components=None):
        self.polls = list(polls)
        self.start = start
        self.cancel = cancel
        self.after_cancel = after_cancel
        self.components = dict(components or {})
        self.pending = {}

    def __call__(self, call):
        if call['method'] == 'POST' and call['path'] == SOAP_PATH:
            return read_metadata_answer(self.components, call['data'])
        if call['method'] == 'POST' and call['path'] == DEPLOY_PATH:
            self.pending = zip_components((call.get('files') or {}).get('file', (None, b''))[1])
            if self.start is not None:
                return self.start
            return make_response(201, {'id': DEPLOY_ID, 'url': STATUS_PATH, 'deployResult': deploy_result('Pending')})
        if call['method'] == 'GET' and call['path'] == STATUS_PATH:
            answer = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
            if isinstance(answer, requests.Response):
                return answer
            if answer.get('status') == 'Succeeded' and not answer.get('checkOnly'):
                self.components.update(self.pending)
            return make_response(200, {'id': DEPLOY_ID, 'url': STATUS_PATH, 'deployResult': answer})
        if call['method'] == 'PATCH' and call['path'] == STATUS_PATH:
            if self.after_cancel is not None:
                self.polls = list(self.after_cancel)
            if self.cancel is not None:
                return self.cancel
            return make_response(202, {'id': DEPLOY_ID, 'deployResult': deploy_result('Canceling')})
        return pytest.fail('unexpected request %s %s' % (call['method'], call['path']))


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    """run() builds its Deployer itself: give it a fake clock and sleep."""
    fake = Clock()
    original = deploy.Deployer

    def make(client, **kwargs):
        return original(client, clock=fake, sleep=fake.sleep, **kwargs)
    monkeypatch.setattr(deploy, 'Deployer', make)
    return fake


def deployer(handler, token=TOKEN, auth=None, **kwargs):
    client, http = client_for(handler, token=token, auth=auth)
    fake = Clock()
    kwargs.setdefault('progress', [].append)
    return deploy.Deployer(client, clock=fake, sleep=fake.sleep, **kwargs), http, fake


def record_of(project):
    with open(os.path.join(project, deploy.RECORD_FILE)) as handle:
        return json.load(handle)


# -- the deploy record -----------------------------------------------------------------------------------------

def test_record_roundtrip_mode_0600_even_under_umask_000(tmp_path):
    record = deploy.DeployRecord(str(tmp_path))
    assert record.path == str(tmp_path / '.sfjwt-deploy.json') and record.orgs == {}
    old = os.umask(0)
    try:
        record.remember(ORG_18, 'a' * 64, DEPLOY_ID, INSTANCE)
    finally:
        os.umask(old)
    assert mode_of(record.path) == 0o600
    content = record_of(str(tmp_path))
    stamp = content['orgs'][ORG_18].pop('deployed_at')
    assert datetime.datetime.strptime(stamp, '%Y-%m-%dT%H:%M:%SZ')
    assert content == {'version': 1, 'orgs': {ORG_18: {'sha256': 'a' * 64, 'deploy_id': DEPLOY_ID, 'instance_url': INSTANCE}}}
    assert (tmp_path / '.gitignore').read_text() == GITIGNORE
    assert mode_of(str(tmp_path / '.gitignore')) == 0o644
    again = deploy.DeployRecord(str(tmp_path))
    assert again.deployed(ORG_18, 'a' * 64)
    assert not again.deployed(ORG_18, 'b' * 64)
    assert not again.deployed(OTHER_ORG, 'a' * 64)
    # A second org is added, the first kept; the .gitignore entry is not repeated.
    again.remember(OTHER_ORG, 'b' * 64, '0Afxx00000002ABCAA', INSTANCE)
    assert sorted(record_of(str(tmp_path))['orgs']) == sorted([ORG_18, OTHER_ORG])
    assert (tmp_path / '.gitignore').read_text() == GITIGNORE
    assert sorted(os.listdir(str(tmp_path))) == ['.gitignore', '.sfjwt-deploy.json']


def test_records_read_before_either_deploy_keep_both_orgs(tmp_path):
    # Two org hosts of one play read the record, deploy, and remember: the second must not drop the first one's org.
    first, second = deploy.DeployRecord(str(tmp_path)), deploy.DeployRecord(str(tmp_path))
    first.remember(ORG_18, 'a' * 64, DEPLOY_ID, INSTANCE)
    second.remember(OTHER_ORG, 'b' * 64, '0Afxx00000002ABCAA', INSTANCE)
    assert sorted(record_of(str(tmp_path))['orgs']) == sorted([ORG_18, OTHER_ORG])
    assert deploy.DeployRecord(str(tmp_path)).deployed(ORG_18, 'a' * 64)


def test_record_of_a_project_dir_that_is_a_link(tmp_path):
    (tmp_path / 'project').mkdir()
    os.symlink(str(tmp_path / 'project'), str(tmp_path / 'link'))
    deploy.DeployRecord(str(tmp_path / 'link')).remember(ORG_18, 'a' * 64, DEPLOY_ID, INSTANCE)
    assert deploy.DeployRecord(str(tmp_path / 'project')).deployed(ORG_18, 'a' * 64)


def test_record_locked_by_another_process_too_long_is_named(tmp_path, monkeypatch):
    holder = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    monkeypatch.setattr(deploy, 'directory_lock', functools.partial(io_module.directory_lock, timeout=0.2))
    try:
        # A lock taken through another open file description: as another process's would be.
        assert raises(deploy.DeployRecord(str(tmp_path)).remember, ORG_18, 'a' * 64, DEPLOY_ID, INSTANCE).msg == (
            'The deploy succeeded, but its record %s/.sfjwt-deploy.json could not be written (%s stayed locked by another '
            'process for 0.2 seconds); the next run deploys again.' % (tmp_path, tmp_path))
    finally:
        os.close(holder)
    assert not (tmp_path / '.sfjwt-deploy.json').exists()


def test_record_keeps_an_existing_gitignore_mode_and_content(tmp_path):
    (tmp_path / '.gitignore').write_text('node_modules/\n*.log')
    os.chmod(str(tmp_path / '.gitignore'), 0o640)
    deploy.DeployRecord(str(tmp_path)).remember(ORG_18, 'a' * 64, DEPLOY_ID, INSTANCE)
    assert (tmp_path / '.gitignore').read_text() == 'node_modules/\n*.log\n' + GITIGNORE
    assert mode_of(str(tmp_path / '.gitignore')) == 0o640
    deploy.DeployRecord(str(tmp_path)).remember(ORG_18, 'c' * 64, DEPLOY_ID, INSTANCE)
    assert (tmp_path / '.gitignore').read_text() == 'node_modules/\n*.log\n' + GITIGNORE


def test_record_leaves_a_linked_gitignore_alone(tmp_path):
    target = tmp_path / 'dotfiles-gitignore'
    target.write_text('secret-stuff\n')
    project = tmp_path / 'p'
    project.mkdir()
    os.symlink(str(target), str(project / '.gitignore'))
    deploy.DeployRecord(str(project)).remember(ORG_18, 'a' * 64, DEPLOY_ID, INSTANCE)
    assert os.path.islink(str(project / '.gitignore'))
    assert target.read_text() == 'secret-stuff\n'
    assert deploy.DeployRecord(str(project)).deployed(ORG_18, 'a' * 64)


@pytest.mark.parametrize('content', [b'not json', b'\xff\xfe', b'[]', b'{"orgs": []}', b'{"version": 1}', b'null',
                                     pytest.param(b'[' * 100000 + b']' * 100000, id='nested 100000 deep')])
def test_corrupt_record_is_refused(tmp_path, content):
    (tmp_path / '.sfjwt-deploy.json').write_bytes(content)
    assert raises(deploy.DeployRecord, str(tmp_path)).msg == (
        'The deploy record %s/.sfjwt-deploy.json is not what this module writes; remove it (the next deploy writes it again).' % tmp_path)


def test_record_entries_that_are_not_objects_are_ignored(tmp_path):
    (tmp_path / '.sfjwt-deploy.json').write_text(json.dumps({'orgs': {ORG_18: 'x', OTHER_ORG: {'sha256': 'a'}, '': []}}))
    assert deploy.DeployRecord(str(tmp_path)).orgs == {OTHER_ORG: {'sha256': 'a'}}


def test_record_that_is_a_link_a_directory_a_fifo_or_huge(tmp_path):
    path = tmp_path / '.sfjwt-deploy.json'
    os.symlink('/etc/passwd', str(path))
    assert raises(deploy.DeployRecord, str(tmp_path)).msg == (
        'deploy record %s is a symbolic link; links are not followed in a project (a link could expose any file to the org). '
        'Replace it with the file itself.' % path)
    path.unlink()
    path.mkdir()
    assert raises(deploy.DeployRecord, str(tmp_path)).msg == (
        'deploy record %s is not a regular file; remove it or replace it with the file.' % path)
    path.rmdir()
    os.mkfifo(str(path))
    assert raises(deploy.DeployRecord, str(tmp_path)).msg == (
        'deploy record %s is not a regular file; remove it or replace it with the file.' % path)
    path.unlink()
    with open(str(path), 'wb') as handle:
        handle.truncate(1000 * 1000 + 1)
    assert raises(deploy.DeployRecord, str(tmp_path)).msg == (
        'deploy record %s has 1000001 bytes, more than this module deploys (1000000).' % path)


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads every file')
def test_unreadable_record(tmp_path):
    path = tmp_path / '.sfjwt-deploy.json'
    path.write_text('{"orgs": {}}')
    path.chmod(0)
    assert raises(deploy.DeployRecord, str(tmp_path)).msg == 'cannot read deploy record %s: Permission denied' % path


def test_unreadable_record_as_root_too(tmp_path, monkeypatch):
    path = tmp_path / '.sfjwt-deploy.json'
    path.write_text('{"orgs": {}}')
    real_open = os.open

    def refusing_open(name, *args, **kwargs):
        if name == str(path):
            raise PermissionError(13, 'Permission denied', name)
        return real_open(name, *args, **kwargs)
    monkeypatch.setattr(deploy.os, 'open', refusing_open)
    assert raises(deploy.DeployRecord, str(tmp_path)).msg == 'cannot read deploy record %s: Permission denied' % path


def test_record_write_failure_is_reported(tmp_path, monkeypatch):
    def no_space(path, data, mode=0o600):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(deploy, 'write_file_atomic', no_space)
    assert raises(deploy.DeployRecord(str(tmp_path)).remember, ORG_18, 'a' * 64, DEPLOY_ID, INSTANCE).msg == (
        'The deploy succeeded, but its record %s/.sfjwt-deploy.json could not be written (No space left on device); the next '
        'run deploys again.' % tmp_path)


# -- options ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value', [0, -1, 21601, 10 ** 30, True, False, 1.5, '600', None])
def test_absurd_wait_timeout_is_refused_before_anything(tmp_path, value):
    client, http = client_for(failing)
    assert raises(deploy.run, client, str(tmp_path / 'nothing-here'), wait_timeout=value).msg == (
        'wait_timeout must be a number of seconds from 1 to 21600 (got %r).' % (value,))
    assert http.calls == []


@pytest.mark.parametrize('value', [0, 0.05, -2, 301, float('nan'), float('inf'), True, '2', None])
def test_absurd_poll_interval_is_refused_before_anything(tmp_path, value):
    client, http = client_for(failing)
    assert raises(deploy.run, client, str(tmp_path / 'nothing-here'), poll_interval=value).msg == (
        'poll_interval must be from 0.1 to 300 seconds (got %r).' % (value,))
    assert http.calls == []


def test_option_bounds_are_accepted():
    client, dummy = client_for(failing)
    assert deploy.Deployer(client, wait_timeout=1, poll_interval=0.1).poll_interval == 0.1
    assert deploy.Deployer(client, wait_timeout=21600, poll_interval=300).wait_timeout == 21600


@pytest.mark.parametrize('kwargs, message', [
    ({'test_level': 'RunEverything'}, 'test_level must be one of NoTestRun, RunSpecifiedTests, RunLocalTests, RunAllTestsInOrg.'),
    ({'test_level': ['NoTestRun']}, 'test_level must be one of NoTestRun, RunSpecifiedTests, RunLocalTests, RunAllTestsInOrg.'),
    ({'run_tests': ['HelloTest']}, 'run_tests is used only with test_level=RunSpecifiedTests; set it, or remove run_tests.'),
    ({'test_level': 'RunLocalTests', 'run_tests': ['HelloTest']},
     'run_tests is used only with test_level=RunSpecifiedTests; set it, or remove run_tests.'),
    ({'test_level': 'RunSpecifiedTests'}, 'test_level=RunSpecifiedTests needs run_tests: the Apex test classes to run.'),
])
def test_test_options_are_checked(kwargs, message):
    assert raises(deploy.deploy_options, False, **kwargs).msg == message


def test_deploy_options():
    assert deploy.deploy_options(False) == {'checkOnly': False, 'rollbackOnError': True, 'ignoreWarnings': False, 'singlePackage': True}
    assert deploy.deploy_options(1, 'RunSpecifiedTests', ('HelloTest',), ignore_warnings='yes', rollback_on_error=0) == {
        'checkOnly': True, 'rollbackOnError': False, 'ignoreWarnings': True, 'singlePackage': True,
        'testLevel': 'RunSpecifiedTests', 'runTests': ['HelloTest']}


# -- the org id ------------------------------------------------------------------------------------------------

def test_org_id_from_the_session():
    client, http = client_for(failing, auth=OrgAuth(OTHER_ORG))
    assert client.org_id() == OTHER_ORG
    assert http.calls == []


@pytest.mark.parametrize('session_org', [None, '', '00D', '../../x', ORG_18 + '\n', ORG_18 + 'X', 42])
def test_org_id_from_the_token_prefix_as_18_characters(session_org):
    client, http = client_for(failing, auth=OrgAuth(session_org))
    assert client.org_id() == ORG_18
    client, http = client_for(failing, token=TOKEN)
    assert client.org_id() == ORG_18
    assert http.calls == []


def test_org_id_from_an_18_character_token_prefix():
    client, dummy = client_for(failing, token=OTHER_ORG + '!AQ-token')
    assert client.org_id() == OTHER_ORG


def test_org_id_from_a_query():
    def handler(call):
        assert call['path'] == API + 'query'
        assert parse_qs(urlsplit(call['url']).query) == {'q': ['SELECT Id FROM Organization']}
        return make_response(200, {'totalSize': 1, 'done': True, 'records': [{'attributes': {'type': 'Organization'}, 'Id': OTHER_ORG}]})
    client, http = client_for(handler, token=OPAQUE_TOKEN)
    assert client.org_id() == OTHER_ORG
    assert len(http.calls) == 1


@pytest.mark.parametrize('answer, message', [
    (make_response(200, {'totalSize': 0, 'done': True, 'records': []}),
     'Cannot tell which org this session belongs to: SELECT Id FROM Organization answered no org id.'),
    (make_response(200, {'totalSize': 1, 'done': True, 'records': ['x']}),
     'Cannot tell which org this session belongs to: SELECT Id FROM Organization answered no org id.'),
    (make_response(200, {'totalSize': 1, 'done': True, 'records': [{'Id': '../etc'}]}),
     'Cannot tell which org this session belongs to: SELECT Id FROM Organization answered no org id.'),
    (make_response(200, {'totalSize': 1, 'done': True, 'records': [{'Id': OTHER_ORG + '\n'}]}),
     'Cannot tell which org this session belongs to: SELECT Id FROM Organization answered no org id.'),
    (make_response(200, {'totalSize': 1, 'done': True, 'records': [{'Id': ['x']}]}),
     'Cannot tell which org this session belongs to: SELECT Id FROM Organization answered no org id.'),
])
def test_org_id_query_that_answers_no_org(answer, message):
    client, dummy = client_for(lambda call: answer, token=OPAQUE_TOKEN)
    assert raises(client.org_id, kind=ApiError).msg == message


@pytest.mark.parametrize('answer', [
    make_response(403, [{'errorCode': 'INSUFFICIENT_ACCESS', 'message': 'no ' + OPAQUE_TOKEN}]),
    make_response(502, {'proxy': 'upstream said token=' + OPAQUE_TOKEN}),
], ids=['error', 'json'])
def test_a_refused_org_id_query_fails_the_deploy_without_the_token(tmp_path, answer):
    apex_project(tmp_path)
    client, http = client_for(lambda call: answer, token=OPAQUE_TOKEN)
    error = raises(deploy.run, client, str(tmp_path), kind=ApiError)
    assert error.msg.startswith('Cannot tell which org this session belongs to: GET /services/data/v62.0/query answered HTTP %d '
                                '(accepted: 200, 201, 204) with ' % answer.status_code)
    assert error.msg.endswith(' (The org id tells what was deployed there.)')
    assert OPAQUE_TOKEN not in repr((error.msg, error.details))
    assert sorted(error.details) == ['errors', 'status']
    assert len(http.calls) == 1


# -- the exchange with the Metadata API ------------------------------------------------------------------------

def test_start_sends_the_multipart_request():
    org = Org([deploy_result('Succeeded')])
    runner, http, dummy = deployer(org)
    options = deploy.deploy_options(False, 'RunLocalTests')
    assert runner.start(b'PK-zip-bytes', options) == DEPLOY_ID
    call = http.calls[0]
    assert (call['method'], call['path'], call['params'], call['data']) == ('POST', DEPLOY_PATH, None, None)
    assert call['files'] == {'json': (None, json.dumps({'deployOptions': options}), 'application/json'),
                             'file': ('deploy.zip', b'PK-zip-bytes', 'application/zip')}
    # No Content-Type of our own: requests writes multipart/form-data with its boundary.
    assert call['headers'] == {'Authorization': 'Bearer ' + TOKEN, 'Accept': 'application/json'}
    prepared = requests.Request('POST', call['url'], files=call['files']).prepare()
    assert prepared.headers['Content-Type'].startswith('multipart/form-data; boundary=')
    assert (b'Content-Disposition: form-data; name="json"\r\nContent-Type: application/json\r\n\r\n'
            b'{"deployOptions": {"checkOnly": false, "rollbackOnError": true, "ignoreWarnings": false, "singlePackage": true, '
            b'"testLevel": "RunLocalTests"}}\r\n') in prepared.body
    assert (b'Content-Disposition: form-data; name="file"; filename="deploy.zip"\r\nContent-Type: application/zip\r\n\r\n'
            b'PK-zip-bytes\r\n') in prepared.body


@pytest.mark.parametrize('deploy_id', [None, 42, True, ['0Afxx00000001ABCAA'], '', '../../sobjects/Account', '0Afxx/../00001AB',
                                       '0Afxx00000001ABCAA\n', '0Afxx00000001ABCAA?x=1', '0Afxx0000', '0Afxx00000001ABCAA0'])
def test_start_refuses_an_unusable_deploy_id(deploy_id):
    runner, http, dummy = deployer(Org([], start=make_response(201, {'id': deploy_id, 'deployResult': {'status': 'Pending'}})))
    assert raises(runner.start, b'zip', {}, kind=ApiError).msg == 'Starting the deploy: Salesforce answered without a deploy id; nothing can be followed.'
    assert http.paths() == [('POST', DEPLOY_PATH)]


@pytest.mark.parametrize('answer, message', [
    (make_response(201, {'deployResult': {}}), 'Starting the deploy: Salesforce answered without a deploy id; nothing can be followed.'),
    (make_response(200, b'<html><head><title>Salesforce\n Maintenance</title></head></html>', content_type='text/html'),
     'Starting the deploy: Salesforce answered HTTP 200 with an HTML page titled "Salesforce Maintenance" (maintenance or an '
     'error page), not a deploy answer.'),
    (make_response(201, b'{"id": ', content_type='application/json'),
     'Starting the deploy: Salesforce answered HTTP 201 with the body is not valid JSON (JSONDecodeError), not a deploy answer.'),
    (make_response(201, ['0Afxx00000001ABCAA']), 'Starting the deploy: Salesforce answered HTTP 201 with application/json: '
                                                 '["0Afxx00000001ABCAA"], not a deploy answer.'),
    (make_response(201, None), 'Starting the deploy: Salesforce answered HTTP 201 with an empty body, not a deploy answer.'),
    (make_response(503, b'<html><title>Down for Maintenance</title></html>', content_type='text/html'),
     'Starting the deploy failed: POST /services/data/v62.0/metadata/deployRequest answered HTTP 503 (accepted: 200, 201) with '
     'an HTML page titled "Down for Maintenance" (maintenance or an error page).'),
    (make_response(500, [{'errorCode': 'UNKNOWN_EXCEPTION', 'message': 'boom ' + TOKEN + ' ' + PEM_IN_TEXT}]),
     'Starting the deploy failed: POST /services/data/v62.0/metadata/deployRequest answered HTTP 500 (accepted: 200, 201) with '
     'UNKNOWN_EXCEPTION: boom <redacted> <certificate>.'),
    (make_response(401, [{'errorCode': 'INVALID_AUTH_HEADER', 'message': 'bad'}]),
     'Starting the deploy failed: POST /services/data/v62.0/metadata/deployRequest answered HTTP 401 (accepted: 200, 201) with '
     'INVALID_AUTH_HEADER: bad. This 401 is not an expired session, so it was not retried: check the app\'s OAuth scopes '
     '(Api is needed for the REST API) and the user\'s "API Enabled" permission.'),
])
def test_start_answers_that_are_no_deploy(answer, message):
    runner, http, dummy = deployer(Org([], start=answer))
    assert raises(runner.start, b'zip', {}, kind=ApiError).msg == message
    assert len(http.calls) == 1


def test_errors_in_the_details_are_scrubbed_too():
    body = [{'errorCode': 'X_' + TOKEN, 'message': 'token ' + TOKEN + ' cert ' + PEM_IN_TEXT, 'fields': ['Name', TOKEN]}]
    runner, dummy, dummy2 = deployer(Org([], start=make_response(400, body)))
    error = raises(runner.start, b'zip', {}, kind=ApiError)
    assert error.details == {'status': 400, 'errors': [{'errorCode': 'X_<redacted>', 'message': 'token <redacted> cert <certificate>',
                                                        'fields': ['Name', '<redacted>']}]}
    assert TOKEN not in json.dumps(error.details) and TOKEN not in error.msg


def test_scrub_errors():
    errors = [{'errorCode': None, 'message': TOKEN, 'fields': [TOKEN, 3]}, 'junk', None]
    assert deploy.scrub_errors(errors, (TOKEN,)) == [{'errorCode': None, 'message': '<redacted>', 'fields': ['<redacted>', '3']}]
    assert deploy.scrub_errors(None) == []


def test_start_connection_error_names_the_step():
    def handler(call):
        raise requests.ConnectionError('Connection refused')
    runner, dummy, dummy2 = deployer(handler)
    error = raises(runner.start, b'zip', {}, kind=HttpError)
    assert error.msg.startswith('Starting the deploy failed: ')
    assert 'acme.my.salesforce.com' in error.msg


def test_wait_polls_until_done_and_reports_progress():
    org = Org([deploy_result('Pending'), deploy_result('InProgress', numberComponentsDeployed=3),
               deploy_result('Succeeded')])
    progress = []
    runner, http, fake = deployer(org, progress=progress.append, poll_interval=5)
    result = runner.wait(DEPLOY_ID)
    assert result['status'] == 'Succeeded'
    assert http.paths() == [('GET', STATUS_PATH)] * 3
    assert all(call['params'] == {'includeDetails': 'true'} and call['url'].endswith('?includeDetails=true') for call in http.calls)
    assert fake.sleeps == [5.0, 5.0]
    assert progress == ['Deploy %s: Pending, 0 of 7 components deployed, 0 errors (0 s)' % DEPLOY_ID,
                        'Deploy %s: InProgress, 3 of 7 components deployed, 0 errors (5 s)' % DEPLOY_ID,
                        'Deploy %s: Succeeded, 7 of 7 components deployed, 0 errors (10 s)' % DEPLOY_ID]


def test_last_sleep_is_cut_to_the_timeout():
    runner, http, fake = deployer(Org([deploy_result('InProgress')]), wait_timeout=5, poll_interval=2)
    with pytest.raises(ApiError):
        runner.wait(DEPLOY_ID)
    assert fake.sleeps[:3] == [2.0, 2.0, 1.0]


@pytest.mark.parametrize('value', ['7', -7, True, 10 ** 40, None, 7.5, [7], {'n': 7}])
def test_hostile_counters_do_not_crash(value):
    result = deploy_result('InProgress', numberComponentsTotal=value, numberComponentsDeployed=value, numberComponentErrors=value)
    progress = []
    runner, dummy, dummy2 = deployer(Org([result, deploy_result('Succeeded')]), progress=progress.append)
    runner.wait(DEPLOY_ID)
    shown = value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
    assert progress[0] == 'Deploy %s: InProgress, %d of %d components deployed, %d errors (0 s)' % (DEPLOY_ID, shown, shown, shown)


@pytest.mark.parametrize('payload', [
    {'id': DEPLOY_ID},
    {'deployResult': None},
    {'deployResult': ['Succeeded']},
    {'deployResult': {'status': 'Exploded'}},
    {'deployResult': {'status': ['Succeeded']}},
    {'deployResult': {'status': {'Succeeded': 1}}},
    {'deployResult': {'status': None, 'done': True}},
    {'deployResult': {'status': 'succeeded'}},
])
def test_unknown_status_is_an_error(payload):
    runner, http, dummy = deployer(Org([make_response(200, payload)]))
    assert raises(runner.wait, DEPLOY_ID, kind=ApiError).msg == (
        'Checking deploy %s: the answer holds no deploy status Salesforce documents.' % DEPLOY_ID)
    assert len(http.calls) == 1


@pytest.mark.parametrize('answer, message', [
    (make_response(503, b'<html><title>Maintenance</title></html>', content_type='text/html'),
     'Checking deploy {id} failed: GET /services/data/v62.0/metadata/deployRequest/{id} answered HTTP 503 (accepted: 200) with '
     'an HTML page titled "Maintenance" (maintenance or an error page).'),
    (make_response(404, [{'errorCode': 'NOT_FOUND', 'message': 'The requested resource does not exist'}]),
     'Checking deploy {id} failed: GET /services/data/v62.0/metadata/deployRequest/{id} answered HTTP 404 (accepted: 200) with '
     'NOT_FOUND: The requested resource does not exist.'),
    (make_response(200, b'<html>ok</html>', content_type='text/html'),
     'Checking deploy {id}: Salesforce answered HTTP 200 with an HTML page (maintenance or an error page), not a deploy answer.'),
    (make_response(200, b'x' * 5000000, content_type='text/plain'),
     'Checking deploy {id}: Salesforce answered HTTP 200 with text/plain: <base64>, not a deploy answer.'),
    pytest.param(make_response(200, b'{"deployResult": ' * 100000, content_type='application/json'),
                 'Checking deploy {id}: Salesforce answered HTTP 200 with the body is not valid JSON (RecursionError), not a deploy '
                 'answer.', id='nested 100000 deep'),
])
def test_failed_poll_names_the_deploy(answer, message):
    runner, dummy, dummy2 = deployer(Org([answer]))
    assert raises(runner.wait, DEPLOY_ID, kind=ApiError).msg == message.format(id=DEPLOY_ID)


def test_connection_lost_while_polling_names_the_deploy():
    def handler(call):
        raise requests.ConnectionError('Connection reset by peer')
    runner, dummy, dummy2 = deployer(handler)
    error = raises(runner.wait, DEPLOY_ID, kind=HttpError)
    assert error.msg.startswith('Checking deploy %s failed: ' % DEPLOY_ID)


def test_a_401_while_polling_renews_the_session_once_and_scrubs_both_tokens():
    failure = {'componentType': 'ApexClass', 'fullName': 'Hello', 'fileName': 'classes/Hello.cls', 'problemType': 'Error',
               'problem': 'old %s new %s' % (TOKEN, NEW_TOKEN), 'lineNumber': 3}
    answers = iter([make_response(200, {'deployResult': deploy_result('InProgress')}),
                    make_response(401, INVALID_SESSION),
                    make_response(200, {'deployResult': deploy_result('Failed', details={'componentFailures': [failure]})})])
    warnings = []
    auth = OrgAuth(ORG_18)
    client, http = client_for(lambda call: next(answers), auth=auth)
    client.warn = warnings.append
    fake = Clock()
    runner = deploy.Deployer(client, clock=fake, sleep=fake.sleep)
    result = runner.wait(DEPLOY_ID)
    assert [bearer(call) for call in http.calls] == [TOKEN, TOKEN, NEW_TOKEN]
    assert auth.invalidated == [TOKEN] and auth.minted == 2
    assert len(warnings) == 1
    failures = deploy.component_failures(result, runner.client.tokens_used())
    assert failures[0]['problem'] == 'old <redacted> new <redacted>'


def test_a_second_401_while_polling_is_an_error():
    runner, http, dummy = deployer(lambda call: make_response(401, INVALID_SESSION), auth=OrgAuth(ORG_18))
    error = raises(runner.wait, DEPLOY_ID, kind=ApiError)
    assert error.msg == (
        'Checking deploy %s failed: GET /services/data/v62.0/metadata/deployRequest/%s answered HTTP 401 (accepted: 200) with '
        'INVALID_SESSION_ID: Session expired or invalid. Salesforce rejected a freshly minted session as well: check that the '
        'app\'s OAuth scopes include Api and that the session is valid for the REST API.' % (DEPLOY_ID, DEPLOY_ID))
    assert len(http.calls) == 2


def test_a_static_token_rejected_while_polling_is_a_deploy_error():
    runner, http, dummy = deployer(lambda call: make_response(401, INVALID_SESSION))
    error = raises(runner.wait, DEPLOY_ID, kind=ApiError)
    assert error.msg.startswith('Checking deploy %s failed: Salesforce rejected the access_token given' % DEPLOY_ID)
    assert error.details == {'status': 401}
    assert TOKEN not in error.msg and len(http.calls) == 1


def test_cancel_sends_the_patch():
    org = Org([deploy_result('InProgress')])
    runner, http, dummy = deployer(org)
    runner.cancel(DEPLOY_ID)
    call = http.calls[0]
    assert (call['method'], call['path']) == ('PATCH', STATUS_PATH)
    assert json.loads(call['data']) == {'deployResult': {'status': 'Canceling'}}
    assert call['headers']['Content-Type'] == 'application/json'


# -- failures, as the message names them ------------------------------------------------------------------------

def test_component_failures_from_hostile_details():
    failures = [
        {'componentType': 'ApexClass', 'fullName': 'Hello', 'fileName': 'classes/Hello.cls', 'problemType': 'Error',
         'problem': 'Unexpected token', 'lineNumber': 12, 'columnNumber': 4},
        'not a dict', None, 42, ['x'],
        {'componentType': {'x': 1}, 'fullName': None, 'lineNumber': '12', 'problem': 5},
        {'lineNumber': True}, {'lineNumber': -3}, {'lineNumber': 0},
    ]
    result = deploy.component_failures({'details': {'componentFailures': failures}})
    assert result == [
        {'componentType': 'ApexClass', 'fullName': 'Hello', 'fileName': 'classes/Hello.cls', 'problem': 'Unexpected token',
         'problemType': 'Error', 'lineNumber': 12},
        {'componentType': "{'x': 1}", 'fullName': None, 'fileName': None, 'problem': '5', 'problemType': None, 'lineNumber': None},
        {'componentType': None, 'fullName': None, 'fileName': None, 'problem': None, 'problemType': None, 'lineNumber': None},
        {'componentType': None, 'fullName': None, 'fileName': None, 'problem': None, 'problemType': None, 'lineNumber': None},
        {'componentType': None, 'fullName': None, 'fileName': None, 'problem': None, 'problemType': None, 'lineNumber': None},
    ]
    one = {'componentType': 'PermissionSet', 'fullName': 'X', 'problem': 'p'}
    assert deploy.component_failures({'details': {'componentFailures': one}})[0]['fullName'] == 'X'
    for details in (None, [], 'x', {'componentFailures': 'x'}, {'componentFailures': None}):
        assert deploy.component_failures({'details': details}) == []
    assert deploy.test_failures({'details': {'runTestResults': {'failures': {'name': 'T', 'methodName': 'm', 'message': 'boom'}}}}) == [
        {'name': 'T', 'methodName': 'm', 'message': 'boom', 'stackTrace': None}]
    assert deploy.test_failures({'details': {'runTestResults': ['x']}}) == []


def test_scrub():
    text = 'a\x1b[31mred\x00\x07 %s\n\tkey -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- %s tail' % (TOKEN, 'A' * 300)
    assert deploy.scrub(text, (TOKEN,)) == 'a [31mred   <redacted>\n\tkey <certificate> <base64> tail'
    assert deploy.scrub('cut -----BEGIN CERTIFICATE-----\nMIIB') == 'cut <certificate>'
    assert deploy.scrub(None) == '' and deploy.scrub(12) == '12'
    huge = deploy.scrub('word ' * 1000000)
    assert len(huge) == 2003 and huge.endswith('...')
    # The secret is removed before the text is cut: no part of it is left at the cut.
    assert TOKEN[:10] not in deploy.scrub('x' * 1995 + ' ' + TOKEN, (TOKEN,))


# -- run() end to end ------------------------------------------------------------------------------------------

def success_org(*polls):
    return Org(list(polls) or [deploy_result('InProgress'), deploy_result('Succeeded')])


def deploy_paths(http):
    """The calls of the REST deploy, the SOAP reads of the org's components left out."""
    return [path for path in http.paths() if path[1] != SOAP_PATH]


def read_types(http):
    """The metadata types read from the org, in order."""
    return [ET.fromstring(call['data']).find('.//{%s}type' % org_metadata.METADATA_NS).text
            for call in http.calls if call['path'] == SOAP_PATH]


def test_first_deploy_is_recorded_and_the_second_sends_nothing(tmp_path, certificate_pem, clock):
    project = app_project(tmp_path, certificate_pem)
    client, http = client_for(success_org())
    progress = []
    org = success_org()
    client, http = client_for(org)
    result = deploy.run(client, project, progress=progress.append)
    zip_bytes, sha256, components = deploy_source.SourceProject(project).build()
    drift, diff = result.pop('drift'), result.pop('diff')
    assert result == {'changed': True, 'org_id': ORG_18, 'sha256': sha256, 'components': components, 'check_only': False,
                      'deploy_id': DEPLOY_ID, 'status': 'Succeeded', 'components_total': 7, 'components_deployed': 7,
                      'component_failures': [], 'test_failures': [], 'record_path': os.path.join(project, '.sfjwt-deploy.json'),
                      'api_version': '62.0'}
    # Every component was read from the org (one readMetadata a type) and found missing.
    assert read_types(http) == sorted({component.split(':')[0] for component in components})
    assert [(entry['type'] + ':' + entry['name'], entry['state']) for entry in drift] == [(c, 'missing') for c in components]
    assert len(diff) == len(components) and all(entry['before'] == '' for entry in diff)
    assert deploy_paths(http) == [('POST', DEPLOY_PATH), ('GET', STATUS_PATH), ('GET', STATUS_PATH)]
    post = [call for call in http.calls if call['path'] == DEPLOY_PATH][0]
    assert post['files']['file'][1] == zip_bytes
    assert json.loads(post['files']['json'][1]) == {'deployOptions': {'checkOnly': False, 'rollbackOnError': True,
                                                                      'ignoreWarnings': False, 'singlePackage': True}}
    assert len(progress) == 2 + len(components) and clock.sleeps == [2.0]
    record = record_of(project)
    assert record['orgs'][ORG_18]['sha256'] == sha256 and record['orgs'][ORG_18]['deploy_id'] == DEPLOY_ID
    assert mode_of(os.path.join(project, '.sfjwt-deploy.json')) == 0o600
    with open(os.path.join(project, '.gitignore')) as handle:
        gitignore = handle.read()
    assert gitignore.count('/.sfjwt-deploy.json\n') == 1 and gitignore.count('**/extlClntAppGlobalOauthSets/') == 1

    # The same content to the same org: the org is read, holds every component as the project has it, nothing is sent.
    client2, http2 = client_for(org)
    again = deploy.run(client2, project)
    assert deploy_paths(http2) == []
    expected = dict(result, changed=False, status=None, components_total=6, components_deployed=0, drift=[], diff=[])
    del expected['api_version']
    assert again == expected
    # The record is not rewritten; the .gitignore keeps one entry.
    assert record_of(project) == record
    with open(os.path.join(project, '.gitignore')) as handle:
        assert handle.read() == gitignore


def test_run_renews_a_session_rejected_during_the_polls(tmp_path, clock):
    project = apex_project(tmp_path)
    org = success_org(deploy_result('InProgress'), make_response(401, INVALID_SESSION), deploy_result('Succeeded'))
    auth = OrgAuth(ORG_18)
    client, http = client_for(org, auth=auth)
    result = deploy.run(client, project)
    assert result['changed'] is True and result['status'] == 'Succeeded'
    assert [(c['method'], bearer(c)) for c in http.calls if c['path'] != SOAP_PATH] == [
        ('POST', TOKEN), ('GET', TOKEN), ('GET', TOKEN), ('GET', NEW_TOKEN)]
    assert auth.invalidated == [TOKEN]
    assert record_of(project)['orgs'][ORG_18]['deploy_id'] == DEPLOY_ID


def test_the_url_in_the_answer_is_not_followed(tmp_path, clock):
    project = apex_project(tmp_path)
    start = make_response(201, {'id': DEPLOY_ID, 'url': 'https://evil.example.com/services/data/v62.0/metadata/deployRequest/x',
                                'deployResult': {'status': 'Pending'}})
    client, http = client_for(Org([deploy_result('Succeeded')], start=start))
    deploy.run(client, project)
    assert {urlsplit(call['url']).netloc for call in http.calls} == {'acme.my.salesforce.com'}
    assert deploy_paths(http) == [('POST', DEPLOY_PATH), ('GET', STATUS_PATH)]


def test_record_written_with_an_18_character_org_id_matches_a_15_character_token_prefix(tmp_path, clock):
    project = apex_project(tmp_path)
    client, http = client_for(success_org(), auth=OrgAuth(ORG_18))
    deploy.run(client, project)
    # the same org, from an access_token: 00Dxx0000001gPL!...; its metadata cannot be read, so the record decides.
    client2, http2 = client_for(unreadable_org(failing), token=TOKEN)
    assert deploy.run(client2, project)['changed'] is False
    assert deploy_paths(http2) == []


def test_force_deploys_again_and_changed_content_is_deployed(tmp_path, clock):
    project = apex_project(tmp_path)
    org = success_org()
    deploy.run(client_for(org)[0], project)
    org.polls = [deploy_result('InProgress'), deploy_result('Succeeded')]
    client, http = client_for(org)
    assert deploy.run(client, project, force=True)['changed'] is True
    assert http.paths()[0] == ('POST', DEPLOY_PATH)   # nothing read from the org first
    with open(os.path.join(project, DEFAULT, 'classes', 'Hello.cls'), 'ab') as handle:
        handle.write(b'// changed\n')
    org.polls = [deploy_result('InProgress'), deploy_result('Succeeded')]
    client, http = client_for(org)
    result = deploy.run(client, project)
    assert result['changed'] is True and len(deploy_paths(http)) == 3
    assert result['drift'] == [{'type': 'ApexClass', 'name': 'Hello', 'state': 'differs', 'fields': [
        {'field': 'content', 'org': printable(APEX_SOURCE.decode().strip()),
         'project': printable(APEX_SOURCE.decode().strip() + '\n// changed')}]}]
    assert record_of(project)['orgs'][ORG_18]['sha256'] == result['sha256']


def test_another_org_is_deployed_to(tmp_path, clock):
    project = apex_project(tmp_path)
    deploy.run(client_for(success_org())[0], project)
    client, http = client_for(success_org(), token=OTHER_ORG + '!AQ-x')
    assert deploy.run(client, project)['changed'] is True
    assert sorted(record_of(project)['orgs']) == sorted([ORG_18, OTHER_ORG])


def test_check_mode_validates_and_records_nothing(tmp_path, clock):
    project = apex_project(tmp_path)
    client, http = client_for(success_org(deploy_result('Succeeded', checkOnly=True)))
    result = deploy.run(client, project, check_mode=True, test_level='RunSpecifiedTests', run_tests=['HelloTest'])
    assert result['changed'] is True and result['check_only'] is True and result['status'] == 'Succeeded'
    assert json.loads([c for c in http.calls if c['path'] == DEPLOY_PATH][0]['files']['json'][1]) == {'deployOptions': {
        'checkOnly': True, 'rollbackOnError': True, 'ignoreWarnings': False, 'singlePackage': True,
        'testLevel': 'RunSpecifiedTests', 'runTests': ['HelloTest']}}
    assert sorted(os.listdir(project)) == ['force-app', 'sfdx-project.json']
    # Once deployed for real, check mode sends nothing either (the org holds what the project has).
    org = success_org()
    deploy.run(client_for(org)[0], project)
    client, http = client_for(org)
    assert deploy.run(client, project, check_mode=True)['changed'] is False
    assert deploy_paths(http) == []


HELLO_FAILURE = {'componentType': 'ApexClass', 'fullName': 'Hello', 'fileName': 'classes/Hello.cls', 'problemType': 'Error',
                 'problem': "Unexpected token 'x'.", 'lineNumber': 2, 'columnNumber': 5, 'success': False}
ECA_FAILURE = {'componentType': 'ExtlClntAppGlobalOauthSettings', 'fullName': 'SfjwtApp',
               'fileName': 'extlClntAppGlobalOauthSets/SfjwtApp.ecaGlblOauth', 'problemType': 'Error',
               'problem': 'You do not have permission to view the consumer secret.', 'success': False}


def test_failed_deploy_names_component_file_line_problem_and_hint(tmp_path, clock):
    project = apex_project(tmp_path)
    warning = dict(HELLO_FAILURE, problemType='Warning', problem='deprecated')
    failed = deploy_result('Failed', numberComponentErrors=2, details={'componentFailures': [HELLO_FAILURE, ECA_FAILURE, warning]})
    client, http = client_for(success_org(deploy_result('InProgress'), failed))
    error = raises(deploy.run, client, project, kind=ApiError)
    assert error.msg == (
        'Deploy %s failed.\n' % DEPLOY_ID +
        "- ApexClass Hello (classes/Hello.cls, line 2): Unexpected token 'x'.\n"
        '- ExtlClntAppGlobalOauthSettings SfjwtApp (extlClntAppGlobalOauthSets/SfjwtApp.ecaGlblOauth): You do not have '
        'permission to view the consumer secret. ' + CONSUMER_SECRET_HINT + '\n'
        'Nothing was saved in the org; fix the files above and make the change in Setup said above, then run again.')
    assert error.details['changed'] is False and error.details['status'] == 'Failed'
    assert error.details['deploy_id'] == DEPLOY_ID and error.details['components_deployed'] == 0
    assert [f['fullName'] for f in error.details['component_failures']] == ['Hello', 'SfjwtApp', 'Hello']
    assert not os.path.exists(os.path.join(project, deploy.RECORD_FILE))
    assert not os.path.exists(os.path.join(project, '.gitignore'))
    assert len(deploy_paths(http)) == 3


CONSUMER_SECRET_HINT = (
    'The fix is in Setup: as an admin, turn on the org setting "Allow Access to OAuth Consumer Secrets via Metadata API" '
    '(deploying an External Client App\'s OAuth settings, its consumer key and certificate, needs it); a deploying user '
    'who is not an admin also needs the user permission "View External Client Apps Consumer Secrets in Metadata". The '
    'setting "Allow access to External Client App consumer secrets via REST API" (External Client App Manager > '
    'Settings, on releases with API 62.0 and later) is for reading consumer secrets through the REST API; if your org '
    'has it and the deploy still fails with the first one on, turn it on too.')


def test_a_missing_org_setting_is_fixed_in_setup_not_in_the_files(tmp_path, clock):
    project = apex_project(tmp_path)
    failed = deploy_result('Failed', numberComponentErrors=1, details={'componentFailures': [ECA_FAILURE]})
    client, http = client_for(success_org(deploy_result('InProgress'), failed))
    error = raises(deploy.run, client, project, kind=ApiError)
    assert error.msg == (
        'Deploy %s failed.\n' % DEPLOY_ID +
        '- ExtlClntAppGlobalOauthSettings SfjwtApp (extlClntAppGlobalOauthSets/SfjwtApp.ecaGlblOauth): You do not have '
        'permission to view the consumer secret. ' + CONSUMER_SECRET_HINT + '\n'
        'Nothing was saved in the org; the fix is in Setup, not in the files: make the change said above, then run again.')
    assert 'fix the files' not in error.msg


def test_failure_in_check_mode_and_with_tests(tmp_path, clock):
    project = apex_project(tmp_path)
    tests = {'numRun': 1, 'numFailures': 1, 'failures': [{'name': 'HelloTest', 'methodName': 'itSaysHi', 'message': 'Assertion failed',
                                                          'stackTrace': 'Class.HelloTest.itSaysHi: line 3'}]}
    failed = deploy_result('Failed', details={'componentFailures': [], 'runTestResults': tests})
    client, dummy = client_for(success_org(failed))
    error = raises(deploy.run, client, project, check_mode=True, test_level='RunLocalTests', kind=ApiError)
    assert error.msg == ('Validation %s failed.\n- test HelloTest.itSaysHi: Assertion failed\n'
                         'Nothing was saved in the org (check mode validates only).' % DEPLOY_ID)
    assert error.details['test_failures'] == [{'name': 'HelloTest', 'methodName': 'itSaysHi', 'message': 'Assertion failed',
                                               'stackTrace': 'Class.HelloTest.itSaysHi: line 3'}]


def test_succeeded_partial(tmp_path, clock):
    project = apex_project(tmp_path)
    partial = deploy_result('SucceededPartial', numberComponentsDeployed=1, details={'componentFailures': HELLO_FAILURE})
    client, dummy = client_for(success_org(partial))
    error = raises(deploy.run, client, project, rollback_on_error=False, kind=ApiError)
    assert error.msg == ('Deploy %s ended as SucceededPartial.\n'
                         "- ApexClass Hello (classes/Hello.cls, line 2): Unexpected token 'x'.\n"
                         'The components without errors were saved (rollback_on_error=false); fix the others and deploy again.'
                         % DEPLOY_ID)
    assert error.details['changed'] is True and error.details['components_deployed'] == 1
    assert not os.path.exists(os.path.join(project, deploy.RECORD_FILE))


def test_whole_deploy_error_message(tmp_path, clock):
    project = apex_project(tmp_path)
    failed = deploy_result('Failed', errorStatusCode='INVALID_CROSS_REFERENCE_KEY',
                           errorMessage='testLevel of NoTestRun cannot be used in production organizations')
    client, dummy = client_for(success_org(failed))
    error = raises(deploy.run, client, project, test_level='NoTestRun', kind=ApiError)
    assert error.msg == (
        'Deploy %s failed.\n'
        'Salesforce refused the deploy as a whole: INVALID_CROSS_REFERENCE_KEY: testLevel of NoTestRun cannot be used in '
        'production organizations\n'
        'Set test_level (RunLocalTests, or RunSpecifiedTests with run_tests): production orgs run tests for Apex.\n'
        'Nothing was saved in the org; fix the files above and run again.' % DEPLOY_ID)


def test_canceled_in_the_org_and_a_lying_success(tmp_path, clock):
    project = apex_project(tmp_path)
    client, dummy = client_for(success_org(deploy_result('Canceled')))
    assert raises(deploy.run, client, project, kind=ApiError).msg == (
        'Deploy %s ended as Canceled.\nSomeone canceled it in the org; nothing was saved.' % DEPLOY_ID)
    client, dummy = client_for(success_org(deploy_result('Succeeded', success=False)))
    assert raises(deploy.run, client, project, kind=ApiError).msg.startswith('Deploy %s ended as Succeeded.\n' % DEPLOY_ID)
    assert not os.path.exists(os.path.join(project, deploy.RECORD_FILE))


def test_many_failures_and_hostile_problem_texts(tmp_path, clock):
    project = apex_project(tmp_path)
    hostile = 'leak %s and %s \x1b]0;title\x07 %s' % (TOKEN, PEM_IN_TEXT, 'y' * 3000000)
    failures = [dict(HELLO_FAILURE, fullName='C%02d' % i, problem=hostile) for i in range(25)]
    failed = deploy_result('Failed', details={'componentFailures': failures}, errorMessage=hostile, errorStatusCode=TOKEN)
    client, dummy = client_for(success_org(failed))
    error = raises(deploy.run, client, project, kind=ApiError)
    lines = error.msg.split('\n')
    assert lines[0] == 'Deploy %s failed.' % DEPLOY_ID
    assert lines[1].startswith('Salesforce refused the deploy as a whole: <redacted>: leak <redacted> and <certificate>  ]0;title  <base64>')
    assert len(lines) == 1 + 1 + 20 + 1 + 1 and lines[-2] == '- ... and 5 more (see component_failures).'
    assert TOKEN not in error.msg and 'BEGIN' not in error.msg and '\x1b' not in error.msg and '\x07' not in error.msg
    assert len(error.msg) < 25 * 2100
    assert len(error.details['component_failures']) == 25
    assert error.details['component_failures'][0]['problem'] == 'leak <redacted> and <certificate>  ]0;title  <base64>'
    assert TOKEN not in json.dumps(error.details)


def test_timeout_cancels_once_and_says_so(tmp_path, clock):
    project = apex_project(tmp_path)
    org = Org([deploy_result('InProgress')], after_cancel=[deploy_result('Canceled')])
    client, http = client_for(org)
    error = raises(deploy.run, client, project, wait_timeout=10, poll_interval=2, kind=ApiError)
    assert error.msg == (
        'Deploy %s did not finish within wait_timeout (10 s, waited 10 s), so it was canceled (status now Canceled); '
        'Salesforce saves nothing of a canceled deploy. Run again with a longer wait_timeout, or check Setup > Deployment '
        'Status in the org.' % DEPLOY_ID)
    assert error.details == {'deploy_id': DEPLOY_ID, 'status': 'Canceled'}
    assert deploy_paths(http) == [('POST', DEPLOY_PATH)] + [('GET', STATUS_PATH)] * 6 + [('PATCH', STATUS_PATH), ('GET', STATUS_PATH)]
    patch = [call for call in http.calls if call['method'] == 'PATCH'][0]
    assert json.loads(patch['data']) == {'deployResult': {'status': 'Canceling'}} and patch['params'] is None
    assert clock.sleeps == [2.0] * 5
    assert not os.path.exists(os.path.join(project, deploy.RECORD_FILE))


def test_timeout_without_confirmation_gives_up_after_the_confirm_window(tmp_path, clock):
    project = apex_project(tmp_path)
    client, http = client_for(Org([deploy_result('InProgress')], after_cancel=[deploy_result('Canceling')]))
    error = raises(deploy.run, client, project, wait_timeout=1, poll_interval=10, kind=ApiError)
    assert error.msg == (
        'Deploy %s did not finish within wait_timeout (1 s, waited 1 s), so this module asked Salesforce to cancel it; 30 s '
        'later its status is Canceling, not Canceled yet: check Setup > Deployment Status in the org before deploying again. '
        'Run again with a longer wait_timeout, or check Setup > Deployment Status in the org.' % DEPLOY_ID)
    assert http.paths().count(('PATCH', STATUS_PATH)) == 1
    assert http.paths().count(('GET', STATUS_PATH)) == 2 + 3   # two before the PATCH, three in the 30 s window


def test_a_deploy_that_finishes_while_being_canceled_is_a_success(tmp_path, clock):
    project = apex_project(tmp_path)
    client, http = client_for(Org([deploy_result('InProgress')], after_cancel=[deploy_result('Succeeded')]))
    result = deploy.run(client, project, wait_timeout=4, poll_interval=2)
    assert result['changed'] is True and result['status'] == 'Succeeded'
    assert record_of(project)['orgs'][ORG_18]['deploy_id'] == DEPLOY_ID
    client, http = client_for(Org([deploy_result('InProgress')], after_cancel=[deploy_result('Failed')]))
    assert raises(deploy.run, client, project, wait_timeout=4, poll_interval=2, force=True, kind=ApiError).msg.startswith(
        'Deploy %s failed.' % DEPLOY_ID)


def test_cancel_refused_by_salesforce(tmp_path, clock):
    project = apex_project(tmp_path)
    cancel = make_response(400, [{'errorCode': 'INVALID_ID_FIELD', 'message': 'cannot cancel'}])
    client, http = client_for(Org([deploy_result('InProgress')], cancel=cancel))
    assert raises(deploy.run, client, project, wait_timeout=1, poll_interval=1, kind=ApiError).msg == (
        'Canceling deploy %s failed: PATCH /services/data/v62.0/metadata/deployRequest/%s answered HTTP 400 (accepted: 200, '
        '202) with INVALID_ID_FIELD: cannot cancel.' % (DEPLOY_ID, DEPLOY_ID))


def test_org_id_from_a_query_in_run(tmp_path, clock):
    project = apex_project(tmp_path)
    org = success_org()

    def handler(call):
        if call['path'] == API + 'query':
            return make_response(200, {'totalSize': 1, 'done': True, 'records': [{'Id': OTHER_ORG}]})
        return org(call)
    client, http = client_for(handler, token=OPAQUE_TOKEN)
    assert deploy.run(client, project)['org_id'] == OTHER_ORG
    assert deploy_paths(http)[:2] == [('GET', API + 'query'), ('POST', DEPLOY_PATH)]
    client, http = client_for(handler, token=OPAQUE_TOKEN)
    assert deploy.run(client, project)['changed'] is False
    assert deploy_paths(http) == [('GET', API + 'query')]


def test_api_version_is_discovered_only_when_deploying(tmp_path, clock):
    project = apex_project(tmp_path)
    org = success_org()

    def handler(call):
        if call['path'] == '/services/data/':
            return make_response(200, [{'version': '61.0'}, {'version': '62.0'}])
        return org(call)
    http = Http(handler)
    client = rest.RestClient(rest.StaticCredentials(TOKEN, INSTANCE), http, api_version='latest')
    assert deploy.run(client, project)['api_version'] == '62.0'
    assert http.paths()[0] == ('GET', '/services/data/')


@pytest.mark.parametrize('breakage', ['link', 'fifo', 'unknown', 'xml', 'record', 'record-dir', 'manifest-outside', 'orphan'])
def test_broken_inputs_send_nothing_and_write_nothing(tmp_path, breakage, clock):
    project = apex_project(tmp_path / 'p')
    classes = os.path.join(project, DEFAULT, 'classes')
    manifest = None
    if breakage == 'link':
        os.symlink('/etc/passwd', os.path.join(classes, 'Leak.cls-meta.xml'))
    elif breakage == 'fifo':
        os.mkfifo(os.path.join(classes, 'Pipe.cls-meta.xml'))
    elif breakage == 'unknown':
        write_files(project, {os.path.join(DEFAULT, 'lwc', 'x.js'): b''}, project=False)
    elif breakage == 'xml':
        write_files(project, {os.path.join(DEFAULT, 'classes', 'Hello.cls-meta.xml'): b'<ApexClass>'}, project=False)
    elif breakage == 'record':
        write_files(project, {deploy.RECORD_FILE: b'{"orgs": '}, project=False)
    elif breakage == 'record-dir':
        os.mkdir(os.path.join(project, deploy.RECORD_FILE))
    elif breakage == 'manifest-outside':
        manifest = str(tmp_path / 'package.xml')
    elif breakage == 'orphan':
        write_files(project, {os.path.join(DEFAULT, 'classes', 'Orphan.cls'): b''}, project=False)
    before = sorted(os.listdir(project))
    client, http = client_for(failing)
    raises(deploy.run, client, project, manifest=manifest, force=True)
    assert http.calls == []
    assert sorted(os.listdir(project)) == before


def test_record_that_cannot_be_written_keeps_the_result(tmp_path, clock, monkeypatch):
    project = apex_project(tmp_path)

    def read_only(path, data, mode=0o600):
        raise OSError(30, 'Read-only file system')
    monkeypatch.setattr(deploy, 'write_file_atomic', read_only)
    client, http = client_for(success_org())
    error = raises(deploy.run, client, project)
    assert error.msg == ('The deploy succeeded, but its record %s/.sfjwt-deploy.json could not be written (Read-only file system); '
                         'the next run deploys again.' % project)
    assert error.details['changed'] is True and error.details['deploy_id'] == DEPLOY_ID and error.details['status'] == 'Succeeded'


def test_result_and_messages_never_hold_the_token(tmp_path, clock):
    project = apex_project(tmp_path)
    failure = dict(HELLO_FAILURE, problem=TOKEN, fileName=TOKEN, fullName=TOKEN, componentType=TOKEN)
    tests = {'failures': [{'name': TOKEN, 'methodName': TOKEN, 'message': TOKEN, 'stackTrace': TOKEN}]}
    failed = deploy_result('Failed', details={'componentFailures': [failure], 'runTestResults': tests}, errorMessage=TOKEN)
    progress = []
    client, dummy = client_for(success_org(failed))
    error = raises(deploy.run, client, project, progress=progress.append, kind=ApiError)
    assert TOKEN not in error.msg and TOKEN not in json.dumps(error.details) and TOKEN not in json.dumps(progress)
    assert error.msg.count('<redacted>') == 8


def test_each_check_may_run_only_until_wait_timeout_and_one_cut_off_there_cancels():
    """wait_timeout is a deadline: each status check is given the time left (the last one a few seconds), and a check
    the HTTP layer cut off at that deadline ends in the cancel, not in a network error."""
    org = Org([deploy_result('InProgress')], after_cancel=[deploy_result('Canceled')])
    state = {}

    def handler(call):
        if call['method'] == 'GET' and 'give_up_after' in call and len([c for c in http.calls if c['method'] == 'GET']) == 3:
            state['fake'].now += round(call['give_up_after'])  # the check stalls until the HTTP layer gives up
            raise HttpError('%s did not send a complete answer within 30 seconds' % INSTANCE)
        return org(call)

    runner, http, fake = deployer(handler, wait_timeout=9, poll_interval=4)
    state['fake'] = fake
    with pytest.raises(ApiError) as caught:
        runner.wait(DEPLOY_ID)
    assert str(caught.value).startswith('Deploy %s did not finish within wait_timeout (9 s, waited 13 s), so it was '
                                        'canceled' % DEPLOY_ID)
    checks = [call['give_up_after'] for call in http.calls if call['method'] == 'GET' and 'give_up_after' in call]
    assert checks[:3] == pytest.approx([9.0, 5.0, deploy.LAST_CHECK_SECONDS], abs=0.5)
    # The cancel and its confirmation share one 30 s window.
    cancel = [call for call in http.calls if call['method'] == 'PATCH']
    assert len(cancel) == 1 and cancel[0]['give_up_after'] == pytest.approx(deploy.CANCEL_CONFIRM_SECONDS, abs=0.5)
    assert checks[3] == pytest.approx(deploy.CANCEL_CONFIRM_SECONDS, abs=0.5)


def test_no_answer_while_the_cancel_is_confirmed_ends_the_wait_within_the_window():
    org = Org([deploy_result('InProgress')], after_cancel=[deploy_result('Canceling')])
    state = {'cancelled': False}

    def handler(call):
        if call['method'] == 'PATCH':
            state['cancelled'] = True
        elif state['cancelled']:
            state['fake'].now += round(call['give_up_after'])
            raise HttpError('%s did not send a complete answer within 30 seconds' % INSTANCE)
        return org(call)

    runner, http, fake = deployer(handler, wait_timeout=4, poll_interval=2)
    state['fake'] = fake
    started = fake.now
    with pytest.raises(ApiError) as caught:
        runner.wait(DEPLOY_ID)
    assert 'so this module asked Salesforce to cancel it; 30 s later its status is Canceling' in str(caught.value)
    assert fake.now - started <= 4 + deploy.CANCEL_CONFIRM_SECONDS + 1
