# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a user reads when running the README's commands: what happened, not what did not; messages that say where to look."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests

from test_playbooks import PROVISION_VARS, env_for
from test_playbooks import org as admin_org

from ansible.release import __version__ as ANSIBLE_CORE_VERSION

# make demo and make fake-org run in the pinned 2.19 environment of the checkout, whatever core a stage tests (and the
# Debian 13 root of the 2.20 / 2.21 stages has none): they are tested once, in the 2.19 stage.
in_the_2_19_stage = pytest.mark.skipif(not ANSIBLE_CORE_VERSION.startswith('2.19.'),
                                       reason='make demo and make fake-org use the pinned ansible-core 2.19 environment; '
                                              'tested in the 2.19 stage')

# The fixture of test_playbooks: the fake org, its admin identity in the environment as the README's bootstrap puts it.
org = admin_org

ROTATION_TASKS = ('Wait until a token with the new key works', 'Move the new key into place', 'Move the new certificate into place',
                  'Remove the staged key and certificate', 'Forget the cached token of the old key')
DEPLOY_TASKS = ('Deploy the app metadata to the org', 'Find the integration user', 'Find the permission sets',
                'Assign the permission sets the user does not hold yet')


def skipped_lines(run):
    return [line for line in run.stdout.splitlines() if line.startswith('skipping:')]


def test_provision_shows_what_happened_not_what_did_not(ansible, org):
    # Before: 17 "skipping:" lines on the first run with deploy, 19 on the rerun, 7 of them the rotation's.
    for attempt in ('first run', 'rerun'):
        run = ansible.playbook('sfjwt.salesforce.provision', env=env_for(org), extra_vars=PROVISION_VARS)
        assert run.rc == 0, run.output
        assert len(skipped_lines(run)) <= 5, '%s:\n%s' % (attempt, run.stdout)
        for task in ROTATION_TASKS:
            assert task not in run.stdout, run.stdout


def test_provision_without_deploy_shows_no_deploy_or_rotation_task(ansible, org):
    run = ansible.playbook('sfjwt.salesforce.provision', env=env_for(org),
                           extra_vars={'sfjwt_provision_permission_sets': ['SFJWT_Integration'], 'sfjwt_provision_get_token': False})
    assert run.rc == 0, run.output
    # One line for each branch not taken (deploy, rotation, token, verification, ...), none per task inside one.
    assert len(skipped_lines(run)) <= 8, run.stdout
    for task in ROTATION_TASKS + DEPLOY_TASKS:
        assert task not in run.stdout, run.stdout


def test_limits_and_doctor_outside_the_provision_directory_say_where_they_looked(ansible, org):
    env = env_for(org)
    run = ansible.playbook('sfjwt.salesforce.provision', env=env, extra_vars=PROVISION_VARS)
    assert run.rc == 0, run.output
    provisioned = ansible.workdir / 'sfjwt'
    elsewhere = ansible.workdir / 'elsewhere'
    elsewhere.mkdir()
    ansible.workdir = elsewhere  # the playbooks run from another directory

    hint = ('No consumer key and no private key: none is set (sfjwt_consumer_key or SFJWT_CONSUMER_KEY, '
            'sfjwt_private_key_path or SFJWT_PRIVATE_KEY_PATH), and the provision directory %s does not exist (the playbooks '
            'look in ./sfjwt, relative to the current directory, or in the directory sfjwt_provision_dir names). Run from the '
            'directory where you ran the provision playbook, or point at its directory with -e sfjwt_provision_dir=/path/to/sfjwt, '
            'or set SFJWT_CONSUMER_KEY and SFJWT_PRIVATE_KEY_PATH.' % (elsewhere / 'sfjwt'))
    limits = ansible.playbook('sfjwt.salesforce.limits', env=env)
    assert limits.rc != 0
    assert limits.result("Check that the app's consumer key and the key are given, or found in the provision directory")['msg'] == hint
    assert 'consumer_key is required' not in limits.output

    doctor = ansible.playbook('sfjwt.salesforce.doctor', env=env)
    assert doctor.rc != 0
    assert doctor.result('Name the cause')['msg'].endswith(' ' + hint), doctor.output

    # The variable the message names points them at the provision directory.
    limits = ansible.playbook('sfjwt.salesforce.limits', env=env, extra_vars={'sfjwt_provision_dir': str(provisioned)})
    assert limits.rc == 0, limits.output
    doctor = ansible.playbook('sfjwt.salesforce.doctor', env=env, extra_vars={'sfjwt_provision_dir': str(provisioned)})
    assert doctor.rc == 0, doctor.output


