#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: metadata_deploy
short_description: Deploy a Salesforce DX project through the REST Metadata API, without the Salesforce CLI
version_added: 0.2.0
description:
  - Deploys a source-format project (the one M(sfjwt.salesforce.app_metadata) writes, or any project with an
    C(sfdx-project.json)) to an org, as C(sf project deploy start) would, with nothing but Python.
  - The project is converted in memory to a Metadata API zip (C(package.xml) at the root, each component at
    C(<folder>/<Name>.<suffix>)), sent with C(POST /services/data/vNN.N/metadata/deployRequest), and followed with
    C(GET .../deployRequest/<id>?includeDetails=true) every O(poll_interval) seconds until it is done.
  - "Converted metadata types: ExternalClientApplication, ExtlClntAppOauthSettings, ExtlClntAppGlobalOauthSettings,
    ExtlClntAppOauthConfigurablePolicies, ExtlClntAppConfigurablePolicies, ConnectedApp, PermissionSet,
    PermissionSetGroup, CustomPermission, NamedCredential, RemoteSiteSetting, CspTrustedSite, Settings, ApexClass and
    ApexTrigger. Any other file in a package directory stops the module before anything is sent, naming the file."
  - Symbolic links, hard links (files with more than one name), FIFOs and other non-regular files in the project are refused,
    never followed.
  - Idempotent by the org's real state. Before deploying, the module reads each component of the project from the org
    (the SOAP Metadata API's C(readMetadata), 10 names a call, one call a type) and compares it with the project's
    file, for the fields the file sets - repeated elements and comma-separated lists in any order, certificates by
    their content, consumer secrets compared but never shown. When every component is in the org as the project has
    it, nothing is sent (C(changed=false)); otherwise the module deploys, and says which components and fields
    differ (RV(drift), and before/after per component with C(--diff)). A change made in the org, in Setup or by
    another tool, is found and put back by the next run. O(force=true) deploys without comparing.
  - After a successful deploy the module also records the SHA-256 of the zip for the org (by org id) in
    C(.sfjwt-deploy.json), a 0600 file next to C(sfdx-project.json), added to the project's C(.gitignore). Only
    when the user may not read the org's metadata (a C(INSUFFICIENT_ACCESS) fault) does that record decide instead,
    with a warning saying that a change made in the org is not seen.
  - A deploy that fails names each failing component, its file and line, and Salesforce's problem text, with what to
    do for the problems this module knows; a deploy refused as a whole says so. Nothing is recorded then.
  - When the deploy is not done after O(wait_timeout) seconds, the module cancels it (C(PATCH) status C(Canceling))
    and fails saying so.
  - When Salesforce rejects the session during the polls (HTTP 401 C(INVALID_SESSION_ID)), the module gets a new token
    and goes on, once, as M(sfjwt.salesforce.rest) does.
  - Salesforce can take up to 10 minutes to apply a deployed app's OAuth settings; meanwhile token requests for it fail
    with C(invalid_client_id) or C(invalid assertion). M(sfjwt.salesforce.token) waits for that with its
    O(sfjwt.salesforce.token#module:propagation_timeout) option.
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
      - In check mode the module sends a validation deploy (C(checkOnly=true)) and reports its result with the same
        shape; nothing is saved in the org and nothing is recorded. When the org holds the project as it is, nothing is
        validated.
  diff_mode:
    support: full
    details:
      - For each component that differs, the org's fields (before) and the project's (after), secrets masked.
  platform:
    platforms: posix
  action_group:
    support: full
    membership:
      - sfjwt.salesforce.salesforce
options:
  project_dir:
    description:
      - The project directory, the one holding C(sfdx-project.json). Every package directory it lists is deployed.
    type: path
    required: true
  manifest:
    description:
      - A C(package.xml) inside the project that names the components to deploy; it becomes the zip's C(package.xml).
      - When not set, C(manifest/package.xml) is used if the project has one; otherwise every file of the package
        directories is deployed, with a C(package.xml) built from them (API version C(sourceApiVersion)).
    type: path
  test_level:
    description:
      - Which Apex tests Salesforce runs. Not sent when not set; Salesforce then runs no tests unless the deploy holds
        Apex and the org is a production org.
    type: str
    choices: [NoTestRun, RunSpecifiedTests, RunLocalTests, RunAllTestsInOrg]
  run_tests:
    description:
      - The Apex test classes to run, with O(test_level=RunSpecifiedTests).
    type: list
    elements: str
  ignore_warnings:
    description:
      - Deploy even when Salesforce reports warnings.
    type: bool
    default: false
  rollback_on_error:
    description:
      - Save nothing when any component fails. Production orgs require V(true).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the deploy to finish (1 to 21600). On expiry the deploy is canceled and the task fails.
      - A deadline, status checks included - a check still running then is cut off; only the one made as the time runs out
        may take up to 5 seconds more. Canceling the deploy and confirming it then take at most 30 seconds more.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between status checks (0.1 to 300).
    type: float
    default: 2
  force:
    description:
      - Deploy even when this content was deployed to this org already.
    type: bool
    default: false
notes:
  - The user of the session must be allowed to deploy metadata ("Modify Metadata Through Metadata API Functions"); an
    External Client App also needs "Create, edit, and delete External Client Apps", and its global OAuth settings
    (consumer key, certificate) the org setting that allows access to consumer secrets through the Metadata API.
    That is an admin identity, typically an admin integration app of its own, not the integration user.
  - "The module runs where the task runs: run it on the controller (C(delegate_to: localhost)), or make sure
    C(requests) is installed on the target."
  - Salesforce takes at most 10,000 files and a 39 MB zip per deploy; larger projects are refused before sending.
  - Tokens and certificates never appear in messages or in the result.
requirements:
  - requests
  - PyJWT
  - cryptography
seealso:
  - module: sfjwt.salesforce.app_metadata
  - module: sfjwt.salesforce.token
  - name: Deploy Metadata with Apex Testing Using REST
    description: Salesforce's Metadata API Developer Guide.
    link: https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_rest_deploy.htm
'''

EXAMPLES = r'''
- name: Deploy the External Client App that app_metadata wrote (admin identity from its own variables)
  sfjwt.salesforce.metadata_deploy:
    project_dir: sfjwt/project
    consumer_key: "{{ admin_consumer_key }}"
    username: admin@acme.com
    private_key_path: ~/.salesforce/admin.key
    login_url: https://acme.my.salesforce.com
  delegate_to: localhost
  register: deploy

- name: Validate only (nothing saved in the org)
  sfjwt.salesforce.metadata_deploy:
    project_dir: sfjwt/project
    access_token: "{{ admin_token.access_token }}"
    instance_url: "{{ admin_token.instance_url }}"
  check_mode: true
  delegate_to: localhost

- name: Deploy Apex to production with the org's local tests, waiting up to 30 minutes
  sfjwt.salesforce.metadata_deploy:
    project_dir: ~/src/acme-sfdx
    manifest: manifest/package.xml
    test_level: RunLocalTests
    wait_timeout: 1800
    poll_interval: 10
  delegate_to: localhost
'''

RETURN = r'''
deploy_id:
  description: The id of the deploy (C(0Af...)); for unchanged content, the id of the deploy recorded for this org.
  returned: always
  type: str
  sample: 0Af5g00000ABCDeCAP
status:
  description:
    - The deploy's final status (V(Succeeded), V(SucceededPartial), V(Failed), V(Canceled)), or V(null) when nothing
      was sent because this content is deployed already.
  returned: always
  type: str
  sample: Succeeded
check_only:
  description: Whether this was a validation deploy (check mode).
  returned: always
  type: bool
components:
  description: The components in the zip, as C(<type>:<name>).
  returned: always
  type: list
  elements: str
  sample: [ExternalClientApplication:SfjwtIntegration, PermissionSet:SfjwtIntegration]
components_total:
  description: Components in the deploy, as Salesforce counted them.
  returned: always
  type: int
components_deployed:
  description: Components Salesforce deployed (or validated).
  returned: always
  type: int
component_failures:
  description: Every component that failed, in Salesforce's words.
  returned: always
  type: list
  elements: dict
  contains:
    componentType:
      description: The metadata type.
      type: str
    fullName:
      description: The component's name.
      type: str
    fileName:
      description: The file in the zip.
      type: str
    problem:
      description: Salesforce's problem text.
      type: str
    problemType:
      description: V(Error) or V(Warning).
      type: str
    lineNumber:
      description: The line of the problem, when Salesforce names one.
      type: int
test_failures:
  description: Apex test failures (C(name), C(methodName), C(message), C(stackTrace)).
  returned: always
  type: list
  elements: dict
org_id:
  description: The id of the org deployed to.
  returned: always
  type: str
  sample: 00D5g000004ABCDEAS
sha256:
  description: SHA-256 of the zip, as recorded for the org after a successful deploy.
  returned: always
  type: str
record_path:
  description: The file that records what was deployed to which org.
  returned: always
  type: str
drift:
  description:
    - How the org differed from the project before this run, per component - V(missing) (not in the org) or
      V(differs), with each differing field's value in the org and in the project (consumer secrets shown as
      C((secret, not shown))). Empty when the org holds the project as it is.
    - V(null) when the org was not read (O(force=true), or the user may not read its metadata).
  returned: always
  type: list
  elements: dict
  sample:
    - type: ExtlClntAppOauthConfigurablePolicies
      name: SfjwtIntegration
      state: differs
      fields:
        - field: permittedUsersPolicyType
          org: AllSelfAuthorized
          project: AdminApprovedPreAuthorized
api_version:
  description: The API version of the deploy call.
  returned: when a deploy was sent
  type: str
  sample: '62.0'
progress:
  description: One line per status check (status, components deployed, errors, seconds waited).
  returned: when a deploy was sent
  type: list
  elements: str
'''

from ansible_collections.sfjwt.salesforce.plugins.module_utils.api import _deploy as deploy
from ansible_collections.sfjwt.salesforce.plugins.module_utils.api._api_module import api_client, api_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import run_module


def main():
    module = api_module(dict(
        project_dir=dict(type='path', required=True),
        manifest=dict(type='path'),
        test_level=dict(type='str', choices=list(deploy.TEST_LEVELS)),
        run_tests=dict(type='list', elements='str'),
        ignore_warnings=dict(type='bool', default=False),
        rollback_on_error=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=600),
        poll_interval=dict(type='float', default=2),
        force=dict(type='bool', default=False),
    ))
    params = module.params
    progress = []

    def work():
        result = deploy.run(api_client(module), params['project_dir'], manifest=params['manifest'], check_mode=module.check_mode,
                            force=params['force'], test_level=params['test_level'], run_tests=params['run_tests'],
                            ignore_warnings=params['ignore_warnings'], rollback_on_error=params['rollback_on_error'],
                            wait_timeout=params['wait_timeout'], poll_interval=params['poll_interval'], progress=progress.append,
                            warn=module.warn)
        if progress:
            result['progress'] = progress
        if not module._diff:  # pylint: disable=protected-access
            result.pop('diff', None)
        return result

    # A failure carries the status lines gathered until then.
    run_module(module, work, failure_fields=dict(progress=progress))


if __name__ == '__main__':
    main()
