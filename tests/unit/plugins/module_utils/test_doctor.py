# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The doctor (module_utils/doctor/_doctor) without ansible-playbook: host kinds, the audience check, the causes of a refusal and
their order, the report, hostile local files, hostile servers (scripted TLS servers on the loopback) and, against the fake
org started in-process, that nothing secret reaches the result."""

from __future__ import annotations

import datetime
import json
import os
import socket
import ssl
import time
import unicodedata
from types import SimpleNamespace

import pytest
import trustme

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._certificate import describe_name
from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor import Doctor, diagnose
from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor_report import FAIL, OK, SKIP, WARN, Cause, Check, Diagnosis
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._keys import public_key_fingerprint
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import AuthOptions
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import (
    EXPERIENCE_CLOUD_AUDIENCE,
    PRODUCTION_AUDIENCE,
)
from ansible_collections.sfjwt.salesforce.tests.fake_org import FakeOrg
from ansible_collections.sfjwt.salesforce.tests.fake_org.identities import generate_key_and_certificate, write_private_file
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.fakes import deadline
from ansible_collections.sfjwt.salesforce.tests.unit.plugins.module_utils.local_tls_server import tls_server

CONSUMER_KEY = '3MVG9DoctorUnitConsumerKey'
USERNAME = 'integration@example.com'
PERMISSION_SET = 'SFJWT_Integration'
PASSPHRASE = 'Doctor-Unit-Passphrase-51c7'
AUDIENCE_OPTION = 'audience (SFJWT_AUDIENCE, sfjwt_audience)'


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope='module')
def material():
    """(key PEM, its certificate PEM, another key's certificate PEM): RSA keys cost more than most tests."""
    key_pem, certificate_pem = generate_key_and_certificate('sfjwt-doctor-unit')
    dummy, other_certificate_pem = generate_key_and_certificate('sfjwt-doctor-other')
    return key_pem, certificate_pem, other_certificate_pem


@pytest.fixture
def key_path(tmp_path, material):
    path = tmp_path / 'server.key'
    write_private_file(path, material[0])
    return path


@pytest.fixture(scope='module')
def org_server(tmp_path_factory):
    with FakeOrg(tmp_path_factory.mktemp('fake-org')) as org:
        yield org


@pytest.fixture
def org(org_server, material):
    """The in-process fake org, reset, with the user and the admin-approved app of the key's certificate."""
    org_server.restore_defaults()
    org_server.add_user(USERNAME, permission_sets=[PERMISSION_SET])
    org_server.add_app(CONSUMER_KEY, material[1], admin_approved=True, permission_sets=[PERMISSION_SET])
    return org_server


def make_options(tmp_path, key_path, login_url='https://acme.my.salesforce.com', **overrides):
    values = dict(consumer_key=CONSUMER_KEY, username=USERNAME, private_key_path=str(key_path) if key_path else None,
                  login_url=login_url, cache_dir=str(tmp_path / 'cache'), timeout=5, retries=0)
    values.update(overrides)
    return AuthOptions(**values)


def checked(tmp_path, key_path, login_url='https://acme.my.salesforce.com', **overrides):
    """A Doctor after the checks that need no network: settings, key, certificates, host kind."""
    doctor = Doctor(make_options(tmp_path, key_path, login_url, **overrides))
    doctor.check_settings()
    doctor.check_key()
    doctor.check_certificates()
    doctor.check_host_kind()
    return doctor


def checks(doctor, name=None):
    return [(check.name, check.status, check.summary) for check in doctor.diagnosis.checks if name in (None, check.name)]


def http(route, requests_seen=None):
    """A behaviour answering one HTTP request per connection with route(method, path) -> (status, headers, body); a
    connection that closes after its TLS handshake (the doctor's probes) gets nothing."""
    def behaviour(raw, context):
        connection = context.wrap_socket(raw, server_side=True)
        reader = connection.makefile('rb')
        request_line = reader.readline()
        if not request_line:
            return
        length = 0
        while True:
            line = reader.readline()
            if line in (b'\r\n', b'\n', b''):
                break
            name, dummy, value = line.decode('latin-1').partition(':')
            if name.strip().lower() == 'content-length':
                length = int(value)
        reader.read(length)
        method, path = request_line.decode('latin-1').split()[:2]
        if requests_seen is not None:
            requests_seen.append((method, path))
        status, headers, body = route(method, path)
        head = 'HTTP/1.1 %s\r\nConnection: close\r\n%s' % (status, ''.join('%s: %s\r\n' % header for header in headers))
        if not any(name.lower() == 'content-length' for name, dummy in headers):
            head += 'Content-Length: %d\r\n' % len(body)
        connection.sendall(head.encode('latin-1') + b'\r\n' + body)
        if any(name.lower() == 'content-length' for name, dummy in headers):
            while reader.read(4096):   # the body promised more than was sent: wait for the client to give up
                pass
    return behaviour


def until_closed(raw, context):
    """Accepts the connection, never answers the TLS handshake; returns when the client goes away."""
    while raw.recv(4096):
        pass


def services_data(date=None, body=b'[{"version":"62.0"}]', extra_headers=()):
    headers = [('Content-Type', 'application/json')] + ([('Date', date)] if date is not None else []) + list(extra_headers)
    return http(lambda method, path: ('200 OK', headers, body))


def probed(tmp_path, key_path, url, ca_path, now=None, **overrides):
    """A Doctor after the settings, key, network and clock checks against url (no login)."""
    doctor = Doctor(make_options(tmp_path, key_path, url, ca_path=ca_path, cache=False, **overrides), now=now)
    with deadline(60):
        doctor.check_settings()
        doctor.check_key()
        doctor.check_network()
        doctor.check_clock()
    return doctor


def refusal(description, error='invalid_grant', status=400, message='Salesforce refused the login.'):
    return AuthError(message, details={'status_code': status, 'salesforce_error': error,
                                       'salesforce_error_description': description}, shareable=True)


def certificate_of(key_pem, not_before, not_after, common_name='sfjwt-doctor-window'):
    key = serialization.load_pem_private_key(key_pem, password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM)


def fingerprint_of(certificate_pem):
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    return ':'.join('%02X' % byte for byte in certificate.fingerprint(hashes.SHA256()))


def key_fingerprint(key_pem):
    digest = public_key_fingerprint(serialization.load_pem_private_key(key_pem, password=None))
    return ':'.join(digest[index:index + 2] for index in range(0, len(digest), 2)).upper()


def printable(lines):
    return all(unicodedata.category(char) not in ('Cc', 'Cf', 'Zl', 'Zp') for line in lines for char in line)


# ---------------------------------------------------------------- host kinds and the audience they need (_salesforce_facts)

def test_a_sandbox_my_domain_with_the_production_audience_is_a_suspect(tmp_path, key_path):
    doctor = checked(tmp_path, key_path, 'https://acme--uat.sandbox.my.salesforce.com', audience=PRODUCTION_AUDIENCE)
    assert checks(doctor, 'audience') == [
        ('audience', FAIL, 'acme--uat.sandbox.my.salesforce.com is a sandbox My Domain, which needs the audience '
                           'https://test.salesforce.com, but https://login.salesforce.com is sent.')]
    assert doctor.diagnosis.suspects == [Cause(
        'audience', 'https://acme--uat.sandbox.my.salesforce.com is a sandbox My Domain, which needs the audience '
                    'https://test.salesforce.com, but https://login.salesforce.com (set by one of %s) is sent.'
                    % AUDIENCE_OPTION,
        'Set %s to https://test.salesforce.com.' % AUDIENCE_OPTION)]
    # A suspect is not a cause until the login fails.
    assert doctor.diagnosis.causes == []


def test_a_trailing_dot_does_not_hide_a_sandbox_my_domain(tmp_path, key_path):
    doctor = checked(tmp_path, key_path, 'https://acme--uat.sandbox.my.salesforce.com.')
    assert checks(doctor, 'audience') == [
        ('audience', OK, 'acme--uat.sandbox.my.salesforce.com. is a sandbox My Domain, which needs the audience '
                         'https://test.salesforce.com: that is the one sent.')]
    assert doctor.diagnosis.suspects == []


@pytest.mark.parametrize('login_url, audience, summary', [
    ('https://acme--uat.sandbox.my.salesforce.com', None,
     'acme--uat.sandbox.my.salesforce.com is a sandbox My Domain, which needs the audience https://test.salesforce.com: '
     'that is the one sent.'),
    ('https://acme.my.salesforce.com', None,
     'acme.my.salesforce.com is a production My Domain, which needs the audience https://login.salesforce.com: that is '
     'the one sent.'),
    ('https://acme.my.site.com', EXPERIENCE_CLOUD_AUDIENCE,
     'acme.my.site.com is an Experience Cloud site, which needs the audience https://site.force.com/customers: that is '
     'the one sent.'),
    ('https://acme.my.salesforce.mil', None,
     'acme.my.salesforce.mil is a Government Cloud host, so the host name does not tell the audience; '
     'https://login.salesforce.com is sent.'),
])
def test_an_audience_that_fits_the_host(tmp_path, key_path, login_url, audience, summary):
    doctor = checked(tmp_path, key_path, login_url, audience=audience)
    assert checks(doctor, 'audience') == [('audience', OK, summary)]
    assert doctor.diagnosis.suspects == []


def test_the_audience_suspect_comes_before_not_preauthorized(tmp_path, key_path, monkeypatch):
    """The whole run, with the network steps and the one login replaced: Salesforce says "user hasn't approved this
    consumer", which a wrong audience also causes; the host name tells the audience is wrong, so that comes first."""
    doctor = Doctor(make_options(tmp_path, key_path, 'https://acme--uat.sandbox.my.salesforce.com',
                                 audience=PRODUCTION_AUDIENCE))
    logins = []

    def reachable():
        doctor.network_ok = True

    def refused():
        logins.append(1)
        raise refusal("user hasn't approved this consumer")

    monkeypatch.setattr(doctor, 'check_network', reachable)
    monkeypatch.setattr(doctor, 'check_clock', lambda: None)
    monkeypatch.setattr(doctor, '_one_login', refused)
    result = doctor.run()
    assert logins == [1]
    assert result['ok'] is False
    assert [cause['code'] for cause in result['causes']] == ['audience', 'not_preauthorized']
    assert result['cause_code'] == 'audience'
    assert result['cause'] == result['causes'][0]['summary']
    assert result['next_step'] == 'Set %s to https://test.salesforce.com.' % AUDIENCE_OPTION
    assert result['causes'][1] == {
        'code': 'not_preauthorized',
        'summary': "User integration@example.com is not pre-authorized for the app with consumer key %s (user hasn't "
                   "approved this consumer)." % CONSUMER_KEY,
        'next_step': 'In the app\'s OAuth policies, set Permitted Users to "Admin approved users are pre-authorized" and '
                     'assign integration@example.com a permission set (or profile) of the app; the provision role does '
                     'both.'}
    assert [(check['name'], check['status']) for check in result['checks']] == [
        ('settings', OK), ('key', OK), ('audience', FAIL), ('login', FAIL)]
    assert result['report'][-3:] == [
        'Cause: %s' % result['cause'],
        'Next step: %s' % result['next_step'],
        'Also possible: %s (%s)' % (result['causes'][1]['summary'], result['causes'][1]['next_step'])]


# ---------------------------------------------------------------- the causes of a refused login, likeliest first

def test_not_preauthorized_alone_when_the_audience_fits(tmp_path, key_path):
    doctor = checked(tmp_path, key_path)
    assert [cause.code for cause in doctor._login_causes(refusal("user hasn't approved this consumer"))] == [
        'not_preauthorized']
    assert [cause.code for cause in doctor._login_causes(refusal('user is not admin approved to access this app',
                                                                 error='invalid_app_access'))] == ['not_preauthorized']


def test_invalid_client_id_names_the_projects_consumer_key_first(tmp_path, key_path):
    doctor = checked(tmp_path, key_path)
    doctor.evidence.project_consumer_keys = ['3MVG9TheAppInTheProject']
    causes = doctor._login_causes(refusal('client identifier invalid', error='invalid_client_id'))
    assert causes == [
        Cause('consumer_key', "The consumer key %s is not the app's: the app in the project has 3MVG9TheAppInTheProject."
              % CONSUMER_KEY, 'Set consumer_key (SFJWT_CONSUMER_KEY, sfjwt_consumer_key) to 3MVG9TheAppInTheProject.'),
        Cause('consumer_key', 'Salesforce at https://acme.my.salesforce.com does not know the consumer key %s '
              '(invalid_client_id).' % CONSUMER_KEY,
              'Set consumer_key (SFJWT_CONSUMER_KEY, sfjwt_consumer_key) to the Consumer Key of the app in this org, and '
              'check that login_url (SFJWT_LOGIN_URL, sfjwt_login_url) is that org. An app deployed in the last 10 minutes '
              'may not be known yet: run the doctor again then.')]


def test_invalid_client_id_when_the_project_has_the_same_key(tmp_path, key_path):
    doctor = checked(tmp_path, key_path)
    doctor.evidence.project_consumer_keys = [CONSUMER_KEY, '3MVG9AnotherApp']
    causes = doctor._login_causes(refusal('client identifier invalid', error='invalid_client_id'))
    # The app of the project is not in the org: its deploy, and the Setup switches a deploy of its secrets needs.
    assert causes == [Cause(
        'consumer_key',
        'Salesforce at https://acme.my.salesforce.com does not know the consumer key %s (invalid_client_id), the one of '
        'the app in the project: the app is not deployed in this org, or its deploy failed.' % CONSUMER_KEY,
        'Deploy it (ansible-playbook sfjwt.salesforce.provision -e sfjwt_provision_deploy=true) and read what the deploy '
        'says; check that login_url (SFJWT_LOGIN_URL, sfjwt_login_url) is the org it was deployed to. Deploying its '
        'consumer key and certificate needs Setup: as an admin, turn on the org setting "Allow Access to OAuth Consumer '
        'Secrets via Metadata API" (deploying an External Client App\'s OAuth settings, its consumer key and certificate, '
        'needs it); a deploying user who is not an admin also needs the user permission "View External Client Apps '
        'Consumer Secrets in Metadata". The setting "Allow access to External Client App consumer secrets via REST API" '
        '(External Client App Manager > Settings, on releases with API 62.0 and later) is for reading consumer secrets '
        'through the REST API; if your org has it and the deploy still fails with the first one on, turn it on too. An '
        'app deployed in the last 10 minutes may not be known yet: run the doctor again then.')]


def test_invalid_assertion_names_a_mismatched_certificate_first(tmp_path, key_path, material):
    other = tmp_path / 'uploaded.crt'
    other.write_bytes(material[2])
    doctor = checked(tmp_path, key_path, certificate_path=str(other))
    where = 'certificate_path %s (SHA-256 %s)' % (other, fingerprint_of(material[2]))
    assert doctor.evidence.mismatched_certificates == [where]
    assert checks(doctor, 'certificate') == [
        ('certificate', FAIL, "the certificate in certificate_path %s (SHA-256 %s) does not belong to the private key: its "
                              "public key is not the key's (%s)." % (other, fingerprint_of(material[2]),
                                                                     key_fingerprint(material[0])))]
    causes = doctor._login_causes(refusal('invalid assertion'))
    assert causes == [
        Cause('key_certificate_mismatch', 'The private key does not match the certificate: %s belongs to another key.'
              % where, 'Upload the certificate made from this key to the app (or deploy it: ansible-playbook '
              'sfjwt.salesforce.rotate_certificate), or use the key that certificate was made from.'),
        Cause('key_certificate_mismatch', 'Salesforce could not verify the signature: the certificate uploaded to the app '
              'is not the one of this key (public key SHA-256 %s).' % key_fingerprint(material[0]),
              'Upload the certificate made from this key to the app (Use digital signatures), or use the key the uploaded '
              'certificate was made from. A certificate deployed in the last 10 minutes may not be used yet: run the '
              'doctor again then.')]


def test_invalid_assertion_with_the_keys_own_certificate(tmp_path, key_path, material):
    own = tmp_path / 'server.crt'
    own.write_bytes(material[1])
    doctor = checked(tmp_path, key_path, certificate_path=str(own))
    assert doctor.evidence.mismatched_certificates == []
    assert [cause.summary for cause in doctor._login_causes(refusal('invalid assertion'))] == [
        'Salesforce could not verify the signature: the certificate uploaded to the app is not the one of this key '
        '(public key SHA-256 %s).' % key_fingerprint(material[0])]


CLOCK_CAUSE = Cause('clock_skew', "This machine's clock is 600 s behind Salesforce's (...), more than the 180 s an "
                    "assertion is valid.", 'Synchronize the clock.')


def test_expired_blames_the_clock_only_with_evidence_of_skew(tmp_path, key_path):
    doctor = checked(tmp_path, key_path)
    doctor.evidence.clock_skew = -600
    doctor.diagnosis.suspects.append(CLOCK_CAUSE)
    assert doctor._login_causes(refusal('expired authorization code')) == [CLOCK_CAUSE]


def test_expired_with_clocks_in_agreement_points_at_a_delay(tmp_path, key_path):
    doctor = checked(tmp_path, key_path)
    doctor.evidence.clock_skew = 2
    exc = refusal('expired authorization code', message='Salesforce rejected the assertion as expired.')
    assert doctor._login_causes(exc) == [
        Cause('expired_assertion', 'Salesforce rejected the assertion as expired.',
              'Check for a proxy that delays requests by minutes.')]


def test_expired_when_the_clocks_were_not_compared(tmp_path, key_path):
    doctor = checked(tmp_path, key_path)
    exc = refusal('expired authorization code', message='Salesforce rejected the assertion as expired.')
    assert doctor._login_causes(exc) == [
        Cause('expired_assertion', 'Salesforce rejected the assertion as expired.',
              "The clocks could not be compared: check that this machine's clock is synchronized (NTP, chrony or "
              "systemd-timesyncd).")]


@pytest.mark.parametrize('error, description', [
    ('LOGIN_RATE_EXCEEDED', 'too many logins'),
    ('invalid_grant', 'login_rate_exceeded'),
])
def test_rate_limit_is_the_only_cause(tmp_path, key_path, error, description):
    doctor = checked(tmp_path, key_path, 'https://acme--uat.sandbox.my.salesforce.com', audience=PRODUCTION_AUDIENCE)
    assert [cause.code for cause in doctor.diagnosis.suspects] == ['audience']
    exc = refusal(description, error=error, message='Salesforce refused the login: LOGIN_RATE_EXCEEDED.')
    assert doctor._login_causes(exc) == [
        Cause('rate_limit', 'Salesforce refused the login: LOGIN_RATE_EXCEEDED.',
              'Wait up to an hour; keep the token cache on so runs reuse tokens.')]


def test_no_answer_is_the_network(tmp_path, key_path):
    doctor = checked(tmp_path, key_path)
    doctor.diagnosis.suspects.append(CLOCK_CAUSE)
    exc = AuthError('https://acme.my.salesforce.com did not answer within 5 seconds.', shareable=True)
    assert doctor._login_causes(exc) == [
        Cause('network', 'https://acme.my.salesforce.com did not answer within 5 seconds.',
              'Fix the connection to the token host, then run the doctor again.')]


def test_a_failure_before_any_request_is_not_the_network(tmp_path, key_path):
    doctor = checked(tmp_path, key_path)
    exc = AuthError('Cannot create the token cache directory /x: File exists. Set cache_dir (or SFJWT_CACHE_DIR) '
                    'to a writable directory, or turn the cache off with cache=false.')
    assert doctor._login_causes(exc) == [
        Cause('settings', exc.message, 'Fix what the message names, then run the doctor again.')]


@pytest.mark.parametrize('description, code, next_step', [
    ('ip restricted', 'ip_restricted', "Add this machine's public IP address to the Login IP Ranges of the user's profile, "
                                       "or relax IP restrictions in the app's policies."),
    ('inactive user', 'inactive_user', 'Activate the user, or use another username.'),
    ('inactive organization', 'inactive_org', 'Check that login_url (SFJWT_LOGIN_URL, sfjwt_login_url) points at the right '
                                              'org.'),
    ('authentication failure', 'login_refused', 'Read the message above; the checks before the login found nothing wrong.'),
])
def test_other_refusals_come_before_the_suspects(tmp_path, key_path, description, code, next_step):
    doctor = checked(tmp_path, key_path, 'https://acme--uat.sandbox.my.salesforce.com', audience=PRODUCTION_AUDIENCE)
    causes = doctor._login_causes(refusal(description, message='Salesforce said %s.' % description))
    assert causes == [Cause(code, 'Salesforce said %s.' % description, next_step), doctor.diagnosis.suspects[0]]


def test_audience_refusal_without_a_suspect_lists_the_audiences(tmp_path, key_path):
    doctor = checked(tmp_path, key_path, 'https://localhost:8443')
    assert doctor._login_causes(refusal('audience is invalid')) == [Cause(
        'audience', 'Salesforce at https://localhost:8443 refused the audience https://login.salesforce.com (derived from '
                    'login_url).',
        'Set %s to https://login.salesforce.com for production and developer orgs, https://test.salesforce.com for '
        'sandboxes, or https://site.force.com/customers for Experience Cloud sites; the audience is never the My Domain.'
        % AUDIENCE_OPTION)]


# ---------------------------------------------------------------- the report

def test_report_lines():
    diagnosis = Diagnosis()
    diagnosis.add('settings', OK, 'token host https://acme.my.salesforce.com.')
    diagnosis.add('certificate', WARN, 'it expired.')
    diagnosis.add('tls', FAIL, 'untrusted.')
    diagnosis.add('login', SKIP, 'not attempted: a check above failed.')
    diagnosis.blame('untrusted_ca', 'The issuer is not trusted.', 'Set ca_path.')
    diagnosis.blame('network', 'Nothing answers.', 'Check the firewall.')
    assert diagnosis.report() == [
        '[ok]   settings: token host https://acme.my.salesforce.com.',
        '[WARN] certificate: it expired.',
        '[FAIL] tls: untrusted.',
        '[SKIP] login: not attempted: a check above failed.',
        'Cause: The issuer is not trusted.',
        'Next step: Set ca_path.',
        'Also possible: Nothing answers. (Check the firewall.)',
    ]
    result = diagnosis.result()
    assert (result['ok'], result['cause'], result['cause_code'], result['next_step']) == (
        False, 'The issuer is not trusted.', 'untrusted_ca', 'Set ca_path.')
    assert result['causes'] == [{'code': 'untrusted_ca', 'summary': 'The issuer is not trusted.', 'next_step': 'Set ca_path.'},
                                {'code': 'network', 'summary': 'Nothing answers.', 'next_step': 'Check the firewall.'}]
    assert result['checks'][1] == {'name': 'certificate', 'status': 'warn', 'summary': 'it expired.'}
    assert result['report'] == diagnosis.report()


def test_report_of_a_working_setup():
    diagnosis = Diagnosis()
    diagnosis.add('login', OK, 'one token request.')
    assert diagnosis.report() == ['[ok]   login: one token request.',
                                  'Result: the login and the REST call work with these settings.']
    assert diagnosis.result()['ok'] is True and diagnosis.result()['cause'] is None


def test_control_characters_cannot_forge_report_lines():
    diagnosis = Diagnosis()
    diagnosis.add('tls', WARN, 'issued by Evil\n[ok]   tls: trusted\x1b[2J\u2028\u202e')
    diagnosis.blame('tls', 'cause\r\nNext step: nothing', 'do\x00this')
    assert diagnosis.report() == [
        '[WARN] tls: issued by Evil\\x0a[ok]   tls: trusted\\x1b[2J\\u2028\\u202e',
        'Cause: cause\\x0d\\x0aNext step: nothing',
        'Next step: do\\x00this',
    ]
    assert Check('x', OK, 'caf\u00e9 \u00fc\u00df').summary == 'caf\u00e9 \u00fc\u00df'   # printable text is kept


def test_settings_with_control_characters_fail_the_settings_check_by_name(tmp_path, key_path):
    # The auth core refuses them before any login (core._options.refuse_unprintable); the report names the character.
    doctor = checked(tmp_path, key_path, consumer_key='3MVG9\x1b[31mRed', username='a@example.com\u202e')
    report = doctor.diagnosis.report()
    assert printable(report)
    assert report[0].startswith('[FAIL] settings: consumer_key contains an escape character (U+001B) at character 6. ')
    assert '3MVG9' not in report[0]


# ---------------------------------------------------------------- hostile local files

def _fifo(tmp_path):
    path = tmp_path / 'fifo'
    os.mkfifo(path)
    return path


def _symlink(tmp_path):
    target = tmp_path / 'target.crt'
    target.write_bytes(b'not read')
    path = tmp_path / 'link.crt'
    path.symlink_to(target)
    return path


def _directory(tmp_path):
    path = tmp_path / 'folder.crt'
    path.mkdir()
    return path


def _huge(tmp_path):
    path = tmp_path / 'huge.crt'
    with open(path, 'wb') as handle:
        handle.truncate(64 * 1024 * 1024)
    return path


def _garbage(tmp_path):
    path = tmp_path / 'garbage.crt'
    path.write_bytes(b'-----BEGIN CERTIFICATE-----\n\xff\xfe garbage \x00\n-----END CERTIFICATE-----\n' + os.urandom(512))
    return path


@pytest.mark.parametrize('make, summary', [
    (_fifo, 'certificate_path {path} cannot be read: it is not a regular file.'),
    # A path the user gives may be a link (a secret mounted by Kubernetes is one): followed, to what it holds.
    (_symlink, 'certificate_path {path} holds no PEM certificate.'),
    (_directory, 'certificate_path {path} cannot be read: it is not a regular file.'),
    (_huge, 'certificate_path {path} cannot be read: it has more than 262144 bytes.'),
    (_garbage, 'certificate_path {path} holds no PEM certificate.'),
])
def test_a_hostile_certificate_path_is_a_warning(tmp_path, key_path, make, summary):
    path = make(tmp_path)
    with deadline(10):
        doctor = checked(tmp_path, key_path, certificate_path=str(path))
    assert checks(doctor, 'certificate') == [('certificate', WARN, summary.format(path=path))]
    assert doctor.evidence.mismatched_certificates == []


def test_a_certificate_with_an_unknown_key_type_is_a_warning(tmp_path, key_path, material):
    certificate = x509.load_pem_x509_certificate(material[1])
    der = certificate.public_bytes(serialization.Encoding.DER)
    rsa_encryption = bytes.fromhex('06092a864886f70d010101')
    assert der.count(rsa_encryption) == 1
    unknown = x509.load_der_x509_certificate(der.replace(rsa_encryption, bytes.fromhex('06092a864886f70d010163')))
    path = tmp_path / 'unknown.crt'
    path.write_bytes(unknown.public_bytes(serialization.Encoding.PEM))
    doctor = checked(tmp_path, key_path, certificate_path=str(path))
    assert checks(doctor, 'certificate') == [
        ('certificate', WARN, 'the certificate in certificate_path %s (SHA-256 %s) has a public key of a type that cannot '
                              'be read, so it cannot belong to the private key.'
                              % (path, fingerprint_of(unknown.public_bytes(serialization.Encoding.PEM))))]


@pytest.mark.parametrize('start, end, summary', [
    (datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc),
     'the certificate in certificate_path {path} belongs to the key but expired (valid from 2020-01-01T00:00:00Z to '
     '2021-01-01T00:00:00Z). Renew it with ansible-playbook sfjwt.salesforce.rotate_certificate.'),
    (datetime.datetime(2040, 6, 1, tzinfo=datetime.timezone.utc), datetime.datetime(2041, 6, 1, tzinfo=datetime.timezone.utc),
     'the certificate in certificate_path {path} belongs to the key but is not valid yet (valid from 2040-06-01T00:00:00Z '
     'to 2041-06-01T00:00:00Z).'),
])
def test_a_certificate_of_the_key_outside_its_window_is_a_warning(tmp_path, key_path, material, start, end, summary):
    path = tmp_path / 'window.crt'
    path.write_bytes(certificate_of(material[0], start, end))
    doctor = checked(tmp_path, key_path, certificate_path=str(path))
    assert checks(doctor, 'certificate') == [('certificate', WARN, summary.format(path=path))]
    assert doctor.evidence.mismatched_certificates == []


