# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parser for the small SOQL subset the fake org answers.

    SELECT field[, field...] | COUNT()
    FROM Object
    [WHERE field op value [AND field op value...]]     op: = != <> < <= > >= LIKE
    [ORDER BY field [ASC|DESC][, ...]]
    [LIMIT n] [OFFSET n]

Values are 'quoted strings' (backslash escapes), numbers, true, false and null. Keywords and names
are case-insensitive, as in SOQL. Anything else is MALFORMED_QUERY; names are checked against the
object's fields later (INVALID_TYPE / INVALID_FIELD), when the query runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .messages import RestError

_TOKEN = re.compile(r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.VERBOSE)

_OPERATORS = ('=', '!=', '<>', '<', '<=', '>', '>=', 'LIKE')


@dataclass
class Condition:
    field: str
    op: str
    value: object


@dataclass
class Query:
    sobject: str
    fields: list = field(default_factory=list)
    count_only: bool = False
    conditions: list = field(default_factory=list)
    order_by: list = field(default_factory=list)   # (field, descending)
    limit: int | None = None
    offset: int = 0


class _Token:
    def __init__(self, kind: str, text: str):
        self.kind = kind
        self.text = text

    def is_keyword(self, *words) -> bool:
        return self.kind == 'word' and self.text.upper() in words


def malformed(message: str) -> RestError:
    return RestError(400, 'MALFORMED_QUERY', message)


def _tokenize(soql: str) -> list:
    tokens = []
    position = 0
    text = soql.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise malformed("unexpected token: '%s'" % text[position:].split()[0])
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, soql: str):
        self.tokens = _tokenize(soql)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, expected: str) -> _Token:
        token = self.peek()
        if token is None:
            raise malformed('unexpected end of query, expected %s' % expected)
        self.index += 1
        return token

    def keyword(self, *words) -> None:
        token = self.next(' '.join(words))
        if not token.is_keyword(*words):
            raise malformed("unexpected token: '%s', expected %s" % (token.text, ' or '.join(words)))

    def name(self, what: str) -> str:
        token = self.next(what)
        if token.kind != 'word' or token.is_keyword('SELECT', 'FROM', 'WHERE', 'AND', 'ORDER', 'BY', 'LIMIT', 'OFFSET', 'LIKE'):
            raise malformed("unexpected token: '%s', expected %s" % (token.text, what))
        return token.text

    def integer(self, what: str) -> int:
        token = self.next(what)
        if token.kind != 'number' or not token.text.isdigit():
            raise malformed("unexpected token: '%s', expected %s" % (token.text, what))
        return int(token.text)

    def value(self):
        token = self.next('a value')
        if token.kind == 'string':
            return re.sub(r'\\(.)', r'\1', token.text[1:-1])
        if token.kind == 'number':
            return float(token.text) if '.' in token.text else int(token.text)
        if token.is_keyword('TRUE', 'FALSE'):
            return token.text.upper() == 'TRUE'
        if token.is_keyword('NULL'):
            return None
        raise malformed("unexpected token: '%s', expected a value" % token.text)

    def parse(self) -> Query:
        self.keyword('SELECT')
        fields, count_only = self.select_list()
        self.keyword('FROM')
        query = Query(sobject=self.name('an object name'), fields=fields, count_only=count_only)
        if self.accept('WHERE'):
            query.conditions.append(self.condition())
            while self.accept('AND'):
                query.conditions.append(self.condition())
        if self.accept('ORDER'):
            self.keyword('BY')
            query.order_by.append(self.ordering())
            while self.accept_punct(','):
                query.order_by.append(self.ordering())
        if self.accept('LIMIT'):
            query.limit = self.integer('a LIMIT number')
        if self.accept('OFFSET'):
            query.offset = self.integer('an OFFSET number')
        leftover = self.peek()
        if leftover is not None:
            raise malformed("unexpected token: '%s'" % leftover.text)
        return query

    def select_list(self):
        token = self.peek()
        if token is not None and token.is_keyword('COUNT'):
            self.index += 1
            if not (self.accept_punct('(') and self.accept_punct(')')):
                raise malformed('only COUNT() is supported')
            return [], True
        fields = [self.name('a field name')]
        while self.accept_punct(','):
            fields.append(self.name('a field name'))
        return fields, False

    def condition(self) -> Condition:
        name = self.name('a field name')
        token = self.next('an operator')
        op = token.text.upper()
        if not (token.kind == 'op' or token.is_keyword('LIKE')) or op not in _OPERATORS:
            raise malformed("unexpected token: '%s', expected an operator" % token.text)
        return Condition(name, '!=' if op == '<>' else op, self.value())

    def ordering(self):
        name = self.name('a field name')
        descending = False
        token = self.peek()
        if token is not None and token.is_keyword('ASC', 'DESC'):
            self.index += 1
            descending = token.text.upper() == 'DESC'
        return name, descending

    def accept(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.is_keyword(word):
            self.index += 1
            return True
        return False

    def accept_punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == 'punct' and token.text == char:
            self.index += 1
            return True
        return False


def parse(soql: str) -> Query:
    """Parse `soql`; raise RestError MALFORMED_QUERY when it is outside the subset."""
    if not isinstance(soql, str) or not soql.strip():
        raise malformed('the q parameter holds no query')
    return _Parser(soql).parse()


def like_pattern(pattern: str) -> re.Pattern:
    """SOQL LIKE: % matches any run of characters, _ one character; case-insensitive."""
    parts = []
    for char in pattern:
        parts.append('.*' if char == '%' else '.' if char == '_' else re.escape(char))
    return re.compile('^%s$' % ''.join(parts), re.IGNORECASE | re.DOTALL)
