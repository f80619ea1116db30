# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Reading Salesforce's answers (a requests.Response), for the token request, REST calls and deploys alike: the status
as messages show it, the JSON body, Salesforce's errors in both of its shapes, and a short description of anything
else (an HTML maintenance page, plain text). Standard library only; it never shows more of a body than a snippet.

Salesforce words an error two ways: the REST API answers a list [{"errorCode", "message", "fields"}], the OAuth
endpoints an object {"error", "error_description"}. Either is read wherever an answer is.
"""

from __future__ import annotations

import datetime
import email.utils
import html
import json
import re

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable

# A <title ...> tag (its attributes bounded, so that a page of unclosed tags costs linear time), looked for in the first
# MAX_TITLE_SCAN characters of a page only.
TITLE_OPEN_RE = re.compile(r'<title(?:\s[^>]{0,200})?>', re.IGNORECASE)
MAX_TITLE_SCAN = 64 * 1024
# Salesforce's words are quoted in messages and results up to this many characters.
MAX_ERROR_CHARS = 500


def status_text(response):
    """'HTTP 400 Bad Request': the status and its reason phrase, when the server sent one."""
    reason = printable((response.reason or '').strip())
    return 'HTTP %d%s' % (response.status_code, (' ' + reason) if reason else '')


def is_json(response):
    """Whether the answer says its body is JSON (Content-Type)."""
    content_type = response.headers.get('Content-Type', '')
    return 'json' in content_type.split(';', 1)[0].lower()


def decode_json(response):
    """(parsed JSON or None, error text or None) of a body that is meant to be JSON; an empty body is None."""
    if not response.content:
        return None, None
    try:
        return response.json(), None
    except (ValueError, RecursionError) as exc:   # RecursionError: nested deeper than Python parses
        return None, 'the body is not valid JSON (%s)' % type(exc).__name__


def json_body(response):
    """The parsed body of an answer that says it is JSON or looks like it (a proxy may drop the Content-Type), else
    None: for answers that may be anything, such as the token endpoint's behind a proxy or a maintenance page."""
    text = response.text or ''
    content_type = (response.headers.get('Content-Type') or '').lower()
    if 'json' not in content_type and not text.lstrip().startswith(('{', '[')):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def salesforce_errors(payload):
    """[{errorCode, message, fields}] from a JSON body in either of Salesforce's error shapes (empty when it has none).
    Their texts are made printable (core._text): they go into module results, which Ansible shows on a failure."""
    errors = []
    if isinstance(payload, dict):
        payload = [payload]
    if isinstance(payload, list):
        for entry in payload:
            if not isinstance(entry, dict):
                continue
            code = entry.get('errorCode') or entry.get('error')
            message = entry.get('message') or entry.get('error_description')
            if code or message:
                error = {'errorCode': _printable_text(code), 'message': _printable_text(message)}
                if entry.get('fields'):
                    fields = entry['fields']
                    error['fields'] = [_printable_text(f) for f in fields] if isinstance(fields, list) else _printable_text(fields)
                errors.append(error)
    return errors


def _printable_text(value):
    """A text made printable; any other JSON value as it is."""
    return printable(value) if isinstance(value, str) else value


def oauth_error(payload):
    """(error, description) of a refusal from an OAuth endpoint, each text of at most MAX_ERROR_CHARS or None: an object
    is read as OAuth words it ({"error", "error_description"}, REST's names second), a list as the REST API words it
    (its first entry's errorCode and message, OAuth's names second). Both are made printable (core._text): messages
    quote them."""
    if isinstance(payload, dict):
        return (_quoted(payload.get('error') or payload.get('errorCode')),
                _quoted(payload.get('error_description') or payload.get('message')))
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        return (_quoted(payload[0].get('errorCode') or payload[0].get('error')),
                _quoted(payload[0].get('message') or payload[0].get('error_description')))
    return None, None


def _quoted(value):
    if value is None:
        return None
    return printable(str(value)[:MAX_ERROR_CHARS])


def looks_like_html(response):
    """Whether the answer is a web page (a login form, a proxy's or Salesforce's maintenance page)."""
    content_type = (response.headers.get('Content-Type') or '').lower()
    head = (response.text or '')[:512].lstrip().lower()
    return 'html' in content_type or head.startswith(('<!doctype html', '<html')) or '<html' in head


def html_title(text, limit):
    """A page's <title> as a browser shows it (entities decoded, white space collapsed), at most ``limit`` characters,
    made printable (an entity can encode an escape character); None when it has none."""
    head = (text or '')[:MAX_TITLE_SCAN]
    match = TITLE_OPEN_RE.search(head)
    if not match:
        return None
    end = head.lower().find('</title>', match.end())
    if end < 0:
        return None
    title = ' '.join(html.unescape(head[match.end():end]).split())
    return printable(title[:limit]) or None


def describe_answer(response, payload=None):
    """'INVALID_FIELD: No such column ...' for a Salesforce error body, or a short description of anything else;
    printable (core._text), for a message."""
    return printable(_describe_answer(response, payload))


def _describe_answer(response, payload):
    errors = salesforce_errors(payload)
    if errors:
        parts = []
        for error in errors:
            text = '%s: %s' % (error['errorCode'] or 'ERROR', error['message'] or '(no message)')
            fields = error.get('fields')
            fields = [fields] if isinstance(fields, (str, int, float)) else fields   # one field, not a list of them
            if isinstance(fields, list) and fields:
                text += ' (fields: %s)' % ', '.join(str(f) for f in fields)
            parts.append(text)
        return '; '.join(parts)
    text = response.text if response.content else ''
    if not text.strip():
        return 'an empty body'
    content_type = response.headers.get('Content-Type', '').split(';', 1)[0] or 'no content type'
    if 'html' in content_type.lower() or text.lstrip()[:1] == '<':
        title = html_title(text, 200)
        if title:
            return 'an HTML page titled "%s" (maintenance or an error page)' % title
        return 'an HTML page (maintenance or an error page)'
    snippet = ' '.join(text.split())[:300]
    return '%s: %s' % (content_type, snippet)


def server_time(response):
    """The answer's Date header as seconds since the epoch, or None when there is none or it is not a date (including
    a year too large for a datetime): what clock comparisons read."""
    date_header = response.headers.get('Date')
    if not date_header:
        return None
    try:
        date = email.utils.parsedate_to_datetime(date_header)
        if date.tzinfo is None:   # no zone, or -0000: HTTP dates are in GMT, never in this machine's zone
            date = date.replace(tzinfo=datetime.timezone.utc)
        timestamp = date.timestamp()
        datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)   # a time messages can show
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return timestamp
