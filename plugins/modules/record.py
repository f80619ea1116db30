#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: record
short_description: Make Salesforce records present or absent, writing only what differs
version_added: 0.2.0
description:
  - "Manages records of one sObject (C(Account), C(My_Setting__c), ...) by a key: an External ID field, or the record
    C(Id)."
  - "O(state=present): reads the current values of exactly the fields given, for all keys first (SOQL, with the keys in
    chunks that keep each query under Salesforce's limits of 100,000 characters per statement and 16,384 bytes per
    request URI), then sends only the records that differ, and of them only the fields that differ, in batches of up to
    200 through sObject Collections: C(PATCH /composite/sobjects/<sobject>/<external_id_field>) (upsert: records not
    found are created) or, by Id, C(PATCH /composite/sobjects) (update only)."
  - "O(state=absent): deletes the records found by key (C(DELETE /composite/sobjects?ids=...), 200 per call); records
    that do not exist are fine."
  - The object's describe is read first (one API call). A field the object does not have, or an O(external_id_field)
    that is not an External ID field, stops the task before anything is read or written.
  - Values are compared as their field's type holds them (checkboxes also from V(true)/V(false) text and null as false,
    numbers by value also when given as text, dates, datetimes in any offset, times, texts with an empty text equal to
    null), and keys as Salesforce matches them (case-insensitively for a text External ID unless it is case-sensitive),
    so a rerun of the same task reports C(changed=false) and sends nothing.
  - When some records fail (O(all_or_none=false)), the others are written; the task fails, listing the failing keys
    with Salesforce's error codes and messages and saying which records were written, with the same counts and
    per-record list as a success.
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
    details: The records are read (and the token requested) in check mode; nothing is written, and the result says what would be.
  diff_mode:
    support: full
    details: Before and after of every record that changes, field by field; values of O(no_log_fields) are masked.
  platform:
    platforms: posix
  action_group:
    support: full
    membership:
      - sfjwt.salesforce.salesforce
options:
  sobject:
    description:
      - The sObject's API name, for example V(Account) or V(Integration_Setting__c).
    type: str
    required: true
  records:
    description:
      - The records, each a mapping of field API names to values; one mapping is fine too.
      - Every record holds its key, the field O(external_id_field).
      - Values are strings, numbers, booleans, dates (V(2026-01-31)), datetimes or V(null). Relationship fields and
        nested values are not supported.
    type: raw
    required: true
  external_id_field:
    description:
      - The field that identifies a record, an External ID field of the object (records not found are created), or
        V(Id) (existing records only; a record whose Id is not found fails the task before anything is written).
    type: str
    default: Id
  state:
    description:
      - Whether the records exist with these values (V(present)) or do not exist (V(absent)).
    type: str
    choices: [present, absent]
    default: present
  all_or_none:
    description:
      - Roll back every record of a batch (200 records) when one of them fails; no later batch is sent then. Batches
        written before stay written.
    type: bool
    default: false
  no_log_fields:
    description:
      - Fields whose values are secret. They are masked in the diff and removed from the output, the result and error
        messages, like values of C(no_log) options; Salesforce's messages about these fields are hidden (they may quote
        part of the value). As with C(no_log) options, a very short value (V(1), V(yes)) is masked wherever it occurs.
    type: list
    elements: str
    default: []
notes:
  - The module does not write its invocation to the system log, as other modules do (records may hold secrets).
  - "The module runs where the task runs: run it on the controller (C(delegate_to: localhost)), or make sure
    C(requests) is installed on the target."
  - Each call of sObject Collections counts as one API request; 500 new records take 3 write calls and the reads.
seealso:
  - module: sfjwt.salesforce.record_info
  - module: sfjwt.salesforce.rest
  - name: sObject Collections
    description: Salesforce's REST API Developer Guide.
    link: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm
requirements:
  - requests
  - PyJWT
  - cryptography