@in_the_2_19_stage
def test_make_fake_org_prints_exports_that_log_in_and_stops_on_ctrl_c(tmp_path):
    """scripts/fake_org.sh, behind `make fake-org`: the export lines it prints are enough to log in; Ctrl-C stops it."""
    script = Path(__file__).resolve().parents[2] / 'scripts' / 'fake_org.sh'
    # As a terminal's Ctrl-C does: SIGINT to the whole foreground process group (the script and the fake org).
    proc = subprocess.Popen(['bash', str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={k: v for k, v in os.environ.items() if not k.startswith('SFJWT_')})
    try:
        exports, lines = {}, []
        for line in proc.stdout:
            lines.append(line)
            match = re.match(r'^export (\w+)=(.*)$', line.rstrip('\n'))
            if match:
                exports[match.group(1)] = shlex.split(match.group(2))[0]
            if line.startswith('== Ctrl-C stops the fake org'):
                break
        assert set(exports) >= {'SFJWT_LOGIN_URL', 'SFJWT_CA_PATH', 'SFJWT_ADMIN_CONSUMER_KEY', 'SFJWT_ADMIN_USERNAME',
                                'SFJWT_ADMIN_PRIVATE_KEY_PATH', 'SFJWT_USERNAME'}, ''.join(lines)
        now = int(time.time())
        assertion = jwt.encode({'iss': exports['SFJWT_ADMIN_CONSUMER_KEY'], 'sub': exports['SFJWT_ADMIN_USERNAME'],
                                'aud': 'https://login.salesforce.com', 'exp': now + 120},
                               Path(exports['SFJWT_ADMIN_PRIVATE_KEY_PATH']).read_bytes(), algorithm='RS256')
        answer = requests.post(exports['SFJWT_LOGIN_URL'] + '/services/oauth2/token', verify=exports['SFJWT_CA_PATH'], timeout=30,
                               data={'grant_type': 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'assertion': assertion})
        assert answer.status_code == 200, answer.text
        assert answer.json()['access_token']
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, ''.join(lines) + rest
    assert rest.strip().endswith('== Fake org stopped (its files stay in %s until the next start).' % Path(exports['SFJWT_CA_PATH']).parent)
    with pytest.raises(requests.ConnectionError):
        requests.get(exports['SFJWT_LOGIN_URL'], verify=exports['SFJWT_CA_PATH'], timeout=5)


@in_the_2_19_stage
def test_make_demo_ends_saying_what_was_written_where_and_how_to_go_on():
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(['bash', str(root / 'scripts' / 'demo.sh')], capture_output=True, text=True, timeout=900, check=False,
                         env={k: v for k, v in os.environ.items() if not k.startswith(('SFJWT_', 'ANSIBLE_'))})
    assert run.returncode == 0, run.stdout + run.stderr
    summary = run.stdout.split('== Summary\n', 1)[1]
    work = root / 'build' / 'demo'
    listed = re.findall(r'^   (/\S+)', summary, flags=re.MULTILINE)
    assert [str(work / 'sfjwt' / 'server.key'), str(work / 'sfjwt' / 'server.crt'), str(work / 'sfjwt' / 'project')] == listed[:3]
    for path in listed:
        assert Path(path).exists(), path
    assert '1. in one shell: make fake-org   (it prints export lines; it runs until Ctrl-C)' in summary
    assert 'export ANSIBLE_COLLECTIONS_PATH=%s/galaxy/collections\n' % work in summary
    assert '/bin/ansible-playbook sfjwt.salesforce.provision -e sfjwt_provision_deploy=true\n' in summary
    assert run.stdout.rstrip().endswith('== Fake org stopped')


WARNINGS = ('No inventory was parsed', 'provided hosts list is empty')


def readme_command(ansible, playbook, env):
    """`ansible-playbook <playbook>` as the README writes it: no -i, no -c; the ansible.cfg of the current directory."""
    run_env = ansible.base_env()
    run_env.update(env)
    return subprocess.run([str(Path(sys.executable).parent / 'ansible-playbook'), playbook], cwd=str(ansible.workdir), env=run_env,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, check=False)


def test_readme_commands_run_without_inventory_warnings(ansible, fake_org_app):
    env = {'SFJWT_LOGIN_URL': fake_org_app.org.url, 'SFJWT_CA_PATH': fake_org_app.org.ca_path, 'SFJWT_USERNAME': fake_org_app.username,
           'SFJWT_CONSUMER_KEY': fake_org_app.consumer_key, 'SFJWT_PRIVATE_KEY_PATH': str(fake_org_app.key_path)}
    readme = (Path(__file__).resolve().parents[2] / 'README.md').read_text()

    noisy = readme_command(ansible, 'sfjwt.salesforce.limits', env)
    assert noisy.returncode == 0, noisy.stdout + noisy.stderr
    assert all(warning in noisy.stderr for warning in WARNINGS), noisy.stderr

    # The README's ansible.cfg, in the directory the command runs from (base_env's ANSIBLE_CONFIG names that file).
    ini = [block for block in re.findall(r'```ini\n(.*?)```', readme, flags=re.DOTALL) if 'localhost_warning' in block]
    assert len(ini) == 1, ini
    (ansible.workdir / 'ansible.cfg').write_text(ini[0])
    quiet = readme_command(ansible, 'sfjwt.salesforce.limits', env)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert not [warning for warning in WARNINGS if warning in quiet.stdout + quiet.stderr], quiet.stderr
    (ansible.workdir / 'ansible.cfg').unlink()

    # Or the README's export line.
    exported = re.search(r'`export (ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false)`', readme)
    assert exported, 'the README names no export line for the warnings'
    quiet = readme_command(ansible, 'sfjwt.salesforce.limits', dict(env, **dict(pair.split('=') for pair in exported.group(1).split())))
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert not [warning for warning in WARNINGS if warning in quiet.stdout + quiet.stderr], quiet.stderr
