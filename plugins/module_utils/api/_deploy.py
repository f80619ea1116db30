# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Deploy a Salesforce DX (source format) project through the REST Metadata API, without the Salesforce CLI.

Three parts:
- SourceProject (in _deploy_source): reads the project and converts it in memory to a Metadata API zip whose SHA-256
  names the content.
- DeployRecord: the SHA-256 of the last zip deployed successfully, per org id, in a 0600 file next to
  sfdx-project.json; the same content to the same org is not deployed again.
- Deployer: POST .../metadata/deployRequest (multipart json + file), poll until done, cancel on timeout, and turn
  the DeployResult into a result and a message that names each failing component and what to do.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import stat
import time

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._deploy_source import SourceProject, build_zip, read_project_file
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._org_metadata import (
    OrgMetadataUnreadable,
    drift,
    drift_summary,
    project_components,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, HttpError, InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import InvalidJson, directory_lock, parse_json, write_file_atomic
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata import update_gitignore

RECORD_FILE = '.sfjwt-deploy.json'
RECORD_GITIGNORE_ENTRY = '/' + RECORD_FILE
RECORD_GITIGNORE_COMMENT = ('# Written by sfjwt.salesforce.metadata_deploy: what was deployed to which org (org ids, deploy ids);\n'
                            '# it belongs to this checkout, not to the repository.\n')
RECORD_VERSION = 1

# Bounds for the options that set waiting.
MAX_WAIT_TIMEOUT = 6 * 3600
MIN_POLL_INTERVAL = 0.1
MAX_POLL_INTERVAL = 300
# How many component failures a message lists (the result has them all), and how long one problem text may be.
MAX_LISTED_FAILURES = 20
MAX_PROBLEM_CHARS = 2000
# After asking Salesforce to cancel, how long to wait for it to confirm (seconds).
CANCEL_CONFIRM_SECONDS = 30

TEST_LEVELS = ('NoTestRun', 'RunSpecifiedTests', 'RunLocalTests', 'RunAllTestsInOrg')
FINAL_STATUSES = ('Succeeded', 'SucceededPartial', 'Failed', 'Canceled')
KNOWN_STATUSES = ('Pending', 'InProgress', 'Canceling') + FINAL_STATUSES

# The Setup switches a deploy of an External Client App's consumer key and certificate depends on (Salesforce's Metadata
# API reference for ExtlClntAppGlobalOauthSettings); the doctor names them too. The REST API switch is a different one,
# easily mistaken for it: say what each is for rather than guess.
CONSUMER_SECRET_SWITCHES = (
    'as an admin, turn on the org setting "Allow Access to OAuth Consumer Secrets via Metadata API" (deploying an External '
    'Client App\'s OAuth settings, its consumer key and certificate, needs it); a deploying user who is not an admin also '
    'needs the user permission "View External Client Apps Consumer Secrets in Metadata". The setting "Allow access to '
    'External Client App consumer secrets via REST API" (External Client App Manager > Settings, on releases with API 62.0 '
    'and later) is for reading consumer secrets through the REST API; if your org has it and the deploy still fails with '
    'the first one on, turn it on too.')

# What Salesforce's problem texts mean, and what to do about them (matched case-insensitively); whether the fix is in
# Setup rather than in the files deployed.
PROBLEM_HINTS = (
    ('consumer secret', 'The fix is in Setup: %s' % CONSUMER_SECRET_SWITCHES, True),
    ('connected app creation', 'Salesforce no longer creates new Connected Apps (Spring \'26): use the External Client App '
                               '(app_metadata with connected_app=false), or update a Connected App that already exists.', False),
    ('named in package.xml, but was not found', 'The manifest lists a component the project does not have: fix the '
                                                'manifest, or leave it out to deploy every file of the project.', False),
    ('testlevel', 'Set test_level (RunLocalTests, or RunSpecifiedTests with run_tests): production orgs run tests for Apex.',
     False),
    ('insufficient access', 'Deploy as an admin: the user needs "Modify Metadata Through Metadata API Functions" and, '
                            'for External Client Apps, "Create, edit, and delete External Client Apps".', True),
)


# ---------------------------------------------------------------------------------------------- the deploy record

class DeployRecord:
    """What was deployed successfully, per org id: {org_id: {sha256, deploy_id, deployed_at}}, in a 0600 JSON file."""

    def __init__(self, project_dir):
        self.path = os.path.join(project_dir, RECORD_FILE)
        self.orgs = {}
        data = read_project_file(self.path, 'deploy record', limit=1000 * 1000)
        if data is None:
            return
        try:
            content = parse_json(data, self.path)
        except InvalidJson:
            content = None
        orgs = content.get('orgs') if isinstance(content, dict) else None
        if not isinstance(orgs, dict):
            raise InputError('The deploy record %s is not what this module writes; remove it (the next deploy writes it '
                             'again).' % self.path)
        self.orgs = {org: entry for org, entry in orgs.items() if isinstance(org, str) and isinstance(entry, dict)}

    def deployed(self, org_id, sha256):
        entry = self.orgs.get(org_id) or {}
        return entry.get('sha256') == sha256

    def remember(self, org_id, sha256, deploy_id, instance_url):
        entry = {'sha256': sha256, 'deploy_id': deploy_id, 'instance_url': instance_url,
                 'deployed_at': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}
        project_dir = os.path.dirname(self.path)
        gitignore = os.path.join(project_dir, '.gitignore')
        try:
            # Org hosts of one play deploy the same project at once: each adds its org to the record as it is now.
            # The directory itself, also when project_dir is a link to it (the playbook's choice, _deploy_source).
            with directory_lock(os.path.realpath(project_dir)):
                self.orgs = DeployRecord(project_dir).orgs
                self.orgs[org_id] = entry
                content = {'version': RECORD_VERSION, 'orgs': self.orgs}
                write_file_atomic(self.path, (json.dumps(content, indent=2, sort_keys=True) + '\n').encode('utf-8'), mode=0o600)
            try:
                existing = read_project_file(gitignore, '.gitignore', limit=1000 * 1000)
            except InputError:
                return   # a link (or no regular file) is the user's: neither written through nor replaced
            updated = update_gitignore(existing, RECORD_GITIGNORE_ENTRY, RECORD_GITIGNORE_COMMENT)
            if updated is not None:
                mode = 0o644 if existing is None else stat.S_IMODE(os.lstat(gitignore).st_mode)
                write_file_atomic(gitignore, updated, mode=mode)
        except TimeoutError as exc:
            raise InputError('The deploy succeeded, but its record %s could not be written (%s); the next run deploys '
                             'again.' % (self.path, exc)) from None
        except OSError as exc:
            raise InputError('The deploy succeeded, but its record %s could not be written (%s); the next run deploys '
                             'again.' % (self.path, exc.strerror)) from None


# ---------------------------------------------------------------------------------------------- the deploy

def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _as_list(value):
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


PEM_BLOCK_RE = re.compile(r'-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|$)', re.S)
LONG_BASE64_RE = re.compile(r'[A-Za-z0-9+/=]{200,}')


def scrub(text, secrets=()):
    """Server text made safe to show: PEM blocks, long base64 runs and the given secrets removed, length bounded."""
    if not isinstance(text, str):
        text = '' if text is None else str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, '<redacted>')
    text = PEM_BLOCK_RE.sub('<certificate>', text)
    text = LONG_BASE64_RE.sub('<base64>', text)
    text = ''.join(ch if ch.isprintable() or ch in '\n\t' else ' ' for ch in text)
    if len(text) > MAX_PROBLEM_CHARS:
        text = text[:MAX_PROBLEM_CHARS] + '...'
    return text


