#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: app_metadata
short_description: Write the Salesforce app metadata for the JWT Bearer Flow, ready to deploy
version_added: 0.1.0
description:
  - Writes, in Salesforce source format, the metadata of an app that lets a user get tokens with the
    JWT Bearer Flow and a certificate, ready for C(sf project deploy start).
  - "An External Client App (the default): C(externalClientApps/<name>.eca-meta.xml),
    C(extlClntAppOauthSettings/<name>.ecaOauth-meta.xml) (scopes), C(extlClntAppGlobalOauthSets/<name>.ecaGlblOauth-meta.xml)
    (callback URL, consumer key, certificate), C(extlClntAppOauthPolicies/<name>.ecaOauthPlcy-meta.xml) (admin approved
    users are pre-authorized, through O(permission_sets)) and C(extlClntAppPolicies/<name>.ecaPlcy-meta.xml) (OAuth plugin on)."
  - On request (O(connected_app=true)) the legacy Connected App, C(connectedApps/<name>.connectedApp-meta.xml), to update
    a Connected App that already exists in the org; Salesforce no longer creates new ones (see O(connected_app)).
  - "On request (O(create_permission_sets=true)) a permission set for each name in O(permission_sets),
    C(permissionsets/<permission set>.permissionset-meta.xml), to be deployed with the app and assigned to the user of
    the JWT Bearer Flow."
  - The certificate is written in the C(<certificate>) element of the global OAuth settings (and of the Connected App)
    as the whole PEM, the C(-----BEGIN CERTIFICATE-----) and C(-----END CERTIFICATE-----) lines included and the base64
    in 64-character lines, as the Metadata API reference describes it ("the PEM-encoded certificate string").
    The PEM is re-encoded from the certificate, so the text written is the same whatever line breaks the input had.
  - Also writes the manifest (O(manifest), C(package.xml)) and C(sfdx-project.json) when the project has none
    (an existing one is kept; the package directory is added to it when missing).
  - The global OAuth settings file holds the consumer key and must not be committed to source control; the module
    adds it to the project's C(.gitignore) (see O(gitignore)) and warns when it writes it. It is not added to
    C(.forceignore), which would keep it out of the deployment that needs it.
  - A settings file retrieved from the org (global OAuth settings, or a Connected App) may hold the app's consumer secret
    (C(consumerSecret)). The module keeps it in the file it rewrites, writes that file 0600, warns, and never shows the
    secret; the diff shows C((consumer secret, not shown)) in its place, before and after alike.
  - Files are written atomically and only when their content changes; check mode and diff mode are supported.
    Temporary files that a killed run left next to them (an hour old and no longer held by a write) are removed.
  - Every input is checked before anything is written; a certificate that has expired or is not valid yet is refused.
  - Texts that go into the metadata (O(name), O(label), O(description), O(contact_email), O(callback_url),
    O(permission_sets), O(profiles), O(permission_set_description), O(consumer_key)) are one line of printable text;
    control characters, line breaks and tabs included, are refused.
  - Symbolic links inside O(project_dir), at a file the module reads or writes or at a folder on the way to it, are refused,
    never followed (a link could expose another file in the diff or copy it into the project); so are hard links (a file
    with more than one name), FIFOs and other files that are not regular files. O(project_dir) itself may be a link.
  - Every file to write is checked first (no link on the way, its directory writable or creatable by this user), so such
    a problem writes nothing, in check mode too; should a write fail all the same, the message lists the files
    already written.
  - Directories the module creates are mode 0755 at most (0700 for C(extlClntAppGlobalOauthSets), which holds the
    consumer key), whatever the umask; a stricter umask makes them stricter. Existing directories are left as they are.
  - With O(validate_only=true) the module only checks the options, for a role or playbook that wants to stop on bad input
    before it creates anything (the certificate may not exist yet then).
