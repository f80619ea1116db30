# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The doctor's network checks, before any login: DNS, TCP and TLS to the token host (the certificate presented, its
issuer, whether it is trusted with the settings the token request uses), and the server's clock from its Date header."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import time
from urllib.parse import urlsplit

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._answers import server_time
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import iso_time
from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor_report import FAIL, OK, SKIP, WARN, Cause, places_to_set
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import HttpError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._http import send
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import MAX_RETRIES, MAX_TIMEOUT
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._token_request import ASSERTION_LIFETIME, CLOCK_TOLERANCE
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._urls import INVALID_URL, url_origin, without_userinfo
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._x509 import HAS_CRYPTOGRAPHY, describe_name, load_der_certificate


class NetworkChecks:
    """The checks of the token host's network path and clock; the Doctor runs them. They read options, login_url and
    now, record into diagnosis and evidence, and set network_ok when a login can be tried safely."""

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
                                 'DNS; behind a proxy, set HTTPS_PROXY.' % places_to_set('login_url'))
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
                                 % places_to_set('login_url'))
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
        origin = url_origin(proxy)
        if origin == INVALID_URL:   # a port that is not one, say: requests fails on it too
            return '%s (not a valid proxy URL: check HTTPS_PROXY)' % without_userinfo(proxy)[0]
        return origin

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
                next_step = 'Point %s at a PEM file with the CA certificate(s).' % places_to_set('ca_path')
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
                                 % places_to_set('login_url'))
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
                                     'Use the host name the certificate names in %s.' % places_to_set('login_url'))
            else:
                self.diagnosis.blame('untrusted_ca', 'The TLS certificate of %s is issued by %s, which is not a trusted '
                                     'CA here (%s). A corporate proxy that inspects TLS, or a private CA, presents '
                                     'such certificates; an issuer you do not know may mean the connection is '
                                     'intercepted.' % (host, issuer, reason),
                                     'If the issuer is your company\'s proxy or CA, set %s to a PEM file of its CA '
                                     'certificate; otherwise find out who intercepts the connection.' % places_to_set('ca_path'))
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
