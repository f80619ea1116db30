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
attributes:
  action:
    support: full
    details:
      - An action plugin runs the module and marks its result as C(no_log), so the token never shows in the output.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details:
      - Check mode gets the token too. Requesting one changes nothing in the org, and later tasks need it.
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

- name: Everything from SFJWT_* environment variables (for example an AWX credential)
  sfjwt.salesforce.token:
  delegate_to: localhost
  register: salesforce
'''

RETURN = r'''
access_token:
  description: The access token (session ID), for the C(Authorization) header as C(Bearer <access_token>).
  returned: success
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
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sfjwt.salesforce.plugins.module_utils._auth import SalesforceAuthError, get_session
from ansible_collections.sfjwt.salesforce.plugins.module_utils._options import argument_spec, options_from_module


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    options = options_from_module(module)
    try:
        session = get_session(options)
    except SalesforceAuthError as exc:
        module.fail_json(msg=exc.message, **exc.details)
    module.exit_json(changed=not session.from_cache, **session.as_result())


if __name__ == '__main__':
    main()
