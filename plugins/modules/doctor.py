#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: doctor
short_description: Name the cause of a failing Salesforce JWT Bearer login
version_added: 0.2.0
description:
  - Checks, in order, what a JWT Bearer login depends on and reports it in plain lines that never hold a token, key or
    passphrase. The playbook C(ansible-playbook sfjwt.salesforce.doctor) runs it with the same settings as the other
    modules and fails when something is wrong, so a CI pipeline can run it as a pre-flight.
  - B(Settings) - the token host, the audience sent and whether it was derived from O(login_url), the consumer key,
    the user, where the key comes from and which CA certificates are trusted. The action plugin adds where each
    setting came from (task option, C(sfjwt_*) variable, C(SFJWT_*) environment variable, or default).
  - B(Key) - whether it loads, its type and size, whether it needs a passphrase, its public key fingerprint.
  - B(Certificates) - when O(certificate_path) is set, or a project is given in O(project_path), whether each certificate
    belongs to the key (by public key), and its validity window; the consumer key of the app in the project against the
    one configured.
  - B(Token host) - DNS, TCP, and TLS with the issuer of the certificate presented, so that a TLS-intercepting proxy
    is recognisable; the server's clock against this machine's (the C(Date) header of C(GET /services/data/)); what kind
    of host it is (production, sandbox, My Domain, Experience Cloud site) and which audience that kind needs.
    Behind a proxy (E(HTTPS_PROXY)), DNS, TCP and TLS are not probed directly; the requests go through the proxy.
  - B(One login) - one token request (each refused one counts against the user's login limit, so audiences are
    never tried in turn; a second only for the staged key of an unfinished rotation, below), whose refusal is mapped to
    its likely causes, likeliest first, using what the checks found; then one REST call, C(GET /services/data/), with the session.
  - B(Unfinished rotation) - when Salesforce refuses the key's signature and a staged key of a certificate rotation lies
    next to it (the O(private_key_path) with C(.new) appended, which the provision role moves into place once the new
    certificate works), one more token request with the staged key tells whether the org has the new certificate
    already; its token is not kept. If it logs in, the cause is a rotation stopped between its deploy and the move, and
    the next step is to run it again.
  - The new token goes into the token cache (when O(cache) is on, and not in check mode), so the tasks that follow a
    pre-flight do not log in again. A token already cached for the identity is dropped first, because the doctor tests the
    login itself.
author:
  - sfjwt.salesforce contributors (@sfjwt)
requirements:
  - cryptography
  - PyJWT
  - requests
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.action_common_attributes.flow
  - sfjwt.salesforce.api.in_worker
  - sfjwt.salesforce.api.group_api_version
  - sfjwt.salesforce.auth
  - sfjwt.salesforce.connection
  - sfjwt.salesforce.cache
attributes:
  async:
    support: none
  action_group:
    support: full
    membership:
      - sfjwt.salesforce.salesforce
  check_mode:
    support: full
    details:
      - Check mode makes the same checks and the one login (nothing changes in the org), but keeps no token in the cache.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  project_path:
    description:
      - A Salesforce DX project holding the app's metadata, for example the C(project) folder the provision role writes.
        The consumer key and certificate of each app in it (External Client App global OAuth settings, Connected Apps)
        are compared with the consumer key configured and with the key. Links in the project are not followed.
    type: path
  setting_sources:
    description:
      - Where each setting came from, as the action plugin finds it, so that the report names it (for example the
        environment variable an audience was set by). The action plugin sets it; a value given in the task is replaced.
    type: dict
notes:
  - The module fails when it names a cause; its message is the cause and the next step. The results of the checks are in
    RV(checks) and RV(report) either way.
seealso:
  - module: sfjwt.salesforce.token
'''

EXAMPLES = r'''
- name: Pre-flight, with the settings from SFJWT_* environment variables
  sfjwt.salesforce.doctor:
  delegate_to: localhost

