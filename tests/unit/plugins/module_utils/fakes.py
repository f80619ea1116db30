# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The stand-ins the module_utils tests share, in one place: HTTP answers and the HTTP session, the auth core as the
REST client uses it, AnsibleModule as the backends use it, and the guard that fails a test which hangs. The key
fixtures are in conftest.py; a real TLS server for what only a socket shows is in local_tls_server.py."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

INSTANCE = 'https://acme.my.salesforce.com'
TOKEN = '00Dxx0000001gPL!AQ-first-token'
NEW_TOKEN = '00Dxx0000001gPL!AQ-second-token'
INVALID_SESSION = [{'message': 'Session expired or invalid', 'errorCode': 'INVALID_SESSION_ID'}]


# -- HTTP ----------------------------------------------------------------------------------------------------

def response(status=200, body=None, text=None, url=None, headers=None, content_type='application/json;charset=UTF-8',
             reason=None):
    """A requests.Response as the HTTP layer returns it: ``body`` is JSON (any JSON value) or raw bytes, ``text`` a
    text body; the Content-Type is set when there is a body."""
    answer = requests.Response()
    answer.status_code = status
    answer.reason = reason
    answer.url = url
    answer.encoding = 'utf-8'
    answer.headers = CaseInsensitiveDict()
    if isinstance(body, bytes):
        answer._content = body
    elif body is not None:
        answer._content = json.dumps(body).encode('utf-8')
    else:
        answer._content = (text or '').encode('utf-8')
    if content_type and (body is not None or text is not None):
        answer.headers['Content-Type'] = content_type
    answer.headers.update(headers or {})
    return answer


def make_response(status, body=None, headers=None, content_type='application/json;charset=UTF-8'):
    """An answer of the org's REST API (FakeHttp gives it the URL asked for)."""
    return response(status, body, headers=headers, content_type=content_type)


class FakeHttp:
    """Stands in for the requests.Session and records every call ({method, url with the query, path, params, data,
    headers} and the other keywords). Answers come from a handler (a function of the call) or from a list, in order,
    the last one repeated; an exception in the list is raised. An answer's URL is the one asked for."""

    verify = '/path/to/ca.pem'

    def __init__(self, *answers):
        self.handler = answers[0] if len(answers) == 1 and callable(answers[0]) else None
        self.answers = list(answers)
        self.calls = []

    def request(self, method, url, params=None, data=None, headers=None, **kwargs):
        full_url = requests.Request(method, url, params=params).prepare().url
        call = dict(kwargs, method=method, url=full_url, path=urlsplit(full_url).path, params=params, data=data,
                    headers=dict(headers or {}))
        self.calls.append(call)
        if self.handler is not None:
            answer = self.handler(call)
        else:
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        answer.url = full_url
        return answer

    def paths(self):
        return [(call['method'], call['path']) for call in self.calls]


def bearer(call):
    """The access token a recorded call sent."""
    return call['headers'].get('Authorization', '').replace('Bearer ', '')


# -- the auth core, as the REST client uses it ------------------------------------------------------------------

class FakeSession:
    def __init__(self, access_token, extra=None, org_id=None):
        self.access_token = access_token
        self.instance_url = INSTANCE
        self.org_id = org_id
        self.extra = dict(extra or {})


class FakeAuth:
    """The auth core's API as _rest.SessionCredentials uses it; counts what is asked."""

    def __init__(self, tokens=(TOKEN, NEW_TOKEN), extra=None):
        self.tokens = list(tokens)
        self.extra = dict(extra or {})
        self.minted = 0
        self.invalidated = []
        self.updates = []

    def get_session(self, options):
        token = self.tokens[min(self.minted, len(self.tokens) - 1)]
        self.minted += 1
        return FakeSession(token, self.extra)

    def invalidate_session(self, options, session):
        self.invalidated.append(session.access_token)
        self.extra = {}

    def update_session_extra(self, options, session, **values):
        session.extra.update(values)
        self.extra.update(values)
        self.updates.append(values)


# -- AnsibleModule, as the backends use it -----------------------------------------------------------------------

class FakeModule:
    """params, check mode, diff mode and warnings."""

    def __init__(self, params, check_mode=False, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    @classmethod
    def validated(cls, argument_spec, check_mode=False, diff=False, **params):
        """A module whose params went through the module's own argument spec, as AnsibleModule checks them."""
        result = ArgumentSpecValidator(argument_spec).validate(params)
        assert not result.error_messages, result.error_messages
        return cls(result.validated_parameters, check_mode=check_mode, diff=diff)

    def warn(self, warning):
        self.warnings.append(warning)


class FakeFileModule(FakeModule):
    """A FakeModule with the file methods the certificate backend uses; file attributes reduced to the mode."""

    def __init__(self, params, check_mode=False, diff=False):
        super().__init__(params, check_mode=check_mode, diff=diff)
        self.backups = []

    def load_file_common_arguments(self, params, path=None):
        return {'path': path, 'mode': params.get('mode'), 'owner': None, 'group': None}

    def set_fs_attributes_if_different(self, file_args, changed, diff=None):
        current = stat.S_IMODE(os.stat(file_args['path']).st_mode)
        if current == file_args['mode']:
            return changed
        if diff is not None:
            diff['before']['mode'] = '0%03o' % current
            diff['after']['mode'] = '0%03o' % file_args['mode']
        if not self.check_mode:
            os.chmod(file_args['path'], file_args['mode'])
        return True

    def backup_local(self, path):
        dest = path + '.backup~'
        shutil.copy2(path, dest)
        self.backups.append(dest)
        return dest

    @staticmethod
    def _symbolic_mode_to_octal(path_stat, mode):
        from ansible.module_utils.basic import AnsibleModule
        return AnsibleModule._symbolic_mode_to_octal(path_stat, mode)


# -- hangs ---------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def deadline(seconds):
    """Fail instead of hanging when the block runs longer than ``seconds`` (SIGALRM: pytest-timeout is not installed)."""
    def expire(signum, frame):
        raise TimeoutError('still running after %d s: it hangs' % seconds)
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
