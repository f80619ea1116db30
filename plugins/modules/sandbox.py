#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: sandbox
short_description: Create, refresh or delete a sandbox of a Salesforce production org, and wait for its copy
version_added: 0.2.0
description:
  - Manages one sandbox through the Tooling API of its B(production) org, as Setup > Sandboxes does. The auth options
    are the production org's identity (an admin user with the C(Manage Sandboxes) permission), not the sandbox's.
  - The sandbox is found by its name (C(SandboxInfo)); each copy of it (creation or refresh) is a C(SandboxProcess)
    row whose C(Status) and C(CopyProgress) the module follows.
  - O(state=present) creates the sandbox when it does not exist (C(POST tooling/sobjects/SandboxInfo), which needs
    O(license_type)); when it exists, nothing is sent (C(changed=false)). A sandbox that exists with another license
    type than O(license_type) is left as it is, with a warning saying how to change it (O(state=refreshed) with the
    new O(license_type)).
  - O(state=refreshed) copies the sandbox again from production (C(PATCH tooling/sobjects/SandboxInfo/<id>) with
    C(LicenseType) and C(AutoActivate)), which replaces its data and metadata. Without O(refresh_older_than) it
    refreshes on every run; with it, only when the last completed copy is older than that age, when the sandbox has
    no completed copy, or when O(license_type) differs from the sandbox's (a refresh is the only way to change it).
    While a copy is going on, no other is started; the module waits for that one. A sandbox that does not exist is
    created, as with O(state=present).
  - O(state=absent) deletes the sandbox (C(DELETE tooling/sobjects/SandboxInfo/<id>)) when it exists; Salesforce
    removes the sandbox org in the background.
  - With O(wait=true) the module follows the copy every O(poll_interval) seconds, one line per check in RV(progress)
    (status and percentage copied), until its status is C(Completed). A copy that ends otherwise (C(Stopped), for
    example) fails the task, naming the sandbox and its status. After O(wait_timeout) seconds the task fails saying
    where the copy was; the copy goes on in Salesforce, and a later run with O(state=present) waits for it again.
  - O(state=present) on a sandbox whose copy is going on waits for it too (with O(wait=true)); on a sandbox whose last
    copy ended without completing, it fails saying so.
  - Answers of the org are checked before use; an answer that is not what the Tooling API sends (a field of another
    type, an unknown status, a malformed id) fails the task naming the field.
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
    details:
      - In check mode the module reads the sandbox and its copies and reports what it would do (RV(action),
        C(changed)); it creates, refreshes or deletes nothing and does not wait.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    membership:
      - sfjwt.salesforce.salesforce
