# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Faults from the fake org, through ansible-playbook: 503 then success, the HTML maintenance page, answers slower than
the timeout, connection resets, DNS and TLS failures, a session revoked in the middle of the run, LOGIN_RATE_EXCEEDED.

Each scenario ends in success or in a clear error (exact message fragments), within the subprocess timeout: a hang
fails the test. Each scenario logs in as its own user, so the fake org's per-user counters tell what each one cost.
"""

from __future__ import annotations

import json
import re

import jwt
import trustme

from fake_org.pytest_plugin import DEFAULT_PERMISSION_SET

SCENARIO_USERS = ('retry_503', 'maintenance', 'slow_once', 'slow', 'reset_once', 'reset', 'dns', 'tls', 'revoked')
FLEET = 3
# Generous: the slowest scenario needs a few seconds; a product that hangs on a fault fails here.
RUN_TIMEOUT = 240


def lookup_message(message):
    """The lookup's own message inside what ansible-core makes of a lookup failure (the two versions word it differently)."""
    return message.split("The lookup plugin 'sfjwt.salesforce.token' failed: ", 1)[-1].split('original message: ', 1)[-1]


def token_answers(org, username):
    """Statuses of the token requests the org received for username, in order (None: dropped without an answer)."""
    return [entry['status'] for entry in org.received_log()
            if entry['path'] == '/services/oauth2/token' and (entry['form'] or {}).get('assertion')
            and jwt.decode(entry['form']['assertion'], options={'verify_signature': False}).get('sub') == username]


def test_faults_end_in_success_or_a_clear_error(ansible, fake_org_app, tmp_path):
    app, org = fake_org_app, fake_org_app.org
    users = {name: '%s@example.com' % name.replace('_', '-') for name in SCENARIO_USERS}
    for username in users.values():
        org.add_user(username, permission_sets=[DEFAULT_PERMISSION_SET])
    wrong_ca = tmp_path / 'other-ca.pem'
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('localhost ansible_connection=local\n[fleet]\n' +
                         ''.join('host%d ansible_connection=local\n' % number for number in range(1, FLEET + 1)))
    variables = {'url': app.url, 'ca': app.ca_path, 'ck': app.consumer_key, 'key': str(app.key_path),
                 'wrong_ca': str(wrong_ca), 'fault_users': users}
    vars_path = tmp_path / 'fault-vars.json'
    vars_path.write_text(json.dumps(variables))

    run = ansible.playbook('reliability_faults.yml', inventory=str(inventory), forks=FLEET,
                           extra_args=('-e', '@%s' % vars_path), timeout=RUN_TIMEOUT)
    assert run.rc == 0, run.output
    url = app.url
    problems = []

    def expect(task, *fragments, host='localhost', status='failed'):
        if run.status(task, host) != status:
            problems.append('%s on %s: %s, expected %s: %s' % (task, host, run.status(task, host), status, run.result(task, host)))
            return
        message = run.result(task, host).get('msg', '')
        if task.endswith('lookup'):
            message = lookup_message(message)
        for fragment in fragments:
            found = fragment.search(message) if isinstance(fragment, re.Pattern) else fragment in message
            if not found:
                problems.append('%s on %s: %r not in the message:\n    %s' % (task, host, getattr(fragment, 'pattern', fragment), message))

    # 503 twice, then the token: two retries, each reported; one session for every later task
    for task in ('fault: 503 then success, token module', 'fault: 503 then success, later lookup',
                 'fault: 503 then success, later rest call', 'fault: 503 then success, rest GET'):
        expect(task, status='ok')
    # each retry is reported (the token module's result is hidden from the output, its warnings are not)
    output = ' '.join(run.output.split())  # warnings are wrapped at the terminal width
    for retry in ('retry 1 of 3.', 'retry 2 of 3.'):
        assert 'POST %s/services/oauth2/token failed (HTTP 503); %s' % (url, retry) in output, run.output
    assert token_answers(org, users['retry_503']) == [503, 503, 200]
    warnings = ' '.join(run.result('fault: 503 then success, rest GET').get('warnings', []))
    assert 'GET %s/services/data/v62.0/limits failed (HTTP 503); retry 1 of 2.' % url in warnings, warnings

    # The maintenance page, after the retries, names the page and what to do
    expect('fault: maintenance page, token lookup',
           "Salesforce's token endpoint %s answered HTTP 503 Service Unavailable after 1 retry, a page titled "
           '"Salesforce - Maintenance". Salesforce may be down for maintenance' % url)
    expect('fault: maintenance page, rest',
           'GET /services/data/v62.0/limits answered HTTP 503', 'an HTML page titled "Salesforce - Maintenance"')
    assert org.token_requests_by(users['maintenance']) == 3  # 2 maintenance pages, then the rest module's token

    # Slower than the timeout: the retry gets the answer; always slow gives up after the retries
    expect('fault: slow once, token module', status='ok')
    expect('fault: slower than the timeout, token module',
           '%s did not answer within 1 second (after 2 attempts). Raise the timeout option' % url)
    expect('fault: slower than the timeout, rest', '%s did not answer within 1 second (after 2 attempts).' % url)
    assert org.token_requests_by(users['slow_once']) == 2
    assert org.token_requests_by(users['slow']) == 2

    # Connection resets
    expect('fault: reset once, token module', status='ok')
    expect('fault: connection reset, token module',
           'The connection to %s was reset or closed before a complete answer came (after 2 attempts).' % url)
    expect('fault: connection reset, rest', 'The connection to %s was reset or closed before a complete answer came' % url)
    assert org.token_requests_by(users['reset_once']) == 2
    assert org.token_requests_by(users['reset']) == 2

    # DNS and TLS: refused before any request reaches the org
    dns = ('Cannot resolve the host name of https://does-not-exist.invalid (DNS lookup failed). Check the URL (login_url or '
           'instance_url) and this machine\'s DNS and proxy settings.')
    expect('fault: DNS failure, token module', dns)
    expect('fault: DNS failure, lookup', dns)
    tls = re.compile(re.escape('TLS certificate verification failed for %s: ' % url) + r'[^.]+\. '
                     + re.escape('If the server presents a certificate from a private or corporate CA (for example a '
                                 'TLS-inspecting proxy), set ca_path (or the variable sfjwt_ca_path, or the environment '
                                 'variable SFJWT_CA_PATH) to a PEM file of that CA'))
    expect('fault: TLS, wrong CA, token module', tls)
    expect('fault: TLS, wrong CA, rest', tls)
    assert org.token_requests_by(users['tls']) == 0

    # Revoked in the middle of the run, on every host at once: each host recovers, with one new token between them
    hosts = ['host%d' % number for number in range(1, FLEET + 1)]
    for task in ('revoked: first call', 'revoked: second call', 'revoked: third call'):
        for host in hosts:
            expect(task, host=host, status='ok')
    assert org.token_requests_by(users['revoked']) == 2, 'one token, and one more after the revocation'

    assert not problems, '\n'.join(problems)


