# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ansible-playbook on an ansible-core that has moved one private name, as a future release might.

Usage: python without_core_internal.py <module:attribute or module:Class.attribute> <ansible-playbook> <arguments...>

The name is removed before the playbook runs (after ansible-core's own modules imported what they use of it).
ActionBase._compute_environment_string, which ansible-core itself calls, loses its raw_environment_out keyword instead
(a changed signature).
"""

from __future__ import annotations

import importlib
import sys

# ansible-core's start-up first; then ansible.plugins.action takes its own references, as a core that moved a name would.
import ansible.cli  # noqa: F401 pylint: disable=unused-import
import ansible.plugins.action  # noqa: F401 pylint: disable=unused-import

COMPUTE_ENVIRONMENT = 'ansible.plugins.action:ActionBase._compute_environment_string'


def main():
    touchpoint, dummy_playbook_command = sys.argv[1:3]
    module_name, dummy, path = touchpoint.partition(':')
    owner = importlib.import_module(module_name)
    *parents, attribute = path.split('.')
    for parent in parents:
        owner = getattr(owner, parent)
    if touchpoint == COMPUTE_ENVIRONMENT:
        original = getattr(owner, attribute)

        def without_the_keyword(self, *args):
            return original(self, *args)
        setattr(owner, attribute, without_the_keyword)
    else:
        delattr(owner, attribute)
    from ansible.cli.playbook import main as playbook_main
    sys.argv = ['ansible-playbook'] + sys.argv[3:]
    playbook_main()


if __name__ == '__main__':
    main()
