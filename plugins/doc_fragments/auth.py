# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Options for modules. Every option falls back to its sfjwt_* variable (added by the modules' action plugins),
    # then to its SFJWT_* environment variable.
    DOCUMENTATION = r'''
options:
  consumer_key:
    description:
      - The Consumer Key (client ID) of the Connected App or External Client App that holds the certificate
        of O(private_key_path). Sent as the C(iss) claim of the assertion. Must not contain whitespace.
      - Required to get a token. If not set, the Ansible variable C(sfjwt_consumer_key) is used, then the environment
        variable E(SFJWT_CONSUMER_KEY).
    type: str
  username:
    description:
      - The Salesforce username the token is issued for (the C(sub) claim), for example V(integration@acme.com).
        Must not contain whitespace.
      - The user must be pre-authorized for the app (a profile or permission set of the app), or have approved it once.
      - Required to get a token. If not set, the Ansible variable C(sfjwt_username) is used, then the environment
        variable E(SFJWT_USERNAME).
    type: str
  private_key_path:
    description:
      - Path to the PEM RSA private key (2048 bits or more) whose certificate is uploaded to the app.
      - The key may be encrypted; then set O(private_key_passphrase).
      - Give either O(private_key_path) or O(private_key). If neither is set, the Ansible variables
        C(sfjwt_private_key_path) and C(sfjwt_private_key) are used, then the environment variables
        E(SFJWT_PRIVATE_KEY_PATH) and E(SFJWT_PRIVATE_KEY).
    type: path
  private_key:
    description:
      - The PEM content of the private key, instead of O(private_key_path); for keys kept in Ansible Vault
        or injected by AWX / Ansible Automation Platform credentials.
      - If not set, the Ansible variable C(sfjwt_private_key) is used, then the environment variable
        E(SFJWT_PRIVATE_KEY).
    type: str
  private_key_passphrase:
    description:
      - The passphrase of an encrypted private key.
      - If not set, the Ansible variable C(sfjwt_private_key_passphrase) is used, then the environment variable
        E(SFJWT_PRIVATE_KEY_PASSPHRASE).
    type: str
  login_url:
    description:
      - The token host the assertion is posted to, at C(<login_url>/services/oauth2/token).
      - V(https://login.salesforce.com) for production and developer orgs, V(https://test.salesforce.com) for sandboxes,
        or the org's My Domain (V(https://acme.my.salesforce.com), sandbox V(https://acme--uat.sandbox.my.salesforce.com)),
        or an Experience Cloud site (V(https://acme.my.site.com)). Salesforce advises the sandbox My Domain over
        V(https://test.salesforce.com).
      - Only C(https://) URLs are accepted. A trailing slash or a pasted C(/services/...) path is ignored; another path
        (an Experience Cloud site prefix) is kept.
      - If not set, the Ansible variable C(sfjwt_login_url) is used, then the environment variable E(SFJWT_LOGIN_URL).
    type: str
    default: https://login.salesforce.com
  audience:
    description:
      - The C(aud) claim of the assertion. This is not the token host.
      - Defaults to V(https://test.salesforce.com) when O(login_url) is V(https://test.salesforce.com) or a sandbox
        My Domain (C(*.sandbox.my.salesforce.com)), and to V(https://login.salesforce.com) otherwise, My Domains included.
      - Experience Cloud sites need V(https://site.force.com/customers).
      - If not set, the Ansible variable C(sfjwt_audience) is used, then the environment variable E(SFJWT_AUDIENCE).
    type: str
  certificate_path:
    description:
      - Path to the certificate uploaded to the app. Used only to explain an C(invalid assertion) refusal
        (whether this certificate belongs to the key, and its SHA-256 fingerprint).
      - If not set, the Ansible variable C(sfjwt_certificate_path) is used, then the environment variable
        E(SFJWT_CERTIFICATE_PATH).
    type: path
'''

    # Adds the environment variable and Ansible variable sources for plugins (lookups).
    PLUGINS = r'''
options:
  consumer_key:
    env:
      - name: SFJWT_CONSUMER_KEY
    vars:
      - name: sfjwt_consumer_key
  username:
    env:
      - name: SFJWT_USERNAME
    vars:
      - name: sfjwt_username
  private_key_path:
    env:
      - name: SFJWT_PRIVATE_KEY_PATH
    vars:
      - name: sfjwt_private_key_path
  private_key:
    env:
      - name: SFJWT_PRIVATE_KEY
    vars:
      - name: sfjwt_private_key
  private_key_passphrase:
    env:
      - name: SFJWT_PRIVATE_KEY_PASSPHRASE
    vars:
      - name: sfjwt_private_key_passphrase
  login_url:
    env:
      - name: SFJWT_LOGIN_URL
    vars:
      - name: sfjwt_login_url
  audience:
    env:
      - name: SFJWT_AUDIENCE
    vars:
      - name: sfjwt_audience
  certificate_path:
    env:
      - name: SFJWT_CERTIFICATE_PATH
    vars:
      - name: sfjwt_certificate_path
'''
