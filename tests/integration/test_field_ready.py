# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a user reads when running the README's commands: what happened, not what did not; messages that say where to look."""

from __future__ import annotations

from test_playbooks import PROVISION_VARS, env_for, org  # noqa: F401 pylint: disable=unused-import

ROTATION_TASKS = ('Wait until a token with the new key works', 'Move the new key into place', 'Move the new certificate into place',
                  'Remove the staged key and certificate', 'Forget the cached token of the old key')
DEPLOY_TASKS = ('Deploy the app metadata to the org', 'Find the integration user', 'Find the permission sets',
                'Assign the permission sets the user does not hold yet')


def skipped_lines(run):
    return [line for line in run.stdout.splitlines() if line.startswith('skipping:')]


def test_provision_shows_what_happened_not_what_did_not(ansible, org):  # noqa: F811
    # Before: 17 "skipping:" lines on the first run with deploy, 19 on the rerun, 7 of them the rotation's.
    for attempt in ('first run', 'rerun'):
        run = ansible.playbook('sfjwt.salesforce.provision', env=env_for(org), extra_vars=PROVISION_VARS)
        assert run.rc == 0, run.output
        assert len(skipped_lines(run)) <= 5, '%s:\n%s' % (attempt, run.stdout)
        for task in ROTATION_TASKS:
            assert task not in run.stdout, run.stdout


def test_provision_without_deploy_shows_no_deploy_or_rotation_task(ansible, org):  # noqa: F811
    run = ansible.playbook('sfjwt.salesforce.provision', env=env_for(org),
                           extra_vars={'sfjwt_provision_permission_sets': ['SFJWT_Integration'], 'sfjwt_provision_get_token': False})
    assert run.rc == 0, run.output
    # One line for each branch not taken (deploy, rotation, token, verification, ...), none per task inside one.
    assert len(skipped_lines(run)) <= 8, run.stdout
    for task in ROTATION_TASKS + DEPLOY_TASKS:
        assert task not in run.stdout, run.stdout


def test_limits_and_doctor_outside_the_provision_directory_say_where_they_looked(ansible, org):  # noqa: F811
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
