# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Requests and responses as the fake org's endpoints see them, independent of the HTTP plumbing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = 'application/json;charset=UTF-8'


@dataclass
class Request:
    method: str
    path: str
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    body: bytes = b''
    form: dict | None = None
    json: Any = None
    json_error: str | None = None
    target: str = ''   # the request-target as sent: path and query string, percent-encoded

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def bearer_token(self) -> str | None:
        value = self.header('Authorization') or ''
        scheme, _sep, token = value.partition(' ')
        if scheme.lower() in ('bearer', 'oauth') and token.strip():
            return token.strip()
        return None


@dataclass
class Response:
    status: int
    body: bytes = b''
    content_type: str | None = JSON_TYPE
    headers: dict = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict | None = None) -> Response:
    return Response(status, json.dumps(payload).encode('utf-8'), JSON_TYPE, dict(headers or {}))


def empty_response(status: int = 204, headers: dict | None = None) -> Response:
    return Response(status, b'', None, dict(headers or {}))


class OAuthError(Exception):
    """An OAuth endpoint failure: HTTP 400 (unless noted) with {"error", "error_description"}."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__('%s: %s' % (error, description))
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> Response:
        return json_response(self.status, {'error': self.error, 'error_description': self.description})


class RestError(Exception):
    """A REST API failure: a JSON list with one {"message", "errorCode"[, "fields"]} object."""

    def __init__(self, status: int, error_code: str, message: str, fields: list | None = None):
        super().__init__('%s: %s' % (error_code, message))
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def response(self) -> Response:
        error = {'message': self.message, 'errorCode': self.error_code}
        if self.fields is not None:
            error['fields'] = self.fields
        return json_response(self.status, [error])


def not_found() -> RestError:
    return RestError(404, 'NOT_FOUND', 'The requested resource does not exist')


def method_not_allowed(method: str, allowed: str) -> RestError:
    return RestError(405, 'METHOD_NOT_ALLOWED', "HTTP Method '%s' not allowed. Allowed are %s" % (method, allowed))
