# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt.salesforce benchmarks: one command, one table of ratios against baselines measured in the same run.

    bash tests/benchmarks/run.sh [--repeat N] [--only 1,3] [--workdir DIR]      (`make benchmark`)

run.sh prepares the pinned .venv/bench (ansible-core 2.19 plus the `ansible` package for community.crypto) and
runs this file with it. The collection is built and installed as the integration tests do it, a fake org runs in
its own process, and every playbook goes through the integration tests' ansible-playbook driver.
What is measured and why: docs/performance.md. This is not a test: nothing here judges a duration.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parents[1]
PLAYBOOKS = BENCH_DIR / 'playbooks'
MANUAL_PROCEDURE = BENCH_DIR / 'manual_procedure.sh'
sys.path.insert(0, str(REPO_ROOT / 'tests' / 'integration'))

# The integration harness, reused: build + install as the tests do, and its ansible-playbook driver. It puts tests/ on sys.path.
from conftest import CALLBACK_DIR, Ansible, build_and_install
from fake_org import LOGIN_AUDIENCE
from fake_org.pytest_plugin import DEFAULT_PERMISSION_SET, DEFAULT_USERNAME, generate_key_and_certificate, write_private_file

from fake_fleet_process import FakeFleetProcess
from fake_org_process import FakeOrgProcess
from machine import describe_machine

CONSUMER_KEY = 'SFJWTBENCHMARKAPP0001'
SHAPES = ((1, 1), (10, 10), (50, 20))      # benchmark 1: hosts x tasks
MAX_FORKS = 50
LOOP_ITEMS = 1000                          # benchmark 2
LATENCIES = (0.0, 0.150)                   # benchmark 3, seconds added by the fake org to every request
IDENTITIES, IDENTITY_FORKS, IDENTITY_LATENCY = 100, 50, 0.150   # benchmark 5
ROUND_TRIPS_PER_IDENTITY = 2               # benchmark 5: the token request, then one API call
RECORDS = 2000                             # benchmark 6
REST_LOOP_ITEMS = 500                      # benchmark 7
# Benchmark 7's module-process loop costs about 0.3 s an item: it runs on this many items and is scaled to REST_LOOP_ITEMS.
REST_LOOP_PROCESS_SAMPLE = 100
# Where the API modules run (benchmarks 5 and 7): in the worker, or as module processes (how every version before 0.2.0 ran).
IN_WORKER = {'SFJWT_IN_PROCESS': 'true'}
AS_PROCESS = {'SFJWT_IN_PROCESS': 'false'}
# The rest loop costs a module run per record (about 0.3 s): it runs on this many records and is scaled to RECORDS.
REST_LOOP_SAMPLE = 200
ORGS, ORG_FORKS, ORG_LATENCY = 200, 50, 0.150   # benchmark 8: a fleet of orgs, one host each
SANDBOXES = 200                            # benchmark 9: sandboxes of one production org, discovered by the orgs inventory

# Added to the integration harness's environment: our timing callback next to its recorder, and the timing lookup.
BENCH_ENV = {
    'ANSIBLE_CALLBACK_PLUGINS': os.pathsep.join([str(CALLBACK_DIR), str(BENCH_DIR / 'callback_plugins')]),
    'ANSIBLE_CALLBACKS_ENABLED': 'sfjwt_test_recorder,sfjwt_bench_timer',
    'ANSIBLE_LOOKUP_PLUGINS': str(BENCH_DIR / 'lookup_plugins'),
}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class BenchmarkError(Exception):
    """A run did not do what the comparison assumes (a failed playbook, a wrong request count): no result."""


@dataclass
class Row:
    number: int
    measurement: str
    ours: float
    baseline: float
    unit: str          # 'requests', 's' or 'ms'
    runs: int

    def cells(self) -> list:
        return [str(self.number), self.measurement, _value(self.ours, self.unit), _value(self.baseline, self.unit),
                _ratio(self.ours, self.baseline), str(self.runs)]


@dataclass
class Timed:
    run: object        # conftest.PlaybookRun
    wall: float        # seconds, the whole ansible-playbook process
    timings: dict      # from the sfjwt_bench_timer callback

    def task_seconds(self, name: str) -> float:
        return sum(task['seconds'] for task in self.timings['tasks'] if task['name'] == name)

    @property
    def play_seconds(self) -> float:
        return self.timings['play_seconds']


