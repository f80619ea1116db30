# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Many orgs from one play, against the fake fleet: every host an org, its identity in its sfjwt_* host variables (a
static YAML inventory here, what the sfjwt.salesforce.orgs inventory plugin gives each host). One login per org whatever
the forks, the limits playbook's line per org, and the api_budget role skipping an org under its budget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fake_org.pytest_plugin import generate_key_and_certificate, write_private_file

from conftest import oldest_and_newest_core_in_worker

pytestmark = oldest_and_newest_core_in_worker

CONSUMER_KEY = 'SFJWTMANYORGSAPP0001'
PERMISSION_SET = 'SFJWT_Integration'
PRODUCTIONS = ('acme', 'beta', 'gamma', 'delta', 'omega')
FORKS = 10
GATE_TASKS = 'sfjwt.salesforce.api_budget : '


def count(value):
    """A fake org's counter, whether it is a property or a method."""
    return value() if callable(value) else value


@pytest.fixture
def orgs(fake_fleet, tmp_path):
    """Five productions and a sandbox of the first, one integration user each, all approved for one app with one key;
    {host name: FakeOrg} with the inventory file next to it (.inventory)."""
    key_pem, cert_pem = generate_key_and_certificate('sfjwt-many-orgs')
    key_path = tmp_path / 'many-orgs.key'
    write_private_file(key_path, key_pem)
    found = {}
    for name in PRODUCTIONS:
        org = fake_fleet.add_org(name, kind='production')
        org.add_user('integration@%s.example.com' % name, permission_sets=[PERMISSION_SET])
        org.add_app(CONSUMER_KEY, cert_pem, admin_approved=True, permission_sets=[PERMISSION_SET])
        found[name] = org
    # The sandbox copies acme's users ('<username>.uat') and its app.
    found['acme-uat'] = fake_fleet.add_sandbox(found['acme'], 'uat')
    assert found['acme-uat'] is not None, 'the fleet made the sandbox Completed at once'
    hosts = {}
    for name, org in found.items():
        username = 'integration@%s.example.com' % name.split('-')[0] + ('.uat' if name == 'acme-uat' else '')
        hosts[name] = {'ansible_connection': 'local', 'sfjwt_login_url': org.url, 'sfjwt_audience': org.accepted_audience,
                       'sfjwt_username': username, 'sfjwt_consumer_key': CONSUMER_KEY,
                       'sfjwt_private_key_path': str(key_path), 'sfjwt_ca_path': fake_fleet.ca_path}
    # delta logs in through the fleet's login host (login.salesforce.com's part), which routes by user: one token host
    # for several orgs still means one login per org.
    hosts['delta']['sfjwt_login_url'] = fake_fleet.login_url
    inventory = tmp_path / 'orgs.yml'
    # The groups the sfjwt.salesforce.orgs inventory makes: every org in sfjwt_orgs, by kind below it.
    inventory.write_text(yaml.safe_dump({'all': {'children': {'sfjwt_orgs': {'children': {
        'production': {'hosts': {name: hosts[name] for name in PRODUCTIONS}},
        'sandbox': {'hosts': {'acme-uat': hosts['acme-uat']}}}}}}}))
    return found, str(inventory)


def write_play(path, play):
    path.write_text('---\n' + yaml.safe_dump([play], sort_keys=False))
    return str(path)


def test_several_rest_tasks_per_org_log_in_once_per_org(ansible, orgs, fake_fleet, tmp_path):
    found, inventory = orgs
    playbook = write_play(tmp_path / 'several.yml', {
        'name': 'Several API calls per org', 'hosts': 'all', 'gather_facts': False,
        'tasks': [
            {'name': 'GET limits', 'sfjwt.salesforce.rest': {'path': 'limits', 'api_version': '62.0'}},
            {'name': 'Which org', 'sfjwt.salesforce.rest': {'query': 'SELECT Name, IsSandbox FROM Organization',
                                                            'api_version': '62.0'},
             'register': 'organization'},
            {'name': 'GET sobjects', 'sfjwt.salesforce.rest': {'path': 'sobjects', 'api_version': '62.0'}},
            {'name': 'GET limits again', 'sfjwt.salesforce.rest': {'path': 'limits', 'api_version': '62.0'}},
        ]})
    before = count(fake_fleet.token_requests)
    run = ansible.playbook(playbook, inventory=inventory, forks=FORKS)
    assert run.rc == 0, run.output
    assert {name: count(org.token_requests) for name, org in found.items()} == {name: 1 for name in found}
    assert count(fake_fleet.token_requests) - before == len(found), 'a token request no org answered'
    assert fake_fleet.login_host_token_requests == 1, 'delta logs in through the login host, the others at their own URL'
    for name, org in found.items():
        calls = org.api_calls()
        assert calls[('GET', '/limits')] == 2 and calls[('GET', '/query')] == 1 and calls[('GET', '/sobjects')] == 1, (name, calls)
        # Each host reached its own org, not the first one's session.
        records = run.result('Which org', host=name)['records']
        assert len(records) == 1 and records[0]['IsSandbox'] is (name == 'acme-uat'), (name, records)
    assert len({run.result('Which org', host=name)['records'][0]['Name'] for name in found}) == len(found)

    # The next run of the play finds every org's token in the cache: no login at all.
    again = ansible.playbook(playbook, inventory=inventory, forks=FORKS)
    assert again.rc == 0, again.output
    assert {name: count(org.token_requests) for name, org in found.items()} == {name: 1 for name in found}