options:
  name:
    description:
      - The sandbox name (C(SandboxName)), 1 to 10 letters and digits starting with a letter, for example V(uat). It
        is the suffix of the sandbox's usernames (C(<user>.uat)) and My Domain (C(acme--uat)).
    type: str
    required: true
  state:
    description:
      - V(present) - the sandbox exists (created when missing).
      - V(refreshed) - the sandbox is copied again from production (see O(refresh_older_than)); created when missing.
      - V(absent) - the sandbox is deleted when it exists.
    type: str
    choices: [present, refreshed, absent]
    default: present
  license_type:
    description:
      - The sandbox license. Required to create a sandbox.
      - With O(state=refreshed), the refresh uses it (when not set, the sandbox's own); a sandbox of another license
        type is refreshed whatever O(refresh_older_than) says. With O(state=present), a sandbox that exists with another
        license type is not changed; the module warns.
    type: str
    choices: [DEVELOPER, DEVELOPER_PRO, PARTIAL, FULL]
  description:
    description:
      - The sandbox's description, sent when the sandbox is created (a sandbox that exists keeps its own).
    type: str
  auto_activate:
    description:
      - Whether Salesforce activates a refreshed sandbox as soon as its copy is done (C(AutoActivate)); with V(false)
        someone activates it in Setup > Sandboxes. Sent when creating and refreshing.
    type: bool
    default: true
  activation_user_group_id:
    description:
      - The Id of the public group (C(00G...)) whose members get access to the sandbox (C(ActivationUserGroupId)), sent
        when creating and refreshing.
      - Salesforce requires it for V(DEVELOPER) and V(DEVELOPER_PRO) sandboxes since Spring '25; a create or refresh
        without it is refused by Salesforce with its own message.
    type: str
  refresh_older_than:
    description:
      - With O(state=refreshed) only, the age past which the last completed copy is refreshed; a more recent copy is
        left alone (C(changed=false)). A whole number followed by V(w) (weeks), V(d) (days), V(h) (hours) or V(m)
        (minutes), for example V(7d) or V(12h); a number alone counts days (V(7) is V(7d)).
      - The age is measured from the copy's C(EndDate) in C(SandboxProcess), against this machine's clock.
      - When not set, O(state=refreshed) refreshes on every run.
    type: raw
  wait:
    description:
      - Wait until the copy (creation or refresh) is C(Completed). With V(false) the module returns after the request,
        with the copy's first status.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the copy (1 to 604800). A developer sandbox usually takes minutes to hours, a full copy
        can take days; past this the task fails and the copy goes on in Salesforce.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between status checks (0.1 to 3600). Each check is one Tooling API query, counted in the production
        org's daily API requests.
    type: float
    default: 30
notes:
  - The sandbox's own org is a separate org with its own login URL (C(https://<mydomain>--<name>.sandbox.my.salesforce.com)),
    the audience C(https://test.salesforce.com), and the production usernames with C(.<name>) appended.
  - Connected Apps of production are copied to the sandbox; External Client Apps deployed through the Metadata API
    are not, so a refresh removes them (JWT logins to the sandbox then fail with C(invalid_client_id)). Run the
    provisioning again on the sandbox after a refresh.
  - Salesforce limits how often a sandbox may be refreshed (by license type); a refresh asked too early is refused with
    Salesforce's message.
  - "The module runs where the task runs: run it on the controller (C(delegate_to: localhost)), or make sure
    C(requests) is installed on the target."
requirements:
  - requests
  - PyJWT
  - cryptography
seealso:
  - module: sfjwt.salesforce.token
  - module: sfjwt.salesforce.metadata_deploy
  - name: SandboxInfo (Tooling API)
    description: Salesforce's Tooling API reference of the object that defines a sandbox.
    link: https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_sandboxinfo.htm
  - name: SandboxProcess (Tooling API)
    description: Salesforce's Tooling API reference of the object that follows a sandbox copy.
    link: https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_sandboxprocess.htm
'''

EXAMPLES = r'''
- name: A developer sandbox named uat exists (created when missing, waiting up to 2 hours for its copy)
  sfjwt.salesforce.sandbox:
    name: uat
    license_type: DEVELOPER
    description: User acceptance tests
    activation_user_group_id: 00G5g000004AbCdEAK
    wait_timeout: 7200
    login_url: https://acme.my.salesforce.com
    username: admin@acme.com
    consumer_key: "{{ admin_consumer_key }}"
    private_key_path: ~/.salesforce/admin.key
  delegate_to: localhost

- name: Refresh uat when its last copy is more than a week old
  sfjwt.salesforce.sandbox:
    name: uat
    state: refreshed
    refresh_older_than: 7d
  delegate_to: localhost
  register: uat

- name: Start a full copy without waiting for it (a later run with state=present waits)
  sfjwt.salesforce.sandbox:
    name: staging
    license_type: FULL
    wait: false
  delegate_to: localhost

- name: Delete the sandbox
  sfjwt.salesforce.sandbox:
    name: feature1
    state: absent
  delegate_to: localhost
'''

RETURN = r'''
action:
  description:
    - What the module did (or, in check mode, would do) - V(created), V(refreshed), V(deleted), or V(none).
  returned: always
  type: str
  sample: created
sandbox_name:
  description: The sandbox name.
  returned: always
  type: str
  sample: uat
sandbox_info_id:
  description: The Id of the sandbox's C(SandboxInfo) (C(0GQ...)); V(null) when it does not exist, or in check mode
    before a create.
  returned: always
  type: str
  sample: 0GQ5g000000AbCdGAK
license_type:
  description: The sandbox's license type (after a create or refresh, the one sent); V(null) when there is no sandbox.
  returned: always
  type: str
  sample: DEVELOPER
status:
  description:
    - The status of the sandbox's newest copy (C(SandboxProcess.Status)) - V(Completed) when it is ready, V(Pending),
      V(Processing) and others while it is copied, V(Deleted) after a delete; V(null) when there is no copy.
  returned: always
  type: str
  sample: Completed
copy_progress:
  description: The percentage of the newest copy that is done (C(CopyProgress)), or V(null) when not known.
  returned: always
  type: int
  sample: 100
sandbox_org_id:
  description: The sandbox org's id (C(00D...)), once Salesforce gives it; V(null) before.
  returned: always
  type: str
  sample: 00D7A000000AbCdUAK
last_copy_completed:
  description: When the newest copy completed (C(SandboxProcess.EndDate), as Salesforce gives it), or V(null).
  returned: always
  type: str
  sample: '2026-12-01T10:15:00.000+0000'
waited:
  description: Seconds spent waiting for the copy.
  returned: always
  type: int
  sample: 540
progress:
  description: One line per step and status check (status, percentage copied, seconds waited).
  returned: always
  type: list
  elements: str
  sample:
    - 'Sandbox uat: not in the production org, creating a DEVELOPER sandbox'
    - 'Sandbox uat: Processing, 40% copied (300 s)'
    - 'Sandbox uat: Completed, 100% copied (540 s)'
'''

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _sandbox as sandbox
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._api_module import api_client, api_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import run_module


def main():
    module = api_module(dict(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=list(sandbox.STATES), default='present'),
        license_type=dict(type='str', choices=list(sandbox.LICENSE_TYPES)),
        description=dict(type='str'),
        auto_activate=dict(type='bool', default=True),
        activation_user_group_id=dict(type='str'),
        refresh_older_than=dict(type='raw'),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=3600),
        poll_interval=dict(type='float', default=30),
    ))
    params = module.params
    progress = []

    def work():
        result = sandbox.run(api_client(module), params['name'], state=params['state'], license_type=params['license_type'],
                             description=params['description'], auto_activate=params['auto_activate'],
                             activation_user_group_id=params['activation_user_group_id'],
                             refresh_older_than=params['refresh_older_than'], wait=params['wait'],
                             wait_timeout=params['wait_timeout'], poll_interval=params['poll_interval'],
                             check_mode=module.check_mode, progress=progress.append, warn=module.warn)
        result['progress'] = progress
        return result

    # A failure carries the status lines gathered until then.
    run_module(module, work, failure_fields=dict(progress=progress))


if __name__ == '__main__':
    main()
