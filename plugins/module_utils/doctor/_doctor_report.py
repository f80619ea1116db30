# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""The doctor's report: checks with a status, causes with a next step, the evidence the checks gather for naming the
cause of a refusal, and the plain lines the user reads. Every text is made printable (no line of its own, no terminal
control) when it is recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._options import env_var, var_name
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable

OK = 'ok'
WARN = 'warn'
FAIL = 'fail'
SKIP = 'skip'


def places_to_set(name):
    """'audience (SFJWT_AUDIENCE, sfjwt_audience)': an option with the two other places it can be set."""
    return '%s (%s, %s)' % (name, env_var(name), var_name(name))


def source_words(name, source):
    """Where a setting came from, in words: 'the task option audience', 'the variable sfjwt_audience', 'the environment
    variable SFJWT_AUDIENCE', 'the provision directory /srv/sfjwt', 'the default'. ``source`` is a value of the action
    plugin's option_sources(); None (the module ran without the action plugin) names the three places it can be set."""
    if not source:
        return 'one of %s' % places_to_set(name)
    if source == 'option':
        return 'the task option %s' % name
    if source.startswith('environment '):
        return 'the environment variable %s' % source.split(' ', 1)[1]
    return 'the %s' % source


@dataclass
class Cause:
    code: str
    summary: str
    next_step: str

    def __post_init__(self):
        self.summary, self.next_step = printable(self.summary), printable(self.next_step)

    def as_dict(self):
        return {'code': self.code, 'summary': self.summary, 'next_step': self.next_step}


@dataclass
class Check:
    name: str
    status: str
    summary: str

    def __post_init__(self):
        self.summary = printable(self.summary)

    def as_dict(self):
        return {'name': self.name, 'status': self.status, 'summary': self.summary}


@dataclass
class Evidence:
    """What the checks before the login found, for naming the cause of a refusal."""

    key_fingerprint: Optional[str] = None
    mismatched_certificates: List[str] = field(default_factory=list)   # where a certificate not of this key was found
    project_consumer_keys: List[str] = field(default_factory=list)
    clock_skew: Optional[int] = None          # seconds this machine is ahead of the server (negative: behind)
    expected_audience: Optional[str] = None   # what the token host's kind needs, when the host name tells
    host_kind: Optional[str] = None


class Diagnosis:
    def __init__(self):
        self.checks = []
        self.suspects = []      # causes found before the login; they count only if the login fails
        self.causes = []
        self.settings = {}

    def add(self, name, status, summary):
        self.checks.append(Check(name, status, summary))

    def blame(self, code, summary, next_step):
        self.causes.append(Cause(code, summary, next_step))

    @property
    def ok(self):
        return not self.causes

    def result(self):
        cause = self.causes[0] if self.causes else None
        return {
            'ok': self.ok,
            'cause': cause.summary if cause else None,
            'cause_code': cause.code if cause else None,
            'next_step': cause.next_step if cause else None,
            'causes': [item.as_dict() for item in self.causes],
            'checks': [check.as_dict() for check in self.checks],
            'settings': self.settings,
            'report': self.report(),
        }

    def report(self):
        lines = []
        for check in self.checks:
            lines.append('%-6s %s: %s' % ('[%s]' % check.status.upper() if check.status != OK else '[ok]', check.name,
                                          check.summary))
        if self.causes:
            lines.append('Cause: %s' % self.causes[0].summary)
            lines.append('Next step: %s' % self.causes[0].next_step)
            for other in self.causes[1:]:
                lines.append('Also possible: %s (%s)' % (other.summary, other.next_step))
        else:
            lines.append('Result: the login and the REST call work with these settings.')
        return lines