def test_the_limits_playbook_prints_one_line_per_org(ansible, orgs):
    found, inventory = orgs
    left = {}
    for index, (name, org) in enumerate(found.items()):
        org.daily_api_max = 15000
        org.daily_api_remaining = left[name] = 14000 - index * 1000
    run = ansible.playbook('sfjwt.salesforce.limits', inventory=inventory, forks=FORKS)
    assert run.rc == 0, run.output
    assert {name: count(org.token_requests) for name, org in found.items()} == {name: 1 for name in found}
    first = run.results('Show the daily API requests of each org')
    assert len(first) == 1, run.output
    # One line per org, by name; the GET limits call counts against the limit it reads.
    assert first[0]['result']['msg'] == ['%s: %d of 15000 daily API requests remaining' % (name, left[name] - 1) for name in sorted(found)]
    for line in first[0]['result']['msg']:
        assert run.stdout.count(line) == 1
    # The one-org detail is skipped once, not per org.
    assert [record['status'] for record in run.results('Show the limits')] == ['skipped']
    assert 'answers with API v' not in run.stdout


def test_an_org_that_cannot_log_in_fails_alone_and_its_line_says_so(ansible, orgs, tmp_path):
    found, inventory = orgs
    hosts = yaml.safe_load(Path(inventory).read_text())
    hosts['all']['children']['sfjwt_orgs']['children']['production']['hosts']['gamma']['sfjwt_consumer_key'] = 'SFJWTUNKNOWNAPP000001'
    broken = tmp_path / 'broken.yml'
    broken.write_text(yaml.safe_dump(hosts))
    run = ansible.playbook('sfjwt.salesforce.limits', inventory=str(broken), forks=FORKS)
    assert run.rc == 2, run.output
    failed = run.results('Get the limits (GET /services/data/vNN.N/limits)', host='gamma')
    assert [record['status'] for record in failed] == ['failed'] and 'invalid_client_id' in failed[0]['result']['msg'], failed
    lines = run.results('Show the daily API requests of each org')[0]['result']['msg']
    assert [line for line in lines if line.startswith('gamma: ')] == ['gamma: limits not read (see its error above)']
    assert len(lines) == len(found) and all(re.match(r'^%s: \d+ of 100000 daily API requests remaining$' % re.escape(name), line)
                                            for name, line in zip(sorted(found), lines) if name != 'gamma'), lines
    assert {name: count(org.token_requests) for name, org in found.items()} == {name: 1 for name in found}


def gate_play(path, **gate_vars):
    return write_play(path, {
        'name': 'Work on the orgs that can afford it', 'hosts': 'all', 'gather_facts': False,
        'roles': [{'role': 'sfjwt.salesforce.api_budget', 'vars': gate_vars}],
        'tasks': [{'name': 'Which org', 'sfjwt.salesforce.rest': {
            'query': 'SELECT Name FROM Organization', 'api_version': '62.0'}}]})


