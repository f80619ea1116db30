# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The sfjwt.salesforce.orgs inventory without its requests: the file read and checked (``parse_config``), the hosts
built from it and from what discovery answered (``static_host``, ``devhub_hosts``, ``sandbox_hosts``), their groups,
and the whole run with the cache (``build_inventory``, given the function that asks Salesforce: _org_discovery.discover).

A host carries what the modules and the token lookup read (``sfjwt_<option>`` for the options set, never a key, token or
passphrase), the org's facts (``sfjwt_org_*``) and the user's ``vars``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from ansible.inventory.group import to_safe_group_name
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._auth import normalize_login_url
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import (
    CACHE_ARGUMENT_SPEC,
    CONNECTION_ARGUMENT_SPEC,
    AUTH_ARGUMENT_SPEC,
    OPTION_NAMES,
    env_var,
    var_name,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import (
    ORG_ID_RE,
    SANDBOX_AUDIENCE,
    host_kind,
    id18,
    parse_api_version,
)
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable

PLUGIN_NAME = 'sfjwt.salesforce.orgs'
# Never in the file: the inventory's output and cache are readable by whoever runs ansible-inventory.
SECRET_OPTIONS = ('private_key', 'private_key_passphrase')
ORG_OPTIONS = tuple(name for name in OPTION_NAMES if name not in SECRET_OPTIONS)
SECRET_VARIABLES = tuple(var_name(name) for name in SECRET_OPTIONS)

KINDS = ('production', 'sandbox', 'scratch')
# Every org host is in this group: the collection's playbooks (provision, limits) run on it when the inventory has it.
ORGS_GROUP = 'sfjwt_orgs'
# Names Ansible gives a meaning of its own: a host of that name would take over plays written for them.
RESERVED_HOST_NAMES = ('localhost', 'all', 'ungrouped')
# What is kept of a text Salesforce answered (a name, an edition): a host or group name, not a document.
MAX_TEXT_CHARS = 255
# A scratch org's LoginUrl comes from the Dev Hub's answer: it is trusted only on a Salesforce host, or on the Dev
# Hub's own host (a test server, a proxy), as the Dev Hub's key signs the assertions sent there.
SALESFORCE_HOST_SUFFIXES = ('.salesforce.com', '.force.com', '.salesforce.mil', '.cloudforce.com')
# The options a discovery answer depends on: the org and the identity that reads it.
DIGEST_OPTIONS = ('login_url', 'username', 'consumer_key', 'private_key_path', 'audience')
SOURCE_KINDS = ('orgs', 'devhub', 'sandboxes_of')
DEFAULT_SANDBOX_LOGIN_URL = 'https://test.salesforce.com'

DEFAULTS_KEYS = ORG_OPTIONS + ('vars',)
ORG_KEYS = ('name',) + DEFAULTS_KEYS
DEVHUB_KEYS = ORG_KEYS + ('add_host', 'api_version', 'org_facts')
SANDBOXES_OF_KEYS = DEVHUB_KEYS + ('sandbox_login_url', 'sandboxes')
SANDBOX_OVERRIDE_KEYS = DEFAULTS_KEYS
SOURCE_KEYS = {'devhub': DEVHUB_KEYS, 'sandboxes_of': SANDBOXES_OF_KEYS}

HOST_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]*\Z')
# A production My Domain: its sandboxes live at https://<domain>--<sandbox>.sandbox.my.salesforce.com.
MY_DOMAIN_RE = re.compile(r'https://([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\.my\.salesforce\.com(?::443)?/?\Z', re.IGNORECASE)
TEMPLATE_MARKERS = ('{{', '{%')
CACHE_FORMAT = 1

# The spec of the options an entry may set: the modules' own (types, conversions, SFJWT_* fallbacks, defaults).
_SPEC = dict(AUTH_ARGUMENT_SPEC, **CONNECTION_ARGUMENT_SPEC)
_SPEC.update(CACHE_ARGUMENT_SPEC)


class InventoryFileError(Exception):
    """The inventory file is wrong: always fails the inventory (it is not a source that may answer next time)."""


class SourceFailure(Exception):
    """A discovery source failed; a warning unless strict."""


