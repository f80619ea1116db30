# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fake fleet of orgs in its own process (python -m fake_org.fleet), counted through each org's /_fake/ admin API.

Its own process, so that 200 orgs answering do not share an interpreter (and a GIL) with the benchmark.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

TESTS_DIR = Path(__file__).resolve().parents[1]
COUNTERS = ('token_requests', 'api_usage', 'requests')


class FakeFleetProcess:
    def __init__(self, workdir: Path, orgs: int, latency: float = 0.0, sandboxes_of_first: int = 0):
        self.workdir = Path(workdir)
        self.count = orgs + sandboxes_of_first
        self.command_orgs = ['--orgs', str(orgs), '--sandboxes-of-first', str(sandboxes_of_first)]
        self.latency = latency
        self.process = None
        self.info = None
        self._http = requests.Session()

    def start(self) -> 'FakeFleetProcess':
        env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
        ready_file = self.workdir / 'ready.json'
        command = [sys.executable, '-m', 'fake_org.fleet', '--workdir', str(self.workdir), *self.command_orgs,
                   '--latency', str(self.latency), '--ready-file', str(ready_file)]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)  # until stop()
        ready = self.process.stdout.readline()
        if not ready:
            self.process.wait()
            raise RuntimeError('the fake fleet did not start (exit status %s); run it by hand to see why: PYTHONPATH=tests %s'
                               % (self.process.returncode, ' '.join(command[:1] + command[1:])))
        self.info = json.loads(ready)
        if len(self.info['orgs']) != self.count:
            raise RuntimeError('the fake fleet started %d orgs, not %d' % (len(self.info['orgs']), self.count))
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.process.stdout.close()
        self._http.close()

    def __enter__(self) -> 'FakeFleetProcess':
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def orgs(self) -> list:
        """[{"name", "kind", "url", "username", "consumer_key", "private_key_path", "audience"}, ...]"""
        return self.info['orgs']

    @property
    def ca_path(self) -> str:
        return self.info['ca_path']

    def _stats(self, url: str) -> dict:
        response = self._http.get('%s/_fake/stats' % url, timeout=30, verify=self.ca_path)
        if response.status_code != 200:
            raise RuntimeError('fake fleet admin GET %s/_fake/stats: HTTP %d %s' % (url, response.status_code, response.text))
        return response.json()

    def counters(self) -> dict:
        """{org name: {"token_requests", "api_usage", "requests"}}, from each org's /_fake/stats (not counted themselves),
        and the login host's under "_login" when it has stats of its own (tokens it routed to an org count there, or at
        the org: the totals are compared across the whole fleet)."""
        def one(org):
            stats = self._stats(org['url'])
            return org['name'], {name: stats.get(name, 0) for name in COUNTERS}

        with ThreadPoolExecutor(max_workers=16) as pool:
            counted = dict(pool.map(one, self.orgs))
        if self.info['login_url'] not in {org['url'] for org in self.orgs}:
            try:
                stats = self._stats(self.info['login_url'])
            except RuntimeError:
                stats = None   # a login host without an admin API routes only: every token request counts at its org
            if stats is not None:
                counted['_login'] = {name: stats.get(name, 0) for name in COUNTERS}
        return counted

    def inventory(self, path: Path) -> str:
        """A static YAML inventory: one host per org, with the org's identity as sfjwt_* host variables (what the
        sfjwt.salesforce.orgs inventory plugin gives each host)."""
        hosts = {}
        for org in self.orgs:
            hosts[org['name']] = {
                'ansible_connection': 'local', 'sfjwt_login_url': org['url'], 'sfjwt_audience': org['audience'],
                'sfjwt_username': org['username'], 'sfjwt_consumer_key': org['consumer_key'],
                'sfjwt_private_key_path': org['private_key_path'], 'sfjwt_ca_path': self.ca_path}
        path.write_text(json.dumps({'all': {'hosts': hosts}}, indent=1))   # JSON is YAML
        return str(path)
