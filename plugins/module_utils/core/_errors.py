# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The collection's errors, and the one way a module fails with one.

Every failure the user can act on is a SalesforceError: ``message`` says what happened and what to do and never holds a
secret; ``details`` are the machine-readable fields of the failed result (status codes, Salesforce's errors). Four kinds:

- InputError: an option, file, key, certificate or metadata project that cannot be used (nothing was sent);
- AuthError: no access token (the token request, the token cache);
- HttpError: no answer (DNS, TLS, timeouts, refused connections);
- ApiError: Salesforce answered, but not with what was asked for (a REST call, a deploy, a record operation).

A caller that knows what was being done adds it with add_context() and raises the same error again.

Standard library only, and of this collection only _salesforce_facts (standard library only as well).
"""

from __future__ import annotations

import traceback

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._salesforce_facts import is_final_refusal

# A refusal that asking again cannot change (an unknown consumer key, invalid_grant) is given for this many seconds to
# the callers for the identity that arrive meanwhile (the next hosts of the same task), without logging them in: each
# attempt would be refused the same and count against the user's logins. Never longer, so a fix can be tried at once.
REFUSAL_SHARE_SECONDS = 2


class SalesforceError(Exception):
    """The root: a message for the user and the details of the failed result (given as a dict, as keywords, or both)."""

    def __init__(self, message, details=None, **more_details):
        super().__init__(message)
        self.message = message
        self.details = dict(details or {}, **more_details)

    def __str__(self):
        return self.message

    @property
    def msg(self):
        return self.message

    def add_context(self, before='', after='', **details):
        """The same error, its message framed by what was being done; ``details`` are set (the caller knows what the
        failure means for its result)."""
        self.message = before + self.message + after
        self.args = (self.message,)
        self.details.update(details)
        return self


class InputError(SalesforceError):
    """An option, a file, a key, a certificate or a metadata project cannot be used; nothing was sent or changed."""


class HttpError(SalesforceError):
    """A request got no answer: the message names the host, the cause and the fix."""


class ApiError(SalesforceError):
    """Salesforce answered, but not with what was asked for; ``details`` hold the status and its errors."""


class AuthError(SalesforceError):
    """A token could not be obtained.

    ``details`` holds status_code, salesforce_error and salesforce_error_description when Salesforce answered.
    ``hold`` (seconds) marks a rate-limit refusal that the token cache keeps for every later caller; a refusal asking
    again cannot change is shared for a moment (REFUSAL_SHARE_SECONDS).
    """

    def __init__(self, message, details=None, shareable=False, hold=None):
        super().__init__(message, details)
        self.shareable = shareable
        self.hold = hold

    def cache_record(self):
        """What concurrent waiters on the token cache get instead of asking again (only for answers from the server).
        Holds no secret: it is stored in the cache."""
        if not self.shareable:
            return None
        record = {'message': self.message, 'details': self.details}
        if self.hold:
            record['hold'] = self.hold
        elif self.final_refusal():
            record['share'] = REFUSAL_SHARE_SECONDS
        return record

    def final_refusal(self):
        """Whether Salesforce refused the request for a reason that asking again cannot change (not an outage)."""
        return is_final_refusal(self.details.get('status_code'), self.details.get('salesforce_error'))

    @classmethod
    def from_record(cls, record, note=''):
        message = record.get('message') or 'The token request failed.'
        return cls(message + note, details=record.get('details'))


def fail_with(module, error, **extra):
    """fail_json with a SalesforceError's message and details; ``extra`` fields are added (the error's details win)."""
    module.fail_json(msg=error.message, **dict(extra, **error.details))


def run_module(module, work, failure_fields=None):
    """exit_json(**work()): the one place a module turns an error into its failed result.

    A SalesforceError fails with its message and details, plus ``failure_fields`` (a dict, or a function of the error
    that returns one); anything else is a bug, reported with its traceback (shown with -vvv).
    """
    try:
        result = work()
    except SalesforceError as exc:
        extra = failure_fields(exc) if callable(failure_fields) else failure_fields
        fail_with(module, exc, **(extra or {}))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='Unexpected error: %s' % type(exc).__name__, exception=traceback.format_exc())
    module.exit_json(**result)
