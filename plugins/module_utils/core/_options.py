# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The option adapter: one ``AuthOptions`` built from a module's params or a plugin's get_option(),
so the modules, the lookup and the doctor share one auth code path.

Option names, defaults and environment variables are defined here once (the numeric defaults in _common, which _http and
_token_cache share); the doc fragments (plugins/doc_fragments/auth.py, connection.py, cache.py) document the same values.
"""

from __future__ import annotations

import copy
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ansible.module_utils.common.parameters import env_fallback

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._common import DEFAULT_RETRIES, DEFAULT_TIMEOUT, DEFAULT_TTL
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import AuthError
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import is_unprintable

DEFAULT_LOGIN_URL = 'https://login.salesforce.com'
# The largest values accepted (the largest cache_ttl is _token_cache.MAX_TTL).
MAX_TIMEOUT = 3600
MAX_RETRIES = 10
ENV_PREFIX = 'SFJWT_'
VARS_PREFIX = 'sfjwt_'

AUTH_OPTION_NAMES = ('consumer_key', 'username', 'private_key_path', 'private_key', 'private_key_passphrase',
                     'login_url', 'audience', 'certificate_path')
CONNECTION_OPTION_NAMES = ('validate_certs', 'ca_path', 'timeout', 'retries')
CACHE_OPTION_NAMES = ('cache', 'cache_ttl', 'cache_dir')
OPTION_NAMES = AUTH_OPTION_NAMES + CONNECTION_OPTION_NAMES + CACHE_OPTION_NAMES

DEFAULTS = {
    'login_url': DEFAULT_LOGIN_URL,
    'validate_certs': True,
    'timeout': DEFAULT_TIMEOUT,
    'retries': DEFAULT_RETRIES,
    'cache': True,
    'cache_ttl': DEFAULT_TTL,
}


def env_var(option):
    """The environment variable an option falls back to: SFJWT_<OPTION>."""
    return ENV_PREFIX + option.upper()


def var_name(option):
    """The Ansible variable lookups read an option from: sfjwt_<option>."""
    return VARS_PREFIX + option


def _spec(option, option_type, **extra):
    spec = dict(type=option_type, fallback=(env_fallback, [env_var(option)]))
    if option in DEFAULTS:
        spec['default'] = DEFAULTS[option]
    spec.update(extra)
    return spec


# Argument spec pieces for modules; every option falls back to its SFJWT_* environment variable.
# no_log=False is explicit where a name looks secret but the value is not (consumer key, paths).
AUTH_ARGUMENT_SPEC = dict(
    consumer_key=_spec('consumer_key', 'str', no_log=False),
    username=_spec('username', 'str'),
    private_key_path=_spec('private_key_path', 'path', no_log=False),
    private_key=_spec('private_key', 'str', no_log=True),
    private_key_passphrase=_spec('private_key_passphrase', 'str', no_log=True),
    login_url=_spec('login_url', 'str'),
    audience=_spec('audience', 'str'),
    certificate_path=_spec('certificate_path', 'path'),
)
CONNECTION_ARGUMENT_SPEC = dict(
    validate_certs=_spec('validate_certs', 'bool'),
    ca_path=_spec('ca_path', 'path'),
    timeout=_spec('timeout', 'int'),
    retries=_spec('retries', 'int'),
)
CACHE_ARGUMENT_SPEC = dict(
    cache=_spec('cache', 'bool'),
    cache_ttl=_spec('cache_ttl', 'int'),
    cache_dir=_spec('cache_dir', 'path'),
)


# Options of some members of the action group (group/sfjwt.salesforce.salesforce) that every member accepts, so that a
# module_defaults default for the group works for each: api_version is used by the API modules (which give it their
# own spec, default latest) and accepted unused by the token module and the doctor (doc fragment api.group_api_version).
GROUP_ARGUMENT_SPEC = dict(
    api_version=dict(type='str'),
)


def argument_spec(**module_specific):
    """A fresh module argument spec: auth + connection + cache options, the group's shared options, plus the module's
    own (which replace a group option of the same name)."""
    spec = copy.deepcopy(AUTH_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(CONNECTION_ARGUMENT_SPEC))
    spec.update(copy.deepcopy(CACHE_ARGUMENT_SPEC))
    spec.update(copy.deepcopy(GROUP_ARGUMENT_SPEC))
    spec.update(module_specific)
    return spec


# The options sent to Salesforce as they are (the assertion's iss, sub and aud, and the token host): one line of printable
# text. A NUL, an escape or a zero-width character pasted with a value would cost a refused login, which counts.
SENT_TEXT_OPTIONS = ('consumer_key', 'username', 'login_url', 'audience')

_CHARACTER_NAMES = {'\x00': 'a NUL character', '\x1b': 'an escape character', '\r': 'a line break (CR)',
                    '\n': 'a line break (LF)', '\t': 'a tab', '\u200b': 'a zero-width space', '\ufeff': 'a byte order mark'}


def _character_name(char):
    if char in _CHARACTER_NAMES:
        return _CHARACTER_NAMES[char]
    category = unicodedata.category(char)
    if category == 'Cc':
        return 'a control character'
    if category == 'Cf':
        return 'an invisible formatting character (zero-width or text direction)'
    return 'a line separator'


def refuse_unprintable(name, value):
    """AuthError when an option sent to Salesforce holds a control character (CR, LF, NUL, ESC, ...), an invisible
    formatting character (zero-width, bidi override, byte order mark) or a line separator. White space around the value
    is allowed: it is stripped. The message names the option, the character and its position, never the value."""
    if not isinstance(value, str):
        return
    start = len(value) - len(value.lstrip())
    for index, char in enumerate(value.strip(), start=start):
        if is_unprintable(char):
            raise AuthError('%s contains %s (U+%04X) at character %d. Salesforce takes it as one line of printable text: '
                            'remove the character (it often comes with a value copied from a document, a web page or a '
                            'file), and check the variable %s and the environment variable %s too if the option is set '
                            'there.' % (name, _character_name(char), ord(char), index + 1, var_name(name), env_var(name)))


def _ignore(message):  # pylint: disable=unused-argument
    return None


@dataclass
class AuthOptions:
    """Everything the auth core needs. Values are as the user gave them; _auth validates them."""

    consumer_key: Optional[str] = None
    username: Optional[str] = None
    private_key_path: Optional[str] = None
    private_key: Optional[str] = field(default=None, repr=False)
    private_key_passphrase: Optional[str] = field(default=None, repr=False)
    login_url: str = DEFAULT_LOGIN_URL
    audience: Optional[str] = None
    certificate_path: Optional[str] = None
    validate_certs: bool = True
    ca_path: Optional[str] = None
    timeout: int = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    cache: bool = True
    cache_ttl: int = DEFAULT_TTL
    cache_dir: Optional[str] = None
    # False for a caller that asks again on purpose while Salesforce refuses (the token module's propagation_timeout):
    # a refusal another task got a moment ago must not answer for it.
    share_recent_refusals: bool = True
    # Where warnings go (module.warn, Display().warning); messages never hold a secret.
    warn: Callable[[str], Any] = field(default=_ignore, repr=False, compare=False)
    _http: Any = field(default=None, repr=False, compare=False)

    @property
    def http(self):
        """The configured requests.Session (retries, TLS verification, timeout) for the token request and the doctor,
        built once. (REST calls build their own with _rest.build_rest_http_session: status retries for idempotent
        methods only.)"""
        if self._http is None:
            # Imported on first use: requests is not needed when a cached token is all the caller wants.
            from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._http import build_http_session
            self._http = build_http_session(validate_certs=self.validate_certs, ca_path=self.ca_path, timeout=self.timeout,
                                            retries=self.retries, on_retry=self.warn)
        return self._http

    @http.setter
    def http(self, session):
        self._http = session


def options_from_mapping(values, warn=None, **extra):
    """AuthOptions from a dict of option values; missing or None values take the defaults. ``extra``: other fields."""
    kwargs = dict(extra)
    for name in OPTION_NAMES:
        value = values.get(name)
        if value is None:
            value = DEFAULTS.get(name)
        if value is not None:
            kwargs[name] = value
    if isinstance(kwargs.get('private_key'), bytes):
        kwargs['private_key'] = kwargs['private_key'].decode('utf-8')
    return AuthOptions(warn=warn or _ignore, **kwargs)


def options_from_module(module):
    """AuthOptions from an AnsibleModule built with ``argument_spec()`` (env fallbacks already applied).
    A module waiting for a deployed app's settings to apply (propagation_timeout) runs again while Salesforce refuses:
    each of its tries asks Salesforce."""
    return options_from_mapping(module.params, warn=module.warn,
                                share_recent_refusals=not module.params.get('propagation_timeout'))


def options_from_plugin(plugin, warn=None):
    """AuthOptions from a plugin whose options were set with set_options() (direct, vars, env and defaults)."""
    values = {}
    for name in OPTION_NAMES:
        values[name] = plugin.get_option(name)
    return options_from_mapping(values, warn=warn)
