# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt.salesforce.token (module and lookup) through ansible-playbook and the installed collection, against the fake org."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import uuid

import pytest
import yaml

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fake_org import SANDBOX_AUDIENCE
from fake_org.pytest_plugin import DEFAULT_PERMISSION_SET, generate_key_and_certificate

PASSPHRASE = 'Token-Passphrase-c0ffee'
WRONG_PASSPHRASE = 'Wrong-Passphrase-f00d'
CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"


def extra_vars(app, **more):
    values = {'sf_url': app.url, 'sf_ca_path': app.ca_path, 'sf_consumer_key': app.consumer_key, 'sf_username': app.username,
              'sf_key_path': str(app.key_path)}
    values.update(more)
    return values


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_private_cache(directory, entries=1):
    """The cache directory is 0700 and holds 0600 files only: one entry and one lock per identity."""
    assert mode(directory) == 0o700
    names = sorted(os.listdir(directory))
    assert len([name for name in names if name.endswith('.json')]) == entries, names
    assert len([name for name in names if name.endswith('.lock')]) == entries, names
    for name in names:
        assert re.match(r'^[0-9a-f]{64}\.(json|lock)$', name), name
        assert mode(os.path.join(directory, name)) == 0o600, name


def encrypted_key(app, tmp_path):
    key = serialization.load_pem_private_key(app.private_key_pem, password=None)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    path = tmp_path / 'encrypted.key'
    path.write_bytes(pem)
    path.chmod(0o600)
    return path, pem


def assert_censored(run, task):
    result = run.result(task)
    assert result.get('censored') == CENSORED, result
    assert 'access_token' not in result
    return result


# ---------------------------------------------------------------- the module

def test_module_check_real_idempotent(ansible, fake_org_app, tmp_path):
    token_file = tmp_path / 'token.txt'
    run = ansible.playbook('token_module.yml', extra_vars=extra_vars(fake_org_app, token_file=str(token_file)))
    assert run.rc == 0, run.output
    # check mode with an empty cache requests nothing and says so (visible: it holds no token)
    check = run.result('Token in check mode')
    assert check['changed'] is True and 'access_token' not in check
    assert check['msg'] == ('Check mode: no token is cached for this identity, so none was requested; a real run requests '
                            'one. To get one in check mode, set check_mode: false on this task.')
    # changed only when a token was requested; a result with a token is hidden from the output every time
    assert assert_censored(run, 'Token in check mode, asked for anyway')['changed'] is True
    for task in ('Token', 'Token again in check mode', 'Token again'):
        assert assert_censored(run, task)['changed'] is False
    assert run.status('Check what the module returned') == 'ok'
    org = fake_org_app.org
    assert org.token_requests == 1
    token = token_file.read_text()
    assert token in org.sessions
    assert token not in run.output
    request = [entry for entry in org.received_log() if entry['path'] == '/services/oauth2/token'][0]
    assert request['method'] == 'POST'
    assert request['form']['grant_type'] == 'urn:ietf:params:oauth:grant-type:jwt-bearer'
    assert {name.lower(): value for name, value in request['headers'].items()}['accept'] == 'application/json'
    assert_private_cache(ansible.workdir / 'token-cache')


# ---------------------------------------------------------------- the lookup, full and short name, option sources

def test_lookup_full_and_short_name_with_vars(ansible, fake_org_app, installed_collection_dir):
    # the one line the lookup documentation tells users to add for the short name
    (ansible.workdir / 'ansible.cfg').write_text('[defaults]\nlookup_plugins = %s\n' % (installed_collection_dir / 'playbooks' / 'lookup_plugins'))
    # variables beat the environment: this username would be refused
    run = ansible.playbook('token_lookup.yml', extra_vars=extra_vars(fake_org_app), env={'SFJWT_USERNAME': 'nobody@example.com'})
    assert run.rc == 0, run.output
    assert run.status('Full name, every output, and the short name') == 'ok'
    assert run.status('A keyword beats a variable') == 'ok'
    assert fake_org_app.org.token_requests == 1
    assert_private_cache(ansible.workdir / 'token-cache')