- name: Check a provisioned integration, comparing the key with the deployed metadata
  sfjwt.salesforce.doctor:
    consumer_key: "{{ consumer_key }}"
    username: integration@acme.com
    private_key_path: sfjwt/server.key
    certificate_path: sfjwt/server.crt
    project_path: sfjwt/project
  delegate_to: localhost
  register: doctor
  failed_when: false

- name: Say what is wrong
  ansible.builtin.debug:
    msg: "{{ doctor.cause_code }}: {{ doctor.next_step }}"
  when: not doctor.ok
'''

RETURN = r'''
ok:
  description: Whether the login and the REST call worked.
  returned: always
  type: bool
cause:
  description: The likeliest cause of the failure, in a sentence.
  returned: always (null when RV(ok))
  type: str
  sample: The audience https://login.salesforce.com (derived from login_url) is not the one https://test.salesforce.com accepts.
cause_code:
  description:
    - The likeliest cause as a word, for playbooks - one of V(settings), V(key), V(dns), V(tcp), V(tls), V(tls_hostname),
      V(untrusted_ca), V(ca_path), V(network), V(audience), V(consumer_key), V(not_preauthorized),
      V(key_certificate_mismatch), V(unfinished_rotation), V(clock_skew), V(expired_assertion), V(ip_restricted), V(inactive_user),
      V(inactive_org), V(rate_limit), V(login_refused), V(rest).
  returned: always (null when RV(ok))
  type: str
  sample: audience
next_step:
  description: The one thing to do next.
  returned: always (null when RV(ok))
  type: str
causes:
  description: Every likely cause, likeliest first (RV(cause) is the first).
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: As RV(cause_code).
      type: str
    summary:
      description: The cause in a sentence.
      type: str
    next_step:
      description: What to do about it.
      type: str
checks:
  description: Each check made, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: V(settings), V(key), V(certificate), V(project), V(proxy), V(dns), V(tcp), V(tls), V(clock),
        V(audience), V(login), V(rotation) or V(rest).
      type: str
    status:
      description: V(ok), V(warn), V(fail) or V(skip).
      type: str
    summary:
      description: What the check found.
      type: str
settings:
  description: The settings as the module used them (never the key or passphrase).
  returned: always
  type: dict
sources:
  description:
    - Where each option that is set came from - V(option) (the task or module_defaults),
      V(provision directory <path>) (the C(sfjwt.salesforce.doctor) playbook found it in the directory the provision
      playbook wrote, C(./sfjwt) or C(sfjwt_provision_dir)), V(variable sfjwt_<option>), V(environment SFJWT_<OPTION>)
      or V(default). Added by the action plugin.
  returned: always
  type: dict
  sample: {"consumer_key": "environment SFJWT_CONSUMER_KEY", "login_url": "default", "username": "variable sfjwt_username"}
report:
  description: The report as plain lines, as the action plugin prints them.
  returned: always
  type: list
  elements: str
  sample:
    - "[ok]   settings: token host https://login.salesforce.com, audience https://login.salesforce.com (derived ...)"
    - "[FAIL] login: Salesforce at https://login.salesforce.com does not know the consumer key 3MVG9 ..."
    - "Cause: Salesforce at https://login.salesforce.com does not know the consumer key 3MVG9 ... (invalid_client_id)."
    - "Next step: Set consumer_key (SFJWT_CONSUMER_KEY, sfjwt_consumer_key) to the Consumer Key of the app in this org ..."
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor import diagnose
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import argument_spec, options_from_module


def main():
    module = AnsibleModule(argument_spec=argument_spec(project_path=dict(type='path'), setting_sources=dict(type='dict')),
                           supports_check_mode=True)
    options = options_from_module(module)
    result = diagnose(options, project_path=module.params['project_path'], keep_token=not module.check_mode,
                      sources=module.params['setting_sources'])
    if not result['ok']:
        module.fail_json(msg='%s Next step: %s' % (result['cause'], result['next_step']), **result)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