def test_a_certificate_of_the_key_in_its_window(tmp_path, key_path, material):
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    path = tmp_path / 'good.crt'
    path.write_bytes(certificate_of(material[0], now - datetime.timedelta(days=1), now + datetime.timedelta(days=90)))
    doctor = Doctor(make_options(tmp_path, key_path, certificate_path=str(path)), now=now.timestamp)
    doctor.check_settings()
    doctor.check_key()
    doctor.check_certificates()
    assert checks(doctor, 'certificate') == [
        ('certificate', OK, 'the certificate in certificate_path %s belongs to the key; valid from 2029-12-31T00:00:00Z to '
                            '2030-04-01T00:00:00Z (90 days left).' % path)]


def _settings_file(project, consumer_key, certificate_pem):
    folder = project / 'force-app' / 'main' / 'default' / 'extlClntAppGlobalOauthSets'
    folder.mkdir(parents=True, exist_ok=True)
    return folder, ('<?xml version="1.0" encoding="UTF-8"?>\n<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/'
                    '2006/04/metadata"><certificate>%s</certificate><consumerKey>%s</consumerKey>'
                    '</ExtlClntAppGlobalOauthSettings>\n' % (certificate_pem.decode('ascii'), consumer_key))


def test_a_symlinked_settings_file_in_the_project_is_not_followed(tmp_path, key_path, material):
    project = tmp_path / 'project'
    folder, content = _settings_file(project, '3MVG9PlantedByTheLink', material[2])
    outside = tmp_path / 'outside.xml'
    outside.write_text(content)
    (folder / 'Planted_glbloauth.ecaGlblOauth-meta.xml').symlink_to(outside)
    doctor = Doctor(make_options(tmp_path, key_path), project_path=str(project))
    doctor.check_settings()
    doctor.check_key()
    doctor.check_certificates()
    relative = 'force-app/main/default/extlClntAppGlobalOauthSets/Planted_glbloauth.ecaGlblOauth-meta.xml'
    assert checks(doctor, 'project') == [
        ('project', WARN, '%s cannot be read: %s is a symbolic link; app_metadata does not follow links in the project (a '
                          'link could expose or overwrite any file). Replace it with the file itself, or remove it.'
                          % (relative, project / relative))]
    assert doctor.evidence.project_consumer_keys == [] and doctor.evidence.mismatched_certificates == []
    assert '3MVG9PlantedByTheLink' not in json.dumps(doctor.diagnosis.result())


