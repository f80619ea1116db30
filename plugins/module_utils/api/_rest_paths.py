# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""REST paths as the client sends them: relative to /services/data/vNN.N/ or from the instance root (/services/...),
with '.', '..' and empty segments resolved, and refused when they hold a control character or a backslash or climb out
of their prefix, also as a server that percent-decodes them again would read them; and what to tell the user then.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

ROOT_PREFIX = '/services'


# Percent-decoding is repeated this often at most to see what a path means to a server that decodes it again.
MAX_DECODING_ROUNDS = 5


class PathProblem(ValueError):
    """A path that cannot be sent: ``reason`` completes "path '...' <reason>"; ``base`` is the prefix it must stay under."""

    def __init__(self, reason, base=None):
        super().__init__(reason)
        self.reason = reason
        self.base = base


def _fully_decoded(text):
    for dummy in range(MAX_DECODING_ROUNDS):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def _has_control_character(text):
    return any(unicodedata.category(char) == 'Cc' for char in text)


def _dot_segment(segment):
    """'.' or '..' for a segment that means one (percent-encoded or with ;parameters too), else None."""
    name = _fully_decoded(segment).split(';', 1)[0]
    return name if name in ('.', '..') else None


def _remove_dot_segments(segments):
    """The segments with '.', '..' and empty ones resolved, or None if a '..' climbs above the first."""
    kept = []
    for segment in segments:
        dot = _dot_segment(segment)
        if segment == '' or dot == '.':
            continue
        if dot == '..':
            if not kept:
                return None
            kept.pop()
        else:
            kept.append(segment)
    return kept


def normalize_path(path):
    """(from_root, path, rest) for a REST path: from_root tells whether it starts with /services/ (then path is the
    path from the instance root), else path is relative to /services/data/vNN.N/; '.', '..' and empty segments are
    resolved; rest is the query string and fragment, untouched. Raises PathProblem for a control character or backslash (percent-encoded
    ones too) and for a path that climbs out of its prefix, as sent or as a server that percent-decodes it would read it."""
    match = re.match(r'([^?#]*)(.*)\Z', path, re.S)
    part, rest = match.group(1), match.group(2)
    if _has_control_character(path) or _has_control_character(_fully_decoded(part)):
        raise PathProblem('holds a control character (a line break, tab or NUL, or a percent-encoded one such as %0A)')
    if '\\' in _fully_decoded(part):
        raise PathProblem('holds a backslash (\\ or %5C)')
    from_root = part == ROOT_PREFIX or part.startswith(ROOT_PREFIX + '/')
    base = ROOT_PREFIX + '/' if from_root else ROOT_PREFIX + '/data/vNN.N/'
    if from_root:
        part = part[len(ROOT_PREFIX):]
    kept = _remove_dot_segments(part.split('/'))
    if kept is None or _remove_dot_segments(_fully_decoded(part).split('/')) is None:
        raise PathProblem('climbs out of %s' % base, base)
    last = part.rsplit('/', 1)[-1]
    trailing = bool(kept) and (part.endswith('/') or _dot_segment(last) is not None)
    normalized = '/'.join(kept) + ('/' if trailing else '')
    if from_root:
        normalized = ROOT_PREFIX + ('/' + normalized if normalized or part else '')
    return from_root, normalized, rest


def path_advice(problem):
    """What to do about a PathProblem, for the message that names it."""
    if problem.base == ROOT_PREFIX + '/':
        return ('A path starting with /services/ must stay under /services/: give one such as /services/data/ or '
                '/services/apexrest/Orders, without .. segments that leave it.')
    if problem.base:
        return ('Give a path under it, such as limits or sobjects/Account, or a path from the instance root that starts '
                'with /services/, such as /services/apexrest/Orders.')
    return 'Give the path without it, with segments separated by /, such as sobjects/Account/001xx000003DGb2AAG.'