def test_short_name_in_the_collections_own_playbooks(ansible, fake_org_app, installed_collection_dir):
    """A playbook shipped in the collection (run by FQCN) finds lookup('sfjwt.token') without configuration."""
    name = '_test_short_name_%s' % uuid.uuid4().hex[:8]
    playbook = installed_collection_dir / 'playbooks' / (name + '.yml')
    playbook.write_text(
        '- name: Short name\n  hosts: localhost\n  gather_facts: false\n  tasks:\n'
        '    - name: Short lookup\n      ansible.builtin.assert:\n        quiet: true\n'
        '        that: lookup("sfjwt.token", output="instance_url") == "%s"\n' % fake_org_app.url)
    try:
        run = ansible.playbook('sfjwt.salesforce.' + name, env=fake_org_app.sfjwt_env())
    finally:
        playbook.unlink()
    assert run.rc == 0, run.output
    assert run.status('Short lookup') == 'ok'
    assert fake_org_app.org.token_requests == 1


def test_options_from_the_environment(ansible, fake_org_app):
    run = ansible.playbook('token_env.yml', extra_vars={'sf_url': fake_org_app.url}, env=fake_org_app.sfjwt_env())
    assert run.rc == 0, run.output
    assert_censored(run, 'Token module without options')
    assert run.status('Lookup without options') == 'ok'
    assert fake_org_app.org.token_requests == 1


def test_passphrase_protected_keys(ansible, fake_org_app, tmp_path):
    path, dummy = encrypted_key(fake_org_app, tmp_path)
    run = ansible.playbook('token_passphrase.yml', extra_vars=extra_vars(fake_org_app, sf_encrypted_key_path=str(path), sf_passphrase=PASSPHRASE),
                           env={'SFJWT_PRIVATE_KEY_PASSPHRASE': PASSPHRASE})
    assert run.rc == 0, run.output
    assert run.status('Lookup with encrypted key content and passphrase from variables') == 'ok'
    assert fake_org_app.org.token_requests == 3  # cache off: one request per task
    assert not (ansible.workdir / 'token-cache').exists()


# ---------------------------------------------------------------- one token for many hosts

def test_fifty_hosts_twentyfive_forks_one_token_request(ansible, fake_org_app):
    inventory = ansible.workdir / 'inventory.ini'
    inventory.write_text('[many]\n' + ''.join('host%02d ansible_connection=local\n' % number for number in range(1, 51)))
    run = ansible.playbook('token_concurrency.yml', inventory=str(inventory), forks=25, extra_vars={'sf_url': fake_org_app.url},
                           env=fake_org_app.sfjwt_env())
    assert run.rc == 0, run.output
    for task in ('Use the token, referenced twice', 'Use the instance URL', 'Use the session'):
        assert sorted(record['status'] for record in run.results(task)) == ['ok'] * 50, task
    assert fake_org_app.org.token_requests == 1
    assert_private_cache(ansible.workdir / 'token-cache')


# ---------------------------------------------------------------- errors users can act on

def lookup_message(text):
    """The lookup's own message inside what ansible-core makes of a lookup failure (2.16 shows it as is)."""
    return text.split("The lookup plugin 'sfjwt.salesforce.token' failed: ", 1)[-1]


def run_cases(ansible, app, cases, **kwargs):
    """Run cases through the module and the lookup; return {name: (module message, lookup message)}."""
    run = ansible.playbook('token_errors.yml', extra_vars={'cases': cases}, **kwargs)
    assert run.rc == 0, run.output
    module = run.result('Token module')['results']
    lookup = run.results('Token lookup')
    assert [item['item']['name'] for item in module] == [case['name'] for case in cases]
    assert len(lookup) == len(cases)
    messages = {}
    for case, module_item, lookup_record in zip(cases, module, lookup):
        assert module_item.get('failed') and lookup_record['status'] == 'failed', (case['name'], module_item, lookup_record)
        messages[case['name']] = (module_item['msg'], lookup_message(lookup_record['result']['msg']))
    return run, messages