'''

EXAMPLES = r'''
- name: Feature flags kept as custom records, created or updated by their external id
  sfjwt.salesforce.record:
    sobject: Integration_Setting__c
    external_id_field: Key__c
    records:
      - Key__c: billing.sync
        Name: Billing sync
        Enabled__c: true
        Limit__c: 500
      - Key__c: billing.export
        Name: Billing export
        Enabled__c: false
        Effective_Date__c: "2026-01-01"
  delegate_to: localhost

- name: A value that is secret stays out of the output and the diff
  sfjwt.salesforce.record:
    sobject: Integration_Setting__c
    external_id_field: Key__c
    records:
      Key__c: partner.api
      Name: Partner API
      Secret_Token__c: "{{ vault_partner_token }}"
    no_log_fields: [Secret_Token__c]
  delegate_to: localhost

- name: Update existing accounts by Id, all of a batch or none
  sfjwt.salesforce.record:
    sobject: Account
    records: "{{ accounts | map('combine', {'Industry': 'Energy'}) | list }}"
    all_or_none: true
  delegate_to: localhost

- name: Remove settings that are no longer used (missing ones are fine)
  sfjwt.salesforce.record:
    sobject: Integration_Setting__c
    external_id_field: Key__c
    records:
      - Key__c: billing.legacy
    state: absent
  delegate_to: localhost
'''

RETURN = r'''
created:
  description: Records created (in check mode, that would be).
  returned: when the records could be read (also when some failed)
  type: int
updated:
  description: Records updated (in check mode, that would be).
  returned: when the records could be read (also when some failed)
  type: int
deleted:
  description: Records deleted (in check mode, that would be).
  returned: when the records could be read (also when some failed)
  type: int
unchanged:
  description: Records that already matched (for O(state=absent), that did not exist).
  returned: when the records could be read (also when some failed)
  type: int
records:
  description: One entry per record given, in order.
  returned: when the records could be read (also when some failed)
  type: list
  elements: dict
  contains:
    key:
      description: The record's key (the value of O(external_id_field)).
      type: raw
    id:
      description: The record's Id, when known.
      type: str
    action:
      description:
        - V(created), V(updated), V(deleted), V(unchanged), V(absent) (nothing to delete), V(failed) (refused),
          V(unknown) (sent in a call that got no answer or a server error; it may or may not be written), or V(not sent)
          (after a call failed as a whole, or with O(all_or_none) after a batch failed).
      type: str
errors:
  description: The errors of the records that failed or whose outcome is unknown.
  returned: when the records could be read
  type: list
  elements: dict
  contains:
    key:
      description: The record's key.
      type: raw
    statusCode:
      description: Salesforce's status code, for example V(DUPLICATE_VALUE).
      type: str
    message:
      description: Salesforce's message.
      type: str
    fields:
      description: The fields concerned.
      type: list
      elements: str
'''

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _records as records
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._api_module import api_client, api_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import run_module


def main():
    # no_log: the module does not write its invocation to the system log (records may hold secrets, and the values of
    # no_log_fields are known only once the options are parsed).
    module = api_module(dict(
        sobject=dict(type='str', required=True),
        records=dict(type='raw', required=True),
        external_id_field=dict(type='str', default='Id'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        all_or_none=dict(type='bool', default=False),
        no_log_fields=dict(type='list', elements='str', default=[]),
    ), no_log=True)
    params = module.params
    # Secret field values are masked wherever Ansible shows this task (output, result, messages), also when the records
    # are refused below.
    module.no_log_values.update(records.secret_values(params['records'], params['no_log_fields']))

    def work():
        # Bad records fail here, before any request.
        record_set = records.RecordSet(params['sobject'], params['records'], params['external_id_field'], params['no_log_fields'])
        return records.run(api_client(module), record_set, state=params['state'], all_or_none=params['all_or_none'],
                           check_mode=module.check_mode, diff=module._diff)

    run_module(module, work)


if __name__ == '__main__':
    main()
