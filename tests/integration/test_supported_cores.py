# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a user runs first, on every ansible-core the collection supports (scripts/test.sh runs this file on each), in
both places the API modules run: the README's first example as written, a token lookup, a record task and the doctor.
No deprecation warning comes from the collection."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO_ROOT

README_EXAMPLE = 'the README first example'
FIRST_TASKS = [
    {'name': 'A lookup, by the short name users write',
     'ansible.builtin.assert': {'that': ["lookup('sfjwt.token') | length > 20"], 'quiet': True}},
    {'name': 'A record', 'sfjwt.salesforce.record': {
        'sobject': 'Integration_Setting__c', 'external_id_field': 'Key__c',
        'records': [{'Key__c': 'cross-core', 'Name': 'Cross core', 'Value__c': 'v1'}]}},
    {'name': 'The record read back', 'register': 'info', 'sfjwt.salesforce.record_info': {
        'sobject': 'Integration_Setting__c', 'fields': ['Key__c', 'Value__c'], 'where': {'Key__c': 'cross-core'}}},
    {'name': 'The doctor', 'sfjwt.salesforce.doctor': {}},
]


def readme_example():
    """The first YAML block of the README, as a user copies it."""
    text = (REPO_ROOT / 'README.md').read_text()
    return yaml.safe_load(re.search(r'```yaml\n(.*?)```', text, re.S).group(1))


@pytest.mark.parametrize('in_process', ['true', 'false'], ids=['in the worker', 'as module processes'])
def test_what_a_user_runs_first(ansible, fake_org_app, installed_collection_dir, in_process):
    plays = readme_example()
    assert [task['name'] for task in plays[0]['tasks']][:2] == [
        'Key and self-signed certificate for the app (an existing key is never replaced)',
        'Call Salesforce with a token (minted once, then reused from the cache)']
    plays[0]['tasks'].extend(FIRST_TASKS)
    playbook = ansible.workdir / 'first.yml'
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    # the one line the lookup documentation tells users to add for the short name
    (ansible.workdir / 'ansible.cfg').write_text('[defaults]\nlookup_plugins = %s\n' % (installed_collection_dir / 'playbooks' / 'lookup_plugins'))
    home = ansible.workdir / 'home'
    home.mkdir()
    env = dict(fake_org_app.sfjwt_env(), HOME=str(home), SFJWT_IN_PROCESS=in_process, ANSIBLE_DEPRECATION_WARNINGS='true')
    run = ansible.playbook(playbook, env=env)
    assert run.rc == 0, run.output
    assert (home / '.salesforce' / 'server.key').stat().st_mode & 0o777 == 0o600
    assert (home / '.salesforce' / 'server.crt').is_file()
    assert run.result('Call Salesforce with a token (minted once, then reused from the cache)')['status'] == 200
    assert run.result('The record read back')['records'] == [{'Key__c': 'cross-core', 'Value__c': 'v1'}]
    assert run.result('The doctor')['ok'] is True
    # one login shared by the rest module, the lookup and the record tasks; the doctor logs in once itself (it checks the login)
    assert fake_org_app.org.token_requests == 2
    assert 'DEPRECATION' not in run.output, run.output
