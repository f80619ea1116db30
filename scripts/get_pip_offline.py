# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Offline stand-in for the get-pip script ansible-test downloads to bootstrap pip in its virtual envs.

ansible-test looks for a cached copy at ~/.ansible/test/cache/get_pip_<version>.py before downloading
from a host this network cannot reach. This stand-in bootstraps pip from the interpreter's bundled
wheel (ensurepip), then lets that pip install what ansible-test asked for from the configured index.
"""

import os
import subprocess
import sys

# Options only the real get-pip understands.
GET_PIP_ONLY = {'--no-setuptools', '--no-wheel'}


def main():
    import ensurepip

    # ensurepip points PIP_CONFIG_FILE at /dev/null in this process; the pip call below must
    # see the machine's own pip configuration (index, certificates) again.
    saved_config = os.environ.get('PIP_CONFIG_FILE')
    ensurepip.bootstrap(upgrade=True)
    env = dict(os.environ)
    if saved_config is None:
        env.pop('PIP_CONFIG_FILE', None)
    else:
        env['PIP_CONFIG_FILE'] = saved_config
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    if not any(not arg.startswith('-') for arg in args):
        return 0
    return subprocess.call([sys.executable, '-m', 'pip', 'install'] + args, env=env)


if __name__ == '__main__':
    sys.exit(main())
