# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's playbooks, run as `ansible-playbook sfjwt.salesforce.<name>` against the fake org."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

NS = '{http://soap.sforce.com/2006/04/metadata}'
USERNAME = 'integration@example.com'
PERMISSION_SET = 'SFJWT_Integration'
ROLE = 'sfjwt.salesforce.provision : '


@pytest.fixture
def org(fake_org, ansible):
    fake_org.metadata_dir = ansible.workdir / 'sfjwt' / 'project'
    fake_org.add_user(USERNAME, permission_sets=[PERMISSION_SET])
    yield fake_org
    fake_org.metadata_dir = None


def env_for(org):
    # Everything from the environment, as the README and AWX credentials do it; no secret in a playbook.
    return {'SFJWT_LOGIN_URL': org.url, 'SFJWT_CA_PATH': org.ca_path, 'SFJWT_USERNAME': USERNAME,
            'SFJWT_CONTACT_EMAIL': 'admin@example.com'}


PROVISION_VARS = {'sfjwt_provision_permission_sets': [PERMISSION_SET]}


def deployed_certificate(workdir):
    path = next((workdir / 'sfjwt' / 'project').rglob('*.ecaGlblOauth-meta.xml'))
    return ET.parse(str(path)).getroot().find(NS + 'certificate').text


def body(cert_path):
    return ''.join(line for line in Path(cert_path).read_text().splitlines() if not line.startswith('-----'))


def test_provision_limits_and_rotate(ansible, org):
    env = env_for(org)
    workdir = ansible.workdir
    key_path, cert_path = workdir / 'sfjwt' / 'server.key', workdir / 'sfjwt' / 'server.crt'

    first = ansible.playbook('sfjwt.salesforce.provision', env=env, extra_vars=PROVISION_VARS)
    assert first.rc == 0, first.output
    lines = first.result('Say what to deploy next')['msg']
    assert lines[0] == 'Key: %s' % key_path
    assert lines[-2] == 'Token for %s works at %s (API v62.0, GET limits verified).' % (USERNAME, org.url)
    assert lines[-1] == ('NEXT: deploy the changed metadata to the org: cd %s && sf project deploy start --manifest '
                         'manifest/package.xml --target-org <alias>' % (workdir / 'sfjwt' / 'project'))

    second = ansible.playbook('sfjwt.salesforce.provision', env=env, extra_vars=PROVISION_VARS)
    assert second.rc == 0, second.output
    consumer_key = second.result(ROLE + 'Write the app metadata for this certificate')['consumer_key']
    assert second.result('Say what to deploy next')['msg'][-1] == (
        'NEXT: nothing to deploy or upload. Call the API with: ansible-playbook sfjwt.salesforce.limits (with '
        'SFJWT_CONSUMER_KEY=%s, SFJWT_USERNAME, SFJWT_PRIVATE_KEY_PATH=%s).' % (consumer_key, key_path))
    assert org.token_requests == 1

    # limits finds the key and the app that provision wrote with its defaults
    limits = ansible.playbook('sfjwt.salesforce.limits', env=env)
    assert limits.rc == 0, limits.output
    shown = limits.result('Show the limits')['msg']
    assert re.match(r'^DailyApiRequests: \d+ of 100000 remaining$', [s for s in shown if s.startswith('DailyApiRequests')][0])
    assert len(shown) == len(limits.result('Get the limits (GET /services/data/vNN.N/limits)')['json'])
    nxt = limits.result('Say what comes next')['msg']
    assert nxt.startswith('%s answers with API v62.0, API usage ' % org.url)
    assert 'Nothing to upload or deploy.' in nxt
    assert org.token_requests == 1

    # a new certificate for the same key: tokens keep working, the metadata holds the new certificate
    key_before, cert_before = key_path.read_bytes(), cert_path.read_bytes()
    rotate = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=env, extra_vars=PROVISION_VARS)
    assert rotate.rc == 0, rotate.output
    assert key_path.read_bytes() == key_before and cert_path.read_bytes() != cert_before
    assert deployed_certificate(workdir) == body(cert_path)
    assert list(cert_path.parent.glob('server.crt.*~')), 'the replaced certificate is kept as a backup'
    msg = rotate.result('Say what to deploy next')['msg']
    assert msg[0].startswith('New certificate %s (SHA-256 ' % cert_path) and msg[0].endswith(', same key %s' % key_path)
    assert msg[1].startswith('NEXT: deploy the updated app metadata so that Salesforce knows the new certificate: cd ')
    assert msg[2] == 'Tokens keep working meanwhile: the key is the same.'
    assert rotate.result(ROLE + 'Verify access with GET limits')['status'] == 200

    # a new key: no token until the new certificate is deployed
    rotate_key = ansible.playbook('sfjwt.salesforce.rotate_certificate', env=env,
                                  extra_vars=dict(PROVISION_VARS, sfjwt_provision_regenerate_key=True))
    assert rotate_key.rc == 0, rotate_key.output
    assert key_path.read_bytes() != key_before
    backups = list(key_path.parent.glob('server.key.*~'))
    assert len(backups) == 1 and backups[0].read_bytes() == key_before
    msg = rotate_key.result('Say what to deploy next')['msg']
    assert ', for a NEW key %s; the old key is kept as %s' % (key_path, backups[0]) in msg[0]
    assert msg[2] == 'Until then no token can be obtained with the new key.'
    assert rotate_key.status(ROLE + 'Get an access token with the JWT Bearer Flow') == 'skipped'
    requests_before = org.token_requests

    # once "deployed" (the fake org reads the project), the new key gets a token
    again = ansible.playbook('sfjwt.salesforce.limits', env=env)
    assert again.rc == 0, again.output
    assert org.token_requests == requests_before + 1
