# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How plugins/module_utils import each other: no cycle (imports inside functions count: they are cycles a test run
may never happen to trigger), the packages are layers (core, project, api, doctor), and the base modules every other
one may import (core._common, core._errors, core._salesforce_facts) import only the standard library and each other
as listed below."""

from __future__ import annotations

import ast
import importlib.util
import sysconfig
from pathlib import Path

import pytest

MODULE_UTILS_DIR = Path(__file__).resolve().parents[4] / 'plugins' / 'module_utils'
PACKAGE = 'ansible_collections.sfjwt.salesforce.plugins.module_utils'


def imported_names(tree, package=PACKAGE):
    """The full names of the modules a parsed file imports, anywhere in it (relative imports resolved in ``package``,
    the file's own)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parent = package.rsplit('.', node.level - 1)[0] if node.level > 1 else package
                base = '%s.%s' % (parent, base) if base else parent
            names.append(base)
            # "from <package> import _rest": each name may be a module of the package.
            names.extend('%s.%s' % (base, alias.name) for alias in node.names)
    return names


def module_files(directory):
    """{dotted name under module_utils ('core._auth'): path} of every module in directory and its packages."""
    modules = {}
    for path in sorted(Path(directory).rglob('*.py')):
        if path.stem != '__init__':
            modules['.'.join(path.relative_to(directory).with_suffix('').parts)] = path
    return modules


def import_graph(directory):
    """{module: set of the modules of module_utils it imports}, for every module in directory and its packages."""
    modules = module_files(directory)
    graph = {}
    for name, path in modules.items():
        package = '.'.join([PACKAGE] + name.split('.')[:-1])
        targets = set()
        for imported in imported_names(ast.parse(path.read_text(encoding='utf-8'), str(path)), package):
            if imported.startswith(PACKAGE + '.') and imported[len(PACKAGE) + 1:] in modules:
                targets.add(imported[len(PACKAGE) + 1:])
        graph[name] = targets
    return graph


def find_cycle(graph):
    """One import cycle as [a, b, ..., a], or None."""
    done, path = set(), []

    def visit(node):
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def is_standard_library(name):
    top = name.split('.', 1)[0]
    if top == '__future__':
        return True
    spec = importlib.util.find_spec(top)
    if spec is None:
        return False
    if spec.origin in ('built-in', 'frozen'):
        return True
    locations = [spec.origin] if spec.origin else list(spec.submodule_search_locations or ())
    stdlib_dirs = {Path(sysconfig.get_paths()[key]).resolve() for key in ('stdlib', 'platstdlib')}
    return bool(locations) and all(
        any(directory in Path(location).resolve().parents for directory in stdlib_dirs)
        and 'site-packages' not in location and 'dist-packages' not in location
        for location in locations)


def test_module_utils_import_no_cycle():
    graph = import_graph(MODULE_UTILS_DIR)
    assert {'core._auth', 'core._common', 'core._token_request', 'core._options', 'core._http'} <= set(graph)
    assert find_cycle(graph) is None, 'module_utils import each other in a cycle: %s' % ' -> '.join(find_cycle(graph))


@pytest.mark.parametrize('name, allowed', [('core._common', set()), ('core._errors', {'core._salesforce_facts'}),
                                           ('core._salesforce_facts', set())])
def test_the_base_modules_import_only_the_standard_library(name, allowed):
    """_common, _errors and _salesforce_facts, which a cached token loads: the standard library, and _errors the facts."""
    tree = ast.parse(module_files(MODULE_UTILS_DIR)[name].read_text(encoding='utf-8'))
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [node.module for node in imports if isinstance(node, ast.ImportFrom) and node.level] == [], 'a relative import'
    imported = {node.module if isinstance(node, ast.ImportFrom) else alias.name for node in imports for alias in node.names}
    assert {'core._common': {'dataclasses'}, 'core._errors': {'traceback'}, 'core._salesforce_facts': {'re'}}[name] <= imported
    own = {module for module in imported if module.startswith(PACKAGE + '.')}
    assert {module[len(PACKAGE) + 1:] for module in own} == allowed
    assert sorted(module for module in imported - own if not is_standard_library(module)) == []


def test_the_mint_and_the_options_no_longer_import_back():
    """The two cycles there were: _token_request imported _auth (which imports it on a cache miss), _http imported
    _options (which imports it for its session)."""
    graph = import_graph(MODULE_UTILS_DIR)
    assert 'core._token_request' in graph['core._auth'] and 'core._auth' not in graph['core._token_request']
    assert 'core._http' in graph['core._options'] and 'core._options' not in graph['core._http']


# Which packages of module_utils each package may import: the layers, bottom up.
LAYERS = {'core': {'core'}, 'project': {'core', 'project'}, 'api': {'core', 'project', 'api'},
          'doctor': {'core', 'project', 'api', 'doctor'}}


def test_the_packages_are_layers():
    """core (errors, options, auth, cache, minting, HTTP, answers, files, keys, X.509, Salesforce facts) imports only
    itself; project (the integration's files: key and certificate, the app's metadata project) builds on core; api
    (the REST client, records, the deploy of a project) on both; the doctor may use them all. Every module is in one of
    these packages."""
    graph = import_graph(MODULE_UTILS_DIR)
    assert {name.split('.')[0] for name in graph} == set(LAYERS)
    crossing = sorted('%s -> %s' % (name, target) for name, targets in graph.items() for target in targets
                      if target.split('.')[0] not in LAYERS[name.split('.')[0]])
    assert crossing == []


@pytest.mark.parametrize('files, cycle', [
    ({'_a': 'from %s._b import thing\n', '_b': 'def late():\n    from %s import _a\n'}, ['_a', '_b', '_a']),
    ({'_a': 'import %s._b\n', '_b': 'from ._c import thing\n', '_c': 'from . import _a\n'}, ['_a', '_b', '_c', '_a']),
    ({'_a': 'from %s._b import thing\n', '_b': 'import json\n'}, None),
])
def test_a_cycle_is_found_also_through_a_function_or_a_relative_import(tmp_path, files, cycle):
    for name, text in files.items():
        (tmp_path / (name + '.py')).write_text(text.replace('%s', PACKAGE))
    assert find_cycle(import_graph(tmp_path)) == cycle


def test_third_party_and_collection_modules_are_not_standard_library():
    assert [is_standard_library(name) for name in ('json', 'urllib.parse', 'dataclasses', 'requests', 'ansible', 'pytest')] == [
        True, True, True, False, False, False]