@dataclass
class Source:
    """One entry of the file: an org of ``orgs``, or a discovery identity of ``devhub`` / ``sandboxes_of``."""

    kind: str                   # 'orgs', 'devhub' or 'sandboxes_of'
    name: str
    where: str                  # the file and the entry, for messages
    given: dict                 # the options set in the file (defaults merged in): what host vars carry
    resolved: dict = field(repr=False, default_factory=dict)  # plus SFJWT_* and defaults: what discovery logs in with
    variables: dict = field(default_factory=dict)
    add_host: bool = True
    api_version: str = 'latest'
    org_facts: bool = False
    sandbox_login_url: str = DEFAULT_SANDBOX_LOGIN_URL
    sandboxes: dict = field(default_factory=dict)   # lower-case sandbox name -> {'name', 'given', 'variables'}

    @property
    def label(self):
        """What sfjwt_source says: the entry's name for discovery, 'orgs' for the orgs listed."""
        return 'orgs' if self.kind == 'orgs' else self.name

    @property
    def cache_id(self):
        return '%s:%s' % (self.kind, self.name)

    def digest(self):
        """What discovery's answer for this source depends on, hashed (secrets left out): the cached answer of a changed
        identity is not used."""
        # Who logs in where, not how (timeouts, the token cache's directory): those leave the answer as it is.
        identity = dict((name, self.resolved.get(name)) for name in DIGEST_OPTIONS)
        data = [CACHE_FORMAT, self.kind, self.name, identity, self.api_version, self.org_facts]
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode('utf-8')).hexdigest()


@dataclass
class OrgHost:
    name: str
    variables: dict

    def as_dict(self):
        return {'name': self.name, 'variables': self.variables}


@dataclass
class Discovery:
    """What discovery answered for a source: the identity's org, and the rows of its queries."""

    org_id: Optional[str] = None
    instance_url: Optional[str] = None
    scratch_orgs: list = field(default_factory=list)          # ScratchOrgInfo rows
    sandbox_infos: list = field(default_factory=list)         # SandboxInfo rows
    sandbox_processes: list = field(default_factory=list)     # SandboxProcess rows
    organization: dict = field(default_factory=dict)          # the identity's Organization row (org_facts)


@dataclass
class InventoryResult:
    hosts: list                  # OrgHost, in the order of the file
    failures: list               # messages of the sources that failed
    warnings: list
    cache: dict                  # what to keep in the inventory cache
    cache_changed: bool
    discovered: list             # cache ids of the sources asked this run


# -- reading the file ------------------------------------------------------------------------------------------------

def _json_type(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, list):
        return 'a list'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, (int, float)):
        return 'a number'
    return type(value).__name__


def _refuse_secrets(entry, where):
    for name in SECRET_OPTIONS:
        if name in entry:
            raise InventoryFileError(
                '%s sets %s. The inventory does not take keys or passphrases: its output and cache are readable by anyone '
                'who runs ansible-inventory. Give the key as private_key_path (a file of mode 0600), and a passphrase '
                'as the environment variable %s where the inventory and the play run (an AWX credential can inject it).'
                % (where, name, env_var('private_key_passphrase')))
    variables = entry.get('vars')
    if isinstance(variables, dict):
        for name in SECRET_VARIABLES:
            if name in variables:
                raise InventoryFileError(
                    '%s sets vars.%s. Inventory variables are shown by ansible-inventory --list and kept in its cache: '
                    'give the key as private_key_path, and a passphrase as the environment variable %s (or in an '
                    'Ansible Vault file of group_vars).' % (where, name, env_var('private_key_passphrase')))


def _check_keys(entry, allowed, where):
    if not isinstance(entry, dict):
        raise InventoryFileError('%s is %s, not a mapping. Give it as a mapping of options (name, username, '
                                 'consumer_key, private_key_path, login_url, ...).' % (where, _json_type(entry)))
    _refuse_secrets(entry, where)
    unknown = sorted(str(key) for key in entry if key not in allowed)
    if unknown:
        raise InventoryFileError('%s has no option %s. Check the spelling; its options are: %s.'
                                 % (where, ', '.join(printable(name) for name in unknown), ', '.join(sorted(allowed))))