@dataclass
class Bench:
    workdir: Path
    collections: Path
    org: FakeOrgProcess
    key_path: Path
    repeat: int = 1
    notes: list = field(default_factory=list)
    _dirs: int = 0

    # -- plumbing -------------------------------------------------------------------------------

    def fresh_dir(self, name: str) -> Path:
        self._dirs += 1
        path = self.workdir / ('%s-%03d' % (name, self._dirs))
        path.mkdir(parents=True)
        return path

    def playbook(self, name: str, *, env: dict | None = None, **kwargs) -> Timed:
        """Run tests/benchmarks/playbooks/<name> (or a path) in a fresh directory, so with an empty token cache."""
        ansible = Ansible(self.collections, self.fresh_dir('ansible'))
        timings_file = ansible.workdir / 'timings.json'
        run_env = dict(BENCH_ENV, SFJWT_BENCH_TIMINGS=str(timings_file), **(env or {}))
        start = time.perf_counter()
        run = ansible.playbook(str(PLAYBOOKS / name), env=run_env, **kwargs)
        wall = time.perf_counter() - start
        progress('  %s: %.1f s' % (Path(name).name, wall))
        if run.rc != 0:
            raise BenchmarkError('%s failed (exit status %d):\n%s' % (name, run.rc, run.output[-6000:]))
        return Timed(run, wall, json.loads(timings_file.read_text()))

    def identity_vars(self, with_username: bool = True) -> dict:
        """The app and user as the benchmark playbooks' sf_* variables (the module tasks take them as options)."""
        values = {'sf_url': self.org.url, 'sf_ca_path': self.org.ca_path, 'sf_consumer_key': CONSUMER_KEY,
                  'sf_key_path': str(self.key_path)}
        if with_username:
            values['sf_username'] = DEFAULT_USERNAME
        return values

    def lookup_vars(self, **more) -> dict:
        """The same identity as the lookup's sfjwt_* variables."""
        values = {'sfjwt_consumer_key': CONSUMER_KEY, 'sfjwt_username': DEFAULT_USERNAME, 'sfjwt_private_key_path': str(self.key_path),
                  'sfjwt_login_url': self.org.url, 'sfjwt_ca_path': self.org.ca_path}
        values.update(more)
        return values

    def inventory(self, hosts: int, usernames=None) -> str:
        """An INI inventory of local hosts; with usernames, each host gets its own sf_username."""
        lines = ['[bench]']
        for index in range(hosts):
            line = 'bench-host-%03d ansible_connection=local' % (index + 1)
            if usernames:
                line += ' sf_username=%s' % usernames[index]
            lines.append(line)
        path = self.fresh_dir('inventory') / 'hosts.ini'
        path.write_text('\n'.join(lines) + '\n')
        return str(path)

    def manual_procedure(self, runs: int = 1, parallel: int = 1) -> list:
        """Run the openssl + curl script `runs` times (`parallel` at once); return each run's wall time in seconds."""
        command = [str(MANUAL_PROCEDURE), CONSUMER_KEY, DEFAULT_USERNAME, LOGIN_AUDIENCE, str(self.key_path), self.org.url,
                   self.org.ca_path]

        def once(_index):
            start = time.perf_counter()
            process = subprocess.run(command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
            seconds = time.perf_counter() - start
            if process.returncode != 0 or '"access_token"' not in process.stdout:
                # A failure answer holds no token, so showing it is safe.
                raise BenchmarkError('the manual procedure failed (exit status %d): %s %s'
                                     % (process.returncode, process.stderr.strip(), process.stdout.strip()[:500]))
            return seconds

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            walls = list(pool.map(once, range(runs)))
        progress('  manual procedure x%d: %.1f s' % (runs, time.perf_counter() - start))
        return walls

    def expect_token_requests(self, expected: int, what: str) -> dict:
        stats = self.org.stats()
        if stats['token_requests'] != expected:
            raise BenchmarkError('%s: expected %d token requests, the fake org counted %d' % (what, expected, stats['token_requests']))
        return stats


# -- the measurements ------------------------------------------------------------------------------

def token_requests(bench: Bench) -> list:
    """1. Token requests of H hosts x T tasks using the lookup (cache on, cache off) against the manual procedure."""
    rows = []
    for hosts, tasks in SHAPES:
        forks = min(hosts, MAX_FORKS)
        inventory = bench.inventory(hosts)
        playbook = _lookup_tasks_playbook(bench.fresh_dir('playbook') / 'lookup_tasks.yml', tasks)
        counts = {}
        for variant, options in (('cache on', {}), ('cache off', {'sfjwt_cache': False})):
            bench.org.reset()
            bench.playbook(playbook, inventory=inventory, forks=forks, extra_vars=bench.lookup_vars(**options))
            counts[variant] = bench.org.token_requests()
        bench.org.reset()
        bench.manual_procedure(runs=hosts * tasks, parallel=forks)   # one script run per host and task
        manual = bench.org.token_requests()
        shape = '%d×%d (hosts×tasks, forks %d)' % (hosts, tasks, forks)
        rows.append(Row(1, 'token requests, %s: lookup, cache on / manual procedure' % shape, counts['cache on'], manual, 'requests', 1))
        rows.append(Row(1, 'token requests, %s: lookup, cache off / manual procedure' % shape, counts['cache off'], manual, 'requests', 1))
    return rows


def lookup_cost(bench: Bench) -> list:
    """2. Median cost of a cached token lookup against ansible.builtin.env, both timed in each item of one loop."""
    token_medians, env_medians = [], []
    for _run in range(bench.repeat):
        bench.org.reset()
        timed = bench.playbook('lookup_loop.yml', extra_vars=bench.lookup_vars(loop_items=LOOP_ITEMS))
        items = timed.run.result('Time both lookups for each item')['results']
        if len(items) != LOOP_ITEMS:
            raise BenchmarkError('the lookup loop ran %d items, not %d' % (len(items), LOOP_ITEMS))
        bench.expect_token_requests(1, 'the lookup loop (every lookup after the first is a cache hit)')
        token_medians.append(statistics.median(float(item['msg']['token']) for item in items))
        env_medians.append(statistics.median(float(item['msg']['env']) for item in items))
    return [Row(2, 'median time per call in a %s-item loop: cached token lookup / ansible.builtin.env lookup' % format(LOOP_ITEMS, ','),
                statistics.median(token_medians) * 1000, statistics.median(env_medians) * 1000, 'ms', bench.repeat)]


def first_token(bench: Bench) -> list:
    """3. Time to the first token with an empty cache: the token module against the openssl + curl script."""
    walls, tasks, scripts = ({latency: [] for latency in LATENCIES} for _variant in range(3))
    pings = []
    for _run in range(bench.repeat):   # everything interleaved, so all variants see the same machine state
        for latency in LATENCIES:
            bench.org.reset(latency)
            timed = bench.playbook('first_token.yml', extra_vars=bench.identity_vars())
            bench.expect_token_requests(1, 'the token module, cold')
            walls[latency].append(timed.wall)
            tasks[latency].append(timed.task_seconds('Get a token'))
            bench.org.reset(latency)
            scripts[latency].append(bench.manual_procedure()[0])
        # Ansible's fixed cost of any module task: what the token task costs beyond it.
        pings.append(bench.playbook('ping.yml').task_seconds('Ping'))
    rows = []
    for latency in LATENCIES:
        label = 'first token, cold, fake org +%d ms: token module, ' % round(latency * 1000)
        task, script = statistics.median(tasks[latency]), statistics.median(scripts[latency])
        rows.append(Row(3, label + 'ansible-playbook wall / openssl + curl script', statistics.median(walls[latency]), script, 's',
                        bench.repeat))
        rows.append(Row(3, label + 'task alone / openssl + curl script', task, script, 's', bench.repeat))
        if latency == 0:
            rows.append(Row(3, label + 'task alone / ansible.builtin.ping task alone', task, statistics.median(pings), 's', bench.repeat))
    return rows


def certificate(bench: Bench) -> list:
    """4. Key + CSR + self-signed certificate, first run and idempotent rerun: our one task against the community.crypto trio."""
    variants = {'ours': 'certificate_sfjwt.yml', 'trio': 'certificate_community_crypto.yml'}
    # community.crypto comes with the `ansible` package, in the benchmark venv's site-packages.
    env = {'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'true'}
    samples = {(variant, phase, clock): [] for variant in variants for phase in ('first', 'rerun') for clock in ('wall', 'tasks')}
    for _run in range(bench.repeat):
        for variant, playbook in variants.items():
            cert_dir = bench.fresh_dir('certificate-%s' % variant)
            for phase in ('first', 'rerun'):
                timed = bench.playbook(playbook, env=env, extra_vars={'cert_dir': str(cert_dir)})
                changed = [record['result'].get('changed') for record in timed.run.records]
                if changed != [phase == 'first'] * len(changed):
                    raise BenchmarkError('%s, %s run: expected every task %s, got changed=%s'
                                         % (playbook, phase, 'changed' if phase == 'first' else 'unchanged', changed))
                samples[(variant, phase, 'wall')].append(timed.wall)
                samples[(variant, phase, 'tasks')].append(timed.play_seconds)
    rows = []
    for phase, phase_label in (('first', 'first run'), ('rerun', 'idempotent rerun')):
        for clock, clock_label in (('wall', 'ansible-playbook wall'), ('tasks', 'tasks alone')):
            rows.append(Row(4, 'certificate, %s, %s: sfjwt.salesforce.certificate / community.crypto trio' % (phase_label, clock_label),
                            statistics.median(samples[('ours', phase, clock)]), statistics.median(samples[('trio', phase, clock)]),
                            's', bench.repeat))
    return rows


def many_identities(bench: Bench) -> list:
    """5. One identity per host, 100 hosts, forks 50, 150 ms latency: wall time against two round trips per fork batch."""
    usernames = ['bench-%03d@example.com' % (index + 1) for index in range(IDENTITIES)]
    bench.org.add_users(usernames, [DEFAULT_PERMISSION_SET])
    inventory = bench.inventory(IDENTITIES, usernames)
    batches = math.ceil(IDENTITIES / IDENTITY_FORKS)
    floor = batches * ROUND_TRIPS_PER_IDENTITY * IDENTITY_LATENCY
    latencies = (IDENTITY_LATENCY, 0.0)   # the same play without latency, interleaved: what do the network waits add?
    walls, tasks = ({latency: [] for latency in latencies} for _variant in range(2))
    pings, as_process = [], []
    for _run in range(bench.repeat):
        pings.append(bench.playbook('identities_ping.yml', inventory=inventory, forks=IDENTITY_FORKS).play_seconds)
        for latency, env in ((IDENTITY_LATENCY, IN_WORKER), (0.0, IN_WORKER), (IDENTITY_LATENCY, AS_PROCESS)):
            bench.org.reset(latency)
            timed = bench.playbook('identities.yml', inventory=inventory, forks=IDENTITY_FORKS, env=env,
                                   extra_vars=bench.identity_vars(with_username=False))
            stats = bench.expect_token_requests(IDENTITIES, '%d identities' % IDENTITIES)
            by_user = stats['token_requests_by_user']
            if sorted(by_user) != usernames or set(by_user.values()) != {1}:
                raise BenchmarkError('expected one token request per identity, got %s' % by_user)
            if stats['requests'] != IDENTITIES * ROUND_TRIPS_PER_IDENTITY:
                raise BenchmarkError('expected %d requests to the org, got %d' % (IDENTITIES * ROUND_TRIPS_PER_IDENTITY, stats['requests']))
            if env is AS_PROCESS:
                as_process.append(timed.play_seconds)
                continue
            walls[latency].append(timed.wall)
            tasks[latency].append(timed.play_seconds)
    bench.notes.append('5: every run made exactly one token request per identity (%d) and %d requests to the org in all. '
                       'Had the identities waited for each other, the latency would add %.0f s.'
                       % (IDENTITIES, IDENTITIES * ROUND_TRIPS_PER_IDENTITY, IDENTITIES * ROUND_TRIPS_PER_IDENTITY * IDENTITY_LATENCY))
    label = '%d identities (one per host), forks %d, fake org +%d ms: ' % (IDENTITIES, IDENTITY_FORKS, round(IDENTITY_LATENCY * 1000))
    floor_label = 'floor (%d batches × %d round trips)' % (batches, ROUND_TRIPS_PER_IDENTITY)
    ping = statistics.median(pings)
    return [Row(5, label + 'ansible-playbook wall / ' + floor_label, statistics.median(walls[IDENTITY_LATENCY]), floor, 's', bench.repeat),
            Row(5, label + 'task alone / the same task at +0 ms', statistics.median(tasks[IDENTITY_LATENCY]), statistics.median(tasks[0.0]),
                's', bench.repeat),
            Row(5, label + 'task alone / ansible.builtin.ping on the same hosts and forks', statistics.median(tasks[IDENTITY_LATENCY]),
                ping, 's', bench.repeat),
            Row(5, label + 'task alone as module processes (before 0.2.0) / ansible.builtin.ping', statistics.median(as_process),
                ping, 's', bench.repeat)]


def in_worker(bench: Bench) -> list:
    """7. API tasks in the worker process against the same tasks as module processes, and against ansible.builtin.ping."""
    samples = {key: [] for key in ('rest', 'rest process', 'ping', 'cold', 'cold process', 'loop', 'loop process')}
    identity = bench.identity_vars()
    for _run in range(bench.repeat):   # interleaved, so both ways see the same machine state
        bench.org.reset()
        samples['ping'].append(bench.playbook('ping.yml').task_seconds('Ping'))
        for env, suffix in ((IN_WORKER, ''), (AS_PROCESS, ' process')):
            samples['rest' + suffix].append(bench.playbook('rest_cached.yml', env=env, extra_vars=identity).task_seconds('GET limits'))
            bench.org.reset()
            samples['cold' + suffix].append(bench.playbook('token_and_limits.yml', env=env, extra_vars=identity).wall)
            bench.expect_token_requests(1, 'token + GET limits, cold')
            items = REST_LOOP_ITEMS if env is IN_WORKER else REST_LOOP_PROCESS_SAMPLE
            timed = bench.playbook('rest_loop.yml', env=env, extra_vars=dict(identity, loop_items=items))
            samples['loop' + suffix].append(timed.task_seconds('GET limits in a loop') * REST_LOOP_ITEMS / items)
    bench.notes.append('7: the module-process loop ran %d items; its time is scaled ×%d to %d items.'
                       % (REST_LOOP_PROCESS_SAMPLE, REST_LOOP_ITEMS // REST_LOOP_PROCESS_SAMPLE, REST_LOOP_ITEMS))
    median = {key: statistics.median(values) for key, values in samples.items()}
    return [Row(7, 'rest task, cached token, task alone: in the worker / ansible.builtin.ping task', median['rest'], median['ping'], 's',
                bench.repeat),
            Row(7, 'rest task, cached token, task alone: module process (before 0.2.0) / ansible.builtin.ping task',
                median['rest process'], median['ping'], 's', bench.repeat),
            Row(7, 'token + GET limits playbook, cold, ansible-playbook wall: in the worker / module processes (before)',
                median['cold'], median['cold process'], 's', bench.repeat),
            Row(7, '%d-item loop of rest GETs, cached token, loop task: in the worker / module processes (before)' % REST_LOOP_ITEMS,
                median['loop'], median['loop process'], 's', bench.repeat)]


def records(bench: Bench) -> list:
    """6. 2,000 records made present, then the same again: the record module against one rest task per record."""
    def setting(number):
        return {'Key__c': 'bench-%05d' % number, 'Name': 'Setting %d' % number, 'Value__c': 'value %d' % number,
                'Enabled__c': number % 2 == 0, 'Limit__c': number}

    samples = {(variant, phase, what): [] for variant in ('module', 'loop') for phase in ('first', 'rerun') for what in ('calls', 'wall')}
    for _run in range(bench.repeat):
        for variant, playbook, count in (('module', 'records_module.yml', RECORDS), ('loop', 'records_rest_loop.yml', REST_LOOP_SAMPLE)):
            bench.org.reset()
            vars_path = bench.fresh_dir('records') / 'records.json'
            vars_path.write_text(json.dumps(dict(bench.identity_vars(), records=[setting(n) for n in range(1, count + 1)])))
            for phase in ('first', 'rerun'):
                before = bench.org.api_usage()
                timed = bench.playbook(playbook, extra_args=['-e', '@%s' % vars_path])
                scale = RECORDS / count
                samples[(variant, phase, 'calls')].append((bench.org.api_usage() - before) * scale)
                samples[(variant, phase, 'wall')].append(timed.wall * scale)
            if bench.org.record_count('Integration_Setting__c') != count:
                raise BenchmarkError('%s left %d records, not %d' % (playbook, bench.org.record_count('Integration_Setting__c'), count))
    bench.notes.append('6: the rest loop ran on %d records; its calls and times are scaled ×%d to %s records (one module run '
                       'and one call per record).' % (REST_LOOP_SAMPLE, RECORDS // REST_LOOP_SAMPLE, format(RECORDS, ',')))
    rows = []
    for phase, label in (('first', 'made present'), ('rerun', 'again, nothing to change')):
        for what, unit, what_label in (('calls', 'requests', 'API calls'), ('wall', 's', 'ansible-playbook wall')):
            rows.append(Row(6, '%s records %s, %s: record module / rest task per record' % (format(RECORDS, ','), label, what_label),
                            statistics.median(samples[('module', phase, what)]), statistics.median(samples[('loop', phase, what)]),
                            unit, bench.repeat))
    return rows


def many_orgs(bench: Bench) -> list:
    """8. 200 orgs of a fake fleet, one host each, forks 50, 150 ms latency: rest path=limits on each against ansible.builtin.ping."""
    with FakeFleetProcess(bench.fresh_dir('fleet'), ORGS, ORG_LATENCY) as fleet:
        inventory = fleet.inventory(bench.fresh_dir('inventory') / 'orgs.yml')
        samples = {key: [] for key in ('rest wall', 'rest task', 'ping wall', 'ping task')}
        tokens = calls = None
        for _run in range(bench.repeat):   # interleaved, so both plays see the same machine state
            ping = bench.playbook('identities_ping.yml', inventory=inventory, forks=ORG_FORKS)
            samples['ping wall'].append(ping.wall)
            samples['ping task'].append(ping.play_seconds)
            before = fleet.counters()
            rest = bench.playbook('many_orgs_limits.yml', inventory=inventory, forks=ORG_FORKS)
            after = fleet.counters()
            delta = {org: {name: after[org][name] - before.get(org, {}).get(name, 0) for name in after[org]} for org in after}
            per_org = {org: counts for org, counts in delta.items() if org != '_login'}
            tokens = sum(counts['token_requests'] for counts in delta.values())
            calls = sum(counts['api_usage'] for counts in delta.values())
            # Each host logs in at its org's own URL, so the login host routes none; were it to, only totals could be compared.
            routed = delta.get('_login', {}).get('token_requests', 0)
            wrong = sorted(org for org, counts in per_org.items() if counts['api_usage'] != 1 or (not routed and counts['token_requests'] != 1))
            if tokens != ORGS or calls != ORGS or wrong:
                raise BenchmarkError('%d orgs: expected %d token requests and %d API calls (one each per org), the fleet counted %d and '
                                     '%d; orgs off: %s' % (ORGS, ORGS, ORGS, tokens, calls, ', '.join(wrong[:10]) or '-'))
            samples['rest wall'].append(rest.wall)
            samples['rest task'].append(rest.play_seconds)
    bench.notes.append('8: every run made exactly %d token requests and %d API calls in all (GET limits), one of each per org, as the '
                       'fleet counted them.' % (tokens, calls))
    median = {key: statistics.median(values) for key, values in samples.items()}
    label = '%d orgs (one host and identity each), forks %d, fake fleet +%d ms: rest path=limits, ' % (ORGS, ORG_FORKS, round(ORG_LATENCY * 1000))
    return [Row(8, label + 'ansible-playbook wall / ansible.builtin.ping play wall', median['rest wall'], median['ping wall'], 's', bench.repeat),
            Row(8, label + 'task alone / ansible.builtin.ping task alone', median['rest task'], median['ping task'], 's', bench.repeat),
            Row(8, label + 'token requests / orgs', tokens, ORGS, 'requests', bench.repeat),
            Row(8, label + 'API calls / orgs', calls, ORGS, 'requests', bench.repeat)]


def _ansible_inventory(ansible: Ansible, path: str) -> tuple:
    """ansible-inventory --list on path as a user runs it (the installed collection, ansible's token cache):
    (seconds, parsed output)."""
    env = ansible.base_env()
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / 'ansible-inventory'), '-i', path, '--list'], cwd=str(ansible.workdir),
                          env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or '[WARNING]' in proc.stderr:
        raise BenchmarkError('ansible-inventory -i %s failed or warned (exit status %d):\n%s' % (path, proc.returncode, proc.stderr[-4000:]))
    return seconds, json.loads(proc.stdout)


def inventory_discovery(bench: Bench) -> list:
    """9. The orgs inventory discovering 200 sandboxes of a production org (+150 ms latency): against a static inventory of the same hosts."""
    with FakeFleetProcess(bench.fresh_dir('fleet'), 1, ORG_LATENCY, sandboxes_of_first=SANDBOXES) as fleet:
        prod = fleet.orgs[0]
        directory = bench.fresh_dir('orgs-inventory')
        source = directory / 'orgs.sfjwt_orgs.yml'
        cache_dir = directory / 'inventory-cache'
        source.write_text(yaml.safe_dump({
            'plugin': 'sfjwt.salesforce.orgs', 'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': str(cache_dir),
            'sandboxes_of': {
                'name': prod['name'], 'username': prod['username'], 'login_url': prod['url'], 'consumer_key': prod['consumer_key'],
                'private_key_path': prod['private_key_path'], 'ca_path': fleet.ca_path, 'sandbox_login_url': fleet.info['login_url']}}))
        static = fleet.inventory(directory / 'static.yml')
        samples = {'discovery': [], 'cached': [], 'static': []}
        for _run in range(bench.repeat):
            if cache_dir.exists():
                shutil.rmtree(cache_dir)
            user = Ansible(bench.collections, bench.fresh_dir('inventory-run'))   # a user's machine: empty caches
            before = fleet.counters()
            seconds, listed = _ansible_inventory(user, str(source))
            middle = fleet.counters()
            cached_seconds, cached = _ansible_inventory(user, str(source))
            after = fleet.counters()
            static_seconds, _static = _ansible_inventory(user, static)
            hosts = sorted(listed['_meta']['hostvars'])
            if len(hosts) != SANDBOXES + 1 or sorted(cached['_meta']['hostvars']) != hosts:
                raise BenchmarkError('the orgs inventory listed %d hosts (cached: %d), not %d'
                                     % (len(hosts), len(cached['_meta']['hostvars']), SANDBOXES + 1))
            first = {org: {name: middle[org][name] - before.get(org, {}).get(name, 0) for name in middle[org]} for org in middle}
            second = {org: {name: after[org][name] - middle.get(org, {}).get(name, 0) for name in after[org]} for org in after}
            tokens = sum(counts['token_requests'] for counts in first.values())
            prod_requests = first[prod['name']]['requests'] - first[prod['name']]['token_requests']
            elsewhere = sorted(org for org, counts in first.items() if org not in (prod['name'], '_login') and counts['requests'])
            cached_requests = sum(counts['requests'] for counts in second.values())
            # One login; the API version (latest) and two Tooling queries (SandboxInfo, SandboxProcess); no sandbox asked.
            if tokens != 1 or prod_requests > 3 or elsewhere or cached_requests:
                raise BenchmarkError('discovery of %d sandboxes: %d token requests, %d API requests to the production org, requests '
                                     'to %s; the cached run made %d requests' % (SANDBOXES, tokens, prod_requests,
                                                                                 ', '.join(elsewhere) or 'no other org', cached_requests))
            samples['discovery'].append(seconds)
            samples['cached'].append(cached_seconds)
            samples['static'].append(static_seconds)
    bench.notes.append('9: discovery made %d token request and %d API requests (GET /services/data/ for the latest version, then the '
                       'SandboxInfo and SandboxProcess Tooling queries, paging included), none to a sandbox; the cached run made '
                       '%d requests.' % (tokens, prod_requests, cached_requests))
    median = {key: statistics.median(values) for key, values in samples.items()}
    label = 'orgs inventory, %d sandboxes of one production org, fake fleet +%d ms: ansible-inventory --list, ' % (
        SANDBOXES, round(ORG_LATENCY * 1000))
    return [Row(9, label + 'discovery / a static inventory of the same hosts', median['discovery'], median['static'], 's', bench.repeat),
            Row(9, label + 'from the inventory cache / a static inventory', median['cached'], median['static'], 's', bench.repeat),
            Row(9, label + 'token requests / 1', tokens, 1, 'requests', bench.repeat),
            Row(9, label + 'requests with the inventory cache / 0', cached_requests, 0, 'requests', bench.repeat)]


MEASUREMENTS = {1: token_requests, 2: lookup_cost, 3: first_token, 4: certificate, 5: many_identities, 6: records, 7: in_worker, 8: many_orgs,
                9: inventory_discovery}
# Runs per timed measurement (medians are reported). Token counts (1) need one run; the lookup loop (2) is one run
# whose median is already over 1,000 paired samples.
DEFAULT_RUNS = {2: 1, 3: 5, 4: 5, 5: 3, 6: 1, 7: 3, 8: 3, 9: 3}


# -- the table ------------------------------------------------------------------------------------------

def _lookup_tasks_playbook(path: Path, tasks: int) -> str:
    """A play over all hosts with `tasks` tasks, each evaluating the token lookup once (a fresh worker per host and task)."""
    play = {'name': 'Token lookup in %d tasks' % tasks, 'hosts': 'all', 'gather_facts': False,
            'tasks': [{'name': 'Lookup %d' % number,
                       'ansible.builtin.assert': {'that': "lookup('sfjwt.salesforce.token') | length > 0", 'quiet': True}}
                      for number in range(1, tasks + 1)]}
    path.write_text('---\n' + yaml.safe_dump([play], sort_keys=False))
    return str(path)


def _value(value: float, unit: str) -> str:
    if unit == 'requests':
        return '%d' % value
    if unit == 'ms':
        return '%.3f ms' % value
    return '%.2f s' % value


def _ratio(ours: float, baseline: float) -> str:
    if not baseline:
        return 'n/a'
    ratio = ours / baseline
    return ('%.3f×' if ratio < 0.1 else '%.2f×' if ratio < 10 else '%.1f×') % ratio


def render_table(rows: list) -> str:
    header = ['#', 'measurement: sfjwt.salesforce / baseline', 'sfjwt.salesforce', 'baseline', 'ratio', 'runs']
    body = [row.cells() for row in rows]
    widths = [max(len(line[column]) for line in [header] + body) for column in range(len(header))]
    right = {2, 3, 4, 5}

    def line(cells):
        return '| ' + ' | '.join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(cells)) + ' |'

    rule = '|' + '|'.join('-' * (width + 1) + (':' if i in right else '-') for i, width in enumerate(widths)) + '|'
    return '\n'.join([line(header), rule] + [line(cells) for cells in body])


# -- main -----------------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark sfjwt.salesforce against the manual procedure and community.crypto.')
    parser.add_argument('--repeat', type=int, help='runs per timed measurement; medians are reported (default: %s)'
                        % ', '.join('%d for %d' % (runs, number) for number, runs in DEFAULT_RUNS.items()))
    parser.add_argument('--only', default=','.join(str(number) for number in MEASUREMENTS),
                        help='comma-separated measurement numbers to run (default: all, %(default)s)')
    parser.add_argument('--workdir', type=Path, help='keep playbooks, inventories and files here (default: a temporary directory)')
    args = parser.parse_args(argv)
    try:
        args.only = sorted({int(number) for number in args.only.split(',')})
    except ValueError:
        parser.error('--only takes measurement numbers separated by commas, e.g. 1,3')
    unknown = [number for number in args.only if number not in MEASUREMENTS]
    if unknown or (args.repeat is not None and args.repeat < 1):
        parser.error('measurements are numbered 1 to %d and --repeat must be at least 1' % len(MEASUREMENTS))
    return args


def run(args: argparse.Namespace, workdir: Path) -> int:
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    if load_at_start[0] > (os.cpu_count() or 1):
        progress('Note: the machine is busy (load average %.1f on %d cores); times will be noisy. The table header shows the load.'
                 % (load_at_start[0], os.cpu_count() or 1))
    progress('Building and installing the collection...')
    collections = build_and_install(workdir / 'galaxy')
    key_pem, cert_pem = generate_key_and_certificate('sfjwt-benchmark')
    key_path = workdir / 'server.key'
    write_private_file(key_path, key_pem)
    with FakeOrgProcess(workdir / 'fake-org') as org:
        org.add_app(CONSUMER_KEY, cert_pem.decode('ascii'), [DEFAULT_PERMISSION_SET])
        bench = Bench(workdir=workdir, collections=collections, org=org, key_path=key_path)
        rows = []
        for number in args.only:
            bench.repeat = args.repeat or DEFAULT_RUNS.get(number, 1)
            progress('Measurement %d: %s' % (number, MEASUREMENTS[number].__doc__.split('. ', 1)[1]))
            rows.extend(MEASUREMENTS[number](bench))
    print(describe_machine(load_at_start))
    print()
    print(render_table(rows))
    print()
    print('ratio = sfjwt.salesforce / baseline (below 1: fewer requests or less time). Times are medians of the runs; '
          'the fake org runs on the same machine.')
    for note in bench.notes:
        print(note)
    print('Benchmark wall time: %.0f s.' % (time.perf_counter() - started))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            return run(args, args.workdir.resolve())
        with tempfile.TemporaryDirectory(prefix='sfjwt-bench-') as workdir:
            return run(args, Path(workdir))
    except BenchmarkError as exc:
        print('benchmark aborted: %s' % exc, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