def assert_messages(messages, expected):
    wrong = []
    for name, message in expected.items():
        module_message, lookup_text = messages[name]
        matches = (lambda text: re.fullmatch(message, text)) if isinstance(message, re.Pattern) else (lambda text: text == message)
        if not matches(module_message):
            wrong.append('%s (module):\n  got      %s\n  expected %s' % (name, module_message, getattr(message, 'pattern', message)))
        if not matches(lookup_text):
            wrong.append('%s (lookup):\n  got      %s\n  expected %s' % (name, lookup_text, getattr(message, 'pattern', message)))
    assert not wrong, '\n'.join(wrong)


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def test_refusals_and_local_errors(ansible, fake_org_app, tmp_path):
    org, app = fake_org_app.org, fake_org_app
    url, ck, user = app.url, app.consumer_key, app.username
    org.add_user('unapproved@example.com')
    org.add_user('inactive@example.com', active=False, permission_sets=[DEFAULT_PERMISSION_SET])
    org.add_user('orphan@example.com', org_active=False, permission_sets=[DEFAULT_PERMISSION_SET])
    dummy, other_cert = generate_key_and_certificate()
    org.add_app('WRONGCERTKEY', other_cert, permission_sets=[DEFAULT_PERMISSION_SET])
    org.add_app('ADMINONLYKEY', app.certificate_pem, permission_sets=['Other_Set'], invalid_app_access=True)
    org.add_app('IPRESTRICTEDKEY', app.certificate_pem, permission_sets=[DEFAULT_PERMISSION_SET], ip_restricted=True)
    encrypted_path, dummy = encrypted_key(app, tmp_path)
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    shared_dir = tmp_path / 'shared-cache'
    shared_dir.mkdir()
    shared_dir.chmod(0o755)
    port = free_port()
    base = {'consumer_key': ck, 'username': user, 'private_key_path': str(app.key_path), 'login_url': url, 'ca_path': app.ca_path}
    cases = [
        ('not approved', {'username': 'unapproved@example.com'}),
        ('unknown consumer key', {'consumer_key': 'UNKNOWNKEY'}),
        ('wrong certificate', {'consumer_key': 'WRONGCERTKEY', 'certificate_path': str(app.cert_path)}),
        ('wrong audience', {'audience': SANDBOX_AUDIENCE}),
        ('not admin approved', {'consumer_key': 'ADMINONLYKEY'}),
        ('ip restricted', {'consumer_key': 'IPRESTRICTEDKEY'}),
        ('inactive user', {'username': 'inactive@example.com'}),
        ('inactive org', {'username': 'orphan@example.com'}),
        ('http login_url', {'login_url': url.replace('https://', 'http://')}),
        ('missing key file', {'private_key_path': str(tmp_path / 'missing.key')}),
        ('encrypted key without passphrase', {'private_key_path': str(encrypted_path)}),
        ('wrong passphrase', {'private_key_path': str(encrypted_path), 'private_key_passphrase': WRONG_PASSPHRASE}),
        ('not an RSA key', {'private_key_path': None, 'private_key': ec_pem}),
        ('no username', {'username': None}),
        ('TLS verification', {'ca_path': None}),
        ('connection refused', {'login_url': 'https://127.0.0.1:%d' % port, 'retries': 0}),
        ('DNS failure', {'login_url': 'https://nonexistent-host.invalid', 'retries': 0}),
        ('group-readable cache directory', {'cache_dir': str(shared_dir)}),
    ]
    cases = [{'name': name, 'options': {key: value for key, value in dict(base, **changes).items() if value is not None}}
             for name, changes in cases]
    run, messages = run_cases(ansible, app, cases)

    cert = x509.load_pem_x509_certificate(app.certificate_pem)
    cert_fingerprint = ':'.join('%02X' % byte for byte in cert.fingerprint(hashes.SHA256()))
    assert_messages(messages, {
        'not approved': (
            "User unapproved@example.com has not approved the app with consumer key %s (invalid_grant: user hasn't approved this "
            "consumer). Either pre-authorize the user: in the app's OAuth policies set Permitted Users to \"Admin approved users "
            "are pre-authorized\" and assign the user a profile or permission set of the app; or approve the app once, logged in "
            "as unapproved@example.com, in a browser: %s/services/oauth2/authorize?response_type=code&client_id=%s&redirect_uri="
            "<callback URL> (redirect_uri must be the app's callback URL). The same error comes when the token host (%s) and the "
            "audience (https://login.salesforce.com) are for different kinds of org (production or sandbox)." % (ck, url, ck, url)),
        'unknown consumer key': (
            "Salesforce at %s does not know the consumer key UNKNOWNKEY (invalid_client_id: client identifier invalid). Check that "
            "consumer_key is the app's Consumer Key and that login_url points at the org that has the app; a new app can take up "
            "to 10 minutes to become usable." % url),
        'wrong certificate': (
            "Salesforce could not verify the assertion for consumer key WRONGCERTKEY and user %s (invalid_grant: invalid "
            "assertion): the certificate uploaded to the app (\"Use digital signatures\") does not belong to this private key. "
            "The certificate %s (SHA-256 fingerprint %s) belongs to this key: that is the one to upload. Upload the certificate "
            "made from this key to the app, or use the key the uploaded certificate was made from. The assertion was sent to the "
            "token host %s with the audience https://login.salesforce.com (derived from login_url)."
            % (user, app.cert_path, cert_fingerprint, url)),
        'wrong audience': (
            "Salesforce at %s rejected the audience https://test.salesforce.com (invalid_grant: audience is invalid) (set, not "
            "derived from login_url). The audience (aud claim) is not the token host: it is https://login.salesforce.com for production "
            "and developer orgs, https://test.salesforce.com for sandboxes and https://site.force.com/customers for Experience "
            "Cloud sites, even when login_url is a My Domain. Set the audience option accordingly." % url),
        'not admin approved': (
            "User %s may not use the app with consumer key ADMINONLYKEY (invalid_app_access: user is not admin approved to access "
            "this app). The app admits only admin-approved users: assign the user a profile or permission set listed in the app's "
            "policies (Permitted Users: \"Admin approved users are pre-authorized\")." % user),
        'ip restricted': (
            "Salesforce refused the login of %s from this machine's IP address (invalid_grant: ip restricted). Add the machine's "
            "public IP address to the Login IP Ranges of the user's profile, or relax IP restrictions in the app's policies "
            "(IP Relaxation). The assertion was sent to the token host %s with the audience https://login.salesforce.com "
            "(derived from login_url)." % (user, url)),
        'inactive user': (
            "User inactive@example.com is inactive in the org at %s (invalid_grant: inactive user). Activate the user, or use "
            "another username. The assertion was sent to the token host %s with the audience https://login.salesforce.com "
            "(derived from login_url)." % (url, url)),
        'inactive org': (
            "The org at %s is inactive (invalid_grant: inactive organization) (an expired trial, or a locked or deleted org). "
            "Check that login_url points at the right org. The assertion was sent to the token host %s with the audience "
            "https://login.salesforce.com (derived from login_url)." % (url, url)),
        'http login_url': (
            "login_url %s uses http://, but Salesforce accepts token requests only over HTTPS. Use %s."
            % (url.replace('https://', 'http://'), url)),
        'missing key file': (
            "private_key_path %s does not exist. Point it at the key the app's certificate was made from (the "
            "sfjwt.salesforce.certificate module creates both)." % (tmp_path / 'missing.key')),
        'encrypted key without passphrase': (
            "the private key %s is encrypted and no passphrase was given. Set private_key_passphrase." % encrypted_path),
        'wrong passphrase': "the passphrase does not open the private key %s (wrong private_key_passphrase)." % encrypted_path,
        'not an RSA key': (
            "the private_key option is an EC key; Salesforce signs the JWT Bearer Flow with RS256 and needs an RSA key of at least "
            "2048 bits."),
        'no username': (
            "username is required: the Salesforce username the token is for. Set the option username (or the variable "
            "sfjwt_username, or the environment variable SFJWT_USERNAME)."),
        'TLS verification': re.compile(
            re.escape("TLS certificate verification failed for %s: " % url) + r'[^.]+' + re.escape(
                ". If the server presents a certificate from a private or corporate CA (for example a TLS-inspecting proxy), set "
                "ca_path (or the variable sfjwt_ca_path, or the environment variable SFJWT_CA_PATH) to a PEM file of that CA; "
                "validate_certs=false turns verification off (never do that in production).")),
        'connection refused': (
            "The connection to https://127.0.0.1:%d was refused: nothing accepts connections on that port. Check the URL (host "
            "and port) and any firewall or proxy in between." % port),
        'DNS failure': (
            "Cannot resolve the host name of https://nonexistent-host.invalid (DNS lookup failed). Check the URL (login_url or "
            "instance_url) and this machine's DNS and proxy settings."),
        'group-readable cache directory': (
            "The token cache directory %s is accessible to other users (mode 0755); access tokens must stay private. Run "
            "\"chmod 0700 %s\", or set cache_dir to a private directory." % (shared_dir, shared_dir)),
    })
    # refusals carry Salesforce's answer in the module result too
    not_approved = run.result('Token module')['results'][0]
    assert (not_approved['status_code'], not_approved['salesforce_error'], not_approved['salesforce_error_description']) == (
        400, 'invalid_grant', "user hasn't approved this consumer")
    assert mode(shared_dir) == 0o755 and os.listdir(shared_dir) == []
    # 8 refusals, each through the module and the lookup; nothing else reached the token endpoint. A lookup that comes
    # within REFUSAL_SHARE_SECONDS (2 s) of the module's refusal gets that refusal without asking again, which happens
    # when the modules run in the worker process (fast): 8 to 16 requests, never more.
    assert 8 <= org.token_requests <= 16


