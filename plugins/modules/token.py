#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: token
short_description: Get a Salesforce access token with the OAuth 2.0 JWT Bearer Flow
version_added: 0.1.0
description:
  - Signs a JWT assertion with the private key whose certificate is uploaded to a Connected App or External Client App,
    posts it to the token host, and returns the access token and the instance URL to call the API with.
  - Tokens are reused from an on-disk cache while fresh (see O(cache)), so many tasks and hosts share one login;
    Salesforce refuses more than about 3,600 logins per user and hour.
  - B(The result is always hidden from the output), as with C(no_log), because it holds the access token.
    Register it and use the values in later tasks. Failures stay visible; their messages never contain a secret.
  - The same options can be given as environment variables (E(SFJWT_CONSUMER_KEY), E(SFJWT_USERNAME),
    E(SFJWT_PRIVATE_KEY_PATH), ...), for example from an AWX / Ansible Automation Platform credential.
  - For a token in a template expression, see the lookup P(sfjwt.salesforce.token#lookup).
author:
  - sfjwt.salesforce contributors (@sfjwt)
requirements:
  - cryptography
  - PyJWT
  - requests
extends_documentation_fragment:
  - sfjwt.salesforce.auth
  - sfjwt.salesforce.connection
  - sfjwt.salesforce.cache
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - sfjwt.salesforce.api.in_worker
  - sfjwt.salesforce.api.group_api_version
attributes:
  async:
    support: none
  check_mode:
    support: full
    details:
      - "In check mode a token cached for the identity is returned, and no token is requested (each request is a login
        Salesforce counts); without a cached token the task reports C(changed) and returns none. Set C(check_mode: false)
        on the task to get a token in check mode too, for later tasks that need it."
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The module talks to Salesforce from the host the task runs on (usually the controller, with C(delegate_to=localhost)
    or C(hosts=localhost)); the token cache lives on that host too.
  - The task reports a change when a new token was requested, and none when the token came from the cache.
  - Failures explain what to do, for example the approval URL when the user has not approved the app,
    the audience and token host when the audience is refused, and the clock difference to Salesforce when
    the assertion is reported expired.
options:
  state:
    description:
      - V(present) returns a token (from the cache, or a new one).
      - V(absent) drops the cached token of this identity (the consumer key, user, token host and key given), requests
        none and returns none; C(changed) says whether there was one. Used after a key rotation, with the old key, so that
        its token is not used again. The token itself stays valid at Salesforce until its session times out.
    type: str
    choices: [present, absent]
    default: present
    version_added: 0.2.0
  propagation_timeout:
    description:
      - After a deploy of the app (M(sfjwt.salesforce.metadata_deploy)), Salesforce can take up to 10 minutes to apply
        its OAuth settings; until then it refuses tokens as if the app or its new certificate were not there
        (C(invalid_client_id), C(invalid assertion)).
      - With a value above V(0), the task tries again every O(propagation_interval) seconds while it gets one of these
        refusals, for at most this many seconds (up to 3600), printing a line per try that says what Salesforce answered
        and how long it has waited. Each try is one login. Other failures end the task at once.
      - V(0) (the default) fails at the first refusal.
    type: int
    default: 0
    version_added: 0.2.0
  propagation_interval:
    description:
      - Seconds between two tries while waiting (see O(propagation_timeout)), from 1 to 300.
    type: int
    default: 10
    version_added: 0.2.0
seealso:
  - plugin: sfjwt.salesforce.token
    plugin_type: lookup
    description: The access token (or the whole session) in a template expression.
  - name: OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration
    description: Salesforce's description of the flow.
    link: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
'''

EXAMPLES = r'''
- name: Get a token for the integration user
  sfjwt.salesforce.token:
    consumer_key: "{{ salesforce_consumer_key }}"
    username: integration@acme.com
    private_key_path: ~/.salesforce/server.key
    login_url: https://acme.my.salesforce.com
  delegate_to: localhost
  register: salesforce

- name: Call the REST API with it
  ansible.builtin.uri:
    url: "{{ salesforce.instance_url }}/services/data/v60.0/limits"
    headers:
      Authorization: "Bearer {{ salesforce.access_token }}"
  delegate_to: localhost
  no_log: true

- name: A sandbox, with an encrypted key kept in Ansible Vault
  sfjwt.salesforce.token:
    consumer_key: "{{ sandbox_consumer_key }}"
    username: integration@acme.com.uat
    private_key: "{{ vaulted_private_key }}"
    private_key_passphrase: "{{ vaulted_passphrase }}"
    login_url: https://acme--uat.sandbox.my.salesforce.com
  delegate_to: localhost
  register: sandbox

