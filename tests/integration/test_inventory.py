# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sfjwt.salesforce.orgs inventory against a fake fleet: listed orgs, a Dev Hub's scratch orgs and a production's
sandboxes as hosts in their groups, what discovery costs, the inventory cache, failing sources, secrets kept out, and a
play that reaches every org with no auth option."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from fake_org.identities import ADMIN_CONSUMER_KEY, generate_key_and_certificate, write_private_file
from fake_org.pytest_plugin import fleet_admin_material

from conftest import BIN_DIR, oldest_and_newest_core_in_worker

pytestmark = oldest_and_newest_core_in_worker

SANDBOXES = ('uat', 'Dev1', 'qa', 'perf', 'train', 'hotfix')
PASSPHRASE = 'inventory-passphrase-7f3a'


class Fleet:
    """A fake fleet with a production org and its sandboxes, a Dev Hub and its scratch orgs, and a customer org, all
    approving the admin app; and the inventory files that describe it."""

    def __init__(self, fleet, workdir: Path):
        self.fleet = fleet
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        key_path, cert_pem = fleet_admin_material()
        self.key_path = str(key_path)
        self.key_pem = Path(key_path).read_bytes()
        self.prod = fleet.add_org('acme', edition='Enterprise Edition', instance_name='NA1')
        fleet.add_admin(self.prod, cert_pem)
        for name in SANDBOXES:
            fleet.add_sandbox(self.prod, name)
        self.hub = fleet.add_org('hub', kind='devhub', edition='Developer Edition', instance_name='NA2')
        fleet.add_admin(self.hub, cert_pem)
        fleet.add_scratch_org(self.hub, 'Feature One', signup_username='test-feature1@example.com')
        fleet.add_scratch_org(self.hub, 'feature2', signup_username='test-feature2@example.com')
        fleet.add_scratch_org(self.hub, 'old', signup_username='test-old@example.com', status='Expired')
        self.customer = fleet.add_org('customer1')
        fleet.add_admin(self.customer, cert_pem)

    def orgs(self):
        return list(self.fleet.orgs.values())

    def requests(self):
        """Every request the fleet's orgs received, and its token requests (the login host routes them to the orgs)."""
        return sum(len(org.received_log()) for org in self.orgs()), self.fleet.token_requests()

    def issued_tokens(self):
        return [token for org in self.orgs() for token in org.issued_access_tokens()]

    def write(self, name, **config):
        data = {'plugin': 'sfjwt.salesforce.orgs',
                'defaults': {'consumer_key': ADMIN_CONSUMER_KEY, 'private_key_path': self.key_path,
                             'ca_path': str(self.fleet.ca_path)}}
        data.update(config)
        path = self.workdir / ('%s.sfjwt_orgs.yml' % name)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return str(path)

    def customer_entry(self):
        return {'name': 'customer1', 'username': 'admin@customer1.example.com', 'login_url': self.customer.url,
                'vars': {'sfjwt_edition': 'Enterprise Edition'}}

    def devhub_entry(self, **more):
        return dict({'name': 'hub', 'username': 'admin@hub.example.com', 'login_url': self.fleet.login_url}, **more)

    def sandboxes_entry(self, **more):
        return dict({'name': 'acme', 'username': 'admin@acme.example.com', 'login_url': self.fleet.login_url,
                     'sandbox_login_url': self.fleet.login_url}, **more)

    def everything(self, name='fleet', **more):
        return self.write(name, orgs=[self.customer_entry()], devhub=self.devhub_entry(),
                          sandboxes_of=self.sandboxes_entry(org_facts=True), **more)


@pytest.fixture
def orgs(fake_fleet, tmp_path):
    return Fleet(fake_fleet, tmp_path / 'inventories')


