# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`ansible-playbook sfjwt.salesforce.doctor` against the fake org: each broken setup is named by its cause, first."""

from __future__ import annotations

import re

import pytest

from fake_org import SANDBOX_AUDIENCE
from fake_org.pytest_plugin import DEFAULT_PERMISSION_SET, generate_key_and_certificate

DOCTOR = 'sfjwt.salesforce.doctor'
TASK = 'Check the settings, key, certificate, token host and clock; one login, one REST call'


def cause_lines(run):
    lines = [line for line in run.output.splitlines() if line.startswith(('Cause: ', 'Next step: '))]
    assert len(lines) == 2, run.output
    return lines


def assert_no_secret(run, app, org):
    for token in org.sessions:
        assert token not in run.output
    key_lines = [line for line in app.private_key_pem.decode('ascii').splitlines() if line and not line.startswith('-----')]
    assert not any(line in run.output for line in key_lines)


def test_a_working_setup_is_reported_with_where_each_setting_came_from(ansible, fake_org_app):
    org = fake_org_app.org
    env = fake_org_app.sfjwt_env(SFJWT_USERNAME=None, SFJWT_CERTIFICATE_PATH=str(fake_org_app.cert_path))
    run = ansible.playbook(DOCTOR, env=env, extra_vars={'sfjwt_username': fake_org_app.username}, verbosity=4)
    assert run.rc == 0, run.output
    result = run.result(TASK)
    assert result['ok'] is True and result['cause'] is None
    assert [check['name'] for check in result['checks']] == ['settings', 'key', 'certificate', 'dns', 'tcp', 'tls', 'clock',
                                                             'audience', 'login', 'rest']
    assert {check['status'] for check in result['checks']} == {'ok'}
    assert result['sources'] == {
        'consumer_key': 'environment SFJWT_CONSUMER_KEY', 'username': 'variable sfjwt_username',
        'private_key_path': 'environment SFJWT_PRIVATE_KEY_PATH', 'certificate_path': 'environment SFJWT_CERTIFICATE_PATH',
        'login_url': 'environment SFJWT_LOGIN_URL', 'ca_path': 'environment SFJWT_CA_PATH', 'cache_dir': 'environment SFJWT_CACHE_DIR',
        'validate_certs': 'default', 'timeout': 'default', 'retries': 'default', 'cache': 'default', 'cache_ttl': 'default'}
    assert 'username from the variable sfjwt_username' in run.output
    assert 'consumer_key from the environment variable SFJWT_CONSUMER_KEY' in run.output
    assert 'Result: the login and the REST call work with these settings.' in run.output
    assert 'the certificate in certificate_path %s belongs to the key' % fake_org_app.cert_path in run.output
    assert 'issued by O=trustme' in run.output and ', trusted.' in run.output
    assert org.token_requests == 1
    assert_no_secret(run, fake_org_app, org)

    # The pre-flight's token is kept: the job after it does not log in again.
    limits = ansible.playbook('sfjwt.salesforce.limits', env=fake_org_app.sfjwt_env())
    assert limits.rc == 0, limits.output
    assert org.token_requests == 1


def _wrong_audience(app, tmp_path):
    app.org.accepted_audience = SANDBOX_AUDIENCE
    return {}


def _unknown_consumer_key(app, tmp_path):
    return {'SFJWT_CONSUMER_KEY': 'SFJWTNOSUCHAPP00000001'}


def _user_not_preauthorized(app, tmp_path):
    app.org.add_user('newcomer@example.com')
    return {'SFJWT_USERNAME': 'newcomer@example.com'}


def _key_not_matching_the_certificate(app, tmp_path):
    # The app has another key's certificate, the one certificate_path names: the user kept the wrong key.
    dummy, other_certificate = generate_key_and_certificate('sfjwt-doctor-other')
    path = tmp_path / 'uploaded.crt'
    path.write_bytes(other_certificate)
    app.org.add_app(app.consumer_key, other_certificate, admin_approved=True, permission_sets=[DEFAULT_PERMISSION_SET])
    return {'SFJWT_CERTIFICATE_PATH': str(path)}


def _uploaded_certificate_of_another_key(app, tmp_path):
    dummy, other_certificate = generate_key_and_certificate('sfjwt-doctor-other')
    app.org.add_app(app.consumer_key, other_certificate, admin_approved=True, permission_sets=[DEFAULT_PERMISSION_SET])
    return {}


def _clock_ten_minutes_off(app, tmp_path):
    app.org.clock_offset = 600
    return {}


def _untrusted_ca(app, tmp_path):
    return {'SFJWT_CA_PATH': None}


