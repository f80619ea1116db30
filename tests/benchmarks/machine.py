# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the benchmark ran on, for the table header: results mean little without it."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sysconfig
from importlib import metadata
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def _cpu_model() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path('/proc/meminfo').read_text().splitlines():
            if line.startswith('MemTotal:'):
                return '%.1f GiB RAM' % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return 'RAM unknown'


def _first_line(command) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return '%s: not found' % command[0]


def _community_crypto() -> str:
    manifest = Path(sysconfig.get_paths()['purelib']) / 'ansible_collections' / 'community' / 'crypto' / 'MANIFEST.json'
    try:
        return json.loads(manifest.read_text())['collection_info']['version']
    except (OSError, ValueError, KeyError):
        return 'not installed'


def _load(values) -> str:
    return '/'.join('%.2f' % value for value in values)


def describe_machine(load_at_start) -> str:
    """Markdown lines: CPU, cores, memory, OS, software versions, and the load average before the benchmark."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else cores
    collection = yaml.safe_load((REPO_ROOT / 'galaxy.yml').read_text())
    curl = _first_line(['curl', '--version']).split(' (')[0]
    return '\n'.join([
        '# sfjwt.salesforce %s benchmarks, %s' % (collection['version'], datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')),
        'Machine: %s, %d cores (%d usable), %s, %s' % (_cpu_model(), cores, usable, _memory(), platform.platform()),
        'Software: Python %s, ansible-core %s, ansible %s (community.crypto %s), %s, %s'
        % (platform.python_version(), metadata.version('ansible-core'), metadata.version('ansible'), _community_crypto(),
           ' '.join(_first_line(['openssl', 'version']).split()[:2]), curl),
        # Only at the start: later the benchmark's own forks (50 workers in measurements 1 and 5) make up most of it.
        'Load average at the start (1/5/15 min): %s' % _load(load_at_start),
    ])