def scrub_errors(errors, secrets=()):
    """Salesforce's [{errorCode, message, fields}] made safe for the module result, as scrub() makes a text."""
    def clean(value):
        if isinstance(value, list):
            return [clean(item) for item in value]
        return None if value is None else scrub(value, secrets)
    return [{key: clean(value) for key, value in entry.items()} for entry in errors or [] if isinstance(entry, dict)]


def scrubbed(exc, secrets):
    """The same error, safe for a deploy's failed result: its message scrubbed, and of its details only the status and
    Salesforce's errors, scrubbed (an answer may quote the metadata sent, or echo a token)."""
    details = exc.details
    exc.message = scrub(exc.message, secrets)
    exc.args = (exc.message,)
    exc.details = {key: details[key] for key in ('status',) if key in details}
    if 'errors' in details:
        exc.details['errors'] = scrub_errors(details['errors'], secrets)
    return exc


def hint_for(problem):
    lowered = (problem or '').lower()
    for pattern, hint, dummy in PROBLEM_HINTS:
        if pattern in lowered:
            return hint
    return None


# The status check made when wait_timeout is (nearly) reached may still take this long.
LAST_CHECK_SECONDS = 5.0


def fixed_in_setup(problem):
    """Whether the problem's fix is a setting or permission in Setup, not a change to the files deployed."""
    lowered = (problem or '').lower()
    return any(in_setup for pattern, dummy, in_setup in PROBLEM_HINTS if pattern in lowered)