def one_case(app, **options):
    base = {'consumer_key': app.consumer_key, 'username': app.username, 'private_key_path': str(app.key_path),
            'login_url': app.url, 'ca_path': app.ca_path}
    base.update(options)
    return [{'name': 'case', 'options': base}]


def test_expired_assertion_reports_clock_skew(ansible, fake_org_app):
    fake_org_app.org.clock_offset = 600  # Salesforce's clock is 10 minutes ahead of this machine
    run, messages = run_cases(ansible, fake_org_app, one_case(fake_org_app))
    timestamp = r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ'
    assert_messages(messages, {'case': re.compile(
        re.escape("Salesforce rejected the assertion as expired (invalid_grant: expired authorization code). The assertion is "
                  "valid for 180 seconds by this machine's clock; this machine's clock is ") + r'(59[5-9]|60[0-5])' +
        re.escape(" seconds behind Salesforce's (local time ") + timestamp + re.escape(", Salesforce's Date header ") + timestamp +
        re.escape("). Synchronize this machine's clock (NTP, chrony or systemd-timesyncd) and try again. The assertion was sent "
                  "to the token host %s with the audience https://login.salesforce.com (derived from login_url)."
                  % fake_org_app.url))})


@pytest.mark.parametrize('status', [400, 403])
def test_login_rate_exceeded(ansible, fake_org_app, status):
    """The refusal is remembered: the lookup after the module fails with it without logging in again."""
    fake_org_app.org.rate_limit_logins(True, status=status)
    run, messages = run_cases(ansible, fake_org_app, one_case(fake_org_app))
    assert_messages(messages, {'case': re.compile(re.escape(
        "Salesforce refused the login of %s: LOGIN_RATE_EXCEEDED, more than about 3,600 logins for this user within an hour. "
        "Tokens must be reused, not requested for every task or host. Keep the token cache on and use one cache_dir for all runs "
        "on this machine. Other tools logging in as the same user count too. The limit clears within an hour. This refusal is "
        "remembered in the token cache until " % fake_org_app.username) + r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+ more seconds?\)' +
        re.escape(": until then, tasks on this machine that need a token for this user and app fail with this message without "
                  "logging in again. To ask Salesforce sooner, delete the cache entry ") + r'/\S+/[0-9a-f]{64}\.json' +
        re.escape(", or set cache=false."))})
    assert fake_org_app.org.token_requests_by(fake_org_app.username) == 1


