# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Options for modules. Every option falls back to its sfjwt_* variable (added by the modules' action plugins),
    # then to its SFJWT_* environment variable.
    DOCUMENTATION = r'''
options:
  validate_certs:
    description:
      - Verify the TLS certificates of Salesforce (token host and instance).
      - Set to V(false) only for tests; prefer O(ca_path) for a private or corporate CA.
      - If not set, the Ansible variable C(sfjwt_validate_certs) is used, then the environment variable
        E(SFJWT_VALIDATE_CERTS).
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM file of CA certificates to verify the servers with, instead of the system's trust store.
        For TLS-inspecting proxies and test servers.
      - Ignored when O(validate_certs=false).
      - If not set, the Ansible variable C(sfjwt_ca_path) is used, then the environment variable E(SFJWT_CA_PATH).
    type: path
  timeout:
    description:
      - Seconds one attempt may take as a whole, from connecting to the last byte of the answer (a server that keeps
        sending a byte now and then does not extend it; it is cut off a second after the timeout); a request body adds
        one second per 64 KiB. From V(1) to V(3600).
      - An answer larger than any Salesforce sends (1 MiB from the token endpoint, 100 MiB from the REST API) is refused
        unread.
      - If not set, the Ansible variable C(sfjwt_timeout) is used, then the environment variable E(SFJWT_TIMEOUT).
    type: int
    default: 30
  retries:
    description:
      - How often a request is retried after a connection error, a timeout, or an HTTP 429, 500, 502, 503 or 504 answer,
        with exponential backoff (0, 2, 4, ... seconds) and honouring C(Retry-After) (up to 60 seconds).
        Each retry is reported as a warning.
      - The token request is retried too; repeating it is safe. V(0) disables retries; at most V(10).
      - If not set, the Ansible variable C(sfjwt_retries) is used, then the environment variable E(SFJWT_RETRIES).
    type: int
    default: 3
'''

    # Adds the environment variable and Ansible variable sources for plugins (lookups).
    PLUGINS = r'''
options:
  validate_certs:
    env:
      - name: SFJWT_VALIDATE_CERTS
    vars:
      - name: sfjwt_validate_certs
  ca_path:
    env:
      - name: SFJWT_CA_PATH
    vars:
      - name: sfjwt_ca_path
  timeout:
    env:
      - name: SFJWT_TIMEOUT
    vars:
      - name: sfjwt_timeout
  retries:
    env:
      - name: SFJWT_RETRIES
    vars:
      - name: sfjwt_retries
'''