def test_the_project_is_compared_with_the_settings(tmp_path, key_path, material):
    project = tmp_path / 'project'
    folder, content = _settings_file(project, '3MVG9TheAppInTheProject', material[1])
    (folder / 'App_glbloauth.ecaGlblOauth-meta.xml').write_text(content)
    doctor = Doctor(make_options(tmp_path, key_path), project_path=str(project))
    doctor.check_settings()
    doctor.check_key()
    doctor.check_certificates()
    relative = 'force-app/main/default/extlClntAppGlobalOauthSets/App_glbloauth.ecaGlblOauth-meta.xml'
    project_checks = checks(doctor, 'project')
    assert project_checks[0] == ('project', WARN, 'the app in %s has consumer key 3MVG9TheAppInTheProject, not the '
                                                  'configured %s.' % (relative, CONSUMER_KEY))
    assert project_checks[1][:2] == ('project', OK)
    assert project_checks[1][2].startswith('the certificate in the app metadata %s belongs to the key;' % relative)
    assert doctor.evidence.project_consumer_keys == ['3MVG9TheAppInTheProject']


def test_a_private_key_path_that_is_a_fifo_does_not_hang(tmp_path):
    fifo = _fifo(tmp_path)
    with deadline(10):
        doctor = checked(tmp_path, fifo)
    message = ('private_key_path %s is not a regular file (a pipe, socket or device), so it is not read. Point it at the '
               'private key file.' % fifo)
    assert checks(doctor, 'settings') == [('settings', FAIL, message)]
    assert doctor.diagnosis.causes == [Cause('settings', message, 'Fix the setting the message names, then run the doctor '
                                                                  'again.')]