CASES = {
    'wrong audience': (_wrong_audience, 'audience', 1,
                       'Cause: Salesforce at {url} refused the audience https://login.salesforce.com (derived from login_url).'),
    'unknown consumer key': (_unknown_consumer_key, 'consumer_key', 1,
                             'Cause: Salesforce at {url} does not know the consumer key SFJWTNOSUCHAPP00000001 '
                             '(invalid_client_id).'),
    'user not pre-authorized': (_user_not_preauthorized, 'not_preauthorized', 1,
                                'Cause: User newcomer@example.com is not pre-authorized for the app with consumer key '
                                '{consumer_key} (user hasn\'t approved this consumer).'),
    'key not matching the certificate': (_key_not_matching_the_certificate, 'key_certificate_mismatch', 1,
                                         'Cause: The private key does not match the certificate: certificate_path {tmp}/'
                                         'uploaded.crt (SHA-256 '),
    'uploaded certificate of another key': (_uploaded_certificate_of_another_key, 'key_certificate_mismatch', 1,
                                            'Cause: Salesforce could not verify the signature: the certificate uploaded to '
                                            'the app is not the one of this key (public key SHA-256 '),
    'server clock 10 minutes off': (_clock_ten_minutes_off, 'clock_skew', 1,
                                    re.compile(r"Cause: This machine's clock is (59[5-9]|60[0-5]) s behind Salesforce's \(")),
    'untrusted CA': (_untrusted_ca, 'untrusted_ca', 0,
                     'Cause: The TLS certificate of localhost is issued by O=trustme'),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_the_doctor_names_the_cause_first(ansible, fake_org_app, tmp_path, case):
    breaks, code, logins, first_cause = CASES[case]
    org = fake_org_app.org
    env = fake_org_app.sfjwt_env(**breaks(fake_org_app, tmp_path))
    run = ansible.playbook(DOCTOR, env=env)
    assert run.rc == 2, run.output
    result = run.result(TASK)
    assert result['ok'] is False
    assert result['cause_code'] == code, run.output
    cause, next_step = cause_lines(run)
    if isinstance(first_cause, re.Pattern):   # the clock difference is measured: a second either way
        assert first_cause.match(cause), cause
    else:
        assert cause.startswith(first_cause.format(url=org.url, consumer_key=fake_org_app.consumer_key, tmp=tmp_path)), cause
    assert next_step == 'Next step: %s' % result['next_step']
    # The play fails on the cause and its next step, in the task that names it.
    assert run.result('Name the cause')['msg'] == '%s Next step: %s' % (result['cause'], result['next_step'])
    # Exactly one login at most: each refused one counts against the user's limit.
    assert org.token_requests == logins
    assert_no_secret(run, fake_org_app, org)


def test_a_refused_login_leaves_no_token_and_nothing_secret_at_vvvv(ansible, fake_org_app):
    org = fake_org_app.org
    run = ansible.playbook(DOCTOR, env=fake_org_app.sfjwt_env(SFJWT_CONSUMER_KEY='SFJWTNOSUCHAPP00000001'), verbosity=4)
    assert run.rc == 2
    assert_no_secret(run, fake_org_app, org)
    # The cache may remember the refusal for a moment (so that concurrent runs do not log in again), never a token.
    assert not any('access_token' in path.read_text() for path in (ansible.workdir / 'token-cache').glob('*.json'))


def test_a_cached_token_does_not_stand_in_for_the_login(ansible, fake_org_app):
    """The doctor checks the login itself: a token another run cached proves nothing about today's settings."""
    org = fake_org_app.org
    limits = ansible.playbook('sfjwt.salesforce.limits', env=fake_org_app.sfjwt_env())
    assert limits.rc == 0, limits.output
    assert org.token_requests == 1 and list((ansible.workdir / 'token-cache').glob('*.json'))
    run = ansible.playbook(DOCTOR, env=fake_org_app.sfjwt_env())
    assert run.rc == 0, run.output
    assert org.token_requests == 2
    assert run.result(TASK)['ok'] is True


def test_check_mode_diagnoses_but_keeps_no_token(ansible, fake_org_app):
    run = ansible.playbook(DOCTOR, env=fake_org_app.sfjwt_env(), check=True)
    assert run.rc == 0, run.output
    assert fake_org_app.org.token_requests == 1
    assert '(kept in the token cache' not in run.output
    assert not list((ansible.workdir / 'token-cache').glob('*.json'))


def test_a_provisioned_directory_is_compared_with_the_key(ansible, fake_org_app):
    # What the provision playbook leaves in ./sfjwt: the key, its certificate and the app's metadata with the consumer key.
    provisioned = ansible.workdir / 'sfjwt'
    settings = provisioned / 'project' / 'force-app' / 'main' / 'default' / 'extlClntAppGlobalOauthSets'
    settings.mkdir(parents=True)
    (provisioned / 'server.key').write_bytes(fake_org_app.private_key_pem)
    (provisioned / 'server.key').chmod(0o600)
    (provisioned / 'server.crt').write_bytes(fake_org_app.certificate_pem)
    (settings / 'SFJWT_Integration_glbloauth.ecaGlblOauth-meta.xml').write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ExtlClntAppGlobalOauthSettings xmlns="http://soap.sforce.com/2006/04/metadata">'
        '<certificate>%s</certificate><consumerKey>%s</consumerKey></ExtlClntAppGlobalOauthSettings>\n'
        % (fake_org_app.certificate_pem.decode('ascii'), fake_org_app.consumer_key))
    env = fake_org_app.sfjwt_env(SFJWT_CONSUMER_KEY=None, SFJWT_PRIVATE_KEY_PATH=None)
    run = ansible.playbook(DOCTOR, env=env)
    assert run.rc == 0, run.output
    result = run.result(TASK)
    assert result['settings']['consumer_key'] == fake_org_app.consumer_key
    project_checks = [check['summary'] for check in result['checks'] if check['name'] == 'project']
    assert project_checks[0] == ('the app in force-app/main/default/extlClntAppGlobalOauthSets/SFJWT_Integration_glbloauth.'
                                 'ecaGlblOauth-meta.xml has consumer key %s, the one configured.' % fake_org_app.consumer_key)
    assert project_checks[1].startswith('the certificate in the app metadata force-app/main/default/extlClntAppGlobalOauthSets/'
                                        'SFJWT_Integration_glbloauth.ecaGlblOauth-meta.xml belongs to the key;')
    # Found in ./sfjwt by the playbook, which passes them on as task options: the report names the directory.
    found_in = 'provision directory %s' % provisioned.resolve()
    assert {name: result['sources'][name] for name in ('consumer_key', 'private_key_path', 'certificate_path', 'login_url')} == {
        'consumer_key': found_in, 'private_key_path': found_in, 'certificate_path': found_in,
        'login_url': 'environment SFJWT_LOGIN_URL'}
    assert ('Where the settings come from: ca_path from the environment variable SFJWT_CA_PATH; cache from the default; '
            'cache_dir from the environment variable SFJWT_CACHE_DIR; cache_ttl from the default; certificate_path from the '
            '%s; consumer_key from the %s; login_url from the environment variable SFJWT_LOGIN_URL; private_key_path from '
            'the %s; retries from the default; timeout from the default; username from the environment variable '
            'SFJWT_USERNAME; validate_certs from the default.' % (found_in, found_in, found_in)) in run.output.splitlines()
    assert 'from option' not in run.output