TRANSPORT_FAULTS = {
    'maintenance page after retries': (
        lambda org: org.fail_next(4, status=503, html=True), {'retries': 1},
        re.compile(re.escape("Salesforce's token endpoint {url} answered HTTP 503 Service Unavailable after 1 retry, a page titled ")
                   + r'"[^"]+"' + re.escape(". Salesforce may be down for maintenance or having an incident (see "
                                            "https://status.salesforce.com); try again later, or raise retries."))),
    'server error after retries': (
        lambda org: org.fail_next(4, status=500), {'retries': 1},
        "Salesforce's token endpoint {url} answered HTTP 500 Internal Server Error after 1 retry (unknown_error: retry your "
        "request). Salesforce may be down for maintenance or having an incident (see https://status.salesforce.com); try again "
        "later, or raise retries."),
    'not JSON': (
        lambda org: org.non_json_next(2), {},
        re.compile(re.escape("{url} answered the token request with HTTP 200 OK and a body that is not JSON (")
                   + r'text/plain[^,]*, \d+ bytes' + re.escape("). Check that login_url is a Salesforce token host."))),
    'connection reset': (
        lambda org: org.reset_next(4), {'retries': 1},
        "The connection to {url} was reset or closed before a complete answer came (after 2 attempts). A proxy, firewall or load "
        "balancer may be dropping connections; try again, or raise the retries option."),
    'timeout': (
        lambda org: org.slow_next(4, 3), {'retries': 1, 'timeout': 1},
        "{url} did not answer within 1 second (after 2 attempts). Raise the timeout option, or check the network path (proxy, "
        "firewall) to the host."),
}


