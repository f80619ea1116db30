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
"""

from __future__ import annotations

import os
import socket
import ssl
import stat
import time
import unicodedata
from dataclasses import dataclass, field
from typing import List, Optional
from urllib.parse import urlsplit

from ansible_collections.sfjwt.salesforce.plugins.module_utils._answers import server_time
from ansible_collections.sfjwt.salesforce.plugins.module_utils._auth import forget_session, get_session, normalize_login_url, prepare
from ansible_collections.sfjwt.salesforce.plugins.module_utils._common import SalesforceAuthError, iso_time
from ansible_collections.sfjwt.salesforce.plugins.module_utils._http import HttpError, send
from ansible_collections.sfjwt.salesforce.plugins.module_utils._io import read_regular_file
from ansible_collections.sfjwt.salesforce.plugins.module_utils._keys import public_key_fingerprint
from ansible_collections.sfjwt.salesforce.plugins.module_utils._metadata import (
    MetadataError,
    PEM_CERT_RE,
    check_project_path,
    read_consumer_key,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils._options import MAX_RETRIES, MAX_TIMEOUT, env_var, var_name
from ansible_collections.sfjwt.salesforce.plugins.module_utils._salesforce_facts import (
    EXPERIENCE_CLOUD_AUDIENCE,
    PRODUCTION_AUDIENCE,
    SANDBOX_AUDIENCE,
    host_kind,
    latest_api_version,
    login_refusal,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils._token_request import (
    ASSERTION_LIFETIME,
    CLOCK_TOLERANCE,
    load_key,
    request_token,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils._urls import url_origin, without_userinfo
from ansible_collections.sfjwt.salesforce.plugins.module_utils._x509 import (
    HAS_CRYPTOGRAPHY,
    MAX_CERTIFICATE_BYTES,
    belongs_to_key,
    certificate_fingerprint,
    colon_hex,
    describe_name,
    iso8601,
    load_certificate,
    load_der_certificate,
    not_after,
    not_before,
)

OK = 'ok'
WARN = 'warn'
FAIL = 'fail'
SKIP = 'skip'

# Folders and suffixes of the metadata files that hold an app's consumer key and certificate.
APP_SETTINGS_FILES = (('extlClntAppGlobalOauthSets', '.ecaGlblOauth-meta.xml'), ('connectedApps', '.connectedApp-meta.xml'))
MAX_PROJECT_FILES = 10000
# Unicode categories shown escaped in the report: control and format characters, line and paragraph separators.
UNPRINTABLE_CATEGORIES = ('Cc', 'Cf', 'Zl', 'Zp')


def _option(name):
    """'audience (SFJWT_AUDIENCE, sfjwt_audience)': an option with the two other places it can be set."""
    return '%s (%s, %s)' % (name, env_var(name), var_name(name))


def _printable(text):
    """text with control characters, line separators and the like as escapes (\\x1b, \\u2028): a value from a server, a
    file or a setting cannot start a line of its own in the report, nor drive the terminal."""
    return ''.join(('\\x%02x' % ord(char) if ord(char) < 0x100 else '\\u%04x' % ord(char))
                   if unicodedata.category(char) in UNPRINTABLE_CATEGORIES else char for char in str(text))


@dataclass
class Cause:
    code: str
    summary: str
    next_step: str

    def __post_init__(self):
        self.summary, self.next_step = _printable(self.summary), _printable(self.next_step)

    def as_dict(self):
        return {'code': self.code, 'summary': self.summary, 'next_step': self.next_step}


@dataclass
class Check:
    name: str
    status: str
    summary: str

    def __post_init__(self):
        self.summary = _printable(self.summary)

    def as_dict(self):
        return {'name': self.name, 'status': self.status, 'summary': self.summary}


@dataclass
class Evidence:
    """What the checks before the login found, for naming the cause of a refusal."""

    key_fingerprint: Optional[str] = None
    mismatched_certificates: List[str] = field(default_factory=list)   # where a certificate not of this key was found
    project_consumer_keys: List[str] = field(default_factory=list)
    clock_skew: Optional[int] = None          # seconds this machine is ahead of the server (negative: behind)
    expected_audience: Optional[str] = None   # what the token host's kind needs, when the host name tells
    host_kind: Optional[str] = None


class Diagnosis:
    def __init__(self):
        self.checks = []
        self.suspects = []      # causes found before the login; they count only if the login fails
        self.causes = []
        self.settings = {}

    def add(self, name, status, summary):
        self.checks.append(Check(name, status, summary))

    def blame(self, code, summary, next_step):
        self.causes.append(Cause(code, summary, next_step))

    @property
    def ok(self):
        return not self.causes

    def result(self):
        cause = self.causes[0] if self.causes else None
        return {
            'ok': self.ok,
            'cause': cause.summary if cause else None,
            'cause_code': cause.code if cause else None,
            'next_step': cause.next_step if cause else None,
            'causes': [item.as_dict() for item in self.causes],
            'checks': [check.as_dict() for check in self.checks],
            'settings': self.settings,
            'report': self.report(),
        }

    def report(self):
        lines = []
        for check in self.checks:
            lines.append('%-6s %s: %s' % ('[%s]' % check.status.upper() if check.status != OK else '[ok]', check.name,
                                          check.summary))
        if self.causes:
            lines.append('Cause: %s' % self.causes[0].summary)
            lines.append('Next step: %s' % self.causes[0].next_step)
            for other in self.causes[1:]:
                lines.append('Also possible: %s (%s)' % (other.summary, other.next_step))
        else:
            lines.append('Result: the login and the REST call work with these settings.')
        return lines


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

class Doctor:
    """Runs the checks in order; see the module docstring. ``now`` (a clock) is for tests."""

    def __init__(self, options, project_path=None, keep_token=True, now=None):
        self.options = options
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
        except SalesforceAuthError as exc:
            diagnosis.add('settings', FAIL, exc.message)
            diagnosis.blame('settings', exc.message, 'Set %s to the token host.' % _option('login_url'))
            return
        key_problem = self._key_file_problem()
        try:
            if key_problem:
                raise SalesforceAuthError(key_problem)
            self.identity = prepare(options)
        except SalesforceAuthError as exc:
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
            audience = '%s (%s)' % (identity.audience, 'derived from login_url' if identity.audience_derived
                                    else 'set by the audience option')
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
        except SalesforceAuthError as exc:
            self.diagnosis.add('key', FAIL, exc.message)
            self.diagnosis.blame('key', exc.message, 'Give the private key the app\'s certificate was made from '
                                 '(%s), with its passphrase if it has one.' % _option('private_key_path'))
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
            except (OSError, ValueError, MetadataError) as exc:
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
    def check_network(self):
        if self.login_url is None:
            return
        parts = urlsplit(self.login_url)
        host, port = parts.hostname, parts.port or 443
        problem = self._connection_settings_problem()
        if problem:
            # prepare() refused it above; probing with it would crash (an overflowing timeout) or wait forever.
            self.diagnosis.add('tcp', SKIP, 'the token host was not probed: %s.' % problem)
            return
        proxy = self._proxy_for(self.login_url + '/services/oauth2/token')
        if proxy:
            self.diagnosis.add('proxy', OK, 'requests to %s go through the proxy %s (from the HTTPS_PROXY/NO_PROXY '
                               'environment); DNS, TCP and TLS are checked through it by the requests below.'
                               % (host, proxy))
            self.network_ok = True
            return
        try:
            started = time.monotonic()
            addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            self.diagnosis.add('dns', FAIL, '%s does not resolve: %s.' % (host, reason))
            self.diagnosis.blame('dns', 'The token host %s does not resolve (DNS).' % host,
                                 'Check %s (a My Domain looks like https://acme.my.salesforce.com) and this machine\'s '
                                 'DNS; behind a proxy, set HTTPS_PROXY.' % _option('login_url'))
            return
        shown = sorted({address[4][0] for address in addresses})
        self.diagnosis.add('dns', OK, '%s resolves to %s (%d ms).'
                           % (host, ', '.join(shown[:4]), (time.monotonic() - started) * 1000))
        try:
            started = time.monotonic()
            connection = socket.create_connection((host, port), timeout=self.options.timeout)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.diagnosis.add('tcp', FAIL, 'no TCP connection to %s port %d: %s.' % (host, port, reason))
            self.diagnosis.blame('tcp', 'Nothing answers on %s port %d (%s).' % (host, port, reason),
                                 'Check %s and any firewall in between; behind a proxy, set HTTPS_PROXY.'
                                 % _option('login_url'))
            return
        self.diagnosis.add('tcp', OK, '%s port %d accepts connections (%d ms).'
                           % (host, port, (time.monotonic() - started) * 1000))
        with connection:
            self.network_ok = self.check_tls(connection, host, port)

    def _connection_settings_problem(self):
        for name, minimum, maximum in (('timeout', 1, MAX_TIMEOUT), ('retries', 0, MAX_RETRIES)):
            value = getattr(self.options, name)
            if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
                return '%s is not an integer from %d to %d' % (name, minimum, maximum)
        return None

    def _proxy_for(self, url):
        try:
            import requests.utils   # pylint: disable=import-outside-toplevel
        except ImportError:
            return None
        proxies = requests.utils.get_environ_proxies(url)
        proxy = proxies.get('https') or proxies.get('all')
        if not proxy:
            return None
        try:
            return url_origin(proxy)
        except ValueError:   # a port that is not one: requests fails on it too
            return '%s (not a valid proxy URL: check HTTPS_PROXY)' % without_userinfo(proxy)[0]

    def _trust_location(self):
        """(path or None, how the report names it, the setting that chose it): the CA certificates the token request
        verifies with. ca_path, else what requests uses: REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, else certifi's bundle."""
        if self.options.ca_path:
            return os.path.expanduser(self.options.ca_path), 'ca_path %s' % self.options.ca_path, 'ca_path'
        for variable in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
            if os.environ.get(variable):
                return (os.path.expanduser(os.environ[variable]), 'the environment variable %s (%s)'
                        % (variable, os.environ[variable]), variable)
        try:
            import certifi   # pylint: disable=import-outside-toplevel
        except ImportError:
            return None, 'the system\'s CA certificates', None
        return certifi.where(), 'the CA certificates bundled with requests (certifi)', 'certifi'

    def _trust_context(self):
        """The TLS context the token request verifies with (see _trust_location); None when validate_certs is false.
        Raises OSError (or ssl.SSLError) when the CA certificates cannot be loaded."""
        if not self.options.validate_certs:
            return None
        path = self._trust_location()[0]
        context = ssl.create_default_context()
        if path:
            mode = os.stat(path).st_mode   # follows links: CA bundles often are links
            if stat.S_ISDIR(mode):
                context.load_verify_locations(capath=path)
            elif stat.S_ISREG(mode):
                context.load_verify_locations(cafile=path)
            else:
                raise OSError(0, 'not a regular file or directory')   # OpenSSL would wait forever for a pipe's writer
        return context

    def _tls_failure(self, exc):
        if isinstance(exc, socket.timeout):
            return 'no answer within %d s' % self.options.timeout
        return getattr(exc, 'reason', None) or type(exc).__name__

    def check_tls(self, connection, host, port):
        try:
            context = self._trust_context()
        except (OSError, ssl.SSLError) as exc:
            dummy, source, setting = self._trust_location()
            reason = (exc.strerror if not isinstance(exc, ssl.SSLError) and exc.strerror else type(exc).__name__)
            message = '%s could not be loaded as CA certificates (%s).' % (source, reason)
            self.diagnosis.add('tls', FAIL, message)
            if setting in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
                next_step = 'Point %s at a PEM file with the CA certificate(s), or unset it.' % setting
            else:
                next_step = 'Point %s at a PEM file with the CA certificate(s).' % _option('ca_path')
            self.diagnosis.blame('ca_path', message, next_step)
            return False
        # Once without verification: the certificate presented is reported whatever happens next.
        unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        presented, version = self._handshake(connection, host, unverified)
        if presented is None:
            self.diagnosis.add('tls', FAIL, 'the TLS handshake with %s port %d failed: %s.' % (host, port, version))
            self.diagnosis.blame('tls', 'The TLS handshake with %s failed (%s).' % (host, version),
                                 'Check that %s is an https:// Salesforce host and that no proxy interferes with TLS.'
                                 % _option('login_url'))
            return False
        issuer = subject = '(not readable without the cryptography library)'
        if HAS_CRYPTOGRAPHY:
            try:
                certificate = load_der_certificate(presented)
                issuer, subject = describe_name(certificate.issuer), describe_name(certificate.subject)
            except ValueError:
                issuer = subject = '(not an X.509 certificate)'
        if context is None:
            self.diagnosis.add('tls', WARN, '%s presents a certificate for %s issued by %s; it is not verified '
                               '(validate_certs is false). Never turn verification off in production.'
                               % (host, subject, issuer))
            return True
        try:
            with socket.create_connection((host, port), timeout=self.options.timeout) as second:
                with context.wrap_socket(second, server_hostname=host):
                    pass
        except ssl.SSLCertVerificationError as exc:
            reason = exc.verify_message or exc.reason or 'certificate verify failed'
            self.diagnosis.add('tls', FAIL, '%s presents a certificate for %s issued by %s, which this machine does not '
                               'trust: %s.' % (host, subject, issuer, reason))
            if 'hostname' in reason.lower():
                self.diagnosis.blame('tls_hostname', 'The certificate of %s is not for that host name (%s); it was issued '
                                     'to %s.' % (host, reason, subject),
                                     'Use the host name the certificate names in %s.' % _option('login_url'))
            else:
                self.diagnosis.blame('untrusted_ca', 'The TLS certificate of %s is issued by %s, which is not a trusted '
                                     'CA here (%s). A corporate proxy that inspects TLS, or a private CA, presents '
                                     'such certificates; an issuer you do not know may mean the connection is '
                                     'intercepted.' % (host, issuer, reason),
                                     'If the issuer is your company\'s proxy or CA, set %s to a PEM file of its CA '
                                     'certificate; otherwise find out who intercepts the connection.' % _option('ca_path'))
            return False
        except (OSError, ssl.SSLError) as exc:
            reason = self._tls_failure(exc)
            self.diagnosis.add('tls', FAIL, 'the verified TLS handshake with %s failed: %s.' % (host, reason))
            self.diagnosis.blame('tls', 'The TLS handshake with %s failed (%s).' % (host, reason),
                                 'Check that no proxy interferes with TLS.')
            return False
        self.diagnosis.add('tls', OK, '%s, certificate for %s issued by %s, trusted.' % (version, subject, issuer))
        return True

    def _handshake(self, connection, host, context):
        """(DER certificate, TLS version) or (None, reason)."""
        try:
            with context.wrap_socket(connection, server_hostname=host, do_handshake_on_connect=True) as wrapped:
                return wrapped.getpeercert(binary_form=True), wrapped.version()
        except (OSError, ssl.SSLError) as exc:
            return None, self._tls_failure(exc)

    # the server's clock and whether it answers like Salesforce
    def check_clock(self):
        if not self.network_ok:
            self.diagnosis.add('clock', SKIP, 'not compared: the token host cannot be reached safely.')
            return
        url = self.login_url + '/services/data/'
        try:
            # Only the headers count: the body (whatever its size) is never read.
            response = send(self.options.http, 'GET', url, headers={'Accept': 'application/json'}, allow_redirects=False,
                            stream=True)
        except HttpError as exc:
            self.diagnosis.add('clock', FAIL, str(exc))
            self.diagnosis.blame('network', str(exc), 'Fix the connection to the token host first.')
            self.network_ok = False
            return
        response.close()
        local_now = self.now()
        server_now = server_time(response)
        if server_now is None:
            self.diagnosis.add('clock', WARN, 'the token host sent no usable Date header (HTTP %d for GET /services/data/); '
                               'clocks not compared.' % response.status_code)
            return
        skew = int(round(local_now - server_now))
        self.evidence.clock_skew = skew
        times = 'this machine %s, the server %s' % (iso_time(local_now), iso_time(server_now))
        if abs(skew) <= CLOCK_TOLERANCE:
            self.diagnosis.add('clock', OK, 'the clocks agree within %d s (%s).' % (CLOCK_TOLERANCE, times))
            return
        direction = 'ahead of' if skew > 0 else 'behind'
        status = FAIL if abs(skew) > ASSERTION_LIFETIME else WARN
        self.diagnosis.add('clock', status, 'this machine\'s clock is %d s %s the server\'s (%s); an assertion is valid '
                           'for %d s.' % (abs(skew), direction, times, ASSERTION_LIFETIME))
        if status == FAIL:
            self.diagnosis.suspects.append(Cause('clock_skew', 'This machine\'s clock is %d s %s Salesforce\'s (%s), more '
                                                 'than the %d s an assertion is valid.'
                                                 % (abs(skew), direction, times, ASSERTION_LIFETIME),
                                                 'Synchronize this machine\'s clock (NTP, chrony or systemd-timesyncd), '
                                                 'then run the doctor again.'))

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
            self.diagnosis.suspects.append(self._audience_cause(expected))

    def _audience_cause(self, expected=None):
        identity = self.identity
        source = 'derived from login_url' if identity.audience_derived else 'set by the audience option'
        if expected:
            return Cause('audience', '%s is %s, which needs the audience %s, but %s (%s) is sent.'
                         % (self.login_url, self.evidence.host_kind, expected, identity.audience, source),
                         'Set %s to %s.' % (_option('audience'), expected))
        return Cause('audience', 'Salesforce at %s refused the audience %s (%s).' % (self.login_url, identity.audience, source),
                     'Set %s to %s for production and developer orgs, %s for sandboxes, or %s for Experience Cloud sites; '
                     'the audience is never the My Domain.' % (_option('audience'), PRODUCTION_AUDIENCE, SANDBOX_AUDIENCE,
                                                               EXPERIENCE_CLOUD_AUDIENCE))

    # one login
    def login(self):
        if self.identity is None or self.identity.key is None or not self.network_ok:
            reason = 'a check above failed' if self.diagnosis.causes else 'the settings are incomplete'
            self.diagnosis.add('login', SKIP, 'not attempted: %s.' % reason)
            return None
        try:
            session = self._one_login()
        except SalesforceAuthError as exc:
            self.diagnosis.add('login', FAIL, exc.message)
            for cause in self._login_causes(exc):
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

    def _one_login(self):
        """A new session, never a cached one: the login itself is under test. With the cache on (and keep_token), it
        replaces the identity's cached token, so the tasks after a pre-flight do not log in again."""
        if self.keep_token and self.options.cache:
            forget_session(self.options)
            return get_session(self.options)
        return request_token(self.options, self.identity)

    def _login_causes(self, exc):
        """The likely causes of a refused login, likeliest first, from Salesforce's words and the evidence."""
        details = exc.details
        refusal = login_refusal(details.get('salesforce_error'), details.get('salesforce_error_description'))
        code = refusal.code if refusal else None
        identity, evidence = self.identity, self.evidence
        suspects = {cause.code: cause for cause in self.diagnosis.suspects}
        causes = []
        if not details.get('status_code'):
            if exc.shareable:   # the request got no answer (an HttpError)
                return [Cause('network', exc.message, 'Fix the connection to the token host, then run the doctor again.')]
            # Not the network: the token cache (cache_dir), say, before any request was sent.
            return [Cause('settings', exc.message, 'Fix what the message names, then run the doctor again.')]
        if code == 'rate_limit':
            return [Cause('rate_limit', exc.message, 'Wait up to an hour; keep the token cache on so runs reuse tokens.')]
        if code == 'unknown_consumer_key':
            others = [key for key in evidence.project_consumer_keys if key != identity.consumer_key]
            if others and identity.consumer_key not in evidence.project_consumer_keys:
                causes.append(Cause('consumer_key', 'The consumer key %s is not the app\'s: the app in the project has %s.'
                                    % (identity.consumer_key, ', '.join(others)),
                                    'Set %s to %s.' % (_option('consumer_key'), others[0])))
            causes.append(Cause('consumer_key', 'Salesforce at %s does not know the consumer key %s (invalid_client_id).'
                                % (self.login_url, identity.consumer_key),
                                'Set %s to the Consumer Key of the app in this org, and check that %s is that org. An app '
                                'deployed in the last 10 minutes may not be known yet: run the doctor again then.'
                                % (_option('consumer_key'), _option('login_url'))))
        elif code == 'audience':
            causes.append(suspects.get('audience') or self._audience_cause(evidence.expected_audience))
        elif code in ('not_approved', 'not_admin_approved'):
            if 'audience' in suspects:
                causes.append(suspects['audience'])
            causes.append(Cause('not_preauthorized', 'User %s is not pre-authorized for the app with consumer key %s (%s).'
                                % (identity.username, identity.consumer_key, details.get('salesforce_error_description')),
                                'In the app\'s OAuth policies, set Permitted Users to "Admin approved users are '
                                'pre-authorized" and assign %s a permission set (or profile) of the app; the provision '
                                'role does both.' % identity.username))
        elif code == 'invalid_assertion':
            if evidence.mismatched_certificates:
                causes.append(Cause('key_certificate_mismatch', 'The private key does not match the certificate: %s '
                                    'belongs to another key.' % '; '.join(evidence.mismatched_certificates),
                                    'Upload the certificate made from this key to the app (or deploy it: '
                                    'ansible-playbook sfjwt.salesforce.rotate_certificate), or use the key that '
                                    'certificate was made from.'))
            causes.append(Cause('key_certificate_mismatch', 'Salesforce could not verify the signature: the certificate '
                                'uploaded to the app is not the one of this key (public key SHA-256 %s).'
                                % colon_hex(bytes.fromhex(evidence.key_fingerprint)),
                                'Upload the certificate made from this key to the app (Use digital signatures), or use '
                                'the key the uploaded certificate was made from. A certificate deployed in the last 10 '
                                'minutes may not be used yet: run the doctor again then.'))
        elif code == 'expired_assertion':
            if 'clock_skew' in suspects:
                causes.append(suspects['clock_skew'])
            elif evidence.clock_skew is None:
                causes.append(Cause('expired_assertion', exc.message, 'The clocks could not be compared: check that this '
                                    'machine\'s clock is synchronized (NTP, chrony or systemd-timesyncd).'))
            else:
                causes.append(Cause('expired_assertion', exc.message, 'Check for a proxy that delays requests by minutes.'))
        elif code == 'ip_restricted':
            causes.append(Cause('ip_restricted', exc.message, 'Add this machine\'s public IP address to the Login IP '
                                'Ranges of the user\'s profile, or relax IP restrictions in the app\'s policies.'))
        elif code == 'inactive_user':
            causes.append(Cause('inactive_user', exc.message, 'Activate the user, or use another username.'))
        elif code == 'inactive_org':
            causes.append(Cause('inactive_org', exc.message, 'Check that %s points at the right org.' % _option('login_url')))
        else:
            causes.append(Cause('login_refused', exc.message, 'Read the message above; the checks before the login found '
                                'nothing wrong.'))
        # What else looked wrong before the login, after the causes Salesforce's answer points at.
        for suspect in self.diagnosis.suspects:
            if all(suspect.code != cause.code for cause in causes):
                causes.append(suspect)
        return causes

    # one REST call
    def check_rest(self, session):
        url = session.instance_url + '/services/data/'
        try:
            response = send(self.options.http, 'GET', url, allow_redirects=False,
                            headers={'Accept': 'application/json', 'Authorization': 'Bearer %s' % session.access_token})
        except HttpError as exc:
            self.diagnosis.add('rest', FAIL, str(exc))
            self.diagnosis.blame('rest', 'The login worked, but the instance URL %s cannot be reached: %s'
                                 % (session.instance_url, exc), 'Check the network path (proxy, firewall) to %s.'
                                 % session.instance_url)
            return
        latest = None
        try:
            body = response.json()
        except (ValueError, RecursionError):   # RecursionError: JSON nested too deep
            body = None
        if isinstance(body, list):
            latest = latest_api_version(item.get('version') for item in body if isinstance(item, dict))
        if response.status_code != 200 or not latest:
            summary = 'GET %s answered HTTP %d%s.' % (url, response.status_code, '' if latest else ', not a list of API versions')
            self.diagnosis.add('rest', FAIL, summary)
            self.diagnosis.blame('rest', 'The login worked, but the REST API at %s did not: %s' % (session.instance_url, summary),
                                 'Check that the user\'s profile has "API Enabled", and the network path to the instance.')
            return
        self.diagnosis.add('rest', OK, 'GET %s answered HTTP 200; the newest API version is %s.' % (url, latest))


def diagnose(options, project_path=None, keep_token=True):
    """The doctor's result: ok, cause, cause_code, next_step, causes, checks, settings and report (plain lines).
    keep_token: whether the new token goes into the token cache (when options.cache is on)."""
    return Doctor(options, project_path=project_path, keep_token=keep_token).run()
