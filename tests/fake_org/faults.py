# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fault switches: what goes wrong on the next requests. Thread-safe; one lock guards every switch.

A request meets the faults in this order: the added latency, a slow answer, a connection reset
(nothing else happens), an expired session (the caller's session ends, so the request itself gets
401 INVALID_SESSION_ID), an error status, a non-JSON body, then, on the token endpoint only, the
login rate limit. Each "next" switch counts down per matching request (path starts with its
path_prefix, which defaults to the token endpoint, for expire_session_next to /services/data; '/'
matches every path).
"""

from __future__ import annotations

import threading

TOKEN_PATH = '/services/oauth2/token'

_KINDS = ('slow', 'reset', 'expire_session', 'fail', 'non_json')


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._queues = {kind: [] for kind in _KINDS}
        self._latency = 0.0
        self._login_rate_limit = None

    def clear(self) -> None:
        with self._lock:
            for queue in self._queues.values():
                queue.clear()
            self._latency = 0.0
            self._login_rate_limit = None

    # -- switches -------------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500, html: bool = False, path_prefix: str = TOKEN_PATH) -> None:
        """Answer the next `count` matching requests with `status`: a JSON error, or an HTML maintenance page."""
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise ValueError('status must be an HTTP error status (400-599), got %r' % (status,))
        self._queue('fail', count, path_prefix, status=status, html=bool(html))

    def slow_next(self, count: int, seconds: float, path_prefix: str = TOKEN_PATH) -> None:
        """Sleep `seconds` before answering the next `count` matching requests (client timeouts)."""
        self._queue('slow', count, path_prefix, seconds=_seconds(seconds))

    def reset_next(self, count: int, path_prefix: str = TOKEN_PATH) -> None:
        """Drop the connection of the next `count` matching requests without an answer (TCP reset)."""
        self._queue('reset', count, path_prefix)

    def non_json_next(self, count: int, path_prefix: str = TOKEN_PATH) -> None:
        """Answer the next `count` matching requests with 200 and a text/plain body that is not JSON."""
        self._queue('non_json', count, path_prefix)

    def expire_session_next(self, count: int, path_prefix: str = '/services/data') -> None:
        """End the caller's session before answering the next `count` matching requests (401 INVALID_SESSION_ID)."""
        self._queue('expire_session', count, path_prefix)

    def set_latency(self, seconds: float) -> None:
        """Add `seconds` to every request (0 turns it off)."""
        value = _seconds(seconds)
        with self._lock:
            self._latency = value

    def rate_limit_logins(self, enabled: bool = True, status: int = 400) -> None:
        """While on, every token request answers LOGIN_RATE_EXCEEDED with `status` (400, or 403)."""
        if status not in (400, 403):
            raise ValueError('the login rate limit answers with status 400 or 403, got %r' % (status,))
        with self._lock:
            self._login_rate_limit = status if enabled else None

    # -- queries used by the server -------------------------------------------------------------

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @property
    def login_rate_limit_status(self) -> int | None:
        with self._lock:
            return self._login_rate_limit

    def take(self, kind: str, path: str) -> dict | None:
        """Consume one pending fault of `kind` that matches `path`; return its parameters or None."""
        with self._lock:
            queue = self._queues[kind]
            for entry in queue:
                if path.startswith(entry['path_prefix']):
                    entry['remaining'] -= 1
                    if entry['remaining'] == 0:
                        queue.remove(entry)
                    return dict(entry['params'])
            return None

    def snapshot(self) -> dict:
        with self._lock:
            return {
                'latency': self._latency,
                'rate_limit_logins': self._login_rate_limit is not None,
                'pending': {kind: [dict(entry['params'], remaining=entry['remaining'], path_prefix=entry['path_prefix'])
                                   for entry in queue]
                            for kind, queue in self._queues.items()},
            }

    def _queue(self, kind: str, count: int, path_prefix: str, **params) -> None:
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError('count must be a positive integer, got %r' % (count,))
        if not isinstance(path_prefix, str) or not path_prefix.startswith('/'):
            raise ValueError("path_prefix must start with '/', got %r" % (path_prefix,))
        with self._lock:
            self._queues[kind].append({'remaining': count, 'path_prefix': path_prefix, 'params': params})


def _seconds(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError('seconds must be a number >= 0, got %r' % (value,))
    return float(value)
