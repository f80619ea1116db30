# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: orgs
short_description: Salesforce orgs as hosts - listed, the scratch orgs of a Dev Hub, the sandboxes of a production org
version_added: 0.2.0
description:
  - Turns Salesforce orgs into inventory hosts, from a file whose name ends in C(.sfjwt_orgs.yml) or C(.sfjwt_orgs.yaml).
  - Every host gets C(ansible_connection=local) and the variables C(sfjwt_<option>) of the options set for it
    (C(sfjwt_login_url), C(sfjwt_username), C(sfjwt_consumer_key), C(sfjwt_private_key_path), C(sfjwt_audience),
    C(sfjwt_ca_path), ...), so that every module of the collection and the M(sfjwt.salesforce.token) lookup use the org
    with no auth option in the play. Options not set in the file (for example the private key's passphrase) come from
    the E(SFJWT_*) environment variables where the play runs, as for the modules.
  - 'Facts of each host: C(sfjwt_org_name) (the host name), C(sfjwt_org_kind) (V(production), V(sandbox) or V(scratch)),
    C(sfjwt_source) (V(orgs) for the orgs listed, else the name of the devhub or sandboxes_of entry), and when known C(sfjwt_org_id), C(sfjwt_org_instance_url),
    C(sfjwt_org_status), C(sfjwt_edition), C(sfjwt_instance_name); sandboxes add C(sfjwt_sandbox_name),
    C(sfjwt_sandbox_license_type), C(sfjwt_sandbox_info_id) and C(sfjwt_sandbox_copy_progress); scratch orgs add
    C(sfjwt_org_label) (the OrgName), C(sfjwt_org_expiration_date) and C(sfjwt_scratch_org_info_id).'
  - Groups - V(sfjwt_orgs) (every org host; the collection's C(provision) and C(limits) playbooks run on it),
    V(production), V(sandbox), V(scratch) by kind, and C(instance_<name>), C(edition_<name>), C(status_<name>)
    from C(sfjwt_instance_name), C(sfjwt_edition) and C(sfjwt_org_status) (also when set in O(orgs[].vars)), in lower
    case with Ansible's safe group name rules (C(Enterprise Edition) gives C(edition_enterprise_edition)).
  - Discovery (O(devhub), O(sandboxes_of)) logs in once per entry, through the collection's token cache, which the play
    then reuses. It never logs in to the sandboxes or scratch orgs it lists.
  - The output of ansible-inventory and the inventory cache never hold a key, a token or a passphrase, only paths and
    names. The file may not set C(private_key) or C(private_key_passphrase); set E(SFJWT_PRIVATE_KEY_PASSPHRASE) for an
    encrypted key.
  - A discovery entry that fails (its login, or its query) gives a warning naming the file, the entry and what to do,
    and the other entries still give their hosts; with O(strict=true) the inventory fails instead. A mistake in the file
    itself always fails it.
  - What Salesforce answers names and places discovered orgs, and whoever creates a scratch org chooses its name. So a
    discovered org never takes the name of an entry of the file, of a host another inventory source made, or
    C(localhost), C(all) or C(ungrouped) (it is left out, as a failing entry is), and a scratch org's C(LoginUrl) must be
    a Salesforce host or the Dev Hub's own host, as the Dev Hub's key signs the assertions sent there. Entries may not be
    named C(localhost), C(all) or C(ungrouped).
author:
  - sfjwt.salesforce contributors (@sfjwt)
requirements:
  - cryptography (to log in for discovery)
  - PyJWT (to log in for discovery)
  - requests (for discovery)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; it marks the file as an inventory of this plugin.
    type: str
    required: true
    choices: [sfjwt.salesforce.orgs]
  defaults:
    description:
      - Options and C(vars) merged under every entry of O(orgs), O(devhub) and O(sandboxes_of) (an entry's own value
        wins; C(vars) are merged key by key).
      - It takes the auth, connection and cache options of the modules, by their names - C(consumer_key), C(username),
        C(private_key_path), C(login_url), C(audience), C(certificate_path), C(validate_certs), C(ca_path), C(timeout),
        C(retries), C(cache), C(cache_ttl), C(cache_dir) - and C(vars). C(private_key) and C(private_key_passphrase)
        are refused.
      - Here C(cache) is the token cache of the modules; the inventory cache is O(cache) at the top of the file.
    type: dict
    default: {}
  orgs:
    description:
      - Orgs listed in the file; each becomes a host named O(orgs[].name).
      - Each takes the auth, connection and cache options of the modules by their names (as O(defaults) does).
      - Its kind is V(sandbox) when its C(login_url) is V(https://test.salesforce.com) or a sandbox My Domain,
        V(scratch) for a C(*.scratch.my.salesforce.com) My Domain, else V(production); C(vars) may set C(sfjwt_org_kind).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The host name (letters, digits, C(-), C(_) and C(.)).
        type: str
        required: true
      vars:
        description: Variables of the host; they are set last and may override the facts and C(sfjwt_*) variables.
        type: dict
  devhub:
    description:
      - A Dev Hub identity (a mapping, or a list of them), with the keys of an O(orgs) entry plus those below. Its active
        scratch orgs (C(ScratchOrgInfo) rows with C(Status = Active), one query) become hosts named after a slug of
        their C(OrgName) (or their C(ScratchOrg) id; a repeated name gets the id appended), logging in with the Dev
        Hub's C(consumer_key), key and connection options, C(username) the C(SignupUsername), C(login_url) the
        C(LoginUrl) and C(audience) V(https://test.salesforce.com).
      - The Dev Hub itself is a host too (kind V(production)), unless C(add_host=false).
      - The entry's C(vars) apply to every host it gives.
    type: raw
    suboptions:
      name:
        description: The Dev Hub's host name; names the entry in messages.
        type: str
        required: true
      add_host:
        description: Whether the Dev Hub itself is a host (set V(false) when it is listed in O(orgs)).
        type: bool
        default: true
      api_version:
        description: The REST API version of the discovery queries, V(latest) (asked once and kept with the cached
          session) or C(NN.N).
        type: str
        default: latest
      org_facts:
        description:
          - Also query the Organization row of the Dev Hub (one more query), for its C(sfjwt_instance_name) and
            C(sfjwt_edition) facts (and groups).
        type: bool
        default: false
  sandboxes_of:
    description:
      - A production identity (a mapping, or a list of them), with the keys of an O(orgs) entry plus those below. Its
        sandboxes (Tooling API C(SandboxInfo), with the status of each one's newest C(SandboxProcess); two queries)
        become hosts named C(<name>-<sandbox name in lower case>); deleted sandboxes are left out. With
        O(sandboxes_of.org_facts), one query more.
      - A sandbox host logs in with the production's C(consumer_key), key and connection options, the username
        C(<production username>.<sandbox name in lower case>), audience V(https://test.salesforce.com), and as
        C(login_url) the sandbox's My Domain V(https://<domain>--<sandbox>.sandbox.my.salesforce.com) when the production
        C(login_url) or instance URL is a My Domain V(https://<domain>.my.salesforce.com), else
        O(sandboxes_of.sandbox_login_url). O(sandboxes_of.sandboxes) overrides any of them per sandbox.
      - The production org itself is a host too (kind V(production)), unless C(add_host=false).
      - The entry's C(vars) apply to every host it gives.
    type: raw
    suboptions:
      name:
        description: The production org's host name, and the first part of its sandboxes' host names.
        type: str
        required: true
      add_host:
        description: Whether the production org itself is a host (set V(false) when it is listed in O(orgs)).
        type: bool
        default: true
      api_version:
        description: The REST API version of the discovery queries, V(latest) (asked once and kept with the cached
          session) or C(NN.N).
        type: str
        default: latest
      org_facts:
        description:
          - Also query the Organization row of the production org (one more query), for its C(sfjwt_instance_name) and
            C(sfjwt_edition) facts (and groups); its sandboxes get its C(sfjwt_edition) too (a sandbox has the
            edition of its production org).
        type: bool
        default: false
      sandbox_login_url:
        description: The token host of the sandboxes when the production org has no My Domain URL to derive theirs from.
        type: str
        default: https://test.salesforce.com
      sandboxes:
        description:
          - Per sandbox (by its name, case-insensitive), options that replace the derived ones (C(username), C(login_url),
            or any auth, connection or cache option) and C(vars) merged over the entry's.
          - A name that matches no sandbox is reported in a warning.
        type: dict
notes:
  - With the inventory cache on (O(cache=true) and a persistent O(cache_plugin) such as V(ansible.builtin.jsonfile)), the
    answers of discovery are kept per entry and reused until O(cache_timeout) or until the entry's identity changes
    (C(vars) and sandbox overrides apply without asking again); the C(--flush-cache) option of C(ansible-playbook) asks
    again. A failed entry is not cached.
  - The values of the options may be templates; they are templated with the extra variables only.
seealso:
  - module: sfjwt.salesforce.rest
  - module: sfjwt.salesforce.token
'''

EXAMPLES = r'''
# acme.sfjwt_orgs.yml - orgs listed in the file
plugin: sfjwt.salesforce.orgs
defaults:
  consumer_key: 3MVG9...
  private_key_path: ~/.salesforce/ci.key
orgs:
  - name: acme
    username: ci@acme.com
    login_url: https://acme.my.salesforce.com
  - name: acme-uat
    username: ci@acme.com.uat
    login_url: https://acme--uat.sandbox.my.salesforce.com
    vars:
      deploy_wave: 1

# scratch.sfjwt_orgs.yml - the active scratch orgs of a Dev Hub
plugin: sfjwt.salesforce.orgs
devhub:
  name: hub
  username: ci@hub.example.com
  consumer_key: 3MVG9...
  private_key_path: ~/.salesforce/hub.key
  login_url: https://hub.my.salesforce.com

# sandboxes.sfjwt_orgs.yml - a production org and its sandboxes (acme-uat, acme-dev, ...)
plugin: sfjwt.salesforce.orgs
sandboxes_of:
  name: acme
  username: ci@acme.com
  consumer_key: 3MVG9...
  private_key_path: ~/.salesforce/ci.key
  login_url: https://acme.my.salesforce.com
  sandboxes:
    fullcopy:
      username: release@acme.com.fullcopy
      vars:
        deploy_wave: 2

# fleet.sfjwt_orgs.yml - every source at once, grouped, with the inventory cache
plugin: sfjwt.salesforce.orgs
defaults:
  consumer_key: 3MVG9...
  private_key_path: ~/.salesforce/ci.key
orgs:
  - name: customer1
    username: ci@customer1.com
sandboxes_of:
  - name: acme
    username: ci@acme.com
    login_url: https://acme.my.salesforce.com
  - name: globex
    username: ci@globex.com
    sandbox_login_url: https://test.salesforce.com
devhub:
  name: hub
  username: ci@hub.example.com
keyed_groups:
  - key: sfjwt_source
    prefix: source
groups:
  expiring: sfjwt_org_expiration_date is defined and sfjwt_org_expiration_date < '2030-01-01'
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/sfjwt-inventory
cache_timeout: 3600
strict: false
'''

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._org_inventory import (
    ORGS_GROUP,
    InventoryFileError,
    build_inventory,
    org_groups,
    parse_config,
)

display = Display()

FILE_ENDINGS = ('.sfjwt_orgs.yml', '.sfjwt_orgs.yaml')


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'sfjwt.salesforce.orgs'

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(FILE_ENDINGS)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        try:
            sources = parse_config(config, path, known_options=self._options, template=self._template)
        except InventoryFileError as exc:
            raise AnsibleParserError(str(exc)) from None

        cache_key = self.get_cache_key(path)
        user_cache_setting = self.get_option('cache')
        attempt_to_read_cache = user_cache_setting and cache
        cache_needs_update = user_cache_setting and not cache
        cached = None
        if attempt_to_read_cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cache_needs_update = True

        # The group always exists: with no org host the collection's playbooks match none, not localhost.
        self.inventory.add_group(ORGS_GROUP)
        result = build_inventory(sources, self._discover, cached, use_cache=bool(attempt_to_read_cache),
                                 existing_hosts=set(self.inventory.hosts))
        if result.failures and self.get_option('strict'):
            raise AnsibleParserError('\n'.join(result.failures + ['(strict is true: a failing source fails the inventory; '
                                                                  'with strict false it is a warning.)']))
        for message in result.failures + result.warnings:
            display.warning(message)
        if user_cache_setting and (cache_needs_update or result.cache_changed):
            self._cache[cache_key] = result.cache
        self._populate(result.hosts)

    def _template(self, value):
        self.templar.available_variables = self._vars or {}
        return self.templar.template(value)

    @staticmethod
    def _discover(source):
        # Imported when a source is asked: a cached inventory loads no HTTP library.
        from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._org_discovery import discover
        return discover(source, warn=display.warning)

    def _populate(self, hosts):
        strict = self.get_option('strict')
        for host in hosts:
            self.inventory.add_host(host.name)
            for key, value in host.variables.items():
                self.inventory.set_variable(host.name, key, value)
            for group in org_groups(host.variables):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host.name)
            hostvars = self.inventory.get_host(host.name).get_vars()
            self._set_composite_vars(self.get_option('compose'), hostvars, host.name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, host.name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, host.name, strict=strict)
