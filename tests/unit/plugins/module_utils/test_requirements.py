# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Missing Python libraries: one message names all of them, the interpreter lacking them and the pip command."""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core import _http, _requirements
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import HttpError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._http import build_http_session
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._requirements import (
    fail_on_missing_libraries,
    missing_libraries,
    missing_libraries_message,
    requirements_file,
    running_module,
)

PYTHON = '/opt/venvs/bare/bin/python3'
# plugins/module_utils/core/_requirements.py -> the collection's root, as the module finds it
COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(_requirements.__file__)), *[os.pardir] * 3))


@pytest.fixture
def python(monkeypatch):
    monkeypatch.setattr(sys, 'executable', PYTHON)
    return PYTHON


@pytest.fixture
def no_installed_copy(monkeypatch, tmp_path):
    """Neither this file's collection nor a collections path holds requirements.txt (as in a module's temporary copy)."""
    monkeypatch.setattr(_requirements, '_collection_root_of_this_file', lambda: str(tmp_path / 'payload.zip' / 'x'))
    monkeypatch.setattr(_requirements, 'DEFAULT_COLLECTIONS_PATHS', (str(tmp_path / 'home-collections'),))
    monkeypatch.delenv('ANSIBLE_COLLECTIONS_PATH', raising=False)
    monkeypatch.delenv('ANSIBLE_COLLECTIONS_PATHS', raising=False)
    return tmp_path


def installed_copy(collections_path):
    root = collections_path / 'ansible_collections' / 'sfjwt' / 'salesforce'
    root.mkdir(parents=True)
    (root / 'requirements.txt').write_text('cryptography>=3.3\n')
    return str(root / 'requirements.txt')


class RecordingModule:
    def __init__(self):
        self.failures = []

    def fail_json(self, **kwargs):
        self.failures.append(kwargs)


def test_nothing_is_reported_when_every_library_imports():
    assert missing_libraries() == []
    assert missing_libraries_message() is None
    module = RecordingModule()
    fail_on_missing_libraries(module, 'cryptography', 'PyJWT', 'requests')
    assert module.failures == []


def test_the_collections_requirements_file_is_found_next_to_the_plugins():
    assert requirements_file() == os.path.join(COLLECTION_ROOT, 'requirements.txt')
    with open(requirements_file()) as handle:
        listed = [line.split('>=')[0] for line in handle.read().splitlines() if line and not line.startswith('#')]
    assert listed == list(_requirements.LIBRARY_NAMES) + ['urllib3']   # urllib3 comes with requests


def test_one_message_names_every_missing_library_for_a_module(hide_libraries, python):
    hide_libraries('PyJWT', 'requests')
    assert missing_libraries() == [('PyJWT', ''), ('requests', '')]
    requirements = os.path.join(COLLECTION_ROOT, 'requirements.txt')
    assert missing_libraries_message(on_controller=False) == (
        'sfjwt.salesforce needs the Python libraries cryptography, PyJWT and requests; missing: PyJWT, requests. '
        'The Python that runs this module, /opt/venvs/bare/bin/python3, cannot import them. Install them into it: '
        '/opt/venvs/bare/bin/python3 -m pip install -r %s (or: /opt/venvs/bare/bin/python3 -m pip install PyJWT requests). '
        'If they are installed in another Python, set ansible_python_interpreter to that Python.' % requirements)


def test_on_the_controller_the_message_names_ansible_playbooks_python(hide_libraries, python):
    hide_libraries('cryptography', 'PyJWT', 'requests')
    requirements = os.path.join(COLLECTION_ROOT, 'requirements.txt')
    assert missing_libraries_message(on_controller=True) == (
        'sfjwt.salesforce needs the Python libraries cryptography, PyJWT and requests; missing: cryptography, PyJWT, '
        'requests. The Python that runs ansible-playbook and its lookups, /opt/venvs/bare/bin/python3, cannot import them. '
        'Install them into it: /opt/venvs/bare/bin/python3 -m pip install -r %s (or: /opt/venvs/bare/bin/python3 -m pip '
        'install cryptography PyJWT requests).' % requirements)


def test_the_context_is_told_by_the_process(hide_libraries, python, monkeypatch):
    hide_libraries('PyJWT')
    monkeypatch.setitem(sys.modules, 'ansible.executor', object())
    assert 'runs ansible-playbook and its lookups' in missing_libraries_message()
    # A module run inside the controller's worker process (plugin_utils/_in_process.py says so).
    with running_module():
        assert 'runs this module' in missing_libraries_message()
    assert 'runs ansible-playbook and its lookups' in missing_libraries_message()
    monkeypatch.delitem(sys.modules, 'ansible.executor')
    assert 'runs this module' in missing_libraries_message()


