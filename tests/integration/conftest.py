# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Integration harness: build and install the collection, then drive ansible-playbook against it.

Tests never import the source tree's plugins: every run goes through `ansible-galaxy collection
build` + `install`, the way users get the collection. Set SFJWT_COLLECTIONS_PATH to reuse an
installation made once by the test runner (scripts/test.sh does).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = REPO_ROOT / 'tests'
PLAYBOOK_DIR = Path(__file__).resolve().parent / 'playbooks'
CALLBACK_DIR = Path(__file__).resolve().parent / 'callback_plugins'
BIN_DIR = Path(sys.executable).parent
IN_PROCESS = os.environ.get('SFJWT_TEST_IN_PROCESS', 'true')
# scripts/test.sh says whether the stage's core is the oldest or the newest ('edge') or one between ('middle').
CORE_EDGE = os.environ.get('SFJWT_TEST_CORE_EDGE', 'edge')
# Playbook-level flows over many orgs (roles, the inventory, the fake fleet): slow, and the same on every core and both
# execution paths of the API modules, which other tests prove. They run on the oldest and the newest core, in the worker.
oldest_and_newest_core_in_worker = pytest.mark.skipif(
    CORE_EDGE != 'edge' or IN_PROCESS == 'false',
    reason='a flow over many orgs: run on the oldest and the newest ansible-core, API modules in the worker')

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

# The fake org's fixtures: fake_org_server (one per test session and xdist worker), fake_org (reset per test),
# fake_org_app, fake_org_admin.
from fake_org.pytest_plugin import fake_fleet, fake_org, fake_org_admin, fake_org_app, fake_org_server  # noqa: E402,F401 pylint: disable=unused-import


def build_and_install(dest: Path) -> Path:
    """Build the collection tarball from the checkout and install it under dest/collections."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(BIN_DIR / 'ansible-galaxy'), 'collection', 'build', str(REPO_ROOT), '--output-path', str(dest), '--force'],
        check=True, capture_output=True, text=True,
    )
    tarballs = sorted(dest.glob('sfjwt-salesforce-*.tar.gz'))
    collections = dest / 'collections'
    subprocess.run(
        [str(BIN_DIR / 'ansible-galaxy'), 'collection', 'install', str(tarballs[-1]), '-p', str(collections), '--force'],
        check=True, capture_output=True, text=True,
    )
    return collections


@pytest.fixture(scope='session')
def installed_collections(tmp_path_factory) -> Path:
    preset = os.environ.get('SFJWT_COLLECTIONS_PATH')
    if preset:
        return Path(preset)
    return build_and_install(tmp_path_factory.mktemp('galaxy'))


@pytest.fixture(scope='session')
def installed_collection_dir(installed_collections) -> Path:
    return installed_collections / 'ansible_collections' / 'sfjwt' / 'salesforce'


@dataclass
class PlaybookRun:
    args: list
    rc: int
    stdout: str
    stderr: str
    records: list = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def results(self, task: str, host: str | None = None) -> list:
        """Every recorded result of the task named `task` (loop items come as one result)."""
        return [r for r in self.records if r['task'] == task and (host is None or r['host'] == host)]

    def result(self, task: str, host: str = 'localhost') -> dict:
        found = self.results(task, host)
        assert len(found) == 1, 'expected one result for %r on %s, got %d:\n%s' % (task, host, len(found), self.output)
        return found[0]['result']

    def status(self, task: str, host: str = 'localhost') -> str:
        found = self.results(task, host)
        assert len(found) == 1, 'expected one result for %r on %s, got %d:\n%s' % (task, host, len(found), self.output)
        return found[0]['status']


class Ansible:
    """Runs ansible-playbook the way a user does, against the installed collection."""

    def __init__(self, collections: Path, workdir: Path):
        self.collections = collections
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = {}
        self._runs = 0

    def base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'SFJWT_'))}
        env.update({
            'ANSIBLE_COLLECTIONS_PATH': str(self.collections),
            'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
            'ANSIBLE_CALLBACK_PLUGINS': str(CALLBACK_DIR),
            'ANSIBLE_CALLBACKS_ENABLED': 'sfjwt_test_recorder',
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_LOCAL_TEMP': str(self.workdir / 'ansible-tmp'),
            'ANSIBLE_RETRY_FILES_ENABLED': 'false',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_HOST_KEY_CHECKING': 'false',
            'ANSIBLE_DEPRECATION_WARNINGS': 'false',
            # ansible-core 2.21 adds a module's invocation (its arguments, secrets masked) to the result only when asked;
            # older cores always do. The tests compare and search it on every core.
            'ANSIBLE_INJECT_INVOCATION': 'true',
            'ANSIBLE_CONFIG': str(self.workdir / 'ansible.cfg'),
            'SFJWT_CACHE_DIR': str(self.workdir / 'token-cache'),
            # Where the API modules run: in the worker (the default) or as module processes. scripts/test.sh runs the
            # suite both ways on the newest ansible-core (SFJWT_TEST_IN_PROCESS=true / false): both paths pass the same tests.
            'SFJWT_IN_PROCESS': IN_PROCESS,
            'PATH': '%s%s%s' % (BIN_DIR, os.pathsep, os.environ.get('PATH', '')),
        })
        return env

    def playbook(self, playbook, *, extra_vars: dict | None = None, env: dict | None = None,
                 check: bool = False, diff: bool = False, verbosity: int = 0, inventory: str | None = None,
                 forks: int | None = None, extra_args=(), timeout: int = 900, launcher=()) -> PlaybookRun:
        """Run a playbook: a path, a file name under tests/integration/playbooks, or an FQCN. ``launcher``: a command
        that runs ansible-playbook, given its path and arguments (e.g. without_core_internal.py)."""
        playbook = str(playbook)
        if not os.path.isabs(playbook) and playbook.endswith(('.yml', '.yaml')):
            playbook = str(PLAYBOOK_DIR / playbook)
        self._runs += 1
        record = self.workdir / ('record-%d.jsonl' % self._runs)
        args = list(launcher) + [str(BIN_DIR / 'ansible-playbook'), playbook, '-i', inventory or 'localhost,']
        if inventory is None:
            args += ['-c', 'local']
        if extra_vars:
            args += ['-e', json.dumps(extra_vars)]
        if check:
            args.append('--check')
        if diff:
            args.append('--diff')
        if verbosity:
            args.append('-' + 'v' * verbosity)
        if forks:
            args += ['--forks', str(forks)]
        args += list(extra_args)
        run_env = self.base_env()
        run_env['SFJWT_TEST_RECORD'] = str(record)
        run_env.update(self.env)
        run_env.update(env or {})
        proc = subprocess.run(args, cwd=str(self.workdir), env=run_env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        records = []
        if record.exists():
            records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        return PlaybookRun(args=args, rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr, records=records)


@contextlib.contextmanager
def propagation_until_refused(org, delay=100):
    """A deploy's OAuth change reaches the fake org's token endpoint only after that endpoint refused a login: it is
    held back for ``delay`` seconds (far longer than the tasks between a deploy and the token step take, on any
    machine), and once a refusal is answered the org's clock moves past the delay. So the token step waits at least
    once, however slow the machine. ``delay`` stays well below the assertion's 180 s lifetime, which the moved clock
    eats into."""
    org.propagation_delay = delay
    start = len(org.received_log())
    done = threading.Event()

    def apply_after_a_refusal():
        while not done.wait(0.05):
            log = org.received_log()[start:]
            if any(entry['path'] == '/services/oauth2/token' and entry['status'] == 400 for entry in log):
                org.clock_offset = delay + 1
                return

    watcher = threading.Thread(target=apply_after_a_refusal, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


@pytest.fixture
def ansible(installed_collections, tmp_path) -> Ansible:
    return Ansible(installed_collections, tmp_path / 'ansible')