def _template(value, name, where, template):
    if template is None or not isinstance(value, str) or not any(marker in value for marker in TEMPLATE_MARKERS):
        return value
    try:
        return template(value)
    except Exception as exc:  # pylint: disable=broad-except
        raise InventoryFileError('%s: %s could not be templated (%s). An inventory file is templated with the extra '
                                 'variables only: give the value itself, or its SFJWT_* environment variable (%s).'
                                 % (where, name, printable(exc), env_var(name))) from None


def check_options(values, where, template=None, environ_fallback=True):
    """(given, resolved) for the options of an entry: ``given`` the values set (converted to their types; paths as
    written), ``resolved`` given + the SFJWT_* environment variables + the modules' defaults. The modules' own argument
    spec decides types and fallbacks."""
    raw = {}
    for name, value in values.items():
        value = _template(value, name, where, template)
        if value is not None:
            raw[name] = value
    spec = _SPEC if environ_fallback else dict(
        (name, dict((key, value) for key, value in spec.items() if key != 'fallback')) for name, spec in _SPEC.items())
    result = ArgumentSpecValidator(spec).validate(dict(raw))
    if result.error_messages:
        raise InventoryFileError('%s: %s. Fix the value in the inventory file.'
                                 % (where, '; '.join(printable(message) for message in result.error_messages)))
    resolved = result.validated_parameters
    given = dict((name, value if _SPEC[name]['type'] == 'path' else resolved[name]) for name, value in raw.items())
    for name in ('login_url',):
        if name in given:
            try:
                normalize_login_url(given[name])
            except AuthError as exc:
                raise InventoryFileError('%s: %s' % (where, exc.message)) from None
    return given, resolved