def test_the_budget_gate_skips_an_org_under_its_budget_and_the_recap_names_it(ansible, orgs, tmp_path):
    found, inventory = orgs
    for org in found.values():
        org.daily_api_max = 15000
        org.daily_api_remaining = 14000
    found['beta'].daily_api_remaining = 500           # under 1000 requests
    found['gamma'].daily_api_remaining = 1400         # over 1000, under 10 % of 15000
    found['delta'].daily_api_remaining = 1501         # 1500 after its GET limits: 10 % exactly, enough
    playbook = gate_play(tmp_path / 'gate.yml', sfjwt_api_budget_min_remaining=1000, sfjwt_api_budget_min_remaining_percent=10,
                         sfjwt_api_version='62.0')
    run = ansible.playbook(playbook, inventory=inventory, forks=FORKS, env={'ANSIBLE_SHOW_CUSTOM_STATS': 'true'})
    assert run.rc == 0, run.output

    skipped = {
        'beta': 'beta: 499 of 15000 daily API requests remaining, under the budget of 1500 '
                '(sfjwt_api_budget_min_remaining_percent=10 of 15000): skipped for the rest of the play.',
        'gamma': 'gamma: 1399 of 15000 daily API requests remaining, under the budget of 1500 '
                 '(sfjwt_api_budget_min_remaining_percent=10 of 15000): skipped for the rest of the play.',
    }
    assert run.result(GATE_TASKS + "Read the org's limits (GET limits)", host='delta')['json']['DailyApiRequests'] == {
        'Max': 15000, 'Remaining': 1500}
    said = {record['host']: record['result']['msg'] for record in run.results(GATE_TASKS + 'Say why the org is skipped')}
    assert said == skipped
    for name, org in found.items():
        calls = org.api_calls()
        assert calls[('GET', '/limits')] == 1, (name, calls)
        assert calls[('GET', '/query')] == (0 if name in skipped else 1), (name, calls)
        assert count(org.token_requests) == 1, name
        fact = run.result(GATE_TASKS + 'Compare the daily API requests left with the budget', host=name)['ansible_facts']['sfjwt_api_budget']
        assert fact['enough'] is (name not in skipped) and fact['min_remaining'] == 1500 and fact['max'] == 15000, fact
        assert fact['message'] == skipped.get(name, '%s: %d of 15000 daily API requests remaining, not under the budget of 1500 '
                                              '(sfjwt_api_budget_min_remaining_percent=10 of 15000).' % (name, fact['remaining'])), fact
    assert sorted(record['host'] for record in run.results('Which org')) == sorted(set(found) - set(skipped))

    recap = run.stdout.split('PLAY RECAP')[-1]
    custom = recap.split('CUSTOM STATS:')[-1]
    for name, line in skipped.items():
        assert '\t%s: { "sfjwt_api_budget_skipped": "%s"}' % (name, line) in custom, recap
    for name in set(found) - set(skipped):
        assert not re.search(r'^\s+%s: ' % re.escape(name), custom, flags=re.MULTILINE), recap
    for name in found:   # an ended org is no failure: the job succeeds
        assert re.search(r'^%s\s+: ok=\d+ +changed=0 +unreachable=0 +failed=0 ' % re.escape(name), recap, flags=re.MULTILINE), recap


def test_the_budget_by_count_names_its_variable_and_without_custom_stats_the_line_is_still_said(ansible, orgs, tmp_path):
    found, inventory = orgs
    found['omega'].daily_api_max = 15000
    found['omega'].daily_api_remaining = 200
    playbook = gate_play(tmp_path / 'gate.yml', sfjwt_api_version='62.0')   # the default budget: 1000 requests
    run = ansible.playbook(playbook, inventory=inventory, forks=FORKS)
    assert run.rc == 0, run.output
    line = ('omega: 199 of 15000 daily API requests remaining, under the budget of 1000 (sfjwt_api_budget_min_remaining=1000): '
            'skipped for the rest of the play.')
    assert run.result(GATE_TASKS + 'Say why the org is skipped', host='omega')['msg'] == line
    assert 'CUSTOM STATS' not in run.stdout, 'ansible-core shows custom stats only when asked'
    assert sorted(record['host'] for record in run.results('Which org')) == sorted(set(found) - {'omega'})


@pytest.mark.parametrize('budget', [{'sfjwt_api_budget_min_remaining_percent': 101}, {'sfjwt_api_budget_min_remaining_percent': 'nan'},
                                    {'sfjwt_api_budget_min_remaining_percent': -5}, {'sfjwt_api_budget_min_remaining': -1}])
def test_a_budget_out_of_bounds_stops_every_org_before_any_request(ansible, orgs, tmp_path, budget):
    found, inventory = orgs
    run = ansible.playbook(gate_play(tmp_path / 'gate.yml', sfjwt_api_version='62.0', **budget), inventory=inventory, forks=FORKS)
    assert run.rc != 0
    for name, org in found.items():
        assert run.result(GATE_TASKS + 'Check the budget', host=name)['msg'].startswith('The budget is out of bounds:'), name
        assert org.api_calls()[('GET', '/limits')] == 0, name