author:
  - sfjwt.salesforce contributors (@sfjwt)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  project_dir:
    description:
      - The Salesforce DX project directory; created when missing, with its missing parent directories (0755 at most).
    type: path
    required: true
  name:
    description:
      - API name of the app (letters, digits and single underscores, starting with a letter, at most 40 characters).
      - Used for the file names and as the full name of every component.
    type: str
    required: true
  label:
    description:
      - Label of the app as Setup shows it. Defaults to O(name).
    type: str
  description:
    description:
      - Description of the app.
    type: str
  contact_email:
    description:
      - Contact e-mail of the app, required by Salesforce.
    type: str
    required: true
  consumer_key:
    description:
      - The consumer key (client id) of the app, 8 to 256 letters and digits. Salesforce takes it only when
        the app is created.
      - When not set (neither here nor in E(SFJWT_CONSUMER_KEY)), the key already in the project's settings file is kept,
        and a new random one is generated when there is none. RV(consumer_key) returns it.
    type: str
  certificate:
    description:
      - The certificate of the JWT signing key, in PEM or as its base64 body (RV(sfjwt.salesforce.certificate#module:certificate)
        or RV(sfjwt.salesforce.certificate#module:certificate_body) of the certificate module). Either way, the metadata
        holds its canonical PEM, BEGIN/END lines included.
      - A project written by an earlier version of this module, which wrote the one-line base64 body instead of the PEM,
        keeps its consumer key; its files holding the certificate are rewritten once, with the PEM (the result then
        reports V(changed=true)).
      - It must be valid now, neither expired nor valid only from a later date. To renew an expired one for the same key,
        run M(sfjwt.salesforce.certificate) with O(sfjwt.salesforce.certificate#module:force=true), or the
        C(sfjwt.salesforce.rotate_certificate) playbook.
      - Exactly one of O(certificate) and O(certificate_path) is required, unless O(validate_only=true).
    type: str
  certificate_path:
    description:
      - Path of the PEM certificate of the JWT signing key, on the host the module runs on.
    type: path
  callback_url:
    description:
      - The OAuth callback URL. The JWT Bearer Flow never uses it, but Salesforce requires one;
        it is also the C(redirect_uri) of the one-time approval URL.
    type: str
    default: https://login.salesforce.com/services/oauth2/success
  scopes:
    description:
      - OAuth scopes of the app, as Salesforce metadata names them. The JWT Bearer Flow needs V(Api);
        V(RefreshToken) and V(OfflineAccess) correspond to "refresh_token, offline_access".
    type: list
    elements: str
    default: [Api, RefreshToken, OfflineAccess]
  permission_sets:
    description:
      - API names of the permission sets whose users are pre-authorized ("admin approved users are pre-authorized").
      - The user of the JWT Bearer Flow must be assigned one of them, or the token request fails with
        "user hasn't approved this consumer".
      - They must exist in the org when the app is deployed; with O(create_permission_sets=true) the module writes them.
    type: list
    elements: str
    default: []
  create_permission_sets:
    description:
      - Also write a C(PermissionSet) component for each name in O(permission_sets),
        C(permissionsets/<permission set>.permissionset-meta.xml) in the package directory, and list them in the
        manifest (type C(PermissionSet)), so that one deployment creates the app and the permission sets that pre-authorize
        its users. Each file holds only a C(<label>) (the name, underscores shown as spaces) and a C(<description>)
        (O(permission_set_description)); the permission set grants nothing else.
      - Use names of permission sets dedicated to this app. The Metadata API reference says a permission set deploy must
        include all of the set's metadata to avoid overwriting its content, so deploying these files over an existing
        permission set of the same name can remove what it grants.
      - Assigning the permission set to the user of the JWT Bearer Flow is still to do, after the deployment
        (a C(PermissionSetAssignment) record, or Setup).
      - Requires at least one name in O(permission_sets); names that differ only in case are refused.
    type: bool
    version_added: 0.2.0
    default: false
  permission_set_description:
    description:
      - Description of the permission sets written with O(create_permission_sets=true), at most 255 characters.
        An empty string leaves the description out.
      - Defaults to a sentence saying that users assigned the permission set are pre-authorized for the app O(name)
        and that sfjwt.salesforce wrote it.
      - Only with O(create_permission_sets=true).
    type: str
    version_added: 0.2.0
  profiles:
    description:
      - Profile names pre-authorized on the legacy Connected App (O(connected_app=true) only).
    type: list
    elements: str
    default: []
  ip_relaxation:
    description:
      - IP restrictions policy of the app.
    type: str
    choices: [enforce, bypass, bypass_2factor, enforce_relax_refresh]
    default: enforce
  api_version:
    description:
      - Metadata API version written to the manifest and to a new C(sfdx-project.json). External Client Apps need 60.0 or later.
    type: str
    default: '62.0'
  external_client_app:
    description:
      - Write the External Client App files.
    type: bool
    default: true
  connected_app:
    description:
      - Also write a legacy Connected App.
      - "This can only update a Connected App that already exists in the org. Since Spring '26 Salesforce no longer
        creates new Connected Apps (\"Connected App creation via APIs (including the Metadata API) is blocked in the
        same way as the UI\", Salesforce Help 005228017): deploying the file of a Connected App the org does not have
        fails. New integrations use the External Client App (O(external_client_app=true), the default)."
      - The consumer key of an existing Connected App cannot be changed; set O(consumer_key) to its key
        (or keep the file the module wrote when the app was created).
    type: bool
    default: false
  package_directory:
    description:
      - Package directory, relative to O(project_dir); the files go to its C(main/default/) tree.
    type: str
    default: force-app
  manifest:
    description:
      - Path of the generated manifest (C(package.xml)), relative to O(project_dir). The module owns this file.
    type: str
    default: manifest/package.xml
  gitignore:
    description:
      - Add C(**/extlClntAppGlobalOauthSets/) to C(.gitignore) in O(project_dir) so that git never commits the global
        OAuth settings. Existing content of C(.gitignore) is kept.
    type: bool
    default: true
  validate_only:
    description:
      - Only check the options, as a run would, and write nothing (whether or not in check mode). O(certificate) and
        O(certificate_path) may then be left out; when given, the certificate is checked too.
      - The result is V(changed=false) and holds only RV(project_dir).
    type: bool
    default: false
notes:
  - "Deploy with C(sf project deploy start --manifest manifest/package.xml --target-org <alias>) from O(project_dir).
    Deploying the global OAuth settings needs the org permission to access OAuth consumer secrets via the Metadata API."
  - "Since Spring '26, Salesforce no longer creates Connected Apps, through the Metadata API or otherwise (Salesforce Help
    005228017); O(connected_app=true) only serves to update a Connected App that already exists in the org."
  - "Deployed permission sets (O(create_permission_sets=true)) still have to be assigned to the user of the JWT Bearer Flow."
seealso:
  - module: sfjwt.salesforce.certificate
  - module: sfjwt.salesforce.token
'''

EXAMPLES = r'''
- name: Create the key and certificate (and their directory, 0700)
  sfjwt.salesforce.certificate:
    private_key_path: sfjwt/server.key
    certificate_path: sfjwt/server.crt
    common_name: ansible-integration
    create_directories: true
  register: cert

# project_dir and its missing parents are created (0755 at most).

- name: Write the External Client App for this certificate
  sfjwt.salesforce.app_metadata:
    project_dir: sfjwt/project
    name: AnsibleIntegration
    label: Ansible integration
    contact_email: admin@example.com
    certificate: "{{ cert.certificate }}"
    permission_sets:
      - Ansible_Integration
    create_permission_sets: true
  register: app

- name: Tell what to deploy
  ansible.builtin.debug:
    msg: "cd {{ app.project_dir }} && {{ app.deploy_command }}"

- name: Show the permission set files written with the app
  ansible.builtin.debug:
    var: app.permission_set_files

- name: The same, with a description of one's own for the permission set
  sfjwt.salesforce.app_metadata:
    project_dir: sfjwt/project
    name: AnsibleIntegration
    contact_email: admin@example.com
    certificate_path: sfjwt/server.crt
    permission_sets:
      - Ansible_Integration
    create_permission_sets: true
    permission_set_description: Integration user of the Ansible JWT Bearer Flow

- name: Update the certificate of a Connected App that already exists in the org (Salesforce no longer creates them)
  sfjwt.salesforce.app_metadata:
    project_dir: sfjwt/project
    name: LegacyIntegration
    contact_email: admin@example.com
    consumer_key: 3MVGLegacyIntegration00000000001
    certificate_path: sfjwt/server.crt
    external_client_app: false
    connected_app: true
    profiles:
      - System Administrator
'''

RETURN = r'''
project_dir:
  description: Absolute path of the project directory.
  returned: success
  type: str
  sample: /home/me/sfjwt/project
files:
  description:
    - Path of every file the module manages (whether or not it changed), by kind.
    - The kinds are the metadata types of the app (for example V(ExternalClientApplication), V(ConnectedApp)),
      V(PermissionSet:<permission set>) for each permission set written (O(create_permission_sets=true)),
      V(sfdx-project), V(gitignore) and V(package.xml).
  returned: success, unless O(validate_only=true)
  type: dict
  sample:
    ExternalClientApplication: /home/me/sfjwt/project/force-app/main/default/externalClientApps/AnsibleIntegration.eca-meta.xml
    PermissionSet:Ansible_Integration: /home/me/sfjwt/project/force-app/main/default/permissionsets/Ansible_Integration.permissionset-meta.xml
    package.xml: /home/me/sfjwt/project/manifest/package.xml
permission_set_files:
  description:
    - Paths of the permission set files the module manages, sorted by permission set name (also in RV(files)).
    - Empty unless O(create_permission_sets=true).
  returned: success, unless O(validate_only=true)
  type: list
  elements: str
  sample:
    - /home/me/sfjwt/project/force-app/main/default/permissionsets/Ansible_Integration.permissionset-meta.xml
changed_files:
  description: Paths of the files written (or, in check mode, that would be written).
  returned: success, unless O(validate_only=true)
  type: list
  elements: str
not_for_source_control:
  description: Paths of the files that must not be committed to source control (the global OAuth settings, and a Connected
    App file that holds a consumer secret kept from a retrieve).
  returned: success, unless O(validate_only=true)
  type: list
  elements: str
consumer_key:
  description: The consumer key written to the metadata.
  returned: success, unless O(validate_only=true)
  type: str
  sample: 3MVGAnsibleIntegration0000000001
consumer_key_source:
  description:
    - Where the consumer key came from, V(option) (O(consumer_key) or E(SFJWT_CONSUMER_KEY)), V(existing)
      (the project's settings file) or V(generated).
  returned: success, unless O(validate_only=true)
  type: str
  sample: existing
certificate_fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate written to the metadata, colon-separated upper-case hex.
  returned: success, unless O(validate_only=true)
  type: str
manifest:
  description: Absolute path of the generated C(package.xml).
  returned: success, unless O(validate_only=true)
  type: str
api_version:
  description: The Metadata API version written to the manifest.
  returned: success, unless O(validate_only=true)
  type: str
  sample: '62.0'
deploy_command:
  description: The Salesforce CLI command that deploys the app, to run from RV(project_dir).
  returned: success, unless O(validate_only=true)
  type: str
  sample: sf project deploy start --manifest manifest/package.xml --target-org <alias>
'''

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as metadata
from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._app_metadata import AppMetadataBackend
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import run_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._requirements import fail_on_missing_libraries


def _argument_spec():
    return dict(
        project_dir=dict(type='path', required=True),
        name=dict(type='str', required=True),
        label=dict(type='str'),
        description=dict(type='str'),
        contact_email=dict(type='str', required=True),
        consumer_key=dict(type='str', no_log=False, fallback=(env_fallback, ['SFJWT_CONSUMER_KEY'])),
        certificate=dict(type='str'),
        certificate_path=dict(type='path'),
        callback_url=dict(type='str', default=metadata.DEFAULT_CALLBACK_URL),
        scopes=dict(type='list', elements='str', default=list(metadata.DEFAULT_SCOPES)),
        permission_sets=dict(type='list', elements='str', default=[]),
        create_permission_sets=dict(type='bool', default=False),
        permission_set_description=dict(type='str'),
        profiles=dict(type='list', elements='str', default=[]),
        ip_relaxation=dict(type='str', default='enforce', choices=sorted(metadata.IP_RELAXATION)),
        api_version=dict(type='str', default=metadata.DEFAULT_API_VERSION),
        external_client_app=dict(type='bool', default=True),
        connected_app=dict(type='bool', default=False),
        package_directory=dict(type='str', default=metadata.DEFAULT_PACKAGE_DIRECTORY),
        manifest=dict(type='str', default=metadata.DEFAULT_MANIFEST),
        gitignore=dict(type='bool', default=True),
        validate_only=dict(type='bool', default=False),
    )


def main():
    module = AnsibleModule(
        argument_spec=_argument_spec(),
        mutually_exclusive=[('certificate', 'certificate_path')],
        required_if=[('validate_only', False, ('certificate', 'certificate_path'), True)],
        supports_check_mode=True,
    )
    fail_on_missing_libraries(module, 'cryptography')
    run_module(module, AppMetadataBackend(module).run)


if __name__ == '__main__':
    main()
