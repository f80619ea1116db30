# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The execution environment: ansible-builder reads the collection's dependencies, and the definition that
docs/awx.md shows builds a context. ansible-builder is taken from $ANSIBLE_BUILDER, next to the test's Python,
on PATH, or from the pinned tools environment (.venv/tools); the test is skipped without it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent


def find_builder():
    candidates = [os.environ.get('ANSIBLE_BUILDER'), str(BIN_DIR / 'ansible-builder'), shutil.which('ansible-builder'),
                  str(REPO_ROOT / '.venv' / 'tools' / 'bin' / 'ansible-builder')]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


BUILDER = find_builder()
pytestmark = pytest.mark.skipif(BUILDER is None, reason='ansible-builder is not installed (set ANSIBLE_BUILDER)')


def run(*args, cwd=None):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, '%s failed:\n%s%s' % (' '.join(str(a) for a in args), proc.stdout, proc.stderr)
    return proc.stdout


def requirement_lines(path):
    """The requirements of a pip file, comments dropped."""
    lines = [line.split('#', 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line]


def docs_definition():
    """The execution-environment.yml that docs/awx.md shows (the first yaml block with version: 3)."""
    text = (REPO_ROOT / 'docs' / 'awx.md').read_text()
    for block in re.findall(r'```yaml\n(.*?)```', text, re.S):
        data = yaml.safe_load(block)
        if isinstance(data, dict) and data.get('version') == 3:
            return block
    raise AssertionError('docs/awx.md shows no ansible-builder version 3 definition')


def test_collection_declares_its_python_dependencies(installed_collections):
    meta = yaml.safe_load((REPO_ROOT / 'meta' / 'execution-environment.yml').read_text())
    assert meta == {'version': 1, 'dependencies': {'python': 'requirements.txt'}}
    output = run(BUILDER, 'introspect', installed_collections)
    found = yaml.safe_load(output.split('---', 1)[1])
    expected = ['%s  # from collection sfjwt.salesforce' % line for line in requirement_lines(REPO_ROOT / 'requirements.txt')]
    assert [line for line in found['python'] if 'sfjwt.salesforce' in line] == expected
    assert found['system'] == []


def test_documented_definition_builds_a_context(tmp_path):
    run(BIN_DIR / 'ansible-galaxy', 'collection', 'build', REPO_ROOT, '--output-path', tmp_path)
    tarball = next(tmp_path.glob('sfjwt-salesforce-*.tar.gz')).name
    definition = re.sub(r'sfjwt-salesforce-[0-9][0-9A-Za-z.+-]*\.tar\.gz', tarball, docs_definition())
    (tmp_path / 'execution-environment.yml').write_text(definition)

    run(BUILDER, 'create', '-f', 'execution-environment.yml', '-c', 'context', '--output-filename', 'Containerfile', cwd=tmp_path)
    context = tmp_path / 'context'
    containerfile = (context / 'Containerfile').read_text()
    assert 'ansible-galaxy collection install' in containerfile and '-r requirements.yml' in containerfile
    assert (context / '_build' / 'collections' / tarball).read_bytes() == (tmp_path / tarball).read_bytes()
    galaxy = yaml.safe_load((context / '_build' / 'requirements.yml').read_text())
    assert galaxy == {'collections': [{'name': 'collections/%s' % tarball, 'type': 'file'}]}

    # The image build runs the context's own introspect script over the installed collections: run it here
    # over the collection installed from the same tarball, as the image would.
    installed = tmp_path / 'installed'
    run(BIN_DIR / 'ansible-galaxy', 'collection', 'install', tmp_path / tarball, '-p', installed)
    written = tmp_path / 'requirements-from-introspection.txt'
    run(sys.executable, context / '_build' / 'scripts' / 'introspect.py', 'introspect', installed, '--write-pip', written)
    assert requirement_lines(written) == requirement_lines(REPO_ROOT / 'requirements.txt')
