#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: certificate
short_description: Create the RSA key and self-signed certificate for the Salesforce JWT Bearer Flow
version_added: 0.1.0
description:
  - Creates what a Salesforce Connected App or External Client App needs for the OAuth 2.0 JWT Bearer Flow
    ("Use digital signatures"), what C(openssl genrsa), C(openssl req -new) and C(openssl x509 -req -sha256 -signkey)
    create by hand - an RSA private key, optionally a certificate signing request (CSR), and a self-signed X.509
    certificate signed with SHA-256.
  - Uses the Python C(cryptography) library on the target; it never runs C(openssl).
  - B(An existing private key is never replaced or rewritten) unless O(regenerate_key=true). The certificate uploaded to
    the Salesforce app is bound to this key; a new key stops the JWT Bearer Flow until the new certificate is uploaded.
    When the existing key cannot be used with the options given (wrong or missing O(private_key_passphrase), another
    O(key_size), not a PEM key, not RSA, fewer than 2048 bits), the module fails and writes nothing.
  - The certificate is issued again, for the same key, when it does not exist, does not belong to the key, expires within
    O(renew_before_days), its subject differs from O(common_name) and O(subject), its validity period differs from
    O(valid_days), or O(force=true). Otherwise it is kept as it is, and a second run reports no change.
  - The CSR, when O(csr_path) is set, is written again when it does not exist, does not belong to the key or its subject differs.
  - Files are written atomically (a temporary file in the same directory, mode 0600 while the content is written, then
    given its final permissions and renamed over the target), so a crash leaves the old file or the new one, and a key is
    never readable by others.
  - "Temporary files that a killed run left next to the files (C(.<name>.<random>.tmp), mode 0600) are removed by the next
    run that is not in check mode, once they are an hour old and no running write holds them."
  - The certificate is an end-entity certificate (C(CA:FALSE)) with subject and authority key identifiers; being
    self-signed, C(openssl verify -CAfile cert.pem cert.pem) accepts it.
author:
  - sfjwt.salesforce contributors (@sfjwt)
requirements:
  - cryptography >= 3.3 (on the host that runs the task)
