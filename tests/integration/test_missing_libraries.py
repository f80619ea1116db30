# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Modules run by a Python that lacks the collection's libraries (the usual cause: ansible_python_interpreter is not the
Python the user installed into): one message names all of them, that interpreter and the command that installs them."""

from __future__ import annotations

import subprocess
import sys


def bare_python(directory):
    """A virtual environment with the standard library only (no system site-packages, no pip needed)."""
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(directory)], check=True, capture_output=True, text=True)
    python = directory / 'bin' / 'python'
    probe = subprocess.run([str(python), '-c', 'import cryptography'], capture_output=True, text=True, check=False)
    assert probe.returncode != 0, 'the bare environment must not see cryptography'
    return python


def test_one_message_names_every_missing_library(ansible, fake_org_app, installed_collection_dir, tmp_path):
    python = bare_python(tmp_path / 'bare')
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % python)
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    run = ansible.playbook('missing_libraries.yml', inventory=str(inventory), extra_vars={'out_dir': str(out_dir)}, env={
        'SFJWT_CONSUMER_KEY': fake_org_app.consumer_key, 'SFJWT_USERNAME': fake_org_app.username,
        'SFJWT_PRIVATE_KEY_PATH': str(fake_org_app.key_path), 'SFJWT_LOGIN_URL': fake_org_app.url,
        'SFJWT_CA_PATH': fake_org_app.ca_path})

    requirements = installed_collection_dir / 'requirements.txt'
    expected = (
        'sfjwt.salesforce needs the Python libraries cryptography, PyJWT and requests; missing: cryptography, PyJWT, requests. '
        'The Python that runs this module, {python}, cannot import them. Install them into it: {python} -m pip install -r '
        '{requirements} (or: {python} -m pip install cryptography PyJWT requests). If they are installed in another Python, '
        'set ansible_python_interpreter to that Python.').format(python=python, requirements=requirements)
    for task in ('Certificate', 'App metadata', 'Token', 'REST call', 'Record query'):
        assert run.status(task) == 'failed', run.output
        assert run.result(task)['msg'] == expected, task
    assert requirements.is_file()
    assert [line for line in requirements.read_text().splitlines() if line and not line.startswith('#')] == [
        'cryptography>=3.3', 'PyJWT>=2.4.0', 'requests>=2.25.0', 'urllib3>=1.26.0']
    assert list(out_dir.iterdir()) == []
    assert fake_org_app.org.received_log() == []
