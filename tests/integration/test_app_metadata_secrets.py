# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sfjwt.salesforce.app_metadata through ansible-playbook --diff: a consumer secret that a retrieve from the org put in a
settings file is never printed, in check mode or not, and the rewritten file keeps it."""

from __future__ import annotations

import os

import pytest

from fake_org.pytest_plugin import generate_key_and_certificate

SECRET = '9D1C4E7A0B3F6E2D8C5A1F4B7E0D3C6A9F2E5B8D1C4A7F0E3B6D9C2F5A8E1B4D'
TASK = 'Write the app metadata'
SETTINGS = {
    'eca': 'force-app/main/default/extlClntAppGlobalOauthSets/SecretKept.ecaGlblOauth-meta.xml',
    'connected app': 'force-app/main/default/connectedApps/SecretKept.connectedApp-meta.xml',
}


@pytest.mark.parametrize('kind', sorted(SETTINGS))
def test_diff_never_prints_a_retrieved_consumer_secret_and_the_rewrite_keeps_it(ansible, tmp_path, kind):
    dummy, cert_pem = generate_key_and_certificate('secret-kept')
    cert_path = tmp_path / 'app.crt'
    cert_path.write_bytes(cert_pem)
    project = ansible.workdir / 'project'
    extra = {'project_dir': str(project), 'certificate_path': str(cert_path), 'connected_app': kind == 'connected app',
             'callback_url': 'https://example.com/first'}
    first = ansible.playbook('app_metadata_consumer_secret.yml', extra_vars=extra)
    assert first.rc == 0, first.output[-4000:]
    settings = project / SETTINGS[kind]
    retrieved = settings.read_text().replace(
        '</consumerKey>', '</consumerKey>\n        <consumerSecret>%s</consumerSecret>' % SECRET, 1)
    settings.write_text(retrieved)

    extra['callback_url'] = 'https://example.com/second'
    check = ansible.playbook('app_metadata_consumer_secret.yml', extra_vars=extra, check=True, diff=True, verbosity=3)
    assert check.rc == 0, check.output[-4000:]
    assert settings.read_text() == retrieved
    real = ansible.playbook('app_metadata_consumer_secret.yml', extra_vars=extra, diff=True, verbosity=3)
    assert real.rc == 0, real.output[-4000:]
    for run in (check, real):
        assert SECRET not in run.output and SECRET not in repr(run.records)
        # the diff is printed (the old callback URL goes), with the placeholder on both sides
        assert 'https://example.com/first</callbackUrl>' in run.output and '(consumer secret, not shown)' in run.output
        entry = next(entry for entry in run.result(TASK)['diff'] if entry['after_header'] == str(settings))
        assert '(consumer secret, not shown)' in entry['before'] and '(consumer secret, not shown)' in entry['after']
    content = settings.read_text()
    assert '<consumerSecret>%s</consumerSecret>' % SECRET in content and 'https://example.com/second' in content
    assert os.stat(str(settings)).st_mode & 0o777 == 0o600