def test_a_ca_path_that_is_a_fifo_does_not_hang(tmp_path, key_path):
    fifo = _fifo(tmp_path)
    with deadline(10), tls_server(until_closed) as (url, dummy, served):
        doctor = probed(tmp_path, key_path, url, str(fifo))
    assert checks(doctor, 'tls') == [
        ('tls', FAIL, 'ca_path %s could not be loaded as CA certificates (not a regular file or directory).' % fifo)]
    # The settings check names it first, as every module does.
    assert doctor.diagnosis.causes[0] == Cause(
        'settings', 'ca_path %s is neither a file nor a directory. Point it at a PEM file with the CA certificate(s) that '
                    'issued the server\'s certificate.' % fifo,
        'Fix the setting the message names, then run the doctor again.')


def test_a_missing_requests_ca_bundle_is_named(tmp_path, key_path, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', str(tmp_path / 'missing.pem'))
    with tls_server(until_closed) as (url, dummy, served):
        doctor = probed(tmp_path, key_path, url, None)
    message = ('the environment variable REQUESTS_CA_BUNDLE (%s) could not be loaded as CA certificates (No such file or '
               'directory).' % (tmp_path / 'missing.pem'))
    assert checks(doctor, 'tls') == [('tls', FAIL, message)]
    assert doctor.diagnosis.causes[0] == Cause('ca_path', message, 'Point REQUESTS_CA_BUNDLE at a PEM file with the CA '
                                                                   'certificate(s), or unset it.')
    assert doctor.diagnosis.settings['trusted_cas'] == 'the environment variable REQUESTS_CA_BUNDLE (%s)' % (
        tmp_path / 'missing.pem')


# ---------------------------------------------------------------- login_url and connection settings

SECRET_PASSWORD = 'hunter2-in-the-url'


@pytest.mark.parametrize('login_url, shown', [
    ('https://user:%s@localhost:abc' % SECRET_PASSWORD,
     "login_url 'https://localhost:abc' is not a valid URL (check the host name, brackets and port). Give the token host with "
     "its scheme, e.g. https://login.salesforce.com."),
    ('ftp://user:%s@acme.my.salesforce.com' % SECRET_PASSWORD,
     "login_url 'ftp://acme.my.salesforce.com' is not an https:// URL. Give the token host with its scheme, e.g. "
     "https://login.salesforce.com or https://acme.my.salesforce.com."),
    ('https://user:%s@' % SECRET_PASSWORD,
     "login_url 'https://' is not an https:// URL. Give the token host with its scheme, e.g. https://login.salesforce.com "
     "or https://acme.my.salesforce.com."),
    ('user:%s@acme.my.salesforce.com' % SECRET_PASSWORD,
     "login_url 'acme.my.salesforce.com' is not an https:// URL. Give the token host with its scheme, e.g. "
     "https://login.salesforce.com or https://acme.my.salesforce.com."),
    ('https://[::1', "login_url 'https://[::1' is not a valid URL (check the host name, brackets and port). Give the token "
                     "host with its scheme, e.g. https://login.salesforce.com."),
])
def test_a_bad_login_url_is_a_settings_failure_that_never_shows_a_password(tmp_path, key_path, login_url, shown):
    result = Doctor(make_options(tmp_path, key_path, login_url)).run()
    assert result['cause_code'] == 'settings'
    assert result['checks'][0] == {'name': 'settings', 'status': FAIL, 'summary': shown}
    assert result['next_step'] == 'Set login_url (SFJWT_LOGIN_URL, sfjwt_login_url) to the token host.'
    assert SECRET_PASSWORD not in json.dumps(result)


def test_a_login_url_with_a_password_is_refused_without_showing_it(tmp_path, key_path, org):
    # As every module refuses it: nothing is sent, the password is not shown.
    login_url = org.url.replace('https://', 'https://user:%s@' % SECRET_PASSWORD)
    result = diagnose(make_options(tmp_path, key_path, login_url, ca_path=org.ca_path))
    assert result['cause_code'] == 'settings'
    assert result['checks'][0] == {'name': 'settings', 'status': FAIL, 'summary': (
        "login_url %r holds a user name or password (user:password@); a token request never needs one. Give only the "
        "token host, e.g. %s." % (org.url, org.url))}
    assert SECRET_PASSWORD not in json.dumps(result)
    assert org.token_requests == 0


@pytest.mark.parametrize('password', ['s3cr/et', 'pa#ss', 'p?w', 'a@b'])
def test_a_password_with_url_delimiters_is_never_shown(tmp_path, key_path, password):
    result = diagnose(make_options(tmp_path, key_path, 'https://admin:%s@login.salesforce.com' % password))
    assert result['cause_code'] == 'settings'
    assert password not in json.dumps(result) and password.split('@')[-1] not in result['checks'][0]['summary'].split('//')[0]


@pytest.mark.parametrize('timeout', [10 ** 12, 0, -1])
def test_an_invalid_timeout_is_not_used_to_probe(tmp_path, key_path, timeout):
    with tls_server(until_closed) as (url, ca_path, served):
        with deadline(20):
            result = Doctor(make_options(tmp_path, key_path, url, ca_path=ca_path, timeout=timeout)).run()
        assert served == []
    assert result['checks'][0] == {'name': 'settings', 'status': FAIL, 'summary': 'timeout must be an integer from 1 to '
                                   '3600 seconds (got %r).' % timeout}
    assert {'name': 'tcp', 'status': SKIP, 'summary': 'the token host was not probed: timeout is not an integer from 1 to '
            '3600.'} in result['checks']
    assert result['cause_code'] == 'settings' and len(result['causes']) == 1


def test_a_proxy_in_the_environment_skips_the_direct_probes(tmp_path, key_path, monkeypatch):
    for name in ('NO_PROXY', 'no_proxy', 'https_proxy', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxyuser:proxy-secret-7@127.0.0.1:9')

    def no_probe(*args, **kwargs):
        raise AssertionError('probed directly although a proxy is set')
    monkeypatch.setattr(socket, 'getaddrinfo', no_probe)
    monkeypatch.setattr(socket, 'create_connection', no_probe)
    doctor = Doctor(make_options(tmp_path, key_path, 'https://acme.my.salesforce.com'))
    doctor.check_settings()
    doctor.check_network()
    assert doctor.network_ok is True
    assert checks(doctor)[1:] == [
        ('proxy', OK, 'requests to acme.my.salesforce.com go through the proxy http://127.0.0.1:9 (from the '
                      'HTTPS_PROXY/NO_PROXY environment); DNS, TCP and TLS are checked through it by the requests below.')]
    assert 'proxy-secret-7' not in json.dumps(doctor.diagnosis.result())


def test_no_proxy_for_the_host_probes_it_directly(tmp_path, key_path, monkeypatch):
    monkeypatch.setenv('HTTPS_PROXY', 'http://127.0.0.1:9')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    monkeypatch.delenv('no_proxy', raising=False)
    monkeypatch.delenv('https_proxy', raising=False)
    with tls_server(services_data(date=None)) as (url, ca_path, served):
        doctor = probed(tmp_path, key_path, url, ca_path)
    assert [name for name, dummy, dummy in checks(doctor)] == ['settings', 'key', 'dns', 'tcp', 'tls', 'clock']


# ---------------------------------------------------------------- hostile servers

NOW = 1_900_000_000   # 2030-03-17T17:46:40Z


@pytest.mark.parametrize('date', ['garbage', 'Mon, 01 Jan 99999999999999999999 00:00:00 GMT', 'x' * 4000,
                                  'Sun, 06 Nov 1994 08:49:37 +9999', 'Fri, 31 Dec 10000 23:59:59 GMT'])
def test_an_unusable_date_header_is_a_warning(tmp_path, key_path, date):
    with tls_server(services_data(date=date)) as (url, ca_path, served):
        doctor = probed(tmp_path, key_path, url, ca_path, now=lambda: NOW)
    assert checks(doctor, 'clock') == [('clock', WARN, 'the token host sent no usable Date header (HTTP 200 for GET '
                                                       '/services/data/); clocks not compared.')]
    assert doctor.evidence.clock_skew is None and doctor.diagnosis.suspects == []


def test_a_far_future_date_header_is_clock_skew(tmp_path, key_path):
    with tls_server(services_data(date='Fri, 31 Dec 9999 23:59:59 GMT')) as (url, ca_path, served):
        doctor = probed(tmp_path, key_path, url, ca_path, now=lambda: NOW)
    skew = 253402300799 - NOW
    times = 'this machine 2030-03-17T17:46:40Z, the server 9999-12-31T23:59:59Z'
    assert checks(doctor, 'clock') == [
        ('clock', FAIL, "this machine's clock is %d s behind the server's (%s); an assertion is valid for 180 s." % (skew, times))]
    assert doctor.evidence.clock_skew == -skew
    assert [cause.code for cause in doctor.diagnosis.suspects] == ['clock_skew']


def test_a_date_header_within_tolerance_agrees(tmp_path, key_path):
    with tls_server(services_data(date='Sun, 17 Mar 2030 17:46:37 GMT')) as (url, ca_path, served):
        doctor = probed(tmp_path, key_path, url, ca_path, now=lambda: NOW)
    assert checks(doctor, 'clock') == [('clock', OK, 'the clocks agree within 5 s (this machine 2030-03-17T17:46:40Z, the '
                                                     'server 2030-03-17T17:46:37Z).')]
    assert doctor.evidence.clock_skew == 3


def test_the_clock_check_does_not_read_a_huge_body(tmp_path, key_path):
    # Headers promise 10 GB; a few bytes come, then nothing: only the Date header is needed.
    answer = services_data(date='Sun, 17 Mar 2030 17:46:40 GMT', body=b'[{"version":',
                           extra_headers=[('Content-Length', '10000000000')])
    with tls_server(answer) as (url, ca_path, served):
        started = time.monotonic()
        doctor = probed(tmp_path, key_path, url, ca_path, now=lambda: NOW, timeout=3)
        elapsed = time.monotonic() - started
    assert checks(doctor, 'clock') == [('clock', OK, 'the clocks agree within 5 s (this machine 2030-03-17T17:46:40Z, the '
                                                     'server 2030-03-17T17:46:40Z).')]
    assert elapsed < 3


def _rest(tmp_path, key_path, status, body, headers=(('Content-Type', 'application/json'),)):
    seen = []
    with tls_server(http(lambda method, path: (status, list(headers), body), seen)) as (url, ca_path, served):
        doctor = Doctor(make_options(tmp_path, key_path, url, ca_path=ca_path, cache=False))
        with deadline(30):
            doctor.check_rest(SimpleNamespace(instance_url=url, access_token='00DUNIT!NotARealToken'))
    return doctor, url, seen


@pytest.mark.parametrize('body', [
    b'{"versions": [{"version": "62.0"}]}',
    b'"62.0"',
    b'[{"version": "abc"}]',
    b'[{"version": "' + b'9' * 5000 + b'"}]',
    b'[{"version": "' + b'1.' * 3000 + b'1"}]',
    b'[' * 100000 + b']' * 100000,
    b'[{"version": "62.0\\n[ok]   rest: forged"}]',
    b'[{"version": 62.0}]',
    b'not json',
], ids=['object', 'string', 'abc', '5000 digits', '3000 parts', 'nested 100000 deep', 'line break', 'number', 'not json'])
def test_services_data_that_is_not_a_list_of_versions(tmp_path, key_path, body):
    doctor, url, seen = _rest(tmp_path, key_path, '200 OK', body)
    summary = 'GET %s/services/data/ answered HTTP 200, not a list of API versions.' % url
    assert checks(doctor, 'rest') == [('rest', FAIL, summary)]
    assert doctor.diagnosis.causes == [Cause('rest', 'The login worked, but the REST API at %s did not: %s' % (url, summary),
                                             'Check that the user\'s profile has "API Enabled", and the network path to '
                                             'the instance.')]


def test_the_newest_version_is_compared_as_numbers(tmp_path, key_path):
    body = b'[{"version": "9.0"}, {"version": "62.0"}, {"version": "61.0"}, {"version": "abc"}, {"label": "x"}, 7]'
    doctor, url, seen = _rest(tmp_path, key_path, '200 OK', body)
    assert checks(doctor, 'rest') == [
        ('rest', OK, 'GET %s/services/data/ answered HTTP 200; the newest API version is 62.0.' % url)]


@pytest.mark.parametrize('headers', [[('Content-Type', 'text/plain')], []], ids=['text/plain', 'no content type'])
def test_the_list_of_versions_counts_whatever_its_content_type(tmp_path, key_path, headers):
    doctor, url, seen = _rest(tmp_path, key_path, '200 OK', b'[{"version": "61.0"}, {"version": "62.0"}]', headers=headers)
    assert checks(doctor, 'rest') == [
        ('rest', OK, 'GET %s/services/data/ answered HTTP 200; the newest API version is 62.0.' % url)]


def test_a_new_session_the_rest_api_rejects_is_reported_not_renewed(tmp_path, key_path):
    body = b'[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]'
    doctor, url, seen = _rest(tmp_path, key_path, '401 Unauthorized', body)
    assert checks(doctor, 'rest') == [
        ('rest', FAIL, 'GET %s/services/data/ answered HTTP 401, not a list of API versions.' % url)]
    assert seen == [('GET', '/services/data/')]


def test_a_redirect_from_services_data_is_not_followed(tmp_path, key_path):
    doctor, url, seen = _rest(tmp_path, key_path, '302 Found', b'', headers=[('Location', 'https://evil.example/collect')])
    assert checks(doctor, 'rest') == [
        ('rest', FAIL, 'GET %s/services/data/ answered HTTP 302, not a list of API versions.' % url)]
    assert seen == [('GET', '/services/data/')]


def test_a_tls_handshake_that_never_completes_times_out(tmp_path, key_path):
    with tls_server(until_closed) as (url, ca_path, served):
        started = time.monotonic()
        doctor = probed(tmp_path, key_path, url, ca_path, timeout=1)
        elapsed = time.monotonic() - started
    port = int(url.rsplit(':', 1)[1])
    assert checks(doctor, 'tls') == [('tls', FAIL, 'the TLS handshake with 127.0.0.1 port %d failed: no answer within 1 s.'
                                      % port)]
    assert checks(doctor, 'clock') == [('clock', SKIP, 'not compared: the token host cannot be reached safely.')]
    assert doctor.diagnosis.causes[0].code == 'tls'
    assert elapsed < 5


def _ipv6_listener():
    try:
        return socket.create_server(('::1', 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip('no IPv6 loopback here')


def test_an_ipv6_port_that_accepts_and_never_answers(tmp_path, key_path):
    with _ipv6_listener() as listener:   # the kernel completes the TCP handshake; nothing ever reads
        port = listener.getsockname()[1]
        started = time.monotonic()
        doctor = probed(tmp_path, key_path, 'https://[::1]:%d' % port, None, timeout=1)
        elapsed = time.monotonic() - started
    assert doctor.login_url == 'https://[::1]:%d' % port
    assert [(name, status) for name, status, dummy in checks(doctor)[2:]] == [('dns', OK), ('tcp', OK), ('tls', FAIL),
                                                                              ('clock', SKIP)]
    assert checks(doctor, 'dns')[0][2].startswith('::1 resolves to ::1 (')
    assert checks(doctor, 'tcp')[0][2].startswith('::1 port %d accepts connections (' % port)
    assert checks(doctor, 'tls')[0][2] == 'the TLS handshake with ::1 port %d failed: no answer within 1 s.' % port
    assert elapsed < 5


def test_an_ipv6_token_host_is_probed(tmp_path, key_path):
    _ipv6_listener().close()
    with tls_server(services_data(date='Sun, 17 Mar 2030 17:46:40 GMT'), host='::1') as (url, ca_path, served):
        doctor = probed(tmp_path, key_path, url, ca_path, now=lambda: NOW)
    assert [(name, status) for name, status, dummy in checks(doctor)] == [
        ('settings', OK), ('key', OK), ('dns', OK), ('tcp', OK), ('tls', OK), ('clock', OK)]
    assert checks(doctor, 'tls')[0][2].endswith(', trusted.')


def test_validate_certs_false_reports_the_issuer(tmp_path, key_path):
    ca = trustme.CA(organization_name='Intercepting Proxy Inc')
    with tls_server(services_data(date=None), ca=ca) as (url, dummy, served):
        doctor = probed(tmp_path, key_path, url, None, validate_certs=False)
        presented = x509.load_pem_x509_certificate(ssl.get_server_certificate(('127.0.0.1', int(url.rsplit(':', 1)[1])))
                                                   .encode('ascii'))
    issuer = describe_name(x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject)
    assert issuer.startswith('O=Intercepting Proxy Inc')
    assert checks(doctor, 'tls') == [
        ('tls', WARN, '127.0.0.1 presents a certificate for %s issued by %s; it is not verified (validate_certs is false). '
                      'Never turn verification off in production.' % (describe_name(presented.subject), issuer))]
    assert doctor.diagnosis.settings['trusted_cas'] == 'nothing: validate_certs is false, certificates are not verified'
    assert doctor.network_ok is True


def test_a_hostile_issuer_name_cannot_forge_report_lines(tmp_path, key_path):
    ca = trustme.CA(organization_name='Evil\n[ok]   tls: trusted\x1b[2J')
    with tls_server(services_data(), ca=ca) as (url, ca_path, served):
        doctor = probed(tmp_path, key_path, url, None)
    summary = checks(doctor, 'tls')[0][2]
    assert 'issued by O=Evil\\x0a[ok]   tls: trusted\\x1b[2J' in summary
    assert printable(doctor.diagnosis.report())


def test_an_untrusted_issuer_is_named(tmp_path, key_path, monkeypatch):
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    ca = trustme.CA(organization_name='Intercepting Proxy Inc')
    with tls_server(services_data(), ca=ca) as (url, ca_path, served):
        doctor = probed(tmp_path, key_path, url, None)
    issuer = describe_name(x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject)
    assert checks(doctor, 'tls')[0][:2] == ('tls', FAIL)
    assert doctor.diagnosis.causes[0].code == 'untrusted_ca'
    assert doctor.diagnosis.causes[0].summary.startswith('The TLS certificate of 127.0.0.1 is issued by %s, which is not a '
                                                         'trusted CA here (' % issuer)
    assert doctor.diagnosis.settings['trusted_cas'] == 'the CA certificates bundled with requests (certifi)'


# ---------------------------------------------------------------- against the fake org: nothing secret in the result

def _encrypted(key_pem):
    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(PASSPHRASE.encode('ascii')))


def _secrets(key_pem, encrypted_pem):
    lines = set()
    for pem in (key_pem, encrypted_pem):
        lines.update(line for line in pem.decode('ascii').splitlines() if line and not line.startswith('-----'))
    return lines | {PASSPHRASE}


@pytest.mark.parametrize('key_given_as', ['path', 'content'])
def test_the_result_never_holds_the_key_the_passphrase_or_the_token(tmp_path, org, material, key_given_as):
    encrypted = _encrypted(material[0])
    path = tmp_path / 'encrypted.key'
    write_private_file(path, encrypted)
    key = dict(private_key_path=str(path)) if key_given_as == 'path' else dict(private_key=encrypted.decode('ascii'))
    certificate = tmp_path / 'server.crt'
    certificate.write_bytes(material[1])
    result = diagnose(make_options(tmp_path, None, org.url, ca_path=org.ca_path, certificate_path=str(certificate),
                                   private_key_passphrase=PASSPHRASE, **key))
    assert result['ok'] is True, result['report']
    assert [check['status'] for check in result['checks']] == [OK] * 10
    assert 'encrypted (the passphrase opens it)' in result['checks'][1]['summary']
    assert result['settings']['private_key_passphrase'] == 'given'
    assert org.token_requests == 1 and len(org.sessions) == 1
    text = json.dumps(result)
    for secret in _secrets(material[0], encrypted) | set(org.sessions):
        assert secret not in text
    # The token the doctor got is in the cache for the tasks after it (not in the result).
    assert any(token in entry.read_text() for entry in (tmp_path / 'cache').glob('*.json') for token in org.sessions)


def test_a_refused_login_holds_no_secret_either(tmp_path, org, material, key_path):
    org.add_app(CONSUMER_KEY, material[2], admin_approved=True, permission_sets=[PERMISSION_SET])   # another key's certificate
    result = diagnose(make_options(tmp_path, key_path, org.url, ca_path=org.ca_path), keep_token=False)
    assert result['ok'] is False
    assert result['cause_code'] == 'key_certificate_mismatch'
    assert org.token_requests == 1 and org.sessions == {}
    text = json.dumps(result)
    for secret in _secrets(material[0], _encrypted(material[0])):
        assert secret not in text


def test_a_token_cache_that_cannot_be_created_is_not_the_network(tmp_path, org, key_path):
    (tmp_path / 'not-a-directory').write_text('')
    result = diagnose(make_options(tmp_path, key_path, org.url, ca_path=org.ca_path,
                                   cache_dir=str(tmp_path / 'not-a-directory')))
    assert result['cause_code'] == 'settings'
    assert result['cause'].startswith('Cannot create the token cache directory %s' % (tmp_path / 'not-a-directory'))
    assert result['next_step'] == 'Fix what the message names, then run the doctor again.'
    assert org.token_requests == 0


# ---------------------------------------------------------------- where a setting came from, one fingerprint format

@pytest.mark.parametrize('source, words', [
    ('option', 'the task option audience'),
    ('variable sfjwt_audience', 'the variable sfjwt_audience'),
    ('environment SFJWT_AUDIENCE', 'the environment variable SFJWT_AUDIENCE'),
    ('provision directory /srv/acme/sfjwt', 'the provision directory /srv/acme/sfjwt'),
])
def test_the_audience_names_where_it_was_set(tmp_path, key_path, source, words):
    doctor = Doctor(make_options(tmp_path, key_path, 'https://acme--uat.sandbox.my.salesforce.com',
                                 audience=PRODUCTION_AUDIENCE), sources={'audience': source})
    doctor.check_settings()
    doctor.check_key()
    doctor.check_host_kind()
    settings = checks(doctor, 'settings')[0][2]
    assert settings.startswith('token host https://acme--uat.sandbox.my.salesforce.com, audience https://login.salesforce.com '
                               '(set by %s), consumer key ' % words), settings
    assert [cause.summary for cause in doctor.diagnosis.suspects] == [
        'https://acme--uat.sandbox.my.salesforce.com is a sandbox My Domain, which needs the audience '
        'https://test.salesforce.com, but https://login.salesforce.com (set by %s) is sent.' % words]
    refused = doctor._login_causes(refusal('audience is invalid'))
    assert refused[0].summary == doctor.diagnosis.suspects[0].summary


def test_a_refused_signature_shows_fingerprints_in_one_format(tmp_path, key_path, material, org):
    """The login's own message and the doctor's lines give the key's fingerprint alike: AB:CD:..., never abcd..."""
    org.add_app(CONSUMER_KEY, material[2], admin_approved=True, permission_sets=[PERMISSION_SET])
    result = diagnose(make_options(tmp_path, key_path, org.url, ca_path=org.ca_path), keep_token=False)
    assert result['cause_code'] == 'key_certificate_mismatch'
    login = [check['summary'] for check in result['checks'] if check['name'] == 'login'][0]
    assert "This key's public key SHA-256 fingerprint is %s." % key_fingerprint(material[0]) in login, login
    report = '\n'.join(result['report'])
    assert key_fingerprint(material[0]) in report
    assert public_key_fingerprint(serialization.load_pem_private_key(material[0], password=None)) not in report


# ---------------------------------------------------------------- a rotation stopped between the deploy and the move

def test_a_staged_key_the_org_accepts_is_an_unfinished_rotation(tmp_path, org, material, key_path):
    """The rotation deployed the new certificate (the org accepts only the new key) and stopped before moving the
    staged key (server.key.new) into place: the doctor names that, and the rerun that finishes it."""
    new_key, new_certificate = generate_key_and_certificate('sfjwt-doctor-rotated')
    org.add_app(CONSUMER_KEY, new_certificate, admin_approved=True, permission_sets=[PERMISSION_SET])
    staged = tmp_path / 'server.key.new'
    write_private_file(staged, new_key)
    result = diagnose(make_options(tmp_path, key_path, org.url, ca_path=org.ca_path), keep_token=False)
    assert result['cause_code'] == 'unfinished_rotation'
    assert result['cause'] == (
        'A certificate rotation deployed the new certificate and stopped before moving the new key into place: Salesforce '
        'accepts the staged key %s, and refuses the configured %s.' % (staged, key_path))
    assert result['next_step'] == (
        'Run the rotation again with the same variables (ansible-playbook sfjwt.salesforce.rotate_certificate -e '
        'sfjwt_provision_deploy=true): the provision role finds the staged key and certificate and moves them into place.')
    assert [check for check in result['checks'] if check['name'] == 'rotation'] == [
        {'name': 'rotation', 'status': FAIL, 'summary': 'the staged key %s logs in (its token is not kept): the org has '
                                                        'its certificate, not the one of %s.' % (staged, key_path)}]
    # The configured key's refusal is still listed after it.
    assert [cause['code'] for cause in result['causes']][:2] == ['unfinished_rotation', 'key_certificate_mismatch']
    # One login with each key; the staged key's token is nowhere (not in the result, not in the cache).
    assert org.token_requests == 2 and len(org.sessions) == 1
    text = json.dumps(result)
    assert not any(token in text for token in org.sessions)
    assert not list((tmp_path / 'cache').glob('*.json'))


def test_a_staged_key_the_org_refuses_too_is_not_the_cause(tmp_path, org, material, key_path):
    dummy, other_certificate = generate_key_and_certificate('sfjwt-doctor-third')
    org.add_app(CONSUMER_KEY, other_certificate, admin_approved=True, permission_sets=[PERMISSION_SET])
    staged = tmp_path / 'server.key.new'
    write_private_file(staged, generate_key_and_certificate('sfjwt-doctor-stale')[0])
    result = diagnose(make_options(tmp_path, key_path, org.url, ca_path=org.ca_path), keep_token=False)
    assert result['cause_code'] == 'key_certificate_mismatch'
    rotation = [check for check in result['checks'] if check['name'] == 'rotation']
    assert len(rotation) == 1 and rotation[0]['status'] == OK
    assert rotation[0]['summary'].startswith('the staged key %s, from an unfinished rotation, is refused too: ' % staged)
    assert org.token_requests == 2


def test_without_a_staged_key_the_doctor_logs_in_once(tmp_path, org, material, key_path):
    org.add_app(CONSUMER_KEY, material[2], admin_approved=True, permission_sets=[PERMISSION_SET])
    result = diagnose(make_options(tmp_path, key_path, org.url, ca_path=org.ca_path), keep_token=False)
    assert result['cause_code'] == 'key_certificate_mismatch'
    assert not [check for check in result['checks'] if check['name'] == 'rotation']
    assert org.token_requests == 1