class Deployer:
    """Runs one deploy with a RestClient (its session renewal covers a 401 during the polls)."""

    def __init__(self, client, wait_timeout=600, poll_interval=2.0, progress=None, clock=time.monotonic, sleep=time.sleep):
        if not isinstance(wait_timeout, int) or isinstance(wait_timeout, bool) or not 1 <= wait_timeout <= MAX_WAIT_TIMEOUT:
            raise InputError('wait_timeout must be a number of seconds from 1 to %d (got %r).' % (MAX_WAIT_TIMEOUT, wait_timeout))
        if not isinstance(poll_interval, (int, float)) or isinstance(poll_interval, bool) \
                or not MIN_POLL_INTERVAL <= poll_interval <= MAX_POLL_INTERVAL:
            raise InputError('poll_interval must be from %s to %d seconds (got %r).' % (MIN_POLL_INTERVAL, MAX_POLL_INTERVAL, poll_interval))
        self.client = client
        self.wait_timeout = wait_timeout
        self.poll_interval = float(poll_interval)
        self.progress = progress or (lambda line: None)
        self.clock = clock
        self.sleep = sleep

    def _call(self, method, path, what, accepted, **kwargs):
        try:
            answer = self.client.request(method, path, accepted=accepted, **kwargs)
        except (ApiError, HttpError) as exc:
            raise scrubbed(exc, self.client.tokens_used()).add_context('%s failed: ' % what)
        if answer.json_error or not isinstance(answer.json, dict):
            raise ApiError('%s: Salesforce answered HTTP %d with %s, not a deploy answer.'
                           % (what, answer.status, scrub(answer.json_error or answer.describe(), self.client.tokens_used())),
                           status=answer.status)
        return answer.json

    def start(self, zip_bytes, options):
        """POST the deploy; returns its id."""
        files = {
            'json': (None, json.dumps({'deployOptions': options}), 'application/json'),
            'file': ('deploy.zip', zip_bytes, 'application/zip'),
        }
        payload = self._call('POST', 'metadata/deployRequest', 'Starting the deploy', (200, 201), files=files)
        deploy_id = payload.get('id')
        if not isinstance(deploy_id, str) or not re.match(r'^[A-Za-z0-9]{15,18}\Z', deploy_id):
            raise ApiError('Starting the deploy: Salesforce answered without a deploy id; nothing can be followed.')
        return deploy_id

    def status(self, deploy_id, give_up_after=None):
        payload = self._call('GET', 'metadata/deployRequest/%s' % deploy_id, 'Checking deploy %s' % deploy_id, (200,),
                             params={'includeDetails': 'true'}, give_up_after=give_up_after)
        result = payload.get('deployResult')
        if not isinstance(result, dict) or result.get('status') not in KNOWN_STATUSES:
            raise ApiError('Checking deploy %s: the answer holds no deploy status Salesforce documents.' % deploy_id)
        return result

    def cancel(self, deploy_id, give_up_after=None):
        self._call('PATCH', 'metadata/deployRequest/%s' % deploy_id, 'Canceling deploy %s' % deploy_id, (200, 202),
                   body=json.dumps({'deployResult': {'status': 'Canceling'}}), give_up_after=give_up_after)

    def wait(self, deploy_id):
        """Poll until the deploy is done; on wait_timeout cancel it and fail saying so."""
        started = self.clock()
        while True:
            try:
                # A check still running at wait_timeout is cut off there (the last one gets a few seconds).
                remaining = self.wait_timeout - (self.clock() - started)
                result = self.status(deploy_id, give_up_after=max(remaining, LAST_CHECK_SECONDS))
            except HttpError:
                elapsed = self.clock() - started
                if elapsed >= self.wait_timeout:
                    return self._cancel_after_timeout(deploy_id, elapsed)
                raise
            elapsed = self.clock() - started
            self.progress('Deploy %s: %s, %d of %d components deployed, %d errors (%d s)' % (
                deploy_id, result['status'], _int(result.get('numberComponentsDeployed')),
                _int(result.get('numberComponentsTotal')), _int(result.get('numberComponentErrors')), elapsed))
            if result.get('done') is True or result['status'] in FINAL_STATUSES:
                return result
            if elapsed >= self.wait_timeout:
                return self._cancel_after_timeout(deploy_id, elapsed)
            self.sleep(min(self.poll_interval, max(0.0, self.wait_timeout - elapsed) or self.poll_interval))

    def _cancel_after_timeout(self, deploy_id, elapsed):
        # The cancel and its confirmation share one window: each request gets what is left of it (at least a few seconds).
        deadline = self.clock() + CANCEL_CONFIRM_SECONDS
        self.cancel(deploy_id, give_up_after=max(deadline - self.clock(), LAST_CHECK_SECONDS))
        status = 'Canceling'
        while self.clock() < deadline:
            try:
                result = self.status(deploy_id, give_up_after=max(deadline - self.clock(), LAST_CHECK_SECONDS))
            except HttpError:
                break   # no answer within the window: the cancel was asked for, its outcome is not known
            status = result['status']
            if status in ('Succeeded', 'SucceededPartial', 'Failed'):
                return result   # it finished before the cancel took effect: report it as it ended
            if result.get('done') is True or status in FINAL_STATUSES:
                break
            self.sleep(self.poll_interval)
        if status == 'Canceled':
            outcome = 'so it was canceled (status now Canceled); Salesforce saves nothing of a canceled deploy.'
        else:
            outcome = ('so this module asked Salesforce to cancel it; %d s later its status is %s, not Canceled yet: check '
                       'Setup > Deployment Status in the org before deploying again.' % (CANCEL_CONFIRM_SECONDS, status))
        raise ApiError('Deploy %s did not finish within wait_timeout (%d s, waited %d s), %s Run again with a longer '
                       'wait_timeout, or check Setup > Deployment Status in the org.'
                       % (deploy_id, self.wait_timeout, elapsed, outcome), deploy_id=deploy_id, status=status)


