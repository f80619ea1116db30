# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module is private to this collection: its API may change without notice.

"""Text from a server (Salesforce's error words, a page title, a header) made safe to put in a message: every message
that quotes such text reaches a terminal, where an escape sequence could clear the screen, set the window title or
write lines that look like Ansible's own. Standard library only."""

from __future__ import annotations

import unicodedata

# Unicode categories shown escaped: control characters (C0, DEL, C1: ESC, BEL, CR, LF, NUL), format characters (bidi
# overrides, zero-width characters), line and paragraph separators.
UNPRINTABLE_CATEGORIES = ('Cc', 'Cf', 'Zl', 'Zp')


def is_unprintable(char):
    """Whether a character would act on the terminal or hide itself rather than show as text."""
    return unicodedata.category(char) in UNPRINTABLE_CATEGORIES


def printable(text):
    """text with control characters, format characters and line separators as escapes (\\x1b, \\u202e): text from a
    server cannot start a line of its own in a message, nor drive the terminal. Printable text, a backslash included,
    is kept as it is, so that printable(printable(text)) == printable(text)."""
    if text is None:
        return None
    return ''.join(_escape(char) if is_unprintable(char) else char for char in str(text))


def _escape(char):
    code = ord(char)
    if code < 0x100:
        return '\\x%02x' % code
    return '\\u%04x' % code if code < 0x10000 else '\\U%08x' % code