def test_login_rate_exceeded_is_not_hammered(ansible, fake_org_app, tmp_path):
    """LOGIN_RATE_EXCEEDED: every task on every host fails with the message, and the refused identity is not asked again
    and again: later tasks (and hosts) of the run do not keep logging in, which would only prolong the lockout."""
    app, org = fake_org_app, fake_org_app.org
    users = {'rate': 'rate@example.com'}
    org.add_user(users['rate'], permission_sets=[DEFAULT_PERMISSION_SET])
    org.rate_limit_logins(True)
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('[fleet]\n' + ''.join('host%d ansible_connection=local\n' % number for number in range(1, FLEET + 1)))
    variables = {'url': app.url, 'ca': app.ca_path, 'ck': app.consumer_key, 'key': str(app.key_path), 'fault_users': users}
    vars_path = tmp_path / 'fault-vars.json'
    vars_path.write_text(json.dumps(variables))

    run = ansible.playbook('reliability_rate_limit.yml', inventory=str(inventory), forks=FLEET,
                           extra_args=('-e', '@%s' % vars_path), timeout=RUN_TIMEOUT)
    assert run.rc == 0, run.output
    hosts = ['host%d' % number for number in range(1, FLEET + 1)]
    problems = []
    rate = ('Salesforce refused the login of %s: LOGIN_RATE_EXCEEDED, more than about 3,600 logins for this user within an '
            'hour. Tokens must be reused, not requested for every task or host.' % users['rate'])
    for task in ('rate: token module', 'rate: lookup', 'rate: rest', 'rate: token module again'):
        for host in hosts:
            if run.status(task, host) != 'failed':
                problems.append('%s on %s: %s' % (task, host, run.status(task, host)))
            elif rate not in lookup_message(run.result(task, host).get('msg', '')):
                problems.append('%s on %s: %s' % (task, host, run.result(task, host).get('msg')))
    rate_requests = org.token_requests_by(users['rate'])
    if rate_requests != 1:
        problems.append('%d token requests for the refused user over 4 tasks x %d hosts; expected 1 (the refusal is '
                        'remembered and the later tasks fail without logging in again)' % (rate_requests, FLEET))
    assert not problems, '\n'.join(problems)