@pytest.mark.parametrize('fault', sorted(TRANSPORT_FAULTS))
def test_transport_faults(ansible, fake_org_app, fault):
    arrange, options, message = TRANSPORT_FAULTS[fault]
    arrange(fake_org_app.org)
    run, messages = run_cases(ansible, fake_org_app, one_case(fake_org_app, **options))
    values = {'url': fake_org_app.url, 'user': fake_org_app.username, 'ck': fake_org_app.consumer_key}
    if isinstance(message, re.Pattern):
        expected = re.compile(message.pattern.replace(re.escape('{url}'), re.escape(values['url'])))
    else:
        expected = message.format(**values)
    assert_messages(messages, {'case': expected})
    if options.get('retries'):
        # each retry is reported as a warning
        assert 'retry 1 of %d.' % options['retries'] in ' '.join(run.output.split())


def test_server_error_after_retries_then_recovery(ansible, fake_org_app):
    """Faults within the retry budget are absorbed: one failed attempt and one successful one, no error."""
    fake_org_app.org.fail_next(1, status=503, html=True)
    run = ansible.playbook('token_env.yml', extra_vars={'sf_url': fake_org_app.url}, env=fake_org_app.sfjwt_env(SFJWT_RETRIES='2'))
    assert run.rc == 0, run.output
    assert fake_org_app.org.token_requests == 2
    # the retry is reported once, although the module's result is hidden (2.16 wraps warnings: compare words)
    assert ' '.join(run.output.split()).count('/services/oauth2/token failed (HTTP 503); retry 1 of 2.') == 1, run.output


