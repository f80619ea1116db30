# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The limits playbook as an AWX job: ansible-runner (the engine AWX and Automation Platform run jobs with) over a private
data directory laid out as AWX lays it out, with the environment and files that the credential type of docs/awx.md
injects. The credential type is read from that page, so the page cannot drift from what is tested."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
RUNNER = BIN_DIR / 'ansible-runner'
PASSPHRASE = 'Awx-Credential-Passphrase-5be1'
JOB = 'sfjwt-limits-job'

pytestmark = pytest.mark.skipif(not RUNNER.exists(), reason='ansible-runner is not installed (tests/requirements/core-*.txt)')


def documented_credential_type():
    """(inputs, injectors) of the "Salesforce JWT Bearer Flow" credential type in docs/awx.md."""
    blocks = [yaml.safe_load(block) for block in re.findall(r'```yaml\n(.*?)```', (REPO_ROOT / 'docs' / 'awx.md').read_text(), re.S)]
    inputs = [block for block in blocks if isinstance(block, dict) and
              'private_key' in [field.get('id') for field in block.get('fields', [])]]
    injectors = [block for block in blocks if isinstance(block, dict) and 'SFJWT_CONSUMER_KEY' in block.get('env', {})]
    assert len(inputs) == 1 and len(injectors) == 1, 'docs/awx.md must show one input and one injector configuration'
    return inputs[0], injectors[0]


class TowerNamespace:
    pass


def inject_credential(inputs, injectors, values, private_data_dir):
    """The environment AWX builds from a credential (AWX's CredentialType.inject_credential): empty inputs are left out
    of the template namespace, every file template is rendered into a temporary file under env/ (mode 0660), and the
    env templates see the files' paths as tower.filename.<name>."""
    field_ids = [field['id'] for field in inputs['fields']]
    assert set(values) <= set(field_ids), 'the test fills in fields the credential type does not have'
    assert set(inputs.get('required', ())) <= set(name for name, value in values.items() if value)
    tower = TowerNamespace()
    namespace = {'tower': tower}
    namespace.update((name, value) for name, value in values.items() if len(value))
    sandbox = ImmutableSandboxedEnvironment()
    for label, template in injectors.get('file', {}).items():
        data = sandbox.from_string(template).render(**namespace)
        handle, path = tempfile.mkstemp(dir=str(private_data_dir / 'env'))
        with os.fdopen(handle, 'w') as file:
            file.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP)
        if not hasattr(tower, 'filename'):
            tower.filename = TowerNamespace()
        setattr(tower.filename, label.split('.', 1)[1], path)
    return {name: sandbox.from_string(template).render(**namespace) for name, template in injectors['env'].items()}


def encrypted_pem(app):
    key = serialization.load_pem_private_key(app.private_key_pem, password=None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(PASSPHRASE.encode())).decode('ascii')


def key_lines(*pems):
    """The base64 lines of PEM blocks: any one of them in the artifacts is key material."""
    return [line for pem in pems for line in pem.splitlines() if line and not line.startswith('-----')]


def run_job(private_data_dir, tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith(('ANSIBLE_', 'SFJWT_', 'REQUESTS_CA'))}
    env.update({'HOME': str(tmp_path / 'home'), 'PATH': '%s%s%s' % (BIN_DIR, os.pathsep, os.environ.get('PATH', ''))})
    (tmp_path / 'home').mkdir()
    return subprocess.run([str(RUNNER), 'run', str(private_data_dir), '-p', 'salesforce_limits.yml', '--ident', JOB],
                          env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize('with_ca_field', [True, False], ids=['CA in the credential', 'empty CA field'])
def test_limits_job_with_the_documented_credential(fake_org_app, installed_collections, tmp_path, with_ca_field):
    inputs, injectors = documented_credential_type()
    private_data_dir = tmp_path / 'job'
    for directory in ('env', 'project', 'inventory'):
        (private_data_dir / directory).mkdir(parents=True)
    key_pem = encrypted_pem(fake_org_app)
    ca_pem = Path(fake_org_app.ca_path).read_text()
    values = {'consumer_key': fake_org_app.consumer_key, 'username': fake_org_app.username, 'private_key': key_pem,
              'private_key_passphrase': PASSPHRASE, 'login_url': fake_org_app.url, 'audience': '',
              'ca_certificate': ca_pem if with_ca_field else ''}
    injected = inject_credential(inputs, injectors, values, private_data_dir)

    key_file = Path(injected['SFJWT_PRIVATE_KEY_PATH'])
    assert key_file.parent == private_data_dir / 'env' and key_file.read_text() == key_pem
    assert injected['SFJWT_AUDIENCE'] == ''
    if with_ca_field:
        assert Path(injected['SFJWT_CA_PATH']).read_text() == ca_pem
        trust = {}
    else:
        # An empty field must not point SFJWT_CA_PATH at the empty file AWX still writes: the image's trust applies.
        assert injected['SFJWT_CA_PATH'] == ''
        trust = {'REQUESTS_CA_BUNDLE': fake_org_app.ca_path}   # an image that trusts the org's CA
    envvars = dict(injected, ANSIBLE_COLLECTIONS_PATH=str(installed_collections), **trust)
    (private_data_dir / 'env' / 'envvars').write_text(yaml.safe_dump(envvars))
    (private_data_dir / 'project' / 'salesforce_limits.yml').write_text(
        '---\n- name: Salesforce limits\n  ansible.builtin.import_playbook: sfjwt.salesforce.limits\n')
    (private_data_dir / 'inventory' / 'hosts').write_text(
        'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n')

    proc = run_job(private_data_dir, tmp_path)
    artifacts = private_data_dir / 'artifacts' / JOB
    stdout = (artifacts / 'stdout').read_text() if (artifacts / 'stdout').exists() else ''
    assert proc.returncode == 0, proc.stdout + proc.stderr + stdout
    assert (artifacts / 'status').read_text() == 'successful'
    assert (artifacts / 'rc').read_text() == '0'
    assert 'answers with API v' in stdout and 'Nothing to upload or deploy.' in stdout, stdout

    org = fake_org_app.org
    assert org.token_requests_by(fake_org_app.username) == 1
    tokens = list(org.sessions)
    assert len(tokens) == 1
    assert org.api_calls()[('GET', '/limits')] == 1

    secrets = {'the access token': [tokens[0]],
               'the private key': key_lines(key_pem, fake_org_app.private_key_pem.decode('ascii'))}
    files = [path for path in artifacts.rglob('*') if path.is_file()]
    assert len(list((artifacts / 'job_events').glob('*.json'))) > 5
    for path in files:
        content = path.read_text(errors='replace')
        for what, values in secrets.items():
            assert not any(value in content for value in values), '%s is in %s' % (what, path.relative_to(private_data_dir))
    # The passphrase is in the job's environment, which ansible-runner records in one private file (and nowhere else).
    holding_passphrase = [path.relative_to(artifacts) for path in files if PASSPHRASE in path.read_text(errors='replace')]
    assert holding_passphrase == [Path('command')]
    assert stat.S_IMODE((artifacts / 'command').stat().st_mode) == 0o600
