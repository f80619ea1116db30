# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The REST Metadata API deploy: /services/data/vXX.X/metadata/deployRequest.

As documented in https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_rest_deploy.htm.

Only an admin may use it (add_user(..., admin=True)); anyone else gets 403 INSUFFICIENT_ACCESS.

  POST  .../deployRequest        multipart/form-data: part `json` {"deployOptions": {...}} (or `entity_content`, the name
                                 jsforce and so the Salesforce CLI send), part `file` (the zip).
                                 201 {"id": "0Af...", "url", "deployOptions" (with defaults), "deployResult" (Pending)};
                                 400 INVALID_MULTIPART_REQUEST (not multipart, a part missing or unknown, the zip
                                 unreadable) or JSON_PARSER_ERROR (json part not JSON, unknown or mistyped option).
  GET   .../deployRequest/<id>   [?includeDetails=true] 200 {"id", "url", "deployOptions", "deployResult"}; unknown id 404.
  PATCH .../deployRequest/<id>   {"deployResult": {"status": "Canceling"}} 202; a finished deploy 400 INVALID_ID_FIELD.

One engine behind two front ends: this REST resource and the SOAP deploy / checkDeployStatus / cancelDeploy (soap.py)
create, advance and cancel the same Deployment records (create(), advance(), cancel()) in org.deploys, so a deploy
started over one API is read and canceled over the other, and both save through _Run. change_component() changes a
saved component without a deploy, as an admin in Setup would (a drift), and republishes the app the same way.

Progress is driven by the polls (REST GET or SOAP checkDeployStatus): the POST answers Pending, GETs answer
InProgress until the org.deploy_polls_to_finish-th GET (default 2), which runs the deploy and answers its final state (Succeeded,
SucceededPartial or Failed). With org.hold_deploys set, new deploys stay InProgress until canceled. After a PATCH
the next GET answers Canceling and the one after Canceled; nothing of a canceled deploy is saved. Both settings
are read when the deploy is created.

Running a deploy. Failures of the deploy as a whole (errorMessage / errorStatusCode, no component processed):
  zip over 39 MB (39,000,000 bytes), over 10,000 files or over 600 MB unzipped   LIMIT_EXCEEDED
  no package.xml at the root of the zip (whatever singlePackage says)             INVALID_CROSS_REFERENCE_KEY "No package.xml found"
  runTests without testLevel RunSpecifiedTests, or RunSpecifiedTests without runTests   INVALID_OPERATION
  in production (org.is_production: not a sandbox, not a Developer Edition):
    testLevel NoTestRun (with or without Apex, as the documentation says NoTestRun is for development
    environments only), rollbackOnError false, allowMissingFiles true              INVALID_OPERATION
