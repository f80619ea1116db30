# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The doctor: why a JWT Bearer login fails, named from evidence rather than guessed from Salesforce's words.

Salesforce answers most failures with a generic invalid_grant; its description alone cannot tell a wrong audience from
a user that is not pre-authorized, nor an old certificate from one that has not propagated yet. The doctor gathers what
can be checked without logging in (settings, the key and the certificates at hand, DNS, TCP, the TLS issuer, the
server's clock, what kind of host the token host is), then makes exactly one token request (each failed one counts
against the user's login limit, so audiences are never tried in a loop) and one REST call, and names the likeliest
cause first, with the one next step. Nothing it reports holds a token, a key or a passphrase.

Here: the order of the checks, the settings, key, certificate and project checks, the login and the REST call. The
network checks are in _doctor_network, the causes of a refusal in _doctor_causes, the report model in _doctor_report.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import replace
from urllib.parse import urlsplit

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._answers import json_body
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._auth import (
    MAX_KEY_BYTES,
    forget_session,
    get_session,
    normalize_login_url,
    prepare,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor_causes import (
    audience_cause,
    audience_source,
    login_causes,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor_network import NetworkChecks
from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor_report import (
    FAIL,
    OK,
    SKIP,
    WARN,
    Cause,
    Diagnosis,
    Evidence,
    places_to_set,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import ApiError, AuthError, HttpError, InputError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._io import read_regular_file
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._keys import public_key_fingerprint
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata import read_consumer_key
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata_certificate import PEM_CERT_RE
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._metadata_files import check_project_path
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._rest import RestClient, StaticCredentials, latest_version
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import host_kind, login_refusal
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._token_request import load_key, request_token
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import (
    MAX_CERTIFICATE_BYTES,
    belongs_to_key,
    certificate_fingerprint,
    colon_hex,
    iso8601,
    load_certificate,
    not_after,
    not_before,
)

# Folders and suffixes of the metadata files that hold an app's consumer key and certificate.
APP_SETTINGS_FILES = (('extlClntAppGlobalOauthSets', '.ecaGlblOauth-meta.xml'), ('connectedApps', '.connectedApp-meta.xml'))
MAX_PROJECT_FILES = 10000
# The provision role stages a rotation's new key next to the configured one, under this suffix (roles/provision main.yml).
STAGED_KEY_SUFFIX = '.new'


# -- reading files -------------------------------------------------------------------------------------

def _project_settings_files(project_path):
    """Paths of the app settings files (ECA global OAuth settings, Connected Apps) in a project, links not followed."""
    found = []
    seen = 0
    for folder, directories, files in os.walk(project_path):
        directories[:] = sorted(name for name in directories if not name.startswith('.'))
        seen += len(files)
        if seen > MAX_PROJECT_FILES:
            break
        kind = os.path.basename(folder)
        for settings_folder, suffix in APP_SETTINGS_FILES:
            if kind == settings_folder:
                found.extend(os.path.join(folder, name) for name in sorted(files) if name.endswith(suffix))
    return found


# -- the checks ------------------------------------------------------------------------------------------

class Doctor(NetworkChecks):
    """Runs the checks in order; see the module docstring. ``now`` (a clock) is for tests. ``sources``: where each
    setting came from, as the action plugin found it (option_sources()), to name it; None when not known."""

    def __init__(self, options, project_path=None, keep_token=True, now=None, sources=None):
        self.options = options
        self.sources = sources or {}
        self.project_path = project_path
        self.keep_token = keep_token
        self.now = now or time.time
        self.diagnosis = Diagnosis()
        self.evidence = Evidence()
        self.identity = None
        self.login_url = None
        self.network_ok = False

    def run(self):
        self.check_settings()
        self.check_key()
        self.check_certificates()
        self.check_network()
        self.check_clock()
        self.check_host_kind()
        session = self.login()
        if session is not None:
            self.check_rest(session)
        return self.diagnosis.result()

    # settings
    def check_settings(self):
        options, diagnosis = self.options, self.diagnosis
        try:
            # Refuses user:password@ as every module does, without showing it.
            self.login_url = normalize_login_url(options.login_url)
        except AuthError as exc:
            diagnosis.add('settings', FAIL, exc.message)
            diagnosis.blame('settings', exc.message, 'Set %s to the token host.' % places_to_set('login_url'))
            return
        key_problem = self._key_file_problem()
        try:
            if key_problem:
                raise AuthError(key_problem)
            self.identity = prepare(options)
        except AuthError as exc:
            diagnosis.add('settings', FAIL, exc.message)
            diagnosis.blame('settings', exc.message, 'Fix the setting the message names, then run the doctor again.')
        identity = self.identity
        if options.validate_certs:
            trust = self._trust_location()[1]
        else:
            trust = 'nothing: validate_certs is false, certificates are not verified'
        diagnosis.settings = {
            'login_url': self.login_url,
            'audience': identity.audience if identity else options.audience,
            'audience_derived': identity.audience_derived if identity else None,
            'consumer_key': options.consumer_key,
            'username': options.username,
            'private_key': identity.key_source if identity else None,
            'private_key_passphrase': 'given' if options.private_key_passphrase else 'not given',
            'certificate_path': options.certificate_path,
            'trusted_cas': trust,
        }
        if identity is not None:
            audience = '%s (%s)' % (identity.audience, audience_source(identity, self.sources))
            diagnosis.add('settings', OK, 'token host %s, audience %s, consumer key %s, user %s, key from %s; trusting %s.'
                          % (self.login_url, audience, identity.consumer_key, identity.username, identity.key_source,
                             trust))

    def _key_file_problem(self):
        """Why private_key_path cannot be read without blocking (a FIFO or a device would hang the read), or None."""
        path = self.options.private_key_path
        if not path or self.options.private_key:
            return None
        path = os.path.expanduser(path)
        try:
            mode = os.stat(path).st_mode   # a link to the key is fine (a mounted secret often is one)
        except OSError:
            return None   # prepare() says what is wrong with it
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            return None
        return ('private_key_path %s is not a regular file (a pipe, socket or device), so it is not read. Point it at the '
                'private key file.' % path)

    # the key
    def check_key(self):
        if self.identity is None:
            self.diagnosis.add('key', SKIP, 'not checked: the settings above are incomplete.')
            return
        try:
            key = load_key(self.identity)
        except (AuthError, InputError) as exc:
            self.diagnosis.add('key', FAIL, exc.message)
            self.diagnosis.blame('key', exc.message, 'Give the private key the app\'s certificate was made from '
                                 '(%s), with its passphrase if it has one.' % places_to_set('private_key_path'))
            self.identity = None
            return
        fingerprint = public_key_fingerprint(key)
        self.evidence.key_fingerprint = fingerprint
        encrypted = b'ENCRYPTED' in self.identity.key_pem
        self.diagnosis.add('key', OK, '%s loads: RSA, %d bits, %s; public key SHA-256 %s.'
                           % (self.identity.key_source, key.key_size,
                              'encrypted (the passphrase opens it)' if encrypted else 'not encrypted (no passphrase needed)',
                              colon_hex(bytes.fromhex(fingerprint))))

    # certificates: certificate_path and the provision project's metadata
    def check_certificates(self):
        if self.identity is None or self.identity.key is None:
            return
        if self.options.certificate_path:
            path = os.path.expanduser(self.options.certificate_path)
            try:
                data = read_regular_file(path, MAX_CERTIFICATE_BYTES, follow_links=True)
            except (OSError, ValueError) as exc:
                reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).rstrip('.')
                self.diagnosis.add('certificate', WARN, 'certificate_path %s cannot be read: %s.' % (path, reason))
            else:
                self._compare_certificate('certificate', 'certificate_path %s' % path, data)
        if self.project_path:
            self.check_project()

    def _compare_certificate(self, check, where, data):
        certificate = load_certificate(data)
        if certificate is None:
            self.diagnosis.add(check, WARN, '%s holds no PEM certificate.' % where)
            return
        fingerprint = certificate_fingerprint(certificate)
        try:
            public_key = certificate.public_key()
        except Exception:  # ValueError for an unknown key type; other errors for keys cryptography does not support
            self.diagnosis.add(check, WARN, 'the certificate in %s (SHA-256 %s) has a public key of a type that cannot be '
                               'read, so it cannot belong to the private key.' % (where, fingerprint))
            return
        if not belongs_to_key(public_key, self.identity.key):
            self.evidence.mismatched_certificates.append('%s (SHA-256 %s)' % (where, fingerprint))
            self.diagnosis.add(check, FAIL, 'the certificate in %s (SHA-256 %s) does not belong to the private key: its '
                               'public key is not the key\'s (%s).'
                               % (where, fingerprint, colon_hex(bytes.fromhex(self.evidence.key_fingerprint))))
            return
        now = self.now()
        start, end = not_before(certificate).timestamp(), not_after(certificate).timestamp()
        window = 'valid from %s to %s' % (iso8601(not_before(certificate)), iso8601(not_after(certificate)))
        if now < start:
            self.diagnosis.add(check, WARN, 'the certificate in %s belongs to the key but is not valid yet (%s).'
                               % (where, window))
        elif now > end:
            self.diagnosis.add(check, WARN, 'the certificate in %s belongs to the key but expired (%s). Renew it with '
                               'ansible-playbook sfjwt.salesforce.rotate_certificate.' % (where, window))
        else:
            self.diagnosis.add(check, OK, 'the certificate in %s belongs to the key; %s (%d days left).'
                               % (where, window, int((end - now) // 86400)))

    def check_project(self):
        project = os.path.expanduser(self.project_path)
        if not os.path.isdir(project):
            self.diagnosis.add('project', WARN, 'project_path %s is not a directory; the app\'s metadata was not compared.'
                               % project)
            return
        files = _project_settings_files(project)
        if not files:
            self.diagnosis.add('project', WARN, 'project_path %s holds no app settings (%s); the app\'s metadata was not '
                               'compared.' % (project, ', '.join(folder for folder, dummy in APP_SETTINGS_FILES)))
            return
        for path in files:
            relative = os.path.relpath(path, project)
            try:
                check_project_path(project, path)
                data = read_regular_file(path, MAX_CERTIFICATE_BYTES)
            except (OSError, ValueError, InputError) as exc:
                reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).rstrip('.')
                self.diagnosis.add('project', WARN, '%s cannot be read: %s.' % (relative, reason))
                continue
            consumer_key = read_consumer_key(data)
            if consumer_key:
                self.evidence.project_consumer_keys.append(consumer_key)
                same = consumer_key == self.identity.consumer_key
                self.diagnosis.add('project', OK if same else WARN, 'the app in %s has consumer key %s%s.'
                                   % (relative, consumer_key, ', the one configured' if same else
                                      ', not the configured %s' % self.identity.consumer_key))
            match = PEM_CERT_RE.search(data.decode('utf-8', 'replace'))
            if match:
                self._compare_certificate('project', 'the app metadata %s' % relative, match.group(0).encode('ascii', 'replace'))

    # the token host: proxy, DNS, TCP, TLS
    def check_host_kind(self):
        if self.login_url is None:
            return
        host = urlsplit(self.login_url).hostname
        kind, expected = host_kind(host)
        self.evidence.host_kind, self.evidence.expected_audience = kind, expected
        if self.identity is None:
            return
        audience = self.identity.audience
        if expected is None:
            self.diagnosis.add('audience', OK, '%s is %s, so the host name does not tell the audience; %s is sent.'
                               % (host, kind, audience))
        elif expected == audience:
            self.diagnosis.add('audience', OK, '%s is %s, which needs the audience %s: that is the one sent.'
                               % (host, kind, audience))
        else:
            self.diagnosis.add('audience', FAIL, '%s is %s, which needs the audience %s, but %s is sent.'
                               % (host, kind, expected, audience))
            self.diagnosis.suspects.append(audience_cause(self.identity, self.login_url, self.evidence, expected,
                                                          self.sources))

    # one login
    def login(self):
        if self.identity is None or self.identity.key is None or not self.network_ok:
            reason = 'a check above failed' if self.diagnosis.causes else 'the settings are incomplete'
            self.diagnosis.add('login', SKIP, 'not attempted: %s.' % reason)
            return None
        try:
            session = self._one_login()
        except AuthError as exc:
            self.diagnosis.add('login', FAIL, exc.message)
            unfinished = self.check_staged_key(exc)
            for cause in ([unfinished] if unfinished else []) + self._login_causes(exc):
                self.diagnosis.causes.append(cause)
            return None
        kept = ' (kept in the token cache for the tasks that follow)' if self.keep_token and self.options.cache else ''
        self.diagnosis.add('login', OK, 'one token request as %s: a session for org %s, user %s, on %s%s.'
                           % (self.identity.username, session.org_id, session.user_id, session.instance_url, kept))
        # What looked wrong before the login did not stop it: keep it as a warning.
        for check in self.diagnosis.checks:
            if check.status == FAIL:
                check.status = WARN
        return session

    def check_staged_key(self, exc):
        """The cause when the key is refused but the staged key of a rotation (<private_key_path>.new) logs in, else None.

        A rotation deploys the new certificate, waits for a token with the staged key, then moves the staged key into
        place. Stopped in between (the wait failed, the run was killed), it leaves the org accepting only the staged key
        while the configured one is refused. One more token request, with the staged key, tells; its token is not kept."""
        refusal = login_refusal(exc.details.get('salesforce_error'), exc.details.get('salesforce_error_description'))
        path = self.options.private_key_path
        if not refusal or refusal.code != 'invalid_assertion' or not path or self.options.private_key:
            return None
        configured = os.path.expanduser(path)
        staged_path = configured + STAGED_KEY_SUFFIX
        try:
            if not stat.S_ISREG(os.stat(staged_path).st_mode):
                return None
            staged = replace(self.identity, key_pem=read_regular_file(staged_path, MAX_KEY_BYTES, follow_links=True),
                             key=None, key_source='the staged private key %s' % staged_path)
            load_key(staged)
        except FileNotFoundError:
            return None   # no staged key: no rotation was left unfinished
        except (OSError, AuthError, InputError, ValueError) as exc:
            if isinstance(exc, OSError):
                message = exc.strerror or type(exc).__name__
            else:
                message = exc.message if isinstance(exc, (AuthError, InputError)) else str(exc)
            self.diagnosis.add('rotation', WARN, 'a staged key from an unfinished rotation, %s, cannot be read: %s.'
                               % (staged_path, message.rstrip('.')))
            return None
        try:
            request_token(self.options, staged)
        except AuthError as refused:
            self.diagnosis.add('rotation', OK, 'the staged key %s, from an unfinished rotation, is refused too: %s'
                               % (staged_path, refused.message))
            return None
        self.diagnosis.add('rotation', FAIL, 'the staged key %s logs in (its token is not kept): the org has its '
                           'certificate, not the one of %s.' % (staged_path, configured))
        return Cause('unfinished_rotation', 'A certificate rotation deployed the new certificate and stopped before moving '
                     'the new key into place: Salesforce accepts the staged key %s, and refuses the configured %s.'
                     % (staged_path, configured),
                     'Run the rotation again with the same variables (ansible-playbook '
                     'sfjwt.salesforce.rotate_certificate -e sfjwt_provision_deploy=true): the provision role finds the '
                     'staged key and certificate and moves them into place.')

    def _one_login(self):
        """A new session, never a cached one: the login itself is under test. With the cache on (and keep_token), it
        replaces the identity's cached token, so the tasks after a pre-flight do not log in again."""
        if self.keep_token and self.options.cache:
            forget_session(self.options)
            return get_session(self.options)
        return request_token(self.options, self.identity)

    def _login_causes(self, exc):
        return login_causes(exc, self.identity, self.evidence, self.login_url, self.diagnosis.suspects, self.sources)

    # one REST call
    def check_rest(self, session):
        url = session.instance_url + '/services/data/'
        client = RestClient(StaticCredentials(session.access_token, session.instance_url), self.options.http)
        try:
            answer = client.request('GET', '/services/data/')
            status = answer.status
            # A proxy may drop the Content-Type: the body counts if it is the JSON list of versions.
            latest = latest_version(answer.json if answer.json is not None else json_body(answer.response))
        except ApiError as exc:   # the new session rejected (401): a session given as it is is not renewed
            status, latest = exc.details.get('status'), None
        except HttpError as exc:
            self.diagnosis.add('rest', FAIL, str(exc))
            self.diagnosis.blame('rest', 'The login worked, but the instance URL %s cannot be reached: %s'
                                 % (session.instance_url, exc), 'Check the network path (proxy, firewall) to %s.'
                                 % session.instance_url)
            return
        if status != 200 or not latest:
            summary = 'GET %s answered HTTP %s%s.' % (url, status, '' if latest else ', not a list of API versions')
            self.diagnosis.add('rest', FAIL, summary)
            self.diagnosis.blame('rest', 'The login worked, but the REST API at %s did not: %s' % (session.instance_url, summary),
                                 'Check that the user\'s profile has "API Enabled", and the network path to the instance.')
            return
        self.diagnosis.add('rest', OK, 'GET %s answered HTTP 200; the newest API version is %s.' % (url, latest))


def diagnose(options, project_path=None, keep_token=True, sources=None):
    """The doctor's result: ok, cause, cause_code, next_step, causes, checks, settings and report (plain lines).
    keep_token: whether the new token goes into the token cache (when options.cache is on). sources: where each setting
    came from (the action plugin's option_sources()), when known."""
    return Doctor(options, project_path=project_path, keep_token=keep_token, sources=sources).run()