def inventory(ansible, path, *args, env=None):
    """ansible-inventory -i path args, as a user runs it against the installed collection: (rc, stdout, stderr)."""
    run_env = ansible.base_env()
    run_env.update(ansible.env)
    run_env.update({'COLUMNS': '1000'})   # warnings on one line each
    run_env.update(env or {})
    proc = subprocess.run([str(BIN_DIR / 'ansible-inventory'), '-i', path] + list(args), cwd=str(ansible.workdir),
                          env=run_env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def plain(value):
    """A value of ansible-inventory --list without its unsafe marks (ansible-core 2.19 writes what no template may
    expand as {"__ansible_unsafe": value})."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def listed(ansible, path, env=None):
    rc, out, err = inventory(ansible, path, '--list', env=env)
    assert rc == 0, out + err
    return plain(json.loads(out)), out, err


def group_hosts(data, group):
    return sorted(data.get(group, {}).get('hosts', []))


def squeezed(text):
    """Text without its white space: ansible-core 2.16 wraps warnings and errors at 80 columns (and after a '-')."""
    return re.sub(r'\s+', '', text)


EVERY_HOST = ['acme', 'acme-dev1', 'acme-hotfix', 'acme-perf', 'acme-qa', 'acme-train', 'acme-uat', 'customer1',
              'feature-one', 'feature2', 'hub']


def test_graph_shows_the_orgs_of_every_source_in_their_groups(ansible, orgs):
    path = orgs.everything()
    rc, out, err = inventory(ansible, path, '--graph')
    assert rc == 0, out + err
    assert '[WARNING]' not in err, err
    lines = [line.strip(' |-') for line in out.splitlines()]
    for group in ('@sfjwt_orgs:', '@production:', '@sandbox:', '@scratch:', '@status_completed:', '@status_active:',
                  '@edition_developer:', '@edition_enterprise_edition:'):
        assert group in lines, out
    data, dummy, dummy = listed(ansible, path)
    hostvars = data['_meta']['hostvars']
    assert sorted(hostvars) == EVERY_HOST
    assert group_hosts(data, 'sfjwt_orgs') == EVERY_HOST
    assert group_hosts(data, 'production') == ['acme', 'customer1', 'hub']
    assert group_hosts(data, 'sandbox') == ['acme-dev1', 'acme-hotfix', 'acme-perf', 'acme-qa', 'acme-train', 'acme-uat']
    assert group_hosts(data, 'scratch') == ['feature-one', 'feature2']
    assert group_hosts(data, 'status_completed') == group_hosts(data, 'sandbox')
    assert group_hosts(data, 'status_active') == ['feature-one', 'feature2']
    # org_facts on acme: its instance and edition, and its sandboxes' edition; customer1 has it from its vars.
    assert group_hosts(data, 'edition_enterprise_edition') == ['acme'] + group_hosts(data, 'sandbox') + ['customer1']
    assert group_hosts(data, 'instance_na1') == ['acme']

    uat = hostvars['acme-uat']
    assert {name: uat[name] for name in ('ansible_connection', 'sfjwt_username', 'sfjwt_login_url', 'sfjwt_audience',
                                         'sfjwt_consumer_key', 'sfjwt_private_key_path', 'sfjwt_org_kind',
                                         'sfjwt_sandbox_name', 'sfjwt_source', 'sfjwt_org_id')} == {
        'ansible_connection': 'local', 'sfjwt_username': 'admin@acme.example.com.uat', 'sfjwt_login_url': orgs.fleet.login_url,
        'sfjwt_audience': 'https://test.salesforce.com', 'sfjwt_consumer_key': ADMIN_CONSUMER_KEY,
        'sfjwt_private_key_path': orgs.key_path, 'sfjwt_org_kind': 'sandbox', 'sfjwt_sandbox_name': 'uat',
        'sfjwt_source': 'acme', 'sfjwt_org_id': orgs.fleet.orgs['acme-uat'].org_id}
    assert hostvars['acme-dev1']['sfjwt_username'] == 'admin@acme.example.com.dev1'
    feature = hostvars['feature-one']
    assert (feature['sfjwt_username'], feature['sfjwt_login_url'], feature['sfjwt_org_label'], feature['sfjwt_source']) == (
        'test-feature1@example.com', orgs.fleet.orgs['Feature One'].url, 'Feature One', 'hub')
    assert hostvars['hub']['sfjwt_org_id'] == orgs.hub.org_id
    assert hostvars['customer1']['sfjwt_source'] == 'orgs'


def test_list_and_the_inventory_cache_hold_no_key_token_or_passphrase(ansible, orgs, tmp_path):
    # The same key, encrypted: the passphrase comes from the environment, as the inventory asks.
    key = serialization.load_pem_private_key(orgs.key_pem, password=None)
    encrypted = tmp_path / 'encrypted.key'
    write_private_file(encrypted, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.BestAvailableEncryption(PASSPHRASE.encode())))
    cache_dir = tmp_path / 'inventory-cache'
    path = orgs.write('secrets', defaults={'consumer_key': ADMIN_CONSUMER_KEY, 'private_key_path': str(encrypted),
                                           'ca_path': str(orgs.fleet.ca_path)},
                      orgs=[orgs.customer_entry()], devhub=orgs.devhub_entry(), sandboxes_of=orgs.sandboxes_entry(),
                      cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(cache_dir))
    data, out, err = listed(ansible, path, env={'SFJWT_PRIVATE_KEY_PASSPHRASE': PASSPHRASE})
    assert '[WARNING]' not in err, err
    assert sorted(data['_meta']['hostvars']) == EVERY_HOST   # discovery logged in with the passphrase

    cached = [file.read_text() for file in cache_dir.iterdir() if file.is_file()]
    assert cached, 'the inventory cache holds no file'
    tokens = orgs.issued_tokens()
    assert len(tokens) == 2   # one login per discovery source
    key_body = ''.join(orgs.key_pem.decode().strip().splitlines()[1:-1])
    encrypted_body = ''.join(encrypted.read_text().strip().splitlines()[1:-1])
    for text in [out, err] + cached:
        assert PASSPHRASE not in text
        for token in tokens:
            assert token not in text and token.split('!', 1)[1] not in text
        for body in (key_body, encrypted_body):
            for start in range(0, len(body) - 64, 64):
                assert body[start:start + 64] not in text
        assert 'BEGIN' not in text


def test_a_key_or_passphrase_in_the_file_is_refused_with_the_way_to_give_it(ansible, orgs):
    path = orgs.write('refused', orgs=[dict(orgs.customer_entry(), private_key_passphrase=PASSPHRASE)])
    rc, out, err = inventory(ansible, path, '--list', env={'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': 'true'})
    assert rc != 0
    assert squeezed('%s: orgs[0] (customer1) sets private_key_passphrase. The inventory does not take keys or passphrases'
                    % path) in squeezed(err)
    assert 'SFJWT_PRIVATE_KEY_PASSPHRASE' in err
    assert PASSPHRASE not in out + err


def test_sandbox_discovery_is_one_login_and_two_queries(ansible, orgs):
    path = orgs.write('sandboxes', sandboxes_of=orgs.sandboxes_entry(add_host=False))
    data, dummy, err = listed(ansible, path)
    assert sorted(data['_meta']['hostvars']) == ['acme-%s' % name.lower() for name in sorted(SANDBOXES, key=str.lower)]
    assert orgs.fleet.token_requests() == 1
    received = orgs.prod.received_log()
    queries = [entry for entry in received if '/query' in entry['path']]
    assert len(queries) <= 2, queries
    assert all('/tooling/query' in entry['path'] for entry in queries)
    # Discovery never asks a sandbox.
    sandboxes = [org for org in orgs.orgs() if orgs.fleet.kind(org) == 'sandbox']
    assert len(sandboxes) == len(SANDBOXES)
    assert [org.received_log() for org in sandboxes] == [[]] * len(SANDBOXES)


def test_a_second_run_with_the_inventory_cache_makes_no_request(ansible, orgs, tmp_path):
    path = orgs.everything('cached', cache=True, cache_plugin='ansible.builtin.jsonfile',
                           cache_connection=str(tmp_path / 'inventory-cache'))
    first, dummy, dummy = listed(ansible, path)
    before = orgs.requests()
    assert before[1] == 2
    second, dummy, err = listed(ansible, path)
    assert orgs.requests() == before
    assert second == first
    # --flush-cache asks again (the token is reused from the token cache: queries only).
    playbook = ansible.workdir / 'nothing.yml'
    playbook.write_text('- hosts: all\n  gather_facts: false\n  tasks: []\n')
    run = ansible.playbook(str(playbook), inventory=path, extra_args=['--flush-cache'])
    assert run.rc == 0, run.output
    requests, token_requests = orgs.requests()
    assert requests > before[0] and token_requests == before[1]


def test_a_failing_source_is_a_warning_naming_it_unless_strict(ansible, orgs, tmp_path):
    wrong_key = tmp_path / 'wrong.key'
    write_private_file(wrong_key, generate_key_and_certificate('not-the-app')[0])
    config = dict(orgs=[orgs.customer_entry()], devhub=orgs.devhub_entry(private_key_path=str(wrong_key)),
                  sandboxes_of=orgs.sandboxes_entry())
    path = orgs.write('failing', **config)
    data, dummy, err = listed(ansible, path)
    assert sorted(data['_meta']['hostvars']) == [name for name in EVERY_HOST if name not in ('hub', 'feature-one', 'feature2')]
    assert squeezed('[WARNING]: %s: devhub (hub): login failed:' % path) in squeezed(err)

    strict = orgs.write('failing_strict', strict=True, **config)
    rc, out, err = inventory(ansible, strict, '--list', env={'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': 'true'})
    assert rc != 0
    assert squeezed('%s: devhub (hub): login failed:' % strict) in squeezed(err)
    assert squeezed('strict is true: a failing source fails the inventory') in squeezed(err)


def test_with_every_source_failing_the_playbooks_run_on_no_org_not_on_the_environment_s(ansible, orgs, tmp_path):
    """An AWX job's credential puts an org's identity in SFJWT_*: an inventory whose discovery failed must not send the
    collection's playbooks there (they run on the group sfjwt_orgs, which exists even when empty)."""
    wrong_key = tmp_path / 'wrong.key'
    write_private_file(wrong_key, generate_key_and_certificate('not-the-app')[0])
    path = orgs.write('all_failing', sandboxes_of=orgs.sandboxes_entry(private_key_path=str(wrong_key)))
    ansible.env.update({'SFJWT_LOGIN_URL': orgs.customer.url, 'SFJWT_USERNAME': 'admin@customer1.example.com',
                        'SFJWT_CONSUMER_KEY': ADMIN_CONSUMER_KEY, 'SFJWT_PRIVATE_KEY_PATH': orgs.key_path,
                        'SFJWT_CA_PATH': str(orgs.fleet.ca_path)})
    before = orgs.customer.token_requests
    run = ansible.playbook('sfjwt.salesforce.limits', inventory=path)
    assert run.rc == 0, run.output
    assert 'skipping: no hosts matched' in run.stdout
    assert orgs.customer.token_requests == before


PLAY = '''
- hosts: all
  gather_facts: false
  tasks:
    - name: limits
      sfjwt.salesforce.rest:
        path: limits
'''


def test_a_play_reaches_every_org_with_no_auth_option_and_reuses_discovery_logins(ansible, orgs):
    path = orgs.everything()
    playbook = ansible.workdir / 'limits.yml'
    playbook.write_text(PLAY)
    run = ansible.playbook(str(playbook), inventory=path, forks=4)
    assert run.rc == 0, run.output
    for host in EVERY_HOST:
        result = run.result('limits', host)
        assert result['status'] == 200 and 'DailyApiRequests' in result['json'], (host, result)
    # One login per org: the production org and the Dev Hub reuse the session discovery cached.
    assert orgs.fleet.token_requests() == len(EVERY_HOST)
    assert orgs.prod.token_requests == 1 and orgs.hub.token_requests == 1
    for name, org in orgs.fleet.orgs.items():
        assert org.daily_api_remaining < org.daily_api_max, name
    assert not any(token in run.output for token in orgs.issued_tokens())
