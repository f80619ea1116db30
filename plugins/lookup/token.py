# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: token
short_description: A Salesforce access token from the OAuth 2.0 JWT Bearer Flow
version_added: 0.1.0
description:
  - Returns an access token for a Salesforce user, obtained with the JWT Bearer Flow on the controller,
    or the instance URL, or the whole session (see O(output)).
  - Tokens are reused from an on-disk cache while fresh (see O(cache)). Lookups run again at every reference of a variable
    holding one, and once per host and task; with the cache, a play over many hosts with many forks makes one login,
    which keeps clear of Salesforce's limit of about 3,600 logins per user and hour.
  - Every option can be given as a keyword, as an Ansible variable C(sfjwt_<option>), or as an environment variable
    C(SFJWT_<OPTION>), in that order of precedence; an AWX / Ansible Automation Platform credential can inject the
    environment variables.
  - Lookups have no C(no_log) of their own. A task that shows the token, or passes it in an argument that may be
    displayed, needs C(no_log=true).
  - B(Short name.) ansible-core resolves a lookup name of two parts, as in C(lookup('sfjwt.token')), only from
    C(lookup_plugins) directories. The collection's own playbooks have it. For your playbooks, add this line to the
    C([defaults]) section of C(ansible.cfg), with the path where the collection is installed
    (C(ansible-galaxy collection list sfjwt.salesforce) shows it) -
    C(lookup_plugins = ~/.ansible/collections/ansible_collections/sfjwt/salesforce/playbooks/lookup_plugins),
    or set E(ANSIBLE_LOOKUP_PLUGINS) to that directory.
author:
  - sfjwt.salesforce contributors (@sfjwt)
requirements:
  - cryptography
  - PyJWT
  - requests
options:
  output:
    description:
      - What to return.
      - V(access_token) the access token.
      - V(instance_url) the org's instance URL.
      - V(session) a dictionary with the keys the module M(sfjwt.salesforce.token) returns
        (C(access_token), C(instance_url), C(id), C(org_id), C(user_id), C(scope), C(token_type), C(issued_at) when sent,
        C(from_cache)).
    type: str
    default: access_token
    choices: [access_token, instance_url, session]
extends_documentation_fragment:
  - sfjwt.salesforce.auth
  - sfjwt.salesforce.auth.plugins
  - sfjwt.salesforce.connection
  - sfjwt.salesforce.connection.plugins
  - sfjwt.salesforce.cache
  - sfjwt.salesforce.cache.plugins
notes:
  - Failures explain what to do, for example the approval URL when the user has not approved the app,
    the audience and token host when the audience is refused, and the clock difference to Salesforce when
    the assertion is reported expired. The messages never contain a token, key or passphrase.
seealso:
  - module: sfjwt.salesforce.token
'''

EXAMPLES = r'''
- name: Call the REST API with a token (settings from SFJWT_* environment variables)
  ansible.builtin.uri:
    url: "{{ lookup('sfjwt.salesforce.token', output='instance_url') }}/services/data/v60.0/limits"
    headers:
      Authorization: "Bearer {{ lookup('sfjwt.salesforce.token') }}"
  no_log: true

- name: Options as keywords
  ansible.builtin.set_fact:
    salesforce: >-
      {{ lookup('sfjwt.salesforce.token', output='session',
                consumer_key=consumer_key, username='integration@acme.com',
                private_key_path='~/.salesforce/server.key',
                login_url='https://acme--uat.sandbox.my.salesforce.com') }}
  no_log: true

- name: Options as variables (usually in group_vars), and the short name (see the description for the ansible.cfg line)
  ansible.builtin.uri:
    url: "{{ lookup('sfjwt.token', output='instance_url') }}/services/data/"
    headers:
      Authorization: "Bearer {{ lookup('sfjwt.token') }}"
  delegate_to: localhost
  no_log: true
  vars:
    sfjwt_consumer_key: "{{ vault_consumer_key }}"
    sfjwt_username: integration@acme.com
    sfjwt_private_key: "{{ vault_private_key }}"
    sfjwt_private_key_passphrase: "{{ vault_passphrase }}"