Then each component: package.xml (well-formed, root Package, unknown type names), members named but not in the zip,
files the org does not know, unsafe paths (absolute, `..`), each file's own checks (metadata.py), and what needs the
org: the External Client App a part names (in this deploy or the org), the permission sets a policy or a Connected
App names, consumer keys (unique in the org; not changeable once set, except with shouldRotateConsumerKey), the
org setting for consumer secrets (org.allow_oauth_secrets_via_metadata), and no new Connected App (Spring '26).
A file of a known type that package.xml does not name is a Warning; warnings fail the deploy unless ignoreWarnings.

Outcome: no failure -> Succeeded, everything saved (unless checkOnly: nothing is ever saved, checkOnly true in the
result); failures with rollbackOnError (default true) -> Failed, nothing saved; without -> SucceededPartial (the
successes saved) or Failed when nothing succeeded. The fake runs no Apex: numberTestsTotal is always 0;
runTestsEnabled is true for RunSpecifiedTests, RunLocalTests, RunAllTestsInOrg, and for a production deploy with
Apex and no testLevel (Salesforce then runs the local tests; the fake org has none, so it succeeds).

componentSuccesses lists package.xml first (componentType "", fullName and fileName "package.xml"), then each
component; the counters leave package.xml out. Each entry, success or failure:
  {"changed", "columnNumber", "componentType", "created", "createdDate", "deleted": false, "fileName", "fullName",
   "id", "lineNumber", "problem", "problemType" ("Error" | "Warning" | null), "success"}
(id: the PermissionSet's record id, else null; lineNumber / columnNumber: 1-based, null when not about a place).

Saving: PermissionSet records (Name, Label, Description); every component's fields (org.deployed_component);
External Client Apps and Connected Apps get a new version for the token endpoint, in effect at the completion time
+ org.propagation_delay (apps.py). A generated consumer key is '3MVG9' and 80 letters and digits.
"""

from __future__ import annotations

import datetime
import email.message
import email.parser
import hashlib
import io
import json
import re
import secrets
import string
import threading
import zipfile
from dataclasses import dataclass, field

from .apps import owner_of
from .ids import DEPLOY_ID_PREFIX, PERMISSION_SET_ID_PREFIX, random_id, stable_id
from .messages import RestError, Response, json_response, method_not_allowed, not_found
from .metadata import (APEX_TYPES, CONNECTED_APP, ECA, ECA_GLOBAL_OAUTH, ECA_OAUTH, ECA_OAUTH_POLICIES, ECA_PARTS, ECA_POLICIES,
                       PACKAGE_XML, PERMISSION_SET, TYPES, ComponentProblem, as_list, check_component, classify, component_path,
                       fields_of, parse_package, split_names, unknown_file_problem)

MAX_FILES = 10000
MAX_ZIP_BYTES = 39 * 1000 * 1000
MAX_UNZIPPED_BYTES = 600 * 1000 * 1000
MAX_PACKAGE_XML_BYTES = 10 * 1000 * 1000

FINAL_STATUSES = ('Succeeded', 'SucceededPartial', 'Failed', 'Canceled')
TEST_LEVELS = ('NoTestRun', 'RunSpecifiedTests', 'RunLocalTests', 'RunAllTestsInOrg')
OPTION_DEFAULTS = {
    'allowMissingFiles': False, 'autoUpdatePackage': False, 'checkOnly': False, 'ignoreWarnings': False,
    'performRetrieve': False, 'purgeOnDelete': False, 'rollbackOnError': True, 'runTests': [], 'singlePackage': False,
    'testLevel': None,
}

INSUFFICIENT_ACCESS = ('Insufficient access rights: deploying metadata requires the user permission "Modify Metadata Through '
                       'Metadata API Functions" (or "Modify All Data"). Deploy as an admin.')
NEW_CONNECTED_APP = ("Connected App creation via APIs (including the Metadata API) is blocked in the same way as the UI "
                     "(Spring '26, Salesforce Help 005228017): Connected App '%s' does not exist in this org and cannot be "
                     "created. Create an External Client App instead; existing Connected Apps can still be updated.")
OAUTH_SECRETS_OFF = ("Cannot deploy the consumer key and certificate of External Client App '%s': this org does not allow "
                     "access to External Client App consumer secrets via the Metadata API. An admin can allow it in Setup > "
                     'External Client App Settings > "Allow access to External Client App consumer secrets via REST API".')
CONSUMER_KEY_CHANGE = ("Cannot change the consumer key of External Client App '%s': it was set when the app's global OAuth "
                       'settings were first deployed. Deploy the same consumerKey or leave it out (shouldRotateConsumerKey '
                       'set to true issues a new one).')
CONNECTED_APP_KEY_CHANGE = ("Cannot change the consumer key of Connected App '%s': consumerKey can be set only when a Connected "
                            'App is created. Deploy the same consumerKey or leave it out.')
CONSUMER_KEY_TAKEN = 'The consumer key is already used by another app in this org; a consumer key must be unique.'
MEMBER_NOT_FOUND = "An object '%s' of type %s was named in package.xml, but was not found in zipped directory"
NOT_IN_PACKAGE = "An object '%s' of type %s was found in zipped directory, but was not named in package.xml; it was not deployed"
NO_SUCH = 'In field: %s - no %s named %s found'


def handle(org, request, version: str, parts: list, session: dict) -> Response:
    """Answer .../metadata/deployRequest[/<id>] (`parts`: what follows deployRequest)."""
    try:
        user = deployer(org, session['username'])
    except DeployProblem as problem:
        raise RestError(403, problem.code, problem.message)
    base = '/services/data/%s/metadata/deployRequest' % version
    if not parts:
        if request.method != 'POST':
            raise method_not_allowed(request.method, 'POST')
        return _start(org, request, base, user)
    if len(parts) != 1:
        raise not_found()
    with org.deploys.lock:
        deployment = org.deploys.get(parts[0])
        if deployment is None:
            raise not_found()
        if request.method in ('GET', 'HEAD'):
            advance(org, deployment)
            details = (request.query.get('includeDetails') or '').lower() == 'true'
            return json_response(200, deployment.envelope(base, details))
        if request.method == 'PATCH':
            _cancel_request(request)
            try:
                cancel(org, deployment)
            except DeployProblem as problem:
                raise RestError(400, problem.code, problem.message)
            return json_response(202, deployment.envelope(base, False))
    raise method_not_allowed(request.method, 'GET,HEAD,PATCH')


class DeployProblem(Exception):
    """A refusal either front end (REST deployRequest, SOAP deploy) words its own way: Salesforce's code and message."""

    def __init__(self, code: str, message: str):
        super().__init__('%s: %s' % (code, message))
        self.code = code
        self.message = message


def deployer(org, username: str):
    """The user, if it may deploy (an admin); DeployProblem INSUFFICIENT_ACCESS otherwise."""
    user = org.find_user(username)
    if user is None or not user.admin:
        raise DeployProblem('INSUFFICIENT_ACCESS', INSUFFICIENT_ACCESS)
    return user


# -- the deploys the org knows -----------------------------------------------------------------------


@dataclass
class Deployment:
    id: str
    received_options: dict
    options: dict
    zip_bytes: bytes = field(repr=False)
    members: list
    package_xml: str | None
    username: str
    user_id: str
    user_name: str
    created_at: float
    polls_to_finish: int
    hold: bool
    status: str = 'Pending'
    polls: int = 0
    cancel_polls: int = 0
    started_at: float | None = None
    completed_at: float | None = None
    modified_at: float = 0.0
    error_message: str | None = None
    error_code: str | None = None
    successes: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    run_tests_enabled: bool = False
    components_total: int = 0
    components_deployed: int = 0
    component_errors: int = 0

    @property
    def done(self) -> bool:
        return self.status in FINAL_STATUSES

    def set_status(self, status: str, now: float) -> None:
        self.status = status
        self.modified_at = now
        if status in FINAL_STATUSES:
            self.completed_at = now

    def result(self, details: bool) -> dict:
        result = {
            'id': self.id, 'status': self.status, 'done': self.done, 'success': self.status == 'Succeeded',
            'checkOnly': self.options['checkOnly'], 'ignoreWarnings': self.options['ignoreWarnings'],
            'rollbackOnError': self.options['rollbackOnError'], 'runTestsEnabled': self.run_tests_enabled,
            'createdBy': self.user_id, 'createdByName': self.user_name, 'createdDate': timestamp(self.created_at),
            'startDate': timestamp(self.started_at), 'lastModifiedDate': timestamp(self.modified_at),
            'completedDate': timestamp(self.completed_at), 'canceledBy': None, 'canceledByName': None, 'stateDetail': None,
            'errorMessage': self.error_message, 'errorStatusCode': self.error_code,
            'numberComponentsTotal': self.components_total, 'numberComponentsDeployed': self.components_deployed,
            'numberComponentErrors': self.component_errors, 'numberTestsTotal': 0, 'numberTestsCompleted': 0, 'numberTestErrors': 0,
        }
        if self.status == 'Canceled':
            result['canceledBy'], result['canceledByName'] = self.user_id, self.user_name
        if details:
            result['details'] = {'componentSuccesses': [dict(entry) for entry in self.successes],
                                 'componentFailures': [dict(entry) for entry in self.failures],
                                 'runTestResults': {'numRun': 0, 'numFailures': 0, 'failures': [], 'successes': []}}
        return result

    def envelope(self, base: str, details: bool) -> dict:
        return {'id': self.id, 'url': '%s/%s' % (base, self.id), 'deployOptions': dict(self.options), 'deployResult': self.result(details)}

    def log_entry(self) -> dict:
        return {'id': self.id, 'status': self.status, 'done': self.done, 'deployOptions': json.loads(json.dumps(self.received_options)),
                'options': dict(self.options), 'members': list(self.members),
                'files': [name for name in self.members if not name.endswith('/')], 'package_xml': self.package_xml,
                'username': self.username, 'user_id': self.user_id, 'polls': self.polls, 'deployResult': self.result(True)}


class Deployments:
    """Every deploy since the last clear(); `lock` also serializes running them, as Salesforce queues deploys."""

    def __init__(self):
        self.lock = threading.RLock()
        self._by_id = {}
        self._saved = {}   # (type, full name) -> who created / last changed it and when: listMetadata's FileProperties

    def saved(self, type_name: str, full_name: str, user_id: str, user_name: str, now: float) -> None:
        """Note that a deploy (or a change in Setup) saved the component."""
        with self.lock:
            entry = self._saved.setdefault((type_name, full_name), {'createdById': user_id, 'createdByName': user_name, 'created': now})
            entry.update(lastModifiedById=user_id, lastModifiedByName=user_name, lastModified=now)

    def provenance(self, type_name: str, full_name: str) -> dict | None:
        with self.lock:
            entry = self._saved.get((type_name, full_name))
            return dict(entry) if entry is not None else None

    def add(self, deployment: Deployment) -> None:
        with self.lock:
            self._by_id[deployment.id] = deployment

    def get(self, deploy_id: str) -> Deployment | None:
        with self.lock:
            found = self._by_id.get(deploy_id)
            if found is None and len(deploy_id) == 15:
                found = next((d for key, d in self._by_id.items() if key[:15] == deploy_id), None)
            return found

    def log(self) -> list:
        with self.lock:
            return [deployment.log_entry() for deployment in self._by_id.values()]

    def clear(self) -> None:
        with self.lock:
            self._by_id.clear()
            self._saved.clear()

    def __len__(self) -> int:
        with self.lock:
            return len(self._by_id)


def timestamp(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.datetime.fromtimestamp(moment, tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + '+0000'


# -- POST: start ------------------------------------------------------------------------------------


def _start(org, request, base: str, user) -> Response:
    parts = parse_multipart(request.header('Content-Type'), request.body)
    if 'json' in parts and 'entity_content' in parts:
        raise _multipart_error("the deploy options are sent twice (parts 'json' and 'entity_content')")
    if 'entity_content' in parts:   # jsforce's (the Salesforce CLI's) name for the json part
        parts['json'] = parts.pop('entity_content')
    for name in ('json', 'file'):
        if name not in parts:
            raise RestError(400, 'INVALID_MULTIPART_REQUEST', "The request has no '%s' part: a deploy sends a 'json' part "
                            '({"deployOptions": {...}}) and a \'file\' part (the zip).' % name)
    received = _received_options(parts['json'])
    options = deploy_options(received)
    try:
        deployment = create(org, user, received, options, parts['file'])
    except DeployProblem as problem:
        raise RestError(400, 'INVALID_MULTIPART_REQUEST', "The 'file' part is not a readable zip file: %s" % problem.message)
    return json_response(201, deployment.envelope(base, False))


def create(org, user, received: dict, options: dict, zip_bytes: bytes) -> Deployment:
    """A new deploy (Pending), known to both front ends; DeployProblem ZIP_UNREADABLE (the fake's own code: each front
    end answers it its own way) when the zip cannot be listed."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            members = [info.filename for info in archive.infolist()]
            package_xml = None
            if PACKAGE_XML in members:
                with archive.open(PACKAGE_XML) as handle:
                    package_xml = handle.read(MAX_PACKAGE_XML_BYTES).decode('utf-8', errors='replace')
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, ValueError, EOFError, OSError) as exc:
        raise DeployProblem('ZIP_UNREADABLE', str(exc))
    now = org.now()
    deployment = Deployment(id=random_id(DEPLOY_ID_PREFIX), received_options=received, options=options, zip_bytes=zip_bytes,
                            members=members, package_xml=package_xml, username=user.username, user_id=user.user_id,
                            user_name=user.name, created_at=now, modified_at=now,
                            polls_to_finish=max(1, int(org.deploy_polls_to_finish)), hold=bool(org.hold_deploys))
    org.deploys.add(deployment)
    org.log_line('deploy %s started by %s: %d files' % (deployment.id, user.username, len(members)))
    return deployment


def parse_multipart(content_type: str | None, body: bytes) -> dict:
    """{part name: bytes} of a multipart/form-data body; RestError INVALID_MULTIPART_REQUEST when it is not one."""
    header = email.message.Message()
    header['Content-Type'] = content_type or ''
    boundary = header.get_param('boundary')
    if header.get_content_type() != 'multipart/form-data' or not isinstance(boundary, str) or not boundary:
        raise _multipart_error('expected Content-Type multipart/form-data with a boundary, got %r' % (content_type,))
    delimiter = b'--' + boundary.encode('latin-1', errors='replace')
    if body.startswith(delimiter):
        position = len(delimiter)
    else:
        index = body.find(b'\r\n' + delimiter)
        if index < 0:
            raise _multipart_error('the body does not contain the boundary')
        position = index + 2 + len(delimiter)
    parts = {}
    while body[position:position + 2] != b'--':
        line_end = body.find(b'\r\n', position)
        if line_end < 0 or body[position:line_end].strip(b' \t'):
            raise _multipart_error('a boundary line is not followed by a line break')
        header_end = body.find(b'\r\n\r\n', line_end)
        if header_end < 0:
            raise _multipart_error('a part has no blank line after its headers')
        headers = email.parser.HeaderParser().parsestr(body[line_end + 2:header_end].decode('utf-8', errors='replace'))
        content_start = header_end + 4
        content_end = body.find(b'\r\n' + delimiter, content_start)
        if content_end < 0:
            raise _multipart_error('a part is not closed by the boundary')
        disposition = headers.get_content_disposition() if headers.get('Content-Disposition') else None
        name = headers.get_param('name', header='content-disposition') if disposition == 'form-data' else None
        if not isinstance(name, str) or not name:
            raise _multipart_error('a part has no Content-Disposition: form-data; name="..."')
        if name not in ('json', 'entity_content', 'file'):
            raise _multipart_error("unknown part '%s': a deploy sends the parts 'json' (or 'entity_content') and 'file'" % name)
        if name in parts:
            raise _multipart_error("the part '%s' is sent twice" % name)
        parts[name] = body[content_start:content_end]
        position = content_end + 2 + len(delimiter)
    return parts


def _multipart_error(message: str) -> RestError:
    return RestError(400, 'INVALID_MULTIPART_REQUEST', 'Invalid multipart request: %s' % message)


def _received_options(data: bytes) -> dict:
    try:
        document = json.loads(data.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RestError(400, 'JSON_PARSER_ERROR', "The 'json' part is not valid JSON: %s" % exc)
    if not isinstance(document, dict):
        raise RestError(400, 'JSON_PARSER_ERROR', "The 'json' part must be a JSON object: {\"deployOptions\": {...}}")
    for key in document:
        if key != 'deployOptions':
            raise RestError(400, 'JSON_PARSER_ERROR', 'Unrecognized field "%s" in the deploy request; expected only deployOptions' % key)
    options = document.get('deployOptions', {})
    if not isinstance(options, dict):
        raise RestError(400, 'JSON_PARSER_ERROR', 'deployOptions must be a JSON object')
    return options


def deploy_options(received: dict) -> dict:
    """The options with their defaults, after the checks (RestError JSON_PARSER_ERROR): shared by REST and SOAP."""
    for key, value in received.items():
        if key not in OPTION_DEFAULTS:
            raise RestError(400, 'JSON_PARSER_ERROR', 'Unrecognized field "%s" in deployOptions; known fields: %s'
                            % (key, ', '.join(sorted(OPTION_DEFAULTS))))
        if isinstance(OPTION_DEFAULTS[key], bool) and not isinstance(value, bool):
            raise RestError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize value of type boolean from %s for deployOptions.%s'
                            % (json.dumps(value), key))
    level = received.get('testLevel')
    if level is not None and level not in TEST_LEVELS:
        raise RestError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize value of type TestLevel from %s for deployOptions.testLevel: '
                        'not one of the values accepted: [%s]' % (json.dumps(level), ', '.join(TEST_LEVELS)))
    tests = received.get('runTests', [])
    if not isinstance(tests, list) or not all(isinstance(name, str) and name for name in tests):
        raise RestError(400, 'JSON_PARSER_ERROR', 'deployOptions.runTests must be a list of Apex test class names')
    options = dict(OPTION_DEFAULTS)
    options.update(received)
    options['runTests'] = list(tests)
    return options


# -- GET: progress; PATCH: cancel -----------------------------------------------------------------------


def advance(org, deployment: Deployment) -> None:
    """One status poll (REST GET, SOAP checkDeployStatus): the polls drive a deploy forward (org.deploys.lock held)."""
    now = org.now()
    deployment.polls += 1
    if deployment.done:
        return
    if deployment.status == 'Canceling':
        deployment.cancel_polls += 1
        if deployment.cancel_polls >= 2:
            deployment.set_status('Canceled', now)
        return
    if deployment.started_at is None:
        deployment.started_at = now
    if deployment.hold or deployment.polls < deployment.polls_to_finish:
        deployment.set_status('InProgress', now)
        return
    _Run(org, deployment).run()
    org.log_line('deploy %s: %s' % (deployment.id, deployment.status))


def _cancel_request(request) -> None:
    if request.json_error:
        raise RestError(400, 'JSON_PARSER_ERROR', request.json_error)
    body = request.json
    if not isinstance(body, dict) or set(body) != {'deployResult'} or body['deployResult'] != {'status': 'Canceling'}:
        raise RestError(400, 'INVALID_FIELD', 'To cancel a deployment send {"deployResult": {"status": "Canceling"}}')


def cancel(org, deployment: Deployment) -> None:
    """Ask a deploy to stop (REST PATCH, SOAP cancelDeploy); DeployProblem INVALID_ID_FIELD once it is done."""
    if deployment.done:
        raise DeployProblem('INVALID_ID_FIELD', 'Deployment %s has already completed (%s) and cannot be canceled'
                            % (deployment.id, deployment.status))
    if deployment.status != 'Canceling':
        deployment.set_status('Canceling', org.now())
        deployment.cancel_polls = 0


# -- running a deploy ---------------------------------------------------------------------------------


# The checks that need the org, per type: _Run method names; each returns the fields to save.
_CHECKS = {
    ECA_OAUTH: '_check_eca_part',
    ECA_POLICIES: '_check_eca_part',
    ECA_OAUTH_POLICIES: '_check_oauth_policies',
    ECA_GLOBAL_OAUTH: '_check_global_oauth',
    CONNECTED_APP: '_check_connected_app',
}


class _Whole(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class _Run:
    """One deploy's run: the checks, the outcome, and the save (org.deploys.lock held)."""

    def __init__(self, org, deployment: Deployment):
        self.org = org
        self.deployment = deployment
        self.options = deployment.options
        self.now = org.now()
        self.successes = []
        self.failures = []
        self.saves = []                 # (type, name, fields) of each component that passed, in order
        self.deployed_ecas = set()
        self.deployed_permission_sets = set()
        self.claimed_keys = set()

    def run(self) -> None:
        deployment = self.deployment
        try:
            with zipfile.ZipFile(io.BytesIO(deployment.zip_bytes)) as archive:
                self._check(archive)
        except _Whole as whole:
            deployment.error_code, deployment.error_message = whole.code, whole.message
            deployment.successes, deployment.failures = [], []
            deployment.set_status('Failed', self.now)
            return
        errors = [entry for entry in self.failures if entry['problemType'] == 'Error']
        warnings = [entry for entry in self.failures if entry['problemType'] == 'Warning']
        blocking = len(errors) + (0 if self.options['ignoreWarnings'] else len(warnings))
        components = [entry for entry in self.successes if entry['fileName'] != PACKAGE_XML]
        deployment.successes, deployment.failures = self.successes, self.failures
        deployment.components_total = len(components) + len(errors)
        deployment.components_deployed = len(components)
        deployment.component_errors = blocking
        if not blocking:
            status, save = 'Succeeded', True
        elif self.options['rollbackOnError']:
            status, save = 'Failed', False
        else:
            status, save = ('SucceededPartial' if components else 'Failed'), bool(components)
        if save and not self.options['checkOnly']:
            self._save()
        deployment.set_status(status, self.now)

    # -- checks -------------------------------------------------------------------------------------

    def _check(self, archive: zipfile.ZipFile) -> None:
        options = self.options
        infos = archive.infolist()
        if len(self.deployment.zip_bytes) > MAX_ZIP_BYTES:
            raise _Whole('LIMIT_EXCEEDED', 'The zip file has %d bytes; a deploy takes at most 39 MB (%d bytes).'
                         % (len(self.deployment.zip_bytes), MAX_ZIP_BYTES))
        files = [info for info in infos if not info.is_dir()]
        if len(files) > MAX_FILES:
            raise _Whole('LIMIT_EXCEEDED', 'The zip file holds %d files; a deploy takes at most %d.' % (len(files), MAX_FILES))
        if sum(info.file_size for info in files) > MAX_UNZIPPED_BYTES:
            raise _Whole('LIMIT_EXCEEDED', 'The zip file holds more than 600 MB of files; a deploy takes at most 600 MB unzipped.')
        if not any(info.filename == PACKAGE_XML for info in files):
            raise _Whole('INVALID_CROSS_REFERENCE_KEY', 'No package.xml found')
        level = options['testLevel']
        if options['runTests'] and level != 'RunSpecifiedTests':
            raise _Whole('INVALID_OPERATION', 'runTests can only be used with a testLevel of RunSpecifiedTests')
        if level == 'RunSpecifiedTests' and not options['runTests']:
            raise _Whole('INVALID_OPERATION', 'testLevel of RunSpecifiedTests requires at least one test class in runTests')
        if self.org.is_production:
            if level == 'NoTestRun':
                raise _Whole('INVALID_OPERATION', 'testLevel of NoTestRun cannot be used in production organizations')
            if not options['rollbackOnError']:
                raise _Whole('INVALID_OPERATION', 'rollbackOnError must be true in production organizations')
            if options['allowMissingFiles']:
                raise _Whole('INVALID_OPERATION', 'allowMissingFiles cannot be used in production organizations')

        contents = {}
        found = {}   # (type name, full name) -> {'body': path, 'meta': path}
        for info in infos:
            name = info.filename
            if _unsafe(name):
                self._fail('', name, name, 'Invalid file path in zipped directory: %s (absolute paths and .. are not allowed)' % name)
                continue
            if info.is_dir() or name == PACKAGE_XML:
                continue
            kind = classify(name)
            if kind is None:
                self._fail('', name, name, unknown_file_problem(name))
                continue
            metadata_type, full_name, is_meta = kind
            found.setdefault((metadata_type.name, full_name), {})['meta' if is_meta else 'body'] = name
            contents[name] = info

        try:
            package, _version = parse_package(self._read(archive, archive.getinfo(PACKAGE_XML)))
        except ComponentProblem as problem:
            self._fail('', PACKAGE_XML, PACKAGE_XML, problem.problem, problem.line, problem.column)
            return
        self._succeed('', PACKAGE_XML, PACKAGE_XML, changed=True)

        named = set()
        for type_name, members in package.items():
            if type_name not in TYPES:
                self._fail('', PACKAGE_XML, PACKAGE_XML, "Unknown type name '%s' specified in package.xml" % type_name)
                continue
            for member in members:
                if member == '*':
                    named.update(key for key in found if key[0] == type_name)
                elif (type_name, member) in found:
                    named.add((type_name, member))
                elif not options['allowMissingFiles']:
                    self._fail(type_name, member, PACKAGE_XML, MEMBER_NOT_FOUND % (member, type_name))
        for type_name, full_name in sorted(set(found) - named):
            paths = found[(type_name, full_name)]
            self._fail(type_name, full_name, paths.get('body') or paths.get('meta'), NOT_IN_PACKAGE % (full_name, type_name),
                       problem_type='Warning')

        order = list(TYPES)
        has_apex = any(type_name in APEX_TYPES for type_name, _name in named)
        self.deployment.run_tests_enabled = options['testLevel'] in TEST_LEVELS[1:] or (
            options['testLevel'] is None and has_apex and self.org.is_production)
        for type_name, full_name in sorted(named, key=lambda key: (order.index(key[0]), key[1])):
            self._component(archive, contents, TYPES[type_name], full_name, found[(type_name, full_name)])

    def _component(self, archive, contents: dict, metadata_type, full_name: str, paths: dict) -> None:
        type_name = metadata_type.name
        file_name = paths.get('body') or component_path(metadata_type, full_name)
        try:
            if metadata_type.content and ('body' not in paths or 'meta' not in paths):
                raise ComponentProblem('%s %s needs both %s and %s-meta.xml in zipped directory'
                                       % (type_name, full_name, component_path(metadata_type, full_name),
                                          component_path(metadata_type, full_name)))
            document = self._read(archive, contents[paths['meta' if metadata_type.content else 'body']])
            root = check_component(metadata_type, full_name, document)
            fields = fields_of(root)
            if metadata_type.content:
                fields['body_sha256'] = hashlib.sha256(self._read(archive, contents[paths['body']])).hexdigest()
            check = _CHECKS.get(type_name)
            if check is not None:
                fields = getattr(self, check)(full_name, root, fields)
        except ComponentProblem as problem:
            self._fail(type_name, full_name, file_name, problem.problem, problem.line, problem.column)
            return
        if type_name == PERMISSION_SET:
            created = full_name not in self.org.data.permission_set_names()
            record_id = stable_id(PERMISSION_SET_ID_PREFIX, 'PermissionSet:' + full_name)
            self.deployed_permission_sets.add(full_name)
        else:
            created = self.org.app_registry.component(type_name, full_name) is None
            record_id = None
            if type_name == ECA:
                self.deployed_ecas.add(full_name)
        changed = not created and self.org.app_registry.component(type_name, full_name) != fields
        self.saves.append((type_name, full_name, fields))
        self._succeed(type_name, full_name, file_name, created=created, changed=changed, record_id=record_id)

    def _read(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError, OSError) as exc:
            raise ComponentProblem('The file could not be read from the zip file: %s' % exc)

    # -- what needs the org, per type (each returns the fields to save) ------------------------------------

    def _eca_exists(self, root, fields: dict) -> str:
        name = fields.get('externalClientApplication')
        if name not in self.deployed_ecas and self.org.app_registry.component(ECA, name) is None:
            raise ComponentProblem(NO_SUCH % ('externalClientApplication', 'ExternalClientApplication', name), *_at(root, 'externalClientApplication'))
        return name

    def _permission_sets_exist(self, root, element: str, names: list) -> None:
        known = self.deployed_permission_sets | self.org.data.permission_set_names()
        for name in names:
            if name not in known:
                raise ComponentProblem(NO_SUCH % (element, 'PermissionSet', name), *_at(root, element))

    def _check_eca_part(self, _full_name, root, fields):
        self._eca_exists(root, fields)
        return fields

    def _check_oauth_policies(self, _full_name, root, fields):
        self._eca_exists(root, fields)
        self._permission_sets_exist(root, 'commaSeparatedPermissionSet', split_names(fields.get('commaSeparatedPermissionSet')))
        return fields

    def _check_global_oauth(self, _full_name, root, fields):
        eca = self._eca_exists(root, fields)
        if not self.org.allow_oauth_secrets_via_metadata:
            raise ComponentProblem(OAUTH_SECRETS_OFF % eca, root.line, root.column)
        _name, existing = self.org.app_registry.linked(ECA_GLOBAL_OAUTH, eca)
        existing_key = (existing or {}).get('consumerKey')
        given = fields.get('consumerKey')
        rotate = fields.get('shouldRotateConsumerKey') == 'true'
        if given and existing_key and given != existing_key and not rotate:
            raise ComponentProblem(CONSUMER_KEY_CHANGE % eca, *_at(root, 'consumerKey'))
        if rotate or not (given or existing_key):
            key = generate_consumer_key()
        else:
            key = given or existing_key
        self._claim(key, owner_of(ECA, eca), root)
        return dict(fields, consumerKey=key)

    def _check_connected_app(self, full_name, root, fields):
        existing = self.org.app_registry.component(CONNECTED_APP, full_name)
        if existing is None:
            raise ComponentProblem(NEW_CONNECTED_APP % full_name, root.line, root.column)
        self._permission_sets_exist(root, 'permissionSetName', as_list(fields.get('permissionSetName')))
        oauth_config = fields.get('oauthConfig')
        existing_key = (existing.get('oauthConfig') or {}).get('consumerKey') if isinstance(existing.get('oauthConfig'), dict) else None
        if isinstance(oauth_config, dict):
            given = oauth_config.get('consumerKey')
            if given and existing_key and given != existing_key:
                raise ComponentProblem(CONNECTED_APP_KEY_CHANGE % full_name, *_at(root.child('oauthConfig'), 'consumerKey'))
            key = given or existing_key
            if key:
                self._claim(key, owner_of(CONNECTED_APP, full_name), root)
                fields = dict(fields, oauthConfig=dict(oauth_config, consumerKey=key))
        return fields

    def _claim(self, key: str, owner: str, root) -> None:
        holder = self.org.app_registry.owner(key)
        if (holder is not None and holder != owner) or key in self.claimed_keys:
            raise ComponentProblem(CONSUMER_KEY_TAKEN, *_at(root, 'consumerKey'))
        self.claimed_keys.add(key)

    # -- results and saving ---------------------------------------------------------------------------

    def _entry(self, type_name, full_name, file_name, success, problem=None, problem_type=None, line=None, column=None,
               created=False, changed=False, record_id=None) -> dict:
        return {'changed': changed, 'columnNumber': column, 'componentType': type_name, 'created': created,
                'createdDate': timestamp(self.now), 'deleted': False, 'fileName': file_name, 'fullName': full_name,
                'id': record_id, 'lineNumber': line, 'problem': problem, 'problemType': problem_type, 'success': success}

    def _succeed(self, type_name, full_name, file_name, created=False, changed=False, record_id=None) -> None:
        self.successes.append(self._entry(type_name, full_name, file_name, True, created=created, changed=changed, record_id=record_id))

    def _fail(self, type_name, full_name, file_name, problem, line=None, column=None, problem_type='Error') -> None:
        self.failures.append(self._entry(type_name, full_name, file_name, False, problem, problem_type, line, column))

    def _save(self) -> None:
        registry = self.org.app_registry
        keys_before = _keys_before(registry, self.saves)
        deployment = self.deployment
        for type_name, name, fields in self.saves:
            if type_name == PERMISSION_SET:
                self.org.data.save_permission_set(name, fields.get('label'), fields.get('description'))
            registry.save_component(type_name, name, fields)
            self.org.deploys.saved(type_name, name, deployment.user_id, deployment.user_name, self.now)
        _publish(self.org, self.saves, keys_before, self.now + float(self.org.propagation_delay))


def _affected_apps(saves: list) -> tuple:
    """(External Client App names, Connected App names) whose token-endpoint behaviour the saved components make."""
    ecas, connected_apps = set(), set()
    for type_name, name, fields in saves:
        if type_name == ECA:
            ecas.add(name)
        elif type_name in ECA_PARTS:
            ecas.add(fields.get('externalClientApplication'))
        elif type_name == CONNECTED_APP:
            connected_apps.add(name)
    return ecas, connected_apps


def _keys_before(registry, saves: list) -> dict:
    ecas, _connected_apps = _affected_apps(saves)
    return {eca: (registry.linked(ECA_GLOBAL_OAUTH, eca)[1] or {}).get('consumerKey') for eca in ecas}


def _publish(org, saves: list, keys_before: dict, effective_at: float) -> None:
    """New app versions for the token endpoint, in effect at `effective_at` (Salesforce: changes take a while)."""
    registry = org.app_registry
    ecas, connected_apps = _affected_apps(saves)
    for eca in sorted(ecas):
        app = registry.eca_app(eca)
        if app is None:
            continue
        registry.publish(app.consumer_key, owner_of(ECA, eca), app, effective_at)
        if keys_before[eca] and keys_before[eca] != app.consumer_key:   # rotated: the old key stops working
            registry.publish(keys_before[eca], owner_of(ECA, eca), None, effective_at)
    for name in sorted(connected_apps):
        app = registry.connected_app(name)
        if app is not None:
            registry.publish(app.consumer_key, owner_of(CONNECTED_APP, name), app, effective_at)


def change_component(org, type_name: str, full_name: str, changes: dict, changed_by: str | None = None) -> dict:
    """Change a saved component's fields as an admin would in Setup, without a deploy (a drift for tests to find).

    `changes`: {field: new value, or None to remove the field}; the field order of the deployed component is kept,
    new fields go last. The token endpoint follows after org.propagation_delay, as after a deploy. Returns the
    component's new fields; KeyError when the org has no such component.
    """
    registry = org.app_registry
    with org.deploys.lock:
        fields = registry.component(type_name, full_name)
        if fields is None:
            raise KeyError('%s %s is not in the org' % (type_name, full_name))
        for name, value in changes.items():
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = value
        saves = [(type_name, full_name, fields)]
        keys_before = _keys_before(registry, saves)
        registry.save_component(type_name, full_name, fields)
        if type_name == PERMISSION_SET:
            org.data.save_permission_set(full_name, fields.get('label'), fields.get('description'))
        user = org.find_user(changed_by) if changed_by else None
        now = org.now()
        org.deploys.saved(type_name, full_name, user.user_id if user else '', user.name if user else '', now)
        _publish(org, saves, keys_before, now + float(org.propagation_delay))
        return dict(fields)


def _at(node, name: str) -> tuple:
    """(line, column) of the child element `name`, or of `node` itself."""
    if node is None:
        return None, None
    child = node.child(name)
    target = child if child is not None else node
    return target.line, target.column


def _unsafe(name: str) -> bool:
    return (name.startswith('/') or '\\' in name or re.match(r'^[A-Za-z]:', name) is not None
            or any(part in ('..', '.') for part in name.rstrip('/').split('/')) or '//' in name)


def generate_consumer_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return '3MVG9' + ''.join(secrets.choice(alphabet) for _index in range(80))