def test_the_audience_names_the_environment_variable_that_set_it(ansible, fake_org_app):
    org = fake_org_app.org
    org.accepted_audience = SANDBOX_AUDIENCE
    run = ansible.playbook(DOCTOR, env=fake_org_app.sfjwt_env(SFJWT_AUDIENCE='https://login.salesforce.com'))
    assert run.rc == 2, run.output
    assert run.result(TASK)['sources']['audience'] == 'environment SFJWT_AUDIENCE'
    assert ('audience https://login.salesforce.com (set by the environment variable SFJWT_AUDIENCE)' in
            run.result(TASK)['checks'][0]['summary'])
    cause, dummy = cause_lines(run)
    assert cause == ('Cause: Salesforce at %s refused the audience https://login.salesforce.com (set by the environment '
                     'variable SFJWT_AUDIENCE).' % org.url)
    assert 'set by the audience option' not in run.output


def test_a_rotation_stopped_after_its_deploy_is_named(ansible, fake_org_app):
    """./sfjwt as a rotation killed between the deploy and the move leaves it: the org has the new certificate, server.key
    is the old key, server.key.new the new one."""
    provisioned = ansible.workdir / 'sfjwt'
    provisioned.mkdir()
    (provisioned / 'server.key').write_bytes(fake_org_app.private_key_pem)
    (provisioned / 'server.key').chmod(0o600)
    new_key, new_certificate = generate_key_and_certificate('sfjwt-doctor-rotated')
    (provisioned / 'server.key.new').write_bytes(new_key)
    (provisioned / 'server.key.new').chmod(0o600)
    fake_org_app.org.add_app(fake_org_app.consumer_key, new_certificate, admin_approved=True,
                             permission_sets=[DEFAULT_PERMISSION_SET])
    run = ansible.playbook(DOCTOR, env=fake_org_app.sfjwt_env(SFJWT_PRIVATE_KEY_PATH=None))
    assert run.rc == 2, run.output
    assert run.result(TASK)['cause_code'] == 'unfinished_rotation'
    key = provisioned.resolve() / 'server.key'
    assert cause_lines(run) == [
        'Cause: A certificate rotation deployed the new certificate and stopped before moving the new key into place: '
        'Salesforce accepts the staged key %s.new, and refuses the configured %s.' % (key, key),
        'Next step: Run the rotation again with the same variables (ansible-playbook sfjwt.salesforce.rotate_certificate '
        '-e sfjwt_provision_deploy=true): the provision role finds the staged key and certificate and moves them into place.']
    assert fake_org_app.org.token_requests == 2
    assert_no_secret(run, fake_org_app, fake_org_app.org)
    assert not any(line in run.output for line in new_key.decode('ascii').splitlines()[1:-1])


def test_no_log_keeps_the_report_out_of_the_output(ansible, fake_org_app):
    playbook = ansible.workdir / 'doctor_no_log.yml'
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                        '    - name: Doctor\n      sfjwt.salesforce.doctor:\n      no_log: true\n      register: doctor\n'
                        '    - name: Outcome\n      ansible.builtin.assert:\n        that: doctor.ok\n')
    run = ansible.playbook(playbook, env=fake_org_app.sfjwt_env())
    assert run.rc == 0, run.output
    assert 'Where the settings come from' not in run.output and fake_org_app.username not in run.output
