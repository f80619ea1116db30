# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake org in its own process (python -m fake_org), driven through its /_fake/ admin API.

Its own process, so that its request handling does not share an interpreter (and a GIL) with the benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

TESTS_DIR = Path(__file__).resolve().parents[1]


class FakeOrgProcess:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.process = None
        self.url = None
        self.ca_path = None
        self._http = requests.Session()

    def start(self) -> 'FakeOrgProcess':
        env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
        self.process = subprocess.Popen(  # runs until stop()
            [sys.executable, '-m', 'fake_org', '--workdir', str(self.workdir)],
            env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        ready = self.process.stdout.readline()
        if not ready:
            self.process.wait()
            raise RuntimeError('the fake org did not start (exit status %s); run it by hand to see why: '
                               'PYTHONPATH=tests %s -m fake_org --workdir /tmp/fake-org' % (self.process.returncode, sys.executable))
        info = json.loads(ready)
        self.url, self.ca_path = info['url'], info['ca_path']
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.process.stdout.close()
        self._http.close()

    def __enter__(self) -> 'FakeOrgProcess':
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _admin(self, method: str, endpoint: str, body=None) -> dict:
        response = self._http.request(method, '%s/_fake/%s' % (self.url, endpoint), json=body, timeout=30,
                                      verify=self.ca_path)  # per request: REQUESTS_CA_BUNDLE would beat Session.verify
        if response.status_code != 200:
            raise RuntimeError('fake org admin %s %s: HTTP %d %s' % (method, endpoint, response.status_code, response.text))
        return response.json()

    def stats(self) -> dict:
        return self._admin('GET', 'stats')

    def token_requests(self) -> int:
        return self.stats()['token_requests']

    def api_usage(self) -> int:
        """Authenticated REST calls since the last reset (what counts against the org's daily API limit)."""
        return self.stats()['api_usage']

    def record_count(self, sobject: str) -> int:
        return self._admin('GET', 'record_count?sobject=%s' % sobject)['count']

    def reset(self, latency: float = 0.0) -> None:
        """Forget counters, sessions and faults (users and apps stay); then add `latency` seconds to every request."""
        self._admin('POST', 'reset')
        if latency:
            self._admin('POST', 'faults', {'latency': latency})

    def add_users(self, usernames, permission_sets) -> None:
        self._admin('POST', 'users', [{'username': name, 'permission_sets': list(permission_sets)} for name in usernames])

    def add_app(self, consumer_key: str, certificate_pem: str, permission_sets) -> None:
        self._admin('POST', 'apps', {'consumer_key': consumer_key, 'certificate_pem': certificate_pem,
                                     'admin_approved': True, 'permission_sets': list(permission_sets)})
