#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: record_info
short_description: Read Salesforce records with a query the module builds, never a templated one
version_added: 0.2.0
description:
  - Reads the records of one sObject with SOQL built from O(fields) and O(where); every page is read.
  - The values in O(where) are quoted and escaped by the module, so a value holding a quote or a backslash is one value
    (no SOQL injection). They are written as their field's type wants them (a date or a number unquoted, also when given
    as text), from the object's describe (one more API call). Field and object names are checked as API names.
  - Reads only; runs in check mode like in a normal run.
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
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: N/A
    details: The module only reads.
  platform:
    platforms: posix
  action_group:
    support: full
    membership:
      - sfjwt.salesforce.salesforce
options:
  sobject:
    description:
      - The sObject's API name, for example V(Account).
    type: str
    required: true
  fields:
    description:
      - The fields to read, for example V([Id, Name, Key__c]); relationship paths such as V(Owner.Name) are allowed.
    type: list
    elements: str
    required: true
  where:
    description:
      - Conditions joined with C(AND), as a mapping of field names to values; a list of values means C(IN (...)), V(null)
        means C(= null). Values are escaped by the module.
    type: dict
  where_soql:
    description:
      - A raw SOQL condition, added with C(AND) in parentheses, for what O(where) cannot say (C(LIKE), C(<), C(OR)).
      - "It is sent as it is: never template untrusted values into it; use O(where) for values."
    type: str
  order_by:
    description:
      - The C(ORDER BY) list, for example V(Name ASC, CreatedDate DESC).
    type: str
  limit:
    description:
      - At most this many records (1 to 50000).
    type: int
notes:
  - "The module runs where the task runs: run it on the controller (C(delegate_to: localhost))."
seealso:
  - module: sfjwt.salesforce.record
  - module: sfjwt.salesforce.rest
requirements:
  - requests
  - PyJWT
  - cryptography
'''

EXAMPLES = r'''
- name: The settings of one area, whatever characters their keys hold
  sfjwt.salesforce.record_info:
    sobject: Integration_Setting__c
    fields: [Id, Key__c, Value__c, Enabled__c]
    where:
      Key__c: "{{ setting_keys }}"   # a list: Key__c IN (...)
      Enabled__c: true
    order_by: Key__c
  delegate_to: localhost
  register: settings

- name: The newest accounts of an industry
  sfjwt.salesforce.record_info:
    sobject: Account
    fields: [Id, Name, CreatedDate]
    where:
      Industry: Energy
    where_soql: CreatedDate = LAST_N_DAYS:30
    order_by: CreatedDate DESC
    limit: 10
  delegate_to: localhost
  register: accounts
'''

RETURN = r'''
records:
  description: Every matching record (all pages), with the fields asked for and C(attributes) left out.
  returned: success
  type: list
  elements: dict
  sample: [{"Id": "a0B5g00000AbCdEAAV", "Key__c": "billing.sync", "Enabled__c": true}]
total_size:
  description: The C(totalSize) Salesforce reported.
  returned: success
  type: int
query:
  description: The SOQL statement sent.
  returned: success
  type: str
'''

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _records as records
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _soql
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._api_module import api_client, api_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import run_module


def main():
    module = api_module(dict(
        sobject=dict(type='str', required=True),
        fields=dict(type='list', elements='str', required=True),
        where=dict(type='dict'),
        where_soql=dict(type='str'),
        order_by=dict(type='str'),
        limit=dict(type='int'),
    ))
    params = module.params

    def work():
        # Bad input fails here, before any request.
        _soql.info_query(params['sobject'], params['fields'], params['where'], params['where_soql'], params['order_by'],
                         params['limit'])
        client = api_client(module)
        # Values in where are written as their field's type wants them (a date unquoted, a number as a number).
        types = records.describe_types(client, params['sobject']) if params['where'] else None
        soql = _soql.info_query(params['sobject'], params['fields'], params['where'], params['where_soql'],
                                params['order_by'], params['limit'], types)
        answer = client.query(soql)
        return dict(changed=False, records=[records.strip_attributes(r) for r in answer['records']],
                    total_size=answer['total_size'], query=soql)

    run_module(module, work)


if __name__ == '__main__':
    main()