def test_running_module_ends_even_when_the_module_fails(hide_libraries, python, monkeypatch):
    hide_libraries('PyJWT')
    monkeypatch.setitem(sys.modules, 'ansible.executor', object())
    with pytest.raises(SystemExit):
        with running_module():
            raise SystemExit(1)
    assert 'runs ansible-playbook and its lookups' in missing_libraries_message()


def test_only_a_missing_library_the_step_needs_fails_it_but_the_message_names_all(hide_libraries, python):
    hide_libraries('PyJWT', 'requests')
    assert missing_libraries_message(('cryptography',)) is None
    module = RecordingModule()
    fail_on_missing_libraries(module, 'cryptography')
    assert module.failures == []
    fail_on_missing_libraries(module, 'requests')
    assert module.failures == [{'msg': missing_libraries_message(on_controller=False)}]
    assert 'missing: PyJWT, requests.' in module.failures[0]['msg']


def test_a_module_finds_the_installed_collection_on_the_collections_path(hide_libraries, python, no_installed_copy,
                                                                         monkeypatch):
    hide_libraries('requests')
    installed = installed_copy(no_installed_copy / 'collections')
    monkeypatch.setenv('ANSIBLE_COLLECTIONS_PATH', '%s:%s' % (no_installed_copy / 'empty', no_installed_copy / 'collections'))
    assert requirements_file() == installed
    assert '-m pip install -r %s (or:' % installed in missing_libraries_message(on_controller=False)
    # A path may also name the ansible_collections directory itself.
    monkeypatch.setenv('ANSIBLE_COLLECTIONS_PATH', str(no_installed_copy / 'collections' / 'ansible_collections'))
    assert requirements_file() == installed


def test_a_default_collections_path_is_searched(no_installed_copy):
    installed = installed_copy(no_installed_copy / 'home-collections')
    assert requirements_file() == installed


def test_without_an_installed_copy_the_message_says_how_to_find_it(hide_libraries, python, no_installed_copy):
    hide_libraries('cryptography')
    assert requirements_file() is None
    assert missing_libraries_message(on_controller=False) == (
        'sfjwt.salesforce needs the Python libraries cryptography, PyJWT and requests; missing: cryptography. '
        'The Python that runs this module, /opt/venvs/bare/bin/python3, cannot import them. Install them into it: '
        '/opt/venvs/bare/bin/python3 -m pip install -r <collections path>/ansible_collections/sfjwt/salesforce/requirements.txt '
        '(or: /opt/venvs/bare/bin/python3 -m pip install cryptography). "ansible-galaxy collection list sfjwt.salesforce" '
        'shows <collections path>/ansible_collections. If they are installed in another Python, set '
        'ansible_python_interpreter to that Python.')


def test_paths_with_spaces_are_quoted_for_the_shell(hide_libraries, monkeypatch, no_installed_copy):
    hide_libraries('PyJWT')
    monkeypatch.setattr(sys, 'executable', '/opt/my tools/bin/python3')
    installed = installed_copy(no_installed_copy / 'my collections')
    monkeypatch.setenv('ANSIBLE_COLLECTIONS_PATH', str(no_installed_copy / 'my collections'))
    assert ("'/opt/my tools/bin/python3' -m pip install -r '%s' (or: '/opt/my tools/bin/python3' -m pip install PyJWT)"
            % installed) in missing_libraries_message(on_controller=True)


def test_an_installed_library_that_fails_to_import_says_why(monkeypatch, python):
    real_import = _requirements.import_module

    def import_module(name):
        if name.startswith('cryptography'):
            raise ModuleNotFoundError("No module named '_cffi_backend'", name='_cffi_backend')
        return real_import(name)
    monkeypatch.setattr(_requirements, 'import_module', import_module)
    assert missing_libraries() == [('cryptography', "No module named '_cffi_backend'")]
    assert ("missing: cryptography (installed, but importing it fails: No module named '_cffi_backend'). "
            in missing_libraries_message(on_controller=False))


def test_the_http_layer_reports_requests_with_the_others(hide_libraries, monkeypatch, python):
    hide_libraries('PyJWT', 'requests')
    monkeypatch.setattr(_http, 'HAS_REQUESTS', False)
    with pytest.raises(HttpError) as caught:
        build_http_session()
    assert str(caught.value) == missing_libraries_message(('requests',))
    assert 'missing: PyJWT, requests.' in str(caught.value)