def org_drift(client, components, record_path, warn=None):
    """(report, diff) of how the org differs from the components (see _org_metadata.drift), or None when this user may
    not read the org's metadata (warned about: the local record decides then)."""
    try:
        return drift(client, project_components(components))
    except OrgMetadataUnreadable as exc:
        (warn or (lambda message: None))(
            '%s. Without read access to the org\'s metadata, whether the org still matches the project is decided from %s '
            '(what this machine deployed), not from the org: a change made in the org is not seen. Give the deploying user '
            '"Modify Metadata Through Metadata API Functions" (or "View Setup and Configuration").'
            % (scrub(str(exc), client.tokens_used()), record_path))
        return None
    except (ApiError, HttpError) as exc:
        raise scrubbed(exc, client.tokens_used()).add_context(
            'Reading the org\'s metadata to compare it with the project failed: ',
            ' (force=true deploys without comparing.)')


def deploy_options(check_only, test_level=None, run_tests=None, ignore_warnings=False, rollback_on_error=True):
    if test_level is not None and test_level not in TEST_LEVELS:
        raise InputError('test_level must be one of %s.' % ', '.join(TEST_LEVELS))
    if run_tests and test_level != 'RunSpecifiedTests':
        raise InputError('run_tests is used only with test_level=RunSpecifiedTests; set it, or remove run_tests.')
    if test_level == 'RunSpecifiedTests' and not run_tests:
        raise InputError('test_level=RunSpecifiedTests needs run_tests: the Apex test classes to run.')
    options = {'checkOnly': bool(check_only), 'rollbackOnError': bool(rollback_on_error), 'ignoreWarnings': bool(ignore_warnings),
               'singlePackage': True}
    if test_level is not None:
        options['testLevel'] = test_level
    if run_tests:
        options['runTests'] = list(run_tests)
    return options


