#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: rest
short_description: Call the Salesforce REST API with a JWT Bearer Flow session
version_added: 0.1.0
description:
  - Calls a Salesforce REST endpoint, or runs a SOQL query and returns every record.
  - The session comes from the same auth options and token cache as M(sfjwt.salesforce.token), so tasks
    reuse one token instead of logging in each time; or give O(access_token) and O(instance_url) directly.
  - When Salesforce rejects the session as expired or revoked (HTTP 401 C(INVALID_SESSION_ID)), the module drops the
    cached token, gets a new one and repeats the call, once. Other 401 answers are reported, not retried.
  - O(api_version=latest) (the default) asks the org for its newest API version once per identity and keeps
    it with the cached session.
  - Reads (GET, HEAD) report C(changed=false); writes (POST, PATCH, PUT, DELETE) report C(changed=true) when they
    succeed. In check mode writes are not sent (C(changed=true) is predicted) and reads are sent.
author:
  - sfjwt.salesforce contributors (@sfjwt)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.action_common_attributes.flow
  - sfjwt.salesforce.api.in_worker
  - sfjwt.salesforce.auth
  - sfjwt.salesforce.connection
  - sfjwt.salesforce.cache
  - sfjwt.salesforce.api
attributes:
  async:
    support: full
  check_mode:
    support: full
    details: Writes are not sent in check mode; reads (and the token request) are.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    membership:
      - sfjwt.salesforce.salesforce
options:
  path:
    description:
      - The resource. A path starting with C(/services/) is taken from the instance root (for example C(/services/data/)
        or C(/services/apexrest/MyService)); any other path is relative to C(/services/data/vNN.N/)
        (for example V(limits), V(sobjects/Account), V(sobjects/Account/001xx000003DGb2AAG)).
      - Exactly one of O(path), O(query) and O(query_all) is required.
    type: str
  method:
    description:
      - HTTP method.
    type: str
    choices: [GET, POST, PATCH, PUT, DELETE, HEAD]
    default: GET
  body:
    description:
      - Request body, sent as JSON (a mapping or a list, or JSON text), with POST, PATCH or PUT.
    type: raw
  params:
    description:
      - Query string parameters.
    type: dict
  query:
    description:
      - A SOQL query, run with the C(query) resource. The module follows C(nextRecordsUrl) until the query is done
        and returns every record in RV(records).
    type: str
  query_all:
    description:
      - Like O(query), with the C(queryAll) resource, which also returns deleted and archived records.
    type: str
  status_code:
    description:
      - HTTP statuses that count as success; any other fails the task with Salesforce's error code and message.
    type: list
    elements: int
    default: [200, 201, 204]
notes:
  - "The module runs where the task runs: run it on the controller (C(delegate_to: localhost)), or make sure
    C(requests) is installed on the target."
  - Tokens never appear in the result or in error messages; the result holds no secret unless the called resource returns one.
  - With O(access_token), api_version V(latest) is discovered at each call (there is no session cache to keep it in).
  - A body larger than Salesforce accepts is refused with HTTP 413, and the connection is closed while the body is still
    being sent; the failure says so, with the size of the body.
requirements:
  - requests
  - PyJWT
  - cryptography
seealso:
  - module: sfjwt.salesforce.token
  - name: REST API Developer Guide
    description: Salesforce's REST resources.
    link: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_list.htm
'''

EXAMPLES = r'''
- name: Show the org's limits (consumer key, user and key from SFJWT_* environment variables)
  sfjwt.salesforce.rest:
    path: limits
  register: limits
  delegate_to: localhost

- name: Every account, however many (nextRecordsUrl followed)
  sfjwt.salesforce.rest:
    consumer_key: "{{ sf_consumer_key }}"
    username: integration@example.com
    private_key_path: sfjwt/server.key
    query: SELECT Id, Name FROM Account
  register: accounts
  delegate_to: localhost

- name: Create an account
  sfjwt.salesforce.rest:
    path: sobjects/Account
    method: POST
    body:
      Name: Acme
  register: created
  delegate_to: localhost

- name: Update it; 204 No Content is the answer
  sfjwt.salesforce.rest:
    path: "sobjects/Account/{{ created.json.id }}"
    method: PATCH
    body:
      Industry: Energy
  delegate_to: localhost

