# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The official Salesforce CLI (@salesforce/cli, pinned) for the integration tests: installed from the npm registry
into an ignored folder once, reused by every later run, and run against the fake org with its state out of $HOME.

    cli = installed_cli()            # pytest.skip (with the reason) when Node, npm or the registry is not there
    sf = SfCli(cli, tmp_path, org)   # a private HOME, the fake org's CA trusted (NODE_EXTRA_CA_CERTS)
    result = sf.json('org', 'display', '--target-org', 'admin')   # the parsed --json answer; fails on a non-zero status

The folder is $SFJWT_SF_CLI_DIR, else .venv/sf-cli in the checkout (`.venv/` is ignored by git): package/ (the CLI),
bin/sf, and `installed` (its version, written last). It is installed again only when it holds another version; xdist
workers take turns through a lock file.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

SF_CLI_VERSION = '2.108.6'
REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 900   # seconds; a cold install fetches about 750 packages
RUN_TIMEOUT = 180
# npm's words for a registry it cannot reach (DNS, refused or cut connections, a proxy that answers nothing).
_UNREACHABLE = re.compile(r'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up',
                          re.IGNORECASE)


def cli_dir() -> Path:
    return Path(os.environ.get('SFJWT_SF_CLI_DIR') or REPO_ROOT / '.venv' / 'sf-cli')


def _installed_version(prefix: Path) -> str | None:
    # The marker is written last: a half-done install (killed, timed out) counts as none.
    try:
        return (prefix / 'installed').read_text().strip()
    except OSError:
        return None


def _npm(args: list, cwd: Path, what: str) -> None:
    """Run npm; skip the test when the registry cannot be reached, fail it on any other error."""
    try:
        proc = subprocess.run([shutil.which('npm')] + args, cwd=str(cwd), capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip('%s did not finish in %d s (npm registry unreachable or too slow?)' % (what, INSTALL_TIMEOUT))
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and _UNREACHABLE.search(output):
        cause = next(line for line in output.splitlines() if _UNREACHABLE.search(line))
        pytest.skip('the npm registry is unreachable, so the official Salesforce CLI cannot be installed (%s): %s' % (what, cause.strip()[:300]))
    if proc.returncode != 0:
        pytest.fail('%s failed (exit %d):\n%s' % (what, proc.returncode, output[-4000:]))


def installed_cli() -> Path:
    """The path of the pinned `sf`, installed first if need be; skips the calling test with the reason when it cannot
    be had (no Node or npm, registry unreachable, install timed out); any other npm failure fails the test.

    Installed as Salesforce released it: the package's tarball (npm pack), then its dependencies at the versions of its
    own npm-shrinkwrap.json (npm install in the package). A plain `npm install @salesforce/cli@<version>` ignores that
    file and takes the newest dependencies in range, which break the pinned CLI (undici 8 needs Node 22)."""
    if not shutil.which('node') or not shutil.which('npm'):
        pytest.skip('the official Salesforce CLI needs Node.js and npm, not found on PATH')
    prefix = cli_dir()
    prefix.parent.mkdir(parents=True, exist_ok=True)
    binary = prefix / 'bin' / 'sf'
    with open(prefix.parent / (prefix.name + '.lock'), 'w', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # one install at a time; the others find it done
        if _installed_version(prefix) == SF_CLI_VERSION and binary.exists():
            return binary
        staging = prefix.parent / (prefix.name + '.new')
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        _npm(['pack', '--loglevel=error', '@salesforce/cli@' + SF_CLI_VERSION], staging, 'npm pack @salesforce/cli@' + SF_CLI_VERSION)
        (tarball,) = staging.glob('salesforce-cli-*.tgz')
        with tarfile.open(tarball) as archive:
            if hasattr(tarfile, 'data_filter'):   # Python 3.11.4+: refuse links and paths out of the folder
                archive.extractall(staging, filter='data')
            else:
                archive.extractall(staging)
        tarball.unlink()
        # --ignore-scripts: the package's preinstall only checks the Node version; nothing the CLI needs to run.
        _npm(['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], staging / 'package',
             'npm install of the dependencies of @salesforce/cli@' + SF_CLI_VERSION)
        (staging / 'bin').mkdir()
        (staging / 'bin' / 'sf').symlink_to(Path('..') / 'package' / 'bin' / 'run.js')
        (staging / 'installed').write_text(SF_CLI_VERSION + '\n')
        shutil.rmtree(prefix, ignore_errors=True)
        staging.rename(prefix)
        return binary


@dataclass
class SfRun:
    args: list
    rc: int
    stdout: str
    stderr: str

    @property
    def answer(self) -> dict:
        """The --json answer: {"status", "result", "warnings", ...}."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise AssertionError('sf %s printed no JSON (exit %d):\n%s\n%s'
                                 % (' '.join(self.args), self.rc, self.stdout[-3000:], self.stderr[-3000:])) from None


class SfCli:
    """Runs `sf` with a HOME (and XDG folders) of its own, so neither its auth files nor its config reach the user's,
    telemetry, update and version checks off, and the fake org's CA trusted by Node."""

    def __init__(self, binary: Path, workdir: Path, org):
        self.binary = binary
        self.workdir = workdir
        home = workdir / 'home'
        home.mkdir(parents=True, exist_ok=True)
        self.env = {name: value for name, value in os.environ.items() if not name.startswith(('SF_', 'SFDX_', 'NODE_'))}
        self.env.update({
            'HOME': str(home), 'XDG_CONFIG_HOME': str(home / '.config'), 'XDG_CACHE_HOME': str(home / '.cache'),
            'XDG_DATA_HOME': str(home / '.local' / 'share'),
            'SF_DISABLE_TELEMETRY': 'true', 'SF_AUTOUPDATE_DISABLE': 'true', 'SF_SKIP_NEW_VERSION_CHECK': 'true',
            'SF_USE_GENERIC_UNIX_KEYCHAIN': 'true',   # its key in HOME, never the desktop's keyring
            'SF_DISABLE_DNS_CHECK': 'true',
            'NODE_EXTRA_CA_CERTS': org.ca_path,
            'PATH': '%s%s%s' % (binary.parent, os.pathsep, os.environ.get('PATH', '')),   # its hooks spawn `sf` by name
            # The fake org is local: never through a proxy of the environment.
            'NO_PROXY': 'localhost,127.0.0.1', 'no_proxy': 'localhost,127.0.0.1',
        })

    def run(self, *args, timeout: int = RUN_TIMEOUT, cwd=None) -> SfRun:
        proc = subprocess.run([str(self.binary)] + list(args) + ['--json'], cwd=str(cwd or self.workdir), env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        return SfRun(list(args), proc.returncode, proc.stdout, proc.stderr)

    def json(self, *args, timeout: int = RUN_TIMEOUT, cwd=None) -> dict:
        """The `result` of a command that must succeed (run in cwd, the test's folder unless given)."""
        run = self.run(*args, timeout=timeout, cwd=cwd)
        answer = run.answer
        assert run.rc == 0 and answer.get('status') == 0, 'sf %s failed (exit %d): %s\n%s' % (
            ' '.join(args), run.rc, json.dumps(answer, indent=1)[-4000:], run.stderr[-2000:])
        return answer['result']