options:
  private_key_path:
    description:
      - Path of the PEM private key (PKCS#8). Created when missing; an existing key is used as it is.
      - The directory must exist, unless O(create_directories=true).
    type: path
    required: true
  certificate_path:
    description:
      - Path of the PEM self-signed certificate to upload to the Salesforce app.
      - The directory must exist, unless O(create_directories=true).
    type: path
    required: true
  csr_path:
    description:
      - Path of a PEM certificate signing request for the same key and subject, for when a certificate authority
        should sign the certificate instead. Not written when unset.
    type: path
  create_directories:
    description:
      - Create the missing directories of O(private_key_path), O(certificate_path) and O(csr_path), with mode V(0700)
        and owned by the user the module runs as (O(mode), O(owner) and O(group) apply to the files only).
      - They are created after every check passed, right before the files are written, so a run that fails (bad options,
        an existing key that cannot be used) creates nothing. Check mode reports the files as to be created and creates nothing.
      - When V(false), a missing directory makes the module fail.
    type: bool
    default: false
  key_size:
    description:
      - Size in bits of a new RSA key.
      - An existing key of another size is not replaced; the module fails unless O(regenerate_key=true).
    type: int
    default: 2048
    choices: [2048, 3072, 4096]
  private_key_passphrase:
    description:
      - Passphrase that encrypts the private key file (PKCS#8 with the best encryption C(cryptography) offers).
      - When unset, the key file is not encrypted.
      - Must open an existing key; an encrypted key without it, or an unencrypted key with it, makes the module fail
        unless O(regenerate_key=true).
    type: str
  common_name:
    description:
      - Common name (CN) of the certificate subject, for example the name of the integration. At most 64 characters.
      - It and the values of O(subject) are one line of printable text; control characters (line breaks and tabs included)
        are refused.
    type: str
    required: true
  subject:
    description:
      - Further subject attributes. Attributes left out or empty are not part of the subject.
    type: dict
    suboptions:
      O:
        description: Organization name.
        type: str
      OU:
        description: Organizational unit name.
        type: str
      C:
        description: Country, a two-letter ISO 3166 code such as V(US) or V(DE).
        type: str
      ST:
        description: State or province.
        type: str
      L:
        description: Locality (city).
        type: str
      emailAddress:
        description: E-mail address of the contact for the certificate.
        type: str
  valid_days:
    description:
      - Number of days the certificate is valid, from the moment it is issued.
      - A certificate with another validity period is issued again.
    type: int
    default: 365
  renew_before_days:
    description:
      - Issue a new certificate (same key) when the current one expires within this many days.
      - Must be smaller than O(valid_days). V(0) renews only an expired certificate.
      - A renewed certificate must be uploaded to the Salesforce app before the old one expires.
    type: int
    default: 30
  force:
    description:
      - Issue a new certificate now, for the existing key, even if the current one is still good.
      - Not idempotent; every run with V(true) issues a new certificate.
    type: bool
    default: false
  regenerate_key:
    description:
      - Replace the private key with a new one now, then issue a new certificate (and CSR) for it.
      - The old key, certificate and CSR are always kept as backup files (see O(backup)), whatever O(backup) says.
      - B(This breaks the Salesforce app binding) until the new certificate is uploaded to the app. Not idempotent;
        use it for one run (for example C(-e regenerate_key=true)), not in a playbook run again and again.
      - Also the way to replace an existing key that cannot be used (wrong size, lost passphrase, too short, not RSA).
    type: bool
    default: false
  backup:
    description:
      - Keep a copy of a certificate or CSR before it is replaced, as C(<path>.<pid>.<timestamp>~) next to it.
      - A replaced private key is always kept this way, with the certificate and CSR that went with it.
    type: bool
    default: false
  mode:
    description:
      - Permissions of every file the module writes (private key, certificate, CSR).
      - When unset, the private key gets V(0600) and the certificate and CSR V(0644).
      - A mode that gives other users access to the private key (for example V(0644)) is refused;
        use a group mode such as V(0640) with O(group) to share the key.
      - Octal (quote it, for example V('0640')) or symbolic (for example V(u=rw,g=r)).
    type: raw
  owner:
    description:
      - Owner of every file the module writes. When unset, a file the module writes again keeps its owner (if the
        module runs as root); a new file belongs to the user the module runs as.
    type: str
  group:
    description:
      - Group of every file the module writes. When unset, a file the module writes again keeps its group (if the
        module runs as root); a new file gets the user's group.
    type: str
  unsafe_writes:
    description:
      - Ignored. Files are always written atomically; a partially written key must never exist.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
  - action_common_attributes.files  # the FQCN form resolves to the files options fragment, not this attribute group
attributes:
  check_mode:
    support: full
    details: Reports exactly what a real run would change. The certificate facts are V(null) when a new certificate would be issued.
  diff_mode:
    support: full
    details: Shows key size, encryption, public key hash, certificate subject, serial, fingerprint and dates, file modes and owners. Never key material.
  platform:
    platforms: posix
  safe_file_operations:
    support: full
    details: Writes through the collection's own atomic write (0600 temporary file, fsync, chmod, rename), not Ansible's.
  vault:
    support: none
seealso:
  - name: Salesforce - Create a private key and self-signed digital certificate
    description: The manual openssl procedure this module replaces.
    link: https://developer.salesforce.com/docs/atlas.en-us.sfdx_dev.meta/sfdx_dev/sfdx_dev_auth_key_and_cert.htm
  - name: Salesforce - OAuth 2.0 JWT Bearer Flow for server-to-server integration
    description: How the certificate is used.
    link: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
notes:
  - Upload the certificate (RV(certificate), or the file at O(certificate_path)) to the app's "Use digital signatures" setting.
    After a renewal (O(force), expiry within O(renew_before_days), changed subject or validity) upload it again.
'''

EXAMPLES = r'''
- name: Key and certificate for the integration (idempotent; renews the certificate 30 days before it expires)
  sfjwt.salesforce.certificate:
    private_key_path: /etc/sfjwt/salesforce.key
    certificate_path: /etc/sfjwt/salesforce.crt
    common_name: ansible-integration
    subject:
      O: Acme Corp
      C: US
  register: sf_cert

- name: Show what to upload to the Salesforce app
  ansible.builtin.debug:
    msg: "Upload {{ sf_cert.certificate_path }} (SHA-256 {{ sf_cert.fingerprint_sha256 }}, valid until {{ sf_cert.not_after }})"

- name: Encrypted 4096-bit key, a CSR, two-year certificate, key shared with the service group
  sfjwt.salesforce.certificate:
    private_key_path: /etc/sfjwt/salesforce.key
    private_key_passphrase: "{{ vault_sf_key_passphrase }}"
    key_size: 4096
    certificate_path: /etc/sfjwt/salesforce.crt
    csr_path: /etc/sfjwt/salesforce.csr
    common_name: ansible-integration
    subject:
      O: Acme Corp
      OU: Platform
      C: DE
      ST: Berlin
      L: Berlin
      emailAddress: platform@example.com
    valid_days: 730
    renew_before_days: 60
    mode: '0640'
    group: sfjwt
    backup: true

- name: Rotate the key (run once, then upload the new certificate to the app)
  sfjwt.salesforce.certificate:
    private_key_path: /etc/sfjwt/salesforce.key
    certificate_path: /etc/sfjwt/salesforce.crt
    common_name: ansible-integration
    regenerate_key: true
  register: rotated

- name: Certificate body as Salesforce metadata stores it (base64, no BEGIN/END lines)
  ansible.builtin.copy:
    dest: /tmp/certificate-body.txt
    content: "{{ sf_cert.certificate_body }}"
    mode: '0644'
'''

RETURN = r'''
private_key_path:
  description: Path of the private key.
  returned: success
  type: str
  sample: /etc/sfjwt/salesforce.key
certificate_path:
  description: Path of the certificate.
  returned: success
  type: str
  sample: /etc/sfjwt/salesforce.crt
csr_path:
  description: Path of the CSR; V(null) when O(csr_path) is not set.
  returned: success
  type: str
  sample: /etc/sfjwt/salesforce.csr
certificate:
  description:
    - The certificate, PEM encoded.
    - V(null) in check mode when a new certificate would be issued (as for the other certificate facts).
  returned: success
  type: str
  sample: "-----BEGIN CERTIFICATE-----\nMIIDPzCCAiegAwIBAgIU...\n-----END CERTIFICATE-----\n"
certificate_body:
  description: The certificate's base64 body without the BEGIN/END lines and without line breaks, as Salesforce metadata stores it.
  returned: success
  type: str
  sample: MIIDPzCCAiegAwIBAgIU...
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate, colon-separated upper-case hex as C(openssl x509 -fingerprint -sha256) prints it.
  returned: success
  type: str
  sample: "5B:7E:2F:...:A1"
serial_number:
  description: Serial number of the certificate (random, up to 159 bits).
  returned: success
  type: int
  sample: 573919228147210390287432358301745612781246810317
not_before:
  description: Start of the certificate's validity, ISO 8601 in UTC.
  returned: success
  type: str
  sample: "2025-01-31T12:00:00Z"
not_after:
  description: End of the certificate's validity, ISO 8601 in UTC.
  returned: success
  type: str
  sample: "2026-01-31T12:00:00Z"
private_key_backup_file:
  description: Backup copy of the replaced private key (mode and owner kept).
  returned: when O(regenerate_key=true) replaced an existing key
  type: str
  sample: /etc/sfjwt/salesforce.key.2412.2025-01-31@12:00:00~
certificate_backup_file:
  description: Backup copy of the replaced certificate.
  returned: when an existing certificate was replaced with O(backup=true), or together with a replaced key
  type: str
  sample: /etc/sfjwt/salesforce.crt.2412.2025-01-31@12:00:00~
csr_backup_file:
  description: Backup copy of the replaced CSR.
  returned: when an existing CSR was replaced with O(backup=true), or together with a replaced key
  type: str
  sample: /etc/sfjwt/salesforce.csr.2412.2025-01-31@12:00:00~
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._certificate import (
    KEY_SIZES,
    CertificateBackend,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import run_module
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._requirements import fail_on_missing_libraries


def main():
    module = AnsibleModule(
        argument_spec=dict(
            private_key_path=dict(type='path', required=True),
            certificate_path=dict(type='path', required=True),
            csr_path=dict(type='path'),
            create_directories=dict(type='bool', default=False),
            key_size=dict(type='int', default=2048, choices=list(KEY_SIZES)),
            private_key_passphrase=dict(type='str', no_log=True),
            common_name=dict(type='str', required=True),
            subject=dict(type='dict', options=dict(
                O=dict(type='str'),
                OU=dict(type='str'),
                C=dict(type='str'),
                ST=dict(type='str'),
                L=dict(type='str'),
                emailAddress=dict(type='str'),
            )),
            valid_days=dict(type='int', default=365),
            renew_before_days=dict(type='int', default=30),
            force=dict(type='bool', default=False),
            regenerate_key=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    fail_on_missing_libraries(module, 'cryptography')

    backend = CertificateBackend(module)

    def work():
        result = backend.run()
        if backend.key_file.rewrite and backend.key_file.exists:
            module.warn('The private key %s %s replaced: upload the new certificate %s to the Salesforce app, '
                        'or the JWT Bearer Flow fails until then.'
                        % (backend.key_file.path, 'would be' if module.check_mode else 'was', backend.cert_file.path))
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