def component_failures(result, secrets=()):
    details = result.get('details') if isinstance(result.get('details'), dict) else {}
    failures = []
    for entry in _as_list(details.get('componentFailures')):
        failures.append({
            'componentType': scrub(entry.get('componentType'), secrets) or None,
            'fullName': scrub(entry.get('fullName'), secrets) or None,
            'fileName': scrub(entry.get('fileName'), secrets) or None,
            'problem': scrub(entry.get('problem'), secrets) or None,
            'problemType': scrub(entry.get('problemType'), secrets) or None,
            'lineNumber': entry.get('lineNumber') if _int(entry.get('lineNumber')) else None,
        })
    return failures


def test_failures(result, secrets=()):
    details = result.get('details') if isinstance(result.get('details'), dict) else {}
    tests = details.get('runTestResults') if isinstance(details.get('runTestResults'), dict) else {}
    failures = []
    for entry in _as_list(tests.get('failures')):
        failures.append({name: scrub(entry.get(name), secrets) or None for name in ('name', 'methodName', 'message', 'stackTrace')})
    return failures


def describe_failure(deploy_id, result, failures, tests, check_only, rollback_on_error, secrets=()):
    """The message of a deploy that did not succeed: which component and why, in Salesforce's words, and what to do."""
    status = result.get('status')
    verb = 'Validation' if check_only else 'Deploy'
    lines = ['%s %s %s.' % (verb, deploy_id, 'failed' if status == 'Failed' else 'ended as %s' % status)]
    error_message = scrub(result.get('errorMessage'), secrets)
    if error_message:
        code = scrub(result.get('errorStatusCode'), secrets)
        lines.append('Salesforce refused the deploy as a whole: %s%s' % ('%s: ' % code if code else '', error_message))
        hint = hint_for(error_message)
        if hint:
            lines.append(hint)
    errors = [failure for failure in failures if failure.get('problemType') != 'Warning']
    for failure in errors[:MAX_LISTED_FAILURES]:
        where = failure.get('fileName') or '?'
        if failure.get('lineNumber'):
            where += ', line %d' % failure['lineNumber']
        text = '- %s %s (%s): %s' % (failure.get('componentType') or 'component', failure.get('fullName') or '?', where,
                                     failure.get('problem') or '(no problem text)')
        hint = hint_for(failure.get('problem'))
        if hint:
            text += ' ' + hint
        lines.append(text)
    if len(errors) > MAX_LISTED_FAILURES:
        lines.append('- ... and %d more (see component_failures).' % (len(errors) - MAX_LISTED_FAILURES))
    for test in tests[:MAX_LISTED_FAILURES]:
        lines.append('- test %s.%s: %s' % (test.get('name') or '?', test.get('methodName') or '?', test.get('message') or ''))
    if check_only:
        lines.append('Nothing was saved in the org (check mode validates only).')
    elif status == 'SucceededPartial':
        lines.append('The components without errors were saved (rollback_on_error=false); fix the others and deploy again.')
    elif status == 'Canceled':
        lines.append('Someone canceled it in the org; nothing was saved.')
    else:
        problems = [error_message] if error_message else []
        problems += [failure.get('problem') for failure in errors]
        in_setup = [fixed_in_setup(problem) for problem in problems]
        if in_setup and all(in_setup):
            fix = 'the fix is in Setup, not in the files: make the change said above, then run again'
        elif any(in_setup):
            fix = 'fix the files above and make the change in Setup said above, then run again'
        else:
            fix = 'fix the files above and run again'
        lines.append('Nothing was saved in the org%s; %s.' % ('' if rollback_on_error else ' that failed', fix))
    return '\n'.join(lines)