- name: Delete it, accepting that it may be gone already
  sfjwt.salesforce.rest:
    path: "sobjects/Account/{{ created.json.id }}"
    method: DELETE
    status_code: [204, 404]
  delegate_to: localhost

- name: Share options between token and rest tasks
  module_defaults:
    group/sfjwt.salesforce.salesforce:
      login_url: https://acme.my.salesforce.com
      audience: https://login.salesforce.com
  block:
    - name: Call an Apex REST service at a fixed API version
      sfjwt.salesforce.rest:
        path: /services/apexrest/Orders
        params:
          status: open
        api_version: '62.0'
      delegate_to: localhost

- name: Use a token obtained elsewhere
  sfjwt.salesforce.rest:
    access_token: "{{ sfjwt_access_token }}"
    instance_url: "{{ sfjwt_instance_url }}"
    path: limits
  delegate_to: localhost
'''

RETURN = r'''
status:
  description: HTTP status of the answer (of the last page for a query). V(null) for a write in check mode.
  returned: success
  type: int
  sample: 200
json:
  description: The JSON body of the answer.
  returned: success, when the answer has a JSON body and neither O(query) nor O(query_all) is used
  type: raw
  sample: {"DailyApiRequests": {"Max": 15000, "Remaining": 14998}}
content:
  description: The body of an answer that is not JSON, as text, cut after 1,048,576 characters.
  returned: when the answer has a body that is not JSON
  type: str
content_truncated:
  description: Whether RV(content) was cut.
  returned: when RV(content) was cut
  type: bool
content_type:
  description: Content-Type of an answer that is not JSON.
  returned: when RV(content) is returned
  type: str
records:
  description: Every record the query returned, all pages joined.
  returned: when O(query) or O(query_all) is used
  type: list
  elements: dict
total_size:
  description: The C(totalSize) Salesforce reported for the query.
  returned: when O(query) or O(query_all) is used
  type: int
  sample: 2500
done:
  description: Always V(true) for a query that returns (every page was read).
  returned: when O(query) or O(query_all) is used
  type: bool
pages:
  description: How many pages (requests) the query took.
  returned: when O(query) or O(query_all) is used
  type: int
  sample: 2
api_version:
  description:
    - The API version used, as V(NN.N). V(null) when O(api_version=latest) and the call did not need a version
      (a path from the instance root) and none was known yet.
  returned: success
  type: str
  sample: '62.0'
limit_info:
  description: API usage from the C(Sforce-Limit-Info) header, when Salesforce sent it.
  returned: success
  type: dict
  contains:
    used:
      description: API requests used in the last 24 hours.
      type: int
      sample: 10018
    max:
      description: API requests allowed in 24 hours.
      type: int
      sample: 100000
url:
  description: The URL called (the first page for a query), with its query string; it never holds the token.
  returned: success
  type: str
  sample: https://acme.my.salesforce.com/services/data/v62.0/limits
errors:
  description: Salesforce's errors (C(errorCode), C(message), C(fields)) when the call failed with an error body.
  returned: failure
  type: list
  elements: dict
'''

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _rest as rest
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._api_module import api_client, api_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import run_module


def main():
    module = api_module(
        dict(
            path=dict(type='str'),
            method=dict(type='str', default='GET', choices=list(rest.METHODS)),
            body=dict(type='raw'),
            params=dict(type='dict'),
            query=dict(type='str'),
            query_all=dict(type='str'),
            status_code=dict(type='list', elements='int', default=list(rest.DEFAULT_STATUS_CODES)),
        ),
        mutually_exclusive=[('path', 'query', 'query_all')],
        required_one_of=[('path', 'query', 'query_all')],
    )
    params = module.params
    soql = params['query'] if params['query'] is not None else params['query_all']
    if soql is not None and (params['method'] != 'GET' or params['body'] is not None):
        module.fail_json(msg='query and query_all run with GET and take no body; remove method and body.')

    def work():
        client = api_client(module)
        if soql is not None:
            return client.query(soql, query_all=params['query_all'] is not None, accepted=params['status_code'])
        return client.call(params['method'], params['path'], params=params['params'], body=params['body'],
                           accepted=params['status_code'], check_mode=module.check_mode)

    run_module(module, work)


if __name__ == '__main__':
    main()