# ---------------------------------------------------------------- no secret anywhere at -vvvv

def test_no_secrets_in_verbose_output(ansible, fake_org_app, tmp_path):
    app = fake_org_app
    dummy, encrypted_pem = encrypted_key(app, tmp_path)
    env = {'SFJWT_CONSUMER_KEY': app.consumer_key, 'SFJWT_USERNAME': app.username, 'SFJWT_LOGIN_URL': app.url,
           'SFJWT_CA_PATH': app.ca_path, 'SFJWT_PRIVATE_KEY': encrypted_pem.decode(), 'SFJWT_PRIVATE_KEY_PASSPHRASE': PASSPHRASE,
           'SECRET_KEY_CONTENT': encrypted_pem.decode(), 'SECRET_PASSPHRASE': PASSPHRASE, 'WRONG_PASSPHRASE': WRONG_PASSPHRASE}
    run = ansible.playbook('token_secrets.yml', env=env, verbosity=4)
    assert run.rc == 0, run.output
    assert run.status('Lookup, every output') == 'ok'
    assert run.status('Wrong passphrase through the module') == 'failed'
    assert run.status('A refusal through the module (unknown user)') == 'failed'
    tokens = list(app.org.sessions)
    assert len(tokens) == 2  # the cached one, and the one without cache
    secrets = tokens + [token.split('!', 1)[1] for token in tokens] + [PASSPHRASE, WRONG_PASSPHRASE]
    # every line of key material: the encrypted PEM given to Ansible, and the plain key it holds
    for pem in (encrypted_pem, app.private_key_pem):
        secrets += [line for line in pem.decode().splitlines() if line and not line.startswith('-----')]
    output = run.output
    leaked = [secret[:12] + '...' for secret in secrets if secret in output]
    assert not leaked, leaked
    assert 'the passphrase does not open the private_key option (wrong private_key_passphrase).' in output


def test_an_http_instance_url_is_refused_and_nothing_is_kept(ansible, fake_org_app, monkeypatch):
    """End to end (the unit tests hold the other forms): a token answer that would send the session over http://."""
    org = fake_org_app.org
    real_open_session = org.open_session

    def over_http(user, app):
        answer = real_open_session(user, app)
        return dict(answer, instance_url=answer['instance_url'].replace('https://', 'http://', 1))
    monkeypatch.setattr(org, 'open_session', over_http)
    playbook = ansible.workdir / 'http_instance.yml'
    playbook.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Token', 'sfjwt.salesforce.token': {}, 'ignore_errors': True},
        {'name': 'REST', 'sfjwt.salesforce.rest': {'path': 'limits'}, 'ignore_errors': True}]}]))
    run = ansible.playbook(playbook, env=fake_org_app.sfjwt_env())
    assert run.rc == 0, run.output
    for task in ('Token', 'REST'):
        message = run.result(task)['msg']
        assert message.startswith('The answer of %s to the token request is not a Salesforce token answer: instance_url '
                                  % fake_org_app.url), message
        assert 'http://' in message
    # the cache may hold the refusal for the next callers of the identity (a moment), never the session
    kept = [entry.read_text() for entry in (ansible.workdir / 'token-cache').glob('*.json')]
    assert all('"session"' not in text for text in kept), kept
    assert [e for e in org.received_log() if e['path'].startswith('/services/data')] == []
    for token in org.issued_access_tokens():
        assert token not in run.output and token not in json.dumps(run.records) and all(token not in text for text in kept)
