# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run Galaxy's importer (galaxy-importer) on a collection tarball; any warning or error fails.

Galaxy shows the importer's warnings on the collection's import page but still accepts the upload, and the
importer itself exits 0 on them: this check turns each one into a failure, listed at the end.
Runs offline (no containers, no ansible-test, ansible-lint --offline): the lint stage needs only PyPI.

Usage (from the venv that has galaxy-importer, scripts/venv.sh importer):
    python scripts/galaxy_importer_check.py <namespace-name-version.tar.gz>
scripts/galaxy-importer.sh builds the tarball and calls this.
"""

import os
import re
import subprocess
import sys
import tempfile

COMPLETED = 'Importer processing completed successfully'

# galaxy-importer's logger prints INFO bare and every other level as "LEVEL: message" (main.CustomFormatter).
PROBLEM_LINE = re.compile(r'^(?P<level>WARNING|ERROR|CRITICAL): (?P<message>.*)$')

# What Galaxy runs on upload, minus what needs containers or the network: ansible-test runs in the sanity stage.
CONFIG = """\
[galaxy-importer]
run_ansible_test = False
ansible_test_local_image = False
local_image_docker = False
infra_osd = False
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
check_changelog = True
check_required_tags = False
require_v1_or_greater = False
log_level_main = INFO
tmp_root_dir = {tmp}
ansible_local_tmp = {tmp}/ansible
"""


def importer_problems(output):
    """The WARNING/ERROR/CRITICAL lines of the importer's output, as 'LEVEL: message', in order, without repeats."""
    problems = []
    for line in output.splitlines():
        match = PROBLEM_LINE.match(line.rstrip())
        if match and match.group(0) not in problems:
            problems.append(match.group(0))
    return problems


def verdict(output, returncode):
    """(passed, report lines) for one importer run."""
    problems = importer_problems(output)
    if returncode != 0 and not problems:
        problems.append('ERROR: galaxy-importer exited with status %d' % returncode)
    elif COMPLETED not in output and not problems:
        # Without this, an importer that never ran (or died quietly) would pass.
        problems.append('ERROR: galaxy-importer did not report "%s"' % COMPLETED)
    if not problems:
        return True, ['galaxy-importer: no warnings']
    report = ['galaxy-importer: %d problem(s); Galaxy would show each on the import page, so the lint stage fails:' % len(problems)]
    # "FAILED " lines: scripts/test.sh repeats them in its closing summary of failures.
    report.extend('FAILED galaxy-importer: ' + problem for problem in problems)
    report.append('Fix each one; a file that users do not need (tests, benchmarks) can stay out of the tarball '
                  "with galaxy.yml's build_ignore.")
    return False, report


def importer_environment(config_path):
    """This process's environment, with the importer reading only our configuration file."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('GALAXY_IMPORTER_')}
    env['GALAXY_IMPORTER_CONFIG'] = config_path
    # The importer runs ansible-doc and ansible-lint by name: they must be this venv's.
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    return env


def run(tarball, importer_command=None):
    """Run the importer on tarball, print its output and the verdict; return the exit status (0: no problems)."""
    tarball = os.path.abspath(tarball)
    with tempfile.TemporaryDirectory(prefix='sfjwt-galaxy-importer-') as work:
        tmp = os.path.join(work, 'tmp')
        os.makedirs(os.path.join(tmp, 'ansible'))
        config_path = os.path.join(work, 'galaxy-importer.cfg')
        with open(config_path, 'w', encoding='utf-8') as config_file:
            config_file.write(CONFIG.format(tmp=tmp))
        command = importer_command or [sys.executable, '-m', 'galaxy_importer.main', tarball]
        # cwd: the importer writes importer_result.json to the current directory.
        result = subprocess.run(command, cwd=work, env=importer_environment(config_path), check=False,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    sys.stdout.write(result.stdout)
    passed, report = verdict(result.stdout, result.returncode)
    print('\n'.join(report))
    return 0 if passed else 1


def main(argv):
    if len(argv) != 1 or not argv[0].endswith('.tar.gz'):
        print('usage: galaxy_importer_check.py <namespace-name-version.tar.gz>', file=sys.stderr)
        return 2
    return run(argv[0])


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