def _variables(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InventoryFileError('%s: vars is %s, not a mapping of variable names to values.' % (where, _json_type(value)))
    return dict(value)


def _host_name(value, where):
    if not isinstance(value, str) or not HOST_NAME_RE.match(value):
        raise InventoryFileError('%s: name %s is not a host name. Give a name of letters, digits, "-", "_" and ".", '
                                 'starting with a letter or digit (it becomes the host name).'
                                 % (where, 'is missing' if value is None else repr(printable(value))))
    if value.lower() in RESERVED_HOST_NAMES:
        raise InventoryFileError('%s: name %s is a name Ansible gives a meaning of its own (%s): a host of that name would '
                                 'take over plays written for it. Name the org after itself.'
                                 % (where, value, ', '.join(RESERVED_HOST_NAMES)))
    return value


def _options_of(entry):
    return dict((name, entry[name]) for name in ORG_OPTIONS if name in entry)


def _entries(config, key, path):
    """The entries of a source key: a mapping or a list of mappings (devhub, sandboxes_of), a list (orgs)."""
    value = config.get(key)
    if value is None:
        return []
    if isinstance(value, dict) and key != 'orgs':
        return [('%s' % key, value)]
    if not isinstance(value, list):
        wanted = 'a list of orgs' if key == 'orgs' else 'a mapping (one identity) or a list of them'
        raise InventoryFileError('%s: %s is %s. Give %s.' % (path, key, _json_type(value), wanted))
    return [('%s[%d]' % (key, index), entry) for index, entry in enumerate(value)]


def _where(path, label, entry):
    name = entry.get('name') if isinstance(entry, dict) else None
    if isinstance(name, str):
        return '%s: %s (%s)' % (path, label, printable(name))
    return '%s: %s' % (path, label)


def parse_config(config, path, known_options=(), template=None):
    """The Sources of an inventory file (a mapping, as read), in file order: orgs, then devhub, then sandboxes_of.
    InventoryFileError names the file, the entry and the fix. ``known_options``: the plugin's top-level options
    (constructed, cache); ``template`` templates option values that hold a template."""
    top = set(known_options) | {'plugin', 'orgs', 'defaults', 'devhub', 'sandboxes_of'}
    unknown = sorted(str(key) for key in config if key not in top)
    if unknown:
        raise InventoryFileError('%s has no option %s. Check the spelling; the options of %s are: %s.'
                                 % (path, ', '.join(printable(name) for name in unknown), PLUGIN_NAME, ', '.join(sorted(top))))
    if not any(config.get(key) for key in SOURCE_KINDS):
        raise InventoryFileError('%s gives no org: add orgs (a list of orgs), devhub (a Dev Hub whose scratch orgs become '
                                 'hosts) or sandboxes_of (a production org whose sandboxes become hosts).' % path)
    defaults = config.get('defaults') or {}
    where = '%s: defaults' % path
    _check_keys(defaults, DEFAULTS_KEYS, where)
    default_options = _options_of(defaults)
    default_vars = _variables(defaults.get('vars'), where)

    sources = []
    for key in SOURCE_KINDS:
        for label, entry in _entries(config, key, path):
            where = _where(path, label, entry)
            _check_keys(entry, ORG_KEYS if key == 'orgs' else SOURCE_KEYS[key], where)
            name = _host_name(entry.get('name'), where)
            options = dict(default_options, **_options_of(entry))
            given, resolved = check_options(options, where, template)
            variables = dict(default_vars, **_variables(entry.get('vars'), where))
            source = Source(kind=key, name=name, where=where, given=given, resolved=resolved, variables=variables)
            if key != 'orgs':
                _identity_settings(source, entry, where, template)
            sources.append(source)
    _refuse_duplicates(sources)
    return sources


def _bool(value, name, where):
    if isinstance(value, bool):
        return value
    raise InventoryFileError('%s: %s is %s; give true or false.' % (where, name, _json_type(value)))


def _identity_settings(source, entry, where, template):
    source.add_host = _bool(entry.get('add_host', True), 'add_host', where)
    source.org_facts = _bool(entry.get('org_facts', False), 'org_facts', where)
    if entry.get('api_version') is not None:
        text = str(entry['api_version']).strip()
        if text.lower() != 'latest' and parse_api_version(text) is None:
            raise InventoryFileError('%s: api_version %r is not a Salesforce API version: use latest, or the form NN.N '
                                     '(for example 62.0).' % (where, printable(entry['api_version'])))
        source.api_version = text.lower() if text.lower() == 'latest' else text.lstrip('vV')
    if source.kind != 'sandboxes_of':
        return
    if entry.get('sandbox_login_url') is not None:
        url = _template(entry['sandbox_login_url'], 'sandbox_login_url', where, template)
        try:
            source.sandbox_login_url = normalize_login_url(url if isinstance(url, str) else '')
        except AuthError as exc:
            raise InventoryFileError('%s: sandbox_login_url: %s' % (where, exc.message)) from None
    overrides = entry.get('sandboxes')
    if overrides is None:
        return
    if not isinstance(overrides, dict):
        raise InventoryFileError('%s: sandboxes is %s. Give a mapping of sandbox names to their settings, for example '
                                 'sandboxes: {uat: {username: ci@acme.com.uat}}.' % (where, _json_type(overrides)))
    for sandbox, settings in overrides.items():
        label = '%s, sandboxes.%s' % (where, printable(sandbox))
        settings = {} if settings is None else settings
        _check_keys(settings, SANDBOX_OVERRIDE_KEYS, label)
        lower = str(sandbox).lower()
        if lower in source.sandboxes:
            raise InventoryFileError('%s is given twice (sandbox names are case-insensitive): keep one.' % label)
        # Checked with the identity's options under them: a type error shows here, not at the first play.
        given, dummy = check_options(dict(source.given, **_options_of(settings)), label, template, environ_fallback=False)
        given = dict((name, value) for name, value in given.items() if name in settings)
        source.sandboxes[lower] = {'name': str(sandbox), 'given': given,
                                   'variables': _variables(settings.get('vars'), label)}


def _refuse_duplicates(sources):
    seen = {}
    for source in sources:
        if source.kind != 'orgs' and not source.add_host:
            continue
        if source.name in seen:
            raise InventoryFileError('The host name %s is given twice, by %s and by %s. Host names must be unique: rename '
                                     'one, or set add_host: false on a devhub / sandboxes_of entry whose org is listed '
                                     'under orgs.' % (source.name, seen[source.name], source.where))
        seen[source.name] = source.where


# -- hosts -----------------------------------------------------------------------------------------------------------

def slug(text):
    """A host name from a label: lower case, runs of anything but letters and digits as one '-'."""
    return re.sub(r'[^a-z0-9]+', '-', str(text or '').lower()).strip('-')


def safe_group_name(text):
    """A group name by Ansible's rules (anything not a word character becomes '_'), in lower case."""
    return to_safe_group_name(str(text).strip().lower(), force=True, silent=True)


def kind_of_login_url(login_url):
    """production, sandbox or scratch, as the token host's name tells (production when it does not)."""
    host = (login_url or '').split('://', 1)[-1].split('/', 1)[0].split(':', 1)[0].lower()
    if host.endswith('.scratch.my.salesforce.com'):
        return 'scratch'
    if host_kind(host)[1] == SANDBOX_AUDIENCE:
        return 'sandbox'
    return 'production'


def host_variables(name, kind, source, options, facts, variables):
    """The variables of an org host: the connection, sfjwt_<option> for every option set, the facts, the user's vars
    (last: they may override any of them). What Salesforce answered (the facts, and options made from its rows) is
    marked unsafe: a scratch org named "{{ ... }}" is never templated."""
    result = {'ansible_connection': 'local'}
    for option in ORG_OPTIONS:
        if options.get(option) is not None:
            result[var_name(option)] = options[option]
    result.update({'sfjwt_org_name': name, 'sfjwt_org_kind': kind, 'sfjwt_source': source.label})
    result.update(dict((key, wrap_var(value)) for key, value in facts.items() if value not in (None, '')))
    result.update(variables)
    return result


def org_groups(variables):
    """The groups of a host, from its variables: sfjwt_orgs, its kind, instance_<name>, edition_<name>, status_<name>."""
    groups = [ORGS_GROUP]
    kind = variables.get('sfjwt_org_kind')
    if kind in KINDS:
        groups.append(kind)
    for prefix, variable in (('instance', 'sfjwt_instance_name'), ('edition', 'sfjwt_edition'),
                             ('status', 'sfjwt_org_status')):
        value = variables.get(variable)
        if isinstance(value, str) and value.strip():
            groups.append(safe_group_name('%s_%s' % (prefix, value)))
    return groups


def static_host(source):
    login_url = source.resolved.get('login_url')
    kind = kind_of_login_url(login_url)
    return OrgHost(source.name, host_variables(source.name, kind, source, source.given, {}, source.variables))


def identity_host(source, discovery):
    organization = discovery.organization or {}
    facts = {'sfjwt_org_id': _org_id(discovery.org_id), 'sfjwt_org_instance_url': discovery.instance_url,
             'sfjwt_instance_name': _text(organization, 'InstanceName'), 'sfjwt_edition': _text(organization, 'OrganizationType')}
    return OrgHost(source.name, host_variables(source.name, 'production', source, source.given, facts, source.variables))


def _org_id(value):
    return id18(value) if isinstance(value, str) and ORG_ID_RE.match(value) else None


def _text(row, name):
    """A text field of a row Salesforce answered, stripped; None when missing, empty, not a text or absurdly long."""
    value = row.get(name)
    value = value.strip() if isinstance(value, str) else None
    return value if value and len(value) <= MAX_TEXT_CHARS else None


def _percent(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100 else None


def devhub_hosts(source, discovery):
    """(hosts, warnings): the Dev Hub (unless add_host is false) and its active scratch orgs."""
    hosts = [identity_host(source, discovery)] if source.add_host else []
    warnings = []
    taken = set(host.name for host in hosts)
    for row in discovery.scratch_orgs:
        status = _text(row, 'Status')
        if status and status.lower() != 'active':
            continue
        scratch_org = _text(row, 'ScratchOrg')
        label = _text(row, 'OrgName') or scratch_org or _text(row, 'Id') or '?'
        username, login_url = _text(row, 'SignupUsername'), _text(row, 'LoginUrl')
        if not username or not login_url:
            warnings.append('%s: the scratch org %s is left out: its ScratchOrgInfo has no %s.'
                            % (source.where, printable(label), 'SignupUsername' if not username else 'LoginUrl'))
            continue
        try:
            login_url = normalize_login_url(login_url)
        except AuthError as exc:
            warnings.append('%s: the scratch org %s is left out: its LoginUrl is not usable (%s).'
                            % (source.where, printable(label), exc.message))
            continue
        if not _trusted_scratch_host(login_url, source):
            warnings.append('%s: the scratch org %s is left out: its LoginUrl %s is neither a Salesforce host nor the Dev '
                            "Hub's own host, and the Dev Hub's key would sign the assertions sent there."
                            % (source.where, printable(label), printable(login_url)))
            continue
        name = slug(_text(row, 'OrgName')) or slug(scratch_org) or slug(_text(row, 'Id'))
        if name in taken:
            name = '%s-%s' % (name, slug(scratch_org or _text(row, 'Id')))
        if not name or name in taken:
            warnings.append('%s: the scratch org %s is left out: its host name %s is taken.'
                            % (source.where, printable(label), name))
            continue
        taken.add(name)
        options = dict(source.given, login_url=wrap_var(login_url), username=wrap_var(username), audience=SANDBOX_AUDIENCE)
        facts = {'sfjwt_org_id': _org_id(scratch_org), 'sfjwt_edition': _text(row, 'Edition'), 'sfjwt_org_status': status,
                 'sfjwt_org_label': _text(row, 'OrgName'), 'sfjwt_org_expiration_date': _text(row, 'ExpirationDate'),
                 'sfjwt_scratch_org_info_id': _text(row, 'Id'), 'sfjwt_org_instance_url': login_url}
        hosts.append(OrgHost(name, host_variables(name, 'scratch', source, options, facts, source.variables)))
    return hosts, warnings


def _url_host(url):
    return (urlsplit(url).hostname or '').lower().rstrip('.') if isinstance(url, str) else ''


def _trusted_scratch_host(login_url, source):
    host = _url_host(login_url)
    return bool(host) and (host.endswith(SALESFORCE_HOST_SUFFIXES) or host == _url_host(source.resolved.get('login_url')))


def sandbox_login_url(source, instance_url, sandbox):
    """The sandbox's token host: its My Domain when the production org's login_url or instance URL is a My Domain
    (https://<domain>.my.salesforce.com -> https://<domain>--<sandbox>.sandbox.my.salesforce.com), else the source's
    sandbox_login_url."""
    for url in (source.resolved.get('login_url'), instance_url):
        match = MY_DOMAIN_RE.match(url or '')
        if match:
            return 'https://%s--%s.sandbox.my.salesforce.com' % (match.group(1).lower(), sandbox.lower())
    return source.sandbox_login_url


def _newest_processes(processes):
    """{SandboxInfoId or lower-case SandboxName: the newest SandboxProcess row}."""
    newest = {}
    for row in processes:
        order = (_text(row, 'StartDate') or '', _text(row, 'LastModifiedDate') or '', _text(row, 'Id') or '')
        for key in (_text(row, 'SandboxInfoId'), (_text(row, 'SandboxName') or '').lower() or None):
            if key and (key not in newest or newest[key][0] <= order):
                newest[key] = (order, row)
    return dict((key, row) for key, (dummy, row) in newest.items())


def sandbox_hosts(source, discovery):
    """(hosts, warnings): the production org (unless add_host is false) and its sandboxes, each with the status of its
    newest SandboxProcess; deleted sandboxes are left out."""
    hosts = [identity_host(source, discovery)] if source.add_host else []
    warnings = []
    production_username = source.resolved.get('username')
    newest = _newest_processes(discovery.sandbox_processes)
    seen = set()
    for row in discovery.sandbox_infos:
        sandbox = _text(row, 'SandboxName')
        if not sandbox or not re.match(r'[A-Za-z][A-Za-z0-9]*\Z', sandbox):
            warnings.append('%s: a SandboxInfo row (Id %s) is left out: its SandboxName %r is not a sandbox name.'
                            % (source.where, printable(_text(row, 'Id')), printable(sandbox)))
            continue
        lower = sandbox.lower()
        process = newest.get(_text(row, 'Id')) or newest.get(lower) or {}
        status = _text(process, 'Status')
        if lower in seen or (status or '').lower() == 'deleted':
            continue
        seen.add(lower)
        override = source.sandboxes.get(lower, {})
        name = '%s-%s' % (source.name, lower)
        options = dict(source.given, login_url=wrap_var(sandbox_login_url(source, discovery.instance_url, sandbox)),
                       username=wrap_var('%s.%s' % (production_username, lower)), audience=SANDBOX_AUDIENCE)
        options.update(override.get('given') or {})
        facts = {'sfjwt_org_id': _org_id(_text(process, 'SandboxOrganization')), 'sfjwt_org_status': status,
                 'sfjwt_sandbox_name': sandbox, 'sfjwt_sandbox_license_type': _text(row, 'LicenseType') or _text(
                     process, 'LicenseType'), 'sfjwt_sandbox_info_id': _text(row, 'Id'),
                 'sfjwt_sandbox_copy_progress': _percent(process.get('CopyProgress')),
                 # A sandbox has its production org's edition.
                 'sfjwt_edition': _text(discovery.organization or {}, 'OrganizationType')}
        variables = dict(source.variables, **(override.get('variables') or {}))
        hosts.append(OrgHost(name, host_variables(name, 'sandbox', source, options, facts, variables)))
    for lower, override in sorted(source.sandboxes.items()):
        if lower not in seen:
            warnings.append('%s: sandboxes.%s names no sandbox of %s (its sandboxes: %s); the entry is not used.'
                            % (source.where, printable(override['name']), source.name,
                               ', '.join(sorted(seen)) or 'none'))
    return hosts, warnings


HOST_BUILDERS = {'devhub': devhub_hosts, 'sandboxes_of': sandbox_hosts}


# -- the run ---------------------------------------------------------------------------------------------------------

def _cached_discovery(cached, source):
    """The answer the cache holds for a source whose identity has not changed since, or None."""
    entries = cached.get('sources') if isinstance(cached, dict) and cached.get('format') == CACHE_FORMAT else None
    entry = entries.get(source.cache_id) if isinstance(entries, dict) else None
    if not isinstance(entry, dict) or entry.get('digest') != source.digest() or not isinstance(entry.get('discovery'), dict):
        return None
    try:
        return Discovery(**entry['discovery'])
    except TypeError:
        return None


def build_inventory(sources, discover: Callable[[Source], Discovery], cached: Any = None, use_cache=False, existing_hosts=()):
    """Every host of the sources, in file order. ``discover(source)`` asks Salesforce (raising SourceFailure); with
    ``use_cache`` a source whose identity is unchanged is answered from ``cached``. The cache keeps discovery's answers
    (rows of Salesforce's queries, never a token), so hosts follow the file's vars and overrides without a request.
    A failed source gives no host and is not cached; a host name an earlier entry gave is left out with a warning.
    A host that would take a name Salesforce's answer must not decide (one of ``existing_hosts``, the hosts other
    inventory sources made; for a discovered org also an entry's own name, or localhost/all/ungrouped) is left out as
    a failure: a scratch org's creator names it."""
    hosts, failures, warnings, discovered = [], [], [], []
    cache = {'format': CACHE_FORMAT, 'sources': {}}
    existing = set(existing_hosts)
    entry_names = set(source.name for source in sources)
    for source in sources:
        if source.kind == 'orgs':
            found = [static_host(source)]
        else:
            answer = _cached_discovery(cached, source) if use_cache else None
            if answer is None:
                discovered.append(source.cache_id)
                try:
                    answer = discover(source)
                except SourceFailure as exc:
                    failures.append(str(exc))
                    continue
            cache['sources'][source.cache_id] = {'digest': source.digest(), 'discovery': dataclasses.asdict(answer)}
            found, source_warnings = HOST_BUILDERS[source.kind](source, answer)
            warnings.extend(source_warnings)
        names = set(host.name for host in hosts)
        for host in found:
            own = host.name == source.name
            taken = host.name in existing or (not own and (host.name in entry_names or host.name.lower() in RESERVED_HOST_NAMES))
            if taken:
                failures.append('%s: the host %s is left out: %s. Rename the entry, or the org in Salesforce.'
                                % (source.where, printable(host.name),
                                   'another inventory source has a host of that name, which it would take over'
                                   if host.name in existing else 'its name is %s, which an org found in Salesforce may not take'
                                   % ('an entry of this file' if host.name in entry_names else 'one Ansible gives a meaning of its own')))
                continue
            if host.name in names:
                warnings.append('%s: the host %s is left out: an earlier entry of the file gave a host of that name. '
                                'Rename one (the hosts of a devhub or sandboxes_of entry are named after it, or after '
                                'their scratch org).' % (source.where, host.name))
                continue
            names.add(host.name)
            hosts.append(host)
    changed = bool(discovered) or not use_cache or cached != cache
    return InventoryResult(hosts=hosts, failures=failures, warnings=warnings, cache=cache, cache_changed=changed,
                           discovered=discovered)