def run(client, project_dir, manifest=None, check_mode=False, force=False, test_level=None, run_tests=None,
        ignore_warnings=False, rollback_on_error=True, wait_timeout=600, poll_interval=2.0, progress=None, warn=None):
    """Deploy (or, in check mode, validate) the project unless the org holds it already: its components are read from
    the org and compared with the project; when this user may not read them, the local record of what was deployed to
    this org decides, with a warning.

    Returns the module result; raises ApiError (with the result fields in details) when the deploy fails."""
    options = deploy_options(check_mode, test_level, run_tests, ignore_warnings, rollback_on_error)
    deployer = Deployer(client, wait_timeout=wait_timeout, poll_interval=poll_interval, progress=progress)
    project = SourceProject(project_dir, manifest)
    selected, package_xml = project.selected()
    zip_bytes, sha256, components = build_zip(selected, package_xml)
    record = DeployRecord(project.project_dir)
    try:
        org_id = client.org_id()
    except (ApiError, HttpError) as exc:
        raise scrubbed(exc, client.tokens_used()).add_context(after=' (The org id tells what was deployed there.)')
    result = dict(changed=False, org_id=org_id, sha256=sha256, components=components, check_only=bool(check_mode),
                  deploy_id=None, status=None, components_total=len(components), components_deployed=0,
                  component_failures=[], test_failures=[], record_path=record.path, drift=None, diff=[])
    say = progress or (lambda line: None)
    if not force:
        found = org_drift(client, selected, record.path, warn)
        if found is None:
            if record.deployed(org_id, sha256):
                result['deploy_id'] = record.orgs[org_id].get('deploy_id')
                return result
        else:
            result['drift'], result['diff'], unverified = found
            for line in drift_summary(result['drift']):
                say(line)
            if not result['drift']:
                # What the org shows matches. What it does not show (a consumer secret, an Apex body) counts as
                # deployed when this content is what was last deployed to this org, or when nothing was recorded
                # here and the org showed everything.
                previous = record.orgs.get(org_id)
                if record.deployed(org_id, sha256) or (previous is None and not unverified):
                    result['deploy_id'] = (previous or {}).get('deploy_id')
                    return result
                say('The org holds the project as far as it shows it, but %s: deploying.'
                    % ('the project changed since its last deploy to this org' if previous is not None else
                       'it does not show %s, and nothing recorded here says this content was deployed' % ', '.join(unverified)))
    result['api_version'] = client.api_version()
    deploy_id = deployer.start(zip_bytes, options)
    result['deploy_id'] = deploy_id
    deployed = deployer.wait(deploy_id)
    secrets = client.tokens_used()
    result.update(
        status=deployed['status'],
        components_total=_int(deployed.get('numberComponentsTotal')) or len(components),
        components_deployed=_int(deployed.get('numberComponentsDeployed')),
        component_failures=component_failures(deployed, secrets),
        test_failures=test_failures(deployed, secrets),
    )
    if deployed['status'] != 'Succeeded' or deployed.get('success') is False:
        if deployed['status'] == 'SucceededPartial':
            result['changed'] = not check_mode
        raise ApiError(describe_failure(deploy_id, deployed, result['component_failures'], result['test_failures'],
                                        check_mode, rollback_on_error, secrets), **result)
    result['changed'] = True
    if not check_mode:
        try:
            record.remember(org_id, sha256, deploy_id, client.instance_url)
        except InputError as exc:
            raise exc.add_context(**result)   # the deploy happened: the task says so
    return result