'''

RETURN = r'''
_raw:
  description:
    - One element, the value selected by O(output) - the access token or the instance URL as a string,
      or the session as a dictionary.
  type: list
  elements: raw
'''

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

# No third-party import until a token has to be minted: a cached token costs no import of requests or cryptography.
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._auth import get_session
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import SalesforceError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import OPTION_NAMES, env_var, options_from_plugin, var_name
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._option_resolver import option_variables

display = Display()


# The options a call resolves to, by what it was given: set_options() (Ansible's config manager) and templating the
# sfjwt_* variables cost about 0.3 ms a call, most of a cached lookup. Only calls whose variables hold no template are
# remembered (a variable such as "{{ item }}" may change from call to call under the same text); keywords come templated,
# and the SFJWT_* environment is part of the key. Lives as long as the worker process.
_OPTIONS_MEMO = {}
_OPTIONS_MEMO_SIZE = 64
_TEMPLATE_MARKERS = ('{{', '{%', '{#')
_ENVIRONMENT_NAMES = tuple(env_var(name) for name in OPTION_NAMES)
# The keywords the lookup takes: Ansible's configuration ignores any other, so a misspelled option would silently fall
# back to its variable, environment variable or default.
KNOWN_KEYWORDS = tuple(sorted(OPTION_NAMES + ('output',)))


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError('The sfjwt.salesforce.token lookup takes no positional terms; give options as keywords, '
                                     'for example lookup("sfjwt.salesforce.token", username="integration@acme.com").')
        unknown = sorted(str(name) for name in kwargs if name not in KNOWN_KEYWORDS)
        if unknown:
            # Names only: a value may be a secret (a misspelled private_key_passphrase).
            raise AnsibleLookupError('The sfjwt.salesforce.token lookup has no option %s. Check the spelling; its options are: '
                                     '%s.' % (', '.join(printable(name) for name in unknown), ', '.join(KNOWN_KEYWORDS)))
        memo_key = _memo_key(variables, kwargs)
        remembered = _OPTIONS_MEMO.get(memo_key) if memo_key is not None else None
        if remembered is None:
            # Ansible's configuration takes the variables by their names (sfjwt_<option>), templated.
            values = option_variables(kwargs, variables or {}, self._templar, error=AnsibleLookupError)
            self.set_options(var_options=dict((var_name(name), value) for name, value in values.items()), direct=kwargs)
            remembered = (options_from_plugin(self, warn=display.warning), self.get_option('output'))
            if memo_key is not None:
                if len(_OPTIONS_MEMO) >= _OPTIONS_MEMO_SIZE:
                    _OPTIONS_MEMO.clear()
                _OPTIONS_MEMO[memo_key] = remembered
        options, output = remembered
        try:
            session = get_session(options)
        except SalesforceError as exc:
            raise AnsibleLookupError(exc.message) from None
        display.vvv('sfjwt.salesforce.token: %s token for %s at %s'
                    % ('reused a cached' if session.from_cache else 'obtained a new', options.username, session.instance_url))
        if output == 'session':
            return [session.as_result()]
        return [getattr(session, output)]


def _memo_key(variables, kwargs):
    """What a call's options are made of, as a hashable key; None when it cannot be trusted to mean the same options."""
    given = []
    for name in OPTION_NAMES:
        value = (variables or {}).get(var_name(name))
        if value is None:
            continue
        if not isinstance(value, (str, bool, int, float)) or (isinstance(value, str) and any(
                marker in value for marker in _TEMPLATE_MARKERS)):
            return None
        given.append((name, type(value).__name__, str(value)))
    keywords = []
    for name, value in sorted(kwargs.items()):
        if value is not None and not isinstance(value, (str, bool, int, float)):
            return None
        keywords.append((name, type(value).__name__, str(value)))
    return tuple(given), tuple(keywords), tuple(os.environ.get(name) for name in _ENVIRONMENT_NAMES)
