# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The collection's Python requirements (requirements.txt) and the one message that reports every missing one.

A user who lacks several libraries must learn it in one run, with the one command that installs them into the
interpreter that lacks them: usually the task runs under another Python than the one the user installed into."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from importlib import import_module

COLLECTION_PARTS = ('ansible_collections', 'sfjwt', 'salesforce')
REQUIREMENTS_FILE = 'requirements.txt'

# (name on PyPI, the modules the collection imports from it), in the order of requirements.txt.
REQUIREMENTS = (
    ('cryptography', ('cryptography.x509', 'cryptography.hazmat.primitives.serialization')),
    ('PyJWT', ('jwt',)),
    ('requests', ('requests', 'requests.adapters', 'urllib3.util.retry')),
)
LIBRARY_NAMES = tuple(name for name, dummy in REQUIREMENTS)
# What signing and posting a token assertion imports.
TO_MINT_A_TOKEN = LIBRARY_NAMES
DEFAULT_COLLECTIONS_PATHS = ('~/.ansible/collections', '/usr/share/ansible/collections')
COLLECTIONS_PATH_PLACEHOLDER = '<collections path>'

# True while one of this collection's modules runs inside the controller's worker (plugin_utils/_in_process.py).
_module_in_worker = [False]


def _import_problem(modules):
    """None when every module imports; else '' for a library that is not installed, or why an installed one fails."""
    for module in modules:
        try:
            import_module(module)
        except ImportError as exc:
            missing = getattr(exc, 'name', None)
            if missing is None or missing == module or missing == module.split('.', 1)[0]:
                return ''
            # Installed, but something it needs is not (a compiled part, a dependency).
            return str(exc)
    return None


def missing_libraries():
    """[(name, problem)] of the requirements this interpreter cannot import; problem is '' when it is not installed."""
    missing = []
    for name, modules in REQUIREMENTS:
        problem = _import_problem(modules)
        if problem is not None:
            missing.append((name, problem))
    return missing


def _collection_root_of_this_file():
    # plugins/module_utils/core/_requirements.py -> the collection's root (inside a module's zip it exists nowhere on disk).
    return os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir))


def _collections_paths():
    """Where ansible-core looks for collections, as far as a process can tell without ansible.cfg."""
    configured = os.environ.get('ANSIBLE_COLLECTIONS_PATH') or os.environ.get('ANSIBLE_COLLECTIONS_PATHS') or ''
    paths = [path for path in configured.split(os.pathsep) if path] + list(DEFAULT_COLLECTIONS_PATHS)
    found = []
    for path in paths:
        path = os.path.expanduser(path)
        if os.path.basename(path.rstrip(os.sep)) == COLLECTION_PARTS[0]:
            path = os.path.dirname(path.rstrip(os.sep))
        found.append(path)
    return found


def requirements_file():
    """The installed collection's requirements.txt, or None when no copy can be found from this process.

    Plugins on the controller run from the installed collection; a module runs from a temporary copy of its code,
    so it looks where ansible-core installs and finds collections (ANSIBLE_COLLECTIONS_PATH, then the defaults).
    """
    candidates = [_collection_root_of_this_file()]
    candidates.extend(os.path.join(path, *COLLECTION_PARTS) for path in _collections_paths())
    for root in candidates:
        path = os.path.join(root, REQUIREMENTS_FILE)
        if os.path.isfile(path):
            return os.path.abspath(path)
    return None


@contextlib.contextmanager
def running_module():
    """For the duration, messages speak of "this module": a module runs inside the controller's worker."""
    saved = _module_in_worker[0]
    _module_in_worker[0] = True
    try:
        yield
    finally:
        _module_in_worker[0] = saved


def _runs_on_controller():
    # A module process has no ansible.executor; the controller's processes (lookups, action plugins) have it, also
    # while they run a module in the worker (running_module).
    if _module_in_worker[0]:
        return False
    return 'ansible.executor' in sys.modules


def _names(missing):
    return ', '.join(name if not problem else '%s (installed, but importing it fails: %s)' % (name, problem)
                     for name, problem in missing)


def missing_libraries_message(needed=LIBRARY_NAMES, on_controller=None):
    """None when every library in ``needed`` imports; else one message naming every missing requirement (also those
    this step does not need, so that one install fixes all), the interpreter lacking them and the pip command."""
    missing = missing_libraries()
    if not any(name in needed for name, dummy in missing):
        return None
    if on_controller is None:
        on_controller = _runs_on_controller()
    python = shlex.quote(sys.executable or 'python3')
    found = requirements_file()
    if found:
        requirements = shlex.quote(found)
    else:
        requirements = '%s/%s/%s' % (COLLECTIONS_PATH_PLACEHOLDER, '/'.join(COLLECTION_PARTS), REQUIREMENTS_FILE)
    message = ('sfjwt.salesforce needs the Python libraries %s; missing: %s. The Python that runs %s, %s, cannot import '
               'them. Install them into it: %s -m pip install -r %s (or: %s -m pip install %s).'
               % (', '.join(LIBRARY_NAMES[:-1]) + ' and ' + LIBRARY_NAMES[-1], _names(missing),
                  'ansible-playbook and its lookups' if on_controller else 'this module', python, python, requirements,
                  python, ' '.join(name for name, dummy in missing)))
    if not found:
        message += (' "ansible-galaxy collection list sfjwt.salesforce" shows %s/%s.'
                    % (COLLECTIONS_PATH_PLACEHOLDER, COLLECTION_PARTS[0]))
    if not on_controller:
        message += ' If they are installed in another Python, set ansible_python_interpreter to that Python.'
    return message


def fail_on_missing_libraries(module, *needed):
    """fail_json with the message of missing_libraries_message when a library in ``needed`` cannot be imported."""
    message = missing_libraries_message(needed or LIBRARY_NAMES, on_controller=False)
    if message:
        module.fail_json(msg=message)
