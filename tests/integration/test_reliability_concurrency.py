# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Concurrency: 100 hosts, forks=50, two identities, ten runs, each with a cache of its own: exactly one token request
per identity per run, every cache file whole and private, no lock held and no temporary file left. Then a process
holding an identity's lock is SIGKILLed while a run waits for it: the run goes on, still with one token per identity."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading

from fake_org.pytest_plugin import DEFAULT_PERMISSION_SET

HOSTS = 100
FORKS = 50
RUNS = 10
USERS = ('integration@example.com', 'second-integration@example.com')
MODULE_HOSTS = ('host001', 'host002')  # one per identity
RUN_TIMEOUT = 300

# Takes the flock the token cache uses on each lock file given, says so, then waits to be killed.
LOCK_HOLDER = '''
import fcntl, os, sys, time
fds = []
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    fds.append(fd)
print('holding', flush=True)
time.sleep(3600)
'''


def write_inventory(path):
    lines = ['[fleet]']
    lines += ['host%03d ansible_connection=local sf_user=%s' % (number, USERS[number % 2]) for number in range(1, HOSTS + 1)]
    lines += ['[module_hosts]'] + list(MODULE_HOSTS)
    path.write_text('\n'.join(lines) + '\n')


def requests_by_user(org):
    return {user: org.token_requests_by(user) for user in USERS}


def check_cache(cache_dir, org):
    """Every file of the cache: an entry per identity that parses and holds a live session, and its lock, all 0600,
    in a 0700 directory; no lock held, no temporary file. Returns the lock files."""
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    names = sorted(os.listdir(cache_dir))
    entries = [name for name in names if name.endswith('.json')]
    locks = [name for name in names if name.endswith('.lock')]
    assert len(entries) == len(USERS) and len(locks) == len(USERS) and len(names) == 2 * len(USERS), names
    for name in names:
        path = cache_dir / name
        assert re.fullmatch(r'[0-9a-f]{64}\.(json|lock)', name), name
        info = os.lstat(path)
        assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600, (name, oct(info.st_mode))
    tokens = set()
    for name in entries:
        entry = json.loads((cache_dir / name).read_text())
        tokens.add(entry['session']['access_token'])
    assert len(tokens) == len(USERS)
    assert {org.sessions[token]['username'] for token in tokens} == set(USERS)
    for name in locks:
        fd = os.open(str(cache_dir / name), os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError if anyone still holds it
        finally:
            os.close(fd)
    return [cache_dir / name for name in locks]


def test_hundred_hosts_fifty_forks_one_token_per_identity_per_run(ansible, fake_org_app, tmp_path):
    app, org = fake_org_app, fake_org_app.org
    org.add_user(USERS[1], permission_sets=[DEFAULT_PERMISSION_SET])
    inventory = tmp_path / 'inventory.ini'
    write_inventory(inventory)
    ansible.env.update({'SFJWT_CONSUMER_KEY': app.consumer_key, 'SFJWT_PRIVATE_KEY_PATH': str(app.key_path),
                        'SFJWT_LOGIN_URL': app.url, 'SFJWT_CA_PATH': app.ca_path})

    def run_once(cache_dir):
        before = requests_by_user(org)
        run = ansible.playbook('reliability_concurrency.yml', inventory=str(inventory), forks=FORKS,
                               extra_vars={'sf_url': app.url}, env={'SFJWT_CACHE_DIR': str(cache_dir)}, timeout=RUN_TIMEOUT)
        assert run.rc == 0, run.output[-5000:]
        statuses = [record['status'] for record in run.results('Use the session')]
        assert statuses == ['ok'] * HOSTS
        assert [record['status'] for record in run.results('Same token from the module and the lookup')] == ['ok'] * len(MODULE_HOSTS)
        after = requests_by_user(org)
        return {user: after[user] - before[user] for user in USERS}

    locks = []
    for number in range(RUNS):
        cache_dir = tmp_path / ('cache-%02d' % number)  # a cold cache for every run
        assert run_once(cache_dir) == dict.fromkeys(USERS, 1), 'run %d' % number
        locks = check_cache(cache_dir, org)
    assert org.token_requests == RUNS * len(USERS)

    # A process holds both identities' locks (as a worker does while it mints) and is killed while a run waits for them.
    cache_dir = tmp_path / 'cache-killed-holder'
    cache_dir.mkdir(mode=0o700)
    held = [str(cache_dir / path.name) for path in locks]
    holder = subprocess.Popen([sys.executable, '-c', LOCK_HOLDER] + held, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'holding'
        # Killed a few seconds into the run, while the workers wait on the locks (the lock timeout is far longer).
        killer = threading.Timer(4, holder.send_signal, args=(signal.SIGKILL,))
        killer.start()
        assert run_once(cache_dir) == dict.fromkeys(USERS, 1)
        killer.join()
    finally:
        holder.kill()
        holder.wait()
    assert holder.returncode == -signal.SIGKILL
    check_cache(cache_dir, org)