- name: Right after deploying the app, wait up to 10 minutes for Salesforce to accept it
  sfjwt.salesforce.token:
    consumer_key: "{{ deploy_consumer_key }}"
    propagation_timeout: 600
  delegate_to: localhost
  register: salesforce

- name: Everything from SFJWT_* environment variables (for example an AWX credential)
  sfjwt.salesforce.token:
  delegate_to: localhost
  register: salesforce
'''

RETURN = r'''
access_token:
  description: The access token (session ID), for the C(Authorization) header as C(Bearer <access_token>).
  returned: success, unless in check mode without a cached token
  type: str
  sample: 00D5g000004ABCD!AQ4AQFZ...
instance_url:
  description: The org's instance URL to send API requests to.
  returned: success
  type: str
  sample: https://acme.my.salesforce.com
id:
  description: The identity URL of the user.
  returned: success
  type: str
  sample: https://login.salesforce.com/id/00D5g000004ABCDEAA/0055g00000A1B2CAAV
org_id:
  description: The org ID, from RV(id).
  returned: success
  type: str
  sample: 00D5g000004ABCDEAA
user_id:
  description: The user ID, from RV(id).
  returned: success
  type: str
  sample: 0055g00000A1B2CAAV
scope:
  description: The scopes granted.
  returned: success
  type: str
  sample: api
token_type:
  description: The token type.
  returned: success
  type: str
  sample: Bearer
issued_at:
  description: When the token was issued, in milliseconds since the epoch, as Salesforce sends it.
  returned: when Salesforce sends it
  type: str
  sample: '1717000000000'
from_cache:
  description: Whether the token came from the cache rather than a new login.
  returned: success
  type: bool
  sample: false
status_code:
  description: The HTTP status of Salesforce's refusal.
  returned: failure, when Salesforce answered
  type: int
  sample: 400
salesforce_error:
  description: The C(error) of Salesforce's refusal.
  returned: failure, when Salesforce sent one
  type: str
  sample: invalid_grant
salesforce_error_description:
  description: The C(error_description) of Salesforce's refusal.
  returned: failure, when Salesforce sent one
  type: str
  sample: user hasn't approved this consumer
refusal:
  description:
    - The collection's name for Salesforce's refusal, one of V(rate_limit), V(unknown_consumer_key),
      V(not_admin_approved), V(not_approved), V(audience), V(invalid_assertion), V(expired_assertion),
      V(ip_restricted), V(inactive_user), V(inactive_org); for playbooks that act on the cause.
  returned: failure, when Salesforce refused with words the collection knows
  type: str
  sample: not_approved
propagation_pending:
  description: Whether the refusal is one that Salesforce gives while it applies a deployed app (see O(propagation_timeout)).
  returned: failure, when the token request failed
  type: bool
waited:
  description: Seconds the task waited for Salesforce to apply the app (see O(propagation_timeout)).
  returned: when O(propagation_timeout) is above V(0)
  type: int
  sample: 42
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._auth import (
    MAX_PROPAGATION_TIMEOUT,
    awaiting_propagation,
    cached_session,
    forget_session,
    get_session,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import run_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import argument_spec, options_from_module


def main():
    # The waiting itself (propagation_timeout) is done by the action plugin, between runs of this module: it can print
    # a line per try while the task runs. The module checks the values and marks the refusals worth waiting for.
    module = AnsibleModule(argument_spec=argument_spec(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        propagation_timeout=dict(type='int', default=0),
        propagation_interval=dict(type='int', default=10),
    ), supports_check_mode=True)
    if not 0 <= module.params['propagation_timeout'] <= MAX_PROPAGATION_TIMEOUT:
        module.fail_json(msg='propagation_timeout must be from 0 to %d seconds (got %d).'
                             % (MAX_PROPAGATION_TIMEOUT, module.params['propagation_timeout']))
    if not 1 <= module.params['propagation_interval'] <= 300:
        module.fail_json(msg='propagation_interval must be from 1 to 300 seconds (got %d).' % module.params['propagation_interval'])
    options = options_from_module(module)
    present = module.params['state'] == 'present'

    def work():
        if not present:
            return dict(changed=forget_session(options, check_mode=module.check_mode))
        # Check mode logs in no one: a cached token is returned, a missing one only announced.
        session = cached_session(options) if module.check_mode else get_session(options)
        if session is None:
            return dict(changed=True, msg='Check mode: no token is cached for this identity, so none was requested; a real '
                                          'run requests one. To get one in check mode, set check_mode: false on this task.')
        return dict(changed=not session.from_cache, **session.as_result())

    # A refusal Salesforce gives until a deployed app applies is marked, for the action plugin's propagation wait.
    run_module(module, work, failure_fields=lambda exc: dict(propagation_pending=awaiting_propagation(exc.details)) if present else {})


if __name__ == '__main__':
    main()
