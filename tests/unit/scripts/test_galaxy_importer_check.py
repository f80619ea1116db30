# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""scripts/galaxy_importer_check.py: the lint stage fails on every galaxy-importer warning, offline configuration.

A stand-in importer (a Python one-liner printing what galaxy-importer prints) replaces the real one, which lives in
its own venv (scripts/venv.sh importer); the lint stage runs the real one on the real tarball.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / 'scripts' / 'galaxy_importer_check.py'

# Verbatim from galaxy-importer 0.4.44 on sfjwt-salesforce-0.2.0.tar.gz before the release changelog and build_ignore.
NO_CHANGELOG = ('WARNING: No changelog found. Add a CHANGELOG.rst or CHANGELOG.md file in the collection root or docs/ '
                'dir, or a changelogs/changelog.(yml/yaml) file.')
UNKNOWN_MODULE = ("WARNING: tests/benchmarks/playbooks/certificate_community_crypto.yml:7:7: "
                  "syntax-check[unknown-module]: couldn't resolve module/action 'community.crypto.openssl_privatekey'. "
                  "This often indicates a misspelling, missing collection, or incorrect module path.")
COMPLETED = 'Importer processing completed successfully'


@pytest.fixture(scope='module')
def check():
    spec = importlib.util.spec_from_file_location('galaxy_importer_check', str(SCRIPT))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stand_in(lines, exit_status=0):
    """A command that prints lines as the importer would and exits with exit_status."""
    code = 'import sys; print(%r); sys.exit(%d)' % ('\n'.join(lines), exit_status)
    return [sys.executable, '-c', code]


def test_warnings_fail_and_are_listed(check, tmp_path, capsys):
    output = ['Importing with galaxy-importer 0.4.44', 'Finding content inside collection', NO_CHANGELOG,
              'Linting collection via ansible-lint 26.10.1...', UNKNOWN_MODULE, '...ansible-lint run complete',
              COMPLETED]

    status = check.run(str(tmp_path / 'sfjwt-salesforce-0.2.0.tar.gz'), importer_command=stand_in(output))

    assert status == 1
    report = capsys.readouterr().out.split(COMPLETED + '\n', 1)[1].splitlines()
    assert report == [
        "galaxy-importer: 2 problem(s); Galaxy would show each on the import page, so the lint stage fails:",
        'FAILED galaxy-importer: ' + NO_CHANGELOG,
        'FAILED galaxy-importer: ' + UNKNOWN_MODULE,
        "Fix each one; a file that users do not need (tests, benchmarks) can stay out of the tarball with galaxy.yml's "
        "build_ignore.",
    ]


def test_a_clean_import_passes(check, tmp_path, capsys):
    output = ['Importing with galaxy-importer 0.4.44', 'Loading module token', COMPLETED]

    status = check.run(str(tmp_path / 'sfjwt-salesforce-0.2.0.tar.gz'), importer_command=stand_in(output))

    assert status == 0
    assert capsys.readouterr().out.endswith(COMPLETED + '\ngalaxy-importer: no warnings\n')


def test_an_error_fails_even_when_the_importer_exits_0(check, tmp_path, capsys):
    error = 'ERROR: The import failed for the following reason: Invalid collection metadata.'

    status = check.run(str(tmp_path / 'x-y-1.0.0.tar.gz'), importer_command=stand_in([error, COMPLETED]))

    assert status == 1
    assert 'FAILED galaxy-importer: ' + error + '\n' in capsys.readouterr().out


@pytest.mark.parametrize('lines, exit_status, problem', [
    (['Importing with galaxy-importer 0.4.44'], 1, 'ERROR: galaxy-importer exited with status 1'),
    # An importer that ran nothing must not pass for a clean one.
    ([''], 0, 'ERROR: galaxy-importer did not report "Importer processing completed successfully"'),
])
def test_an_importer_that_did_not_finish_fails(check, tmp_path, capsys, lines, exit_status, problem):
    status = check.run(str(tmp_path / 'x-y-1.0.0.tar.gz'), importer_command=stand_in(lines, exit_status))

    assert status == 1
    assert 'FAILED galaxy-importer: ' + problem + '\n' in capsys.readouterr().out


def test_the_importer_reads_only_the_offline_configuration(check, tmp_path, capsys, monkeypatch):
    # A caller's GALAXY_IMPORTER_* variables override the configuration file in galaxy-importer: they must not reach it.
    monkeypatch.setenv('GALAXY_IMPORTER_RUN_ANSIBLE_TEST', 'true')
    monkeypatch.setenv('GALAXY_IMPORTER_CONFIG', str(tmp_path / 'elsewhere.cfg'))
    show = ("import json, os; print(json.dumps({'env': {k: v for k, v in os.environ.items() if k.startswith('GALAXY_')}, "
            "'config': open(os.environ['GALAXY_IMPORTER_CONFIG']).read(), 'path': os.environ['PATH'], 'cwd': os.getcwd()}))")

    check.run(str(tmp_path / 'x-y-1.0.0.tar.gz'), importer_command=[sys.executable, '-c', show])

    seen = json.loads(capsys.readouterr().out.splitlines()[0])
    assert list(seen['env']) == ['GALAXY_IMPORTER_CONFIG']
    config = configparser.ConfigParser()
    config.read_string(seen['config'])
    settings = config['galaxy-importer']
    # No containers, no ansible-test (it pulls images), no Galaxy for ansible-lint; the changelog check stays on.
    switches = ('run_ansible_test', 'local_image_docker', 'ansible_test_local_image',
                'offline_ansible_lint', 'run_ansible_lint', 'check_changelog')
    assert {key: settings.getboolean(key) for key in switches} == {
        'run_ansible_test': False, 'local_image_docker': False, 'ansible_test_local_image': False,
        'offline_ansible_lint': True, 'run_ansible_lint': True, 'check_changelog': True}
    # ansible-doc and ansible-lint are found by name: the importer venv's come first.
    assert seen['path'].split(':')[0] == str(Path(sys.executable).parent)
    # importer_result.json lands in a temporary directory, not in the checkout.
    assert not Path(seen['cwd']).exists()
    assert settings['tmp_root_dir'].startswith(seen['cwd'])


def test_usage(check, capsys):
    assert check.main(['galaxy.yml']) == 2
    assert capsys.readouterr().err == 'usage: galaxy_importer_check.py <namespace-name-version.tar.gz>\n'
