# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parser for the small SOQL subset the fake org answers.

    SELECT field[, field...] | COUNT()
    FROM Object
    [WHERE condition]
    [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST][, ...]]
    [LIMIT n] [OFFSET n]

    condition:  field op value            op: = != <> < <= > >= LIKE
              | field [NOT] IN (value, ...)
              | condition AND condition | condition OR condition | NOT condition | ( condition )

Values: 'quoted strings', numbers, true, false, null, date literals 2024-01-31 and datetime literals
2024-01-31T10:00:00Z (or +02:00 / -05:00), unquoted, and the relative date literals YESTERDAY, TODAY, TOMORROW,
LAST_N_DAYS:n, NEXT_N_DAYS:n, LAST_MONTH, THIS_MONTH, NEXT_MONTH, LAST_YEAR, THIS_YEAR, NEXT_YEAR (a range of days, see
date_range). Escapes in strings, as SOQL has them: \\' \\" \\\\ \\n \\r
\\t \\b \\f (also upper case N R T B F), and in LIKE patterns \\% and \\_ for a literal % and _; any other
backslash sequence is MALFORMED_QUERY. A statement longer than 100,000 characters is MALFORMED_QUERY
("SOQL statements can not be longer than 100000 characters."). Keywords and names are case-insensitive, as in
SOQL. Names and the type of each value (a date field wants a date literal, a text field a quoted string...)
are checked against the object's fields later, when the query runs (INVALID_TYPE / INVALID_FIELD).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from dataclasses import field as _field   # Condition has an attribute named field

from .messages import RestError

MAX_SOQL_CHARS = 100000

_TOKEN = re.compile(r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<relative>(?i:(?:LAST_N_DAYS|NEXT_N_DAYS):\d+(?![\w.])
                  |(?:YESTERDAY|TODAY|TOMORROW|(?:LAST|THIS|NEXT)_(?:MONTH|YEAR))(?![\w.:])))   # date literals, in any case
    | (?P<date>\d{4}-\d{2}-\d{2}(?![\w:.]))
    | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.VERBOSE | re.DOTALL)

_OPERATORS = ('=', '!=', '<>', '<', '<=', '>', '>=', 'LIKE')
_RESERVED = ('SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'IN', 'ORDER', 'BY', 'LIMIT', 'OFFSET', 'LIKE', 'NULLS')
_ESCAPES = {'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f', '"': '"', "'": "'", '\\': '\\'}


@dataclass
class Literal:
    kind: str     # string, number, boolean, null, date, datetime, relative
    value: object  # str / int / float / bool / None; dates as 'YYYY-MM-DD', datetimes as 'YYYY-MM-DDTHH:MM:SS.000+0000' (UTC);
    #                relative date literals as their upper-case text ('TODAY', 'LAST_N_DAYS:7'), resolved by date_range


@dataclass
class Condition:
    field: str
    op: str                 # = != < <= > >= LIKE IN NOT IN
    value: object           # the Literal's value (first one for IN)
    kind: str = 'string'    # the Literal's kind
    values: list = _field(default_factory=list)   # IN / NOT IN: the Literals
    pattern: re.Pattern | None = None            # LIKE: the compiled pattern
    lookup: tuple | None = None                  # IN / NOT IN: (set of values, null listed), set when the query runs
    spans: list = _field(default_factory=list)   # relative date literals: their (start, end) in the field's format, set when the query runs


@dataclass
class Logic:
    op: str        # AND, OR, NOT
    parts: list


@dataclass
class Query:
    sobject: str
    fields: list = field(default_factory=list)
    count_only: bool = False
    where: object = None                         # a Condition, a Logic, or None
    order_by: list = field(default_factory=list)   # (field, descending, nulls_first or None)
    limit: int | None = None
    offset: int = 0

    @property
    def conditions(self) -> list:
        """Every Condition of the WHERE clause, in order."""
        return list(walk(self.where))


def walk(node):
    if node is None:
        return
    if isinstance(node, Condition):
        yield node
        return
    for part in node.parts:
        yield from walk(part)


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
            rest = text[position:].split()
            raise malformed("unexpected token: '%s'" % (rest[0] if rest else text[position:]))
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


def string_value(token_text: str, like: bool = False) -> str:
    """The text of a quoted SOQL string literal; for LIKE, \\% \\_ and \\\\ stay escaped (like_pattern reads them)."""
    body = token_text[1:-1]
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != '\\':
            out.append(char)
            index += 1
            continue
        escaped = body[index + 1]
        if escaped == '\\' and like:
            out.append('\\\\')   # stays escaped, so that like_pattern tells it from \\% and \\_
        elif escaped.lower() in _ESCAPES:
            out.append(_ESCAPES[escaped.lower()])
        elif escaped in '%_':
            out.append('\\' + escaped if like else escaped)
        else:
            raise malformed("Invalid string literal '%s'. Illegal character sequence '\\%s' in string literal." % (body, escaped))
        index += 2
    return ''.join(out)


def _date_value(text: str) -> str:
    try:
        return datetime.date(int(text[0:4]), int(text[5:7]), int(text[8:10])).isoformat()
    except ValueError:
        raise malformed("Invalid date: %s" % text) from None


def _datetime_value(text: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        raise malformed("Invalid datetime: %s" % text) from None
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.') + '%03d+0000' % (moment.microsecond // 1000)


class _Parser:
    def __init__(self, soql: str):
        self.tokens = _tokenize(soql)
        self.index = 0

    def peek(self, ahead: int = 0) -> _Token | None:
        position = self.index + ahead
        return self.tokens[position] if position < len(self.tokens) else None

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
        if token.kind != 'word' or token.is_keyword(*_RESERVED):
            raise malformed("unexpected token: '%s', expected %s" % (token.text, what))
        return token.text

    def integer(self, what: str) -> int:
        token = self.next(what)
        if token.kind != 'number' or not token.text.isdigit():
            raise malformed("unexpected token: '%s', expected %s" % (token.text, what))
        return int(token.text)

    def literal(self) -> Literal:
        token = self.next('a value')
        if token.kind == 'string':
            return Literal('string', string_value(token.text))
        if token.kind == 'number':
            return Literal('number', float(token.text) if '.' in token.text else int(token.text))
        if token.kind == 'date':
            return Literal('date', _date_value(token.text))
        if token.kind == 'datetime':
            return Literal('datetime', _datetime_value(token.text))
        if token.kind == 'relative':
            return Literal('relative', token.text.upper())
        if token.is_keyword('TRUE', 'FALSE'):
            return Literal('boolean', token.text.upper() == 'TRUE')
        if token.is_keyword('NULL'):
            return Literal('null', None)
        raise malformed("unexpected token: '%s', expected a value" % token.text)

    def parse(self) -> Query:
        self.keyword('SELECT')
        fields, count_only = self.select_list()
        self.keyword('FROM')
        query = Query(sobject=self.name('an object name'), fields=fields, count_only=count_only)
        if self.accept('WHERE'):
            query.where = self.disjunction()
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

    def disjunction(self):
        parts = [self.conjunction()]
        while self.accept('OR'):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Logic('OR', parts)

    def conjunction(self):
        parts = [self.factor()]
        while self.accept('AND'):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Logic('AND', parts)

    def factor(self):
        if self.accept('NOT'):
            return Logic('NOT', [self.factor()])
        if self.accept_punct('('):
            inner = self.disjunction()
            if not self.accept_punct(')'):
                token = self.peek()
                raise malformed("unexpected token: '%s', expected ')'" % (token.text if token else 'end of query'))
            return inner
        return self.condition()

    def condition(self) -> Condition:
        name = self.name('a field name')
        token = self.next('an operator')
        if token.is_keyword('NOT') or token.is_keyword('IN'):
            op = 'IN'
            if token.is_keyword('NOT'):
                self.keyword('IN')
                op = 'NOT IN'
            if not self.accept_punct('('):
                raise malformed("unexpected token: '%s', expected '('" % (self.peek().text if self.peek() else 'end of query'))
            values = [self.literal()]
            while self.accept_punct(','):
                values.append(self.literal())
            if not self.accept_punct(')'):
                raise malformed("unexpected token: '%s', expected ')'" % (self.peek().text if self.peek() else 'end of query'))
            return Condition(name, op, values[0].value, values[0].kind, values)
        op = token.text.upper()
        if not (token.kind == 'op' or token.is_keyword('LIKE')) or op not in _OPERATORS:
            raise malformed("unexpected token: '%s', expected an operator" % token.text)
        if op == 'LIKE':
            pattern_token = self.next('a LIKE pattern')
            if pattern_token.kind != 'string':
                raise malformed("unexpected token: '%s', expected a quoted LIKE pattern" % pattern_token.text)
            return Condition(name, 'LIKE', string_value(pattern_token.text), 'string',
                             pattern=like_pattern(string_value(pattern_token.text, like=True)))
        value = self.literal()
        return Condition(name, '!=' if op == '<>' else op, value.value, value.kind)

    def ordering(self):
        name = self.name('a field name')
        descending = False
        nulls_first = None
        token = self.peek()
        if token is not None and token.is_keyword('ASC', 'DESC'):
            self.index += 1
            descending = token.text.upper() == 'DESC'
        if self.accept('NULLS'):
            token = self.next('FIRST or LAST')
            if not token.is_keyword('FIRST', 'LAST'):
                raise malformed("unexpected token: '%s', expected FIRST or LAST" % token.text)
            nulls_first = token.text.upper() == 'FIRST'
        return name, descending, nulls_first

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
    """Parse `soql`; raise RestError MALFORMED_QUERY when it is outside the subset or too long."""
    if not isinstance(soql, str) or not soql.strip():
        raise malformed('the q parameter holds no query')
    if len(soql) > MAX_SOQL_CHARS:
        raise malformed('SOQL statements can not be longer than %d characters.' % MAX_SOQL_CHARS)
    return _Parser(soql).parse()


def like_pattern(pattern: str) -> re.Pattern:
    """SOQL LIKE: % matches any run of characters, _ one character, \\% \\_ \\\\ themselves; case-insensitive."""
    parts = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == '\\' and index + 1 < len(pattern) and pattern[index + 1] in '%_\\':
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append('.*' if char == '%' else '.' if char == '_' else re.escape(char))
        index += 1
    return re.compile('^%s$' % ''.join(parts), re.IGNORECASE | re.DOTALL)


def _month_start(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def date_range(literal: str, today: datetime.date) -> tuple:
    """The days a relative date literal stands for, as (first day, day after the last), in UTC (the fake org's users
    all have the UTC time zone). As "Date Formats and Date Literals in WHERE" (SOQL and SOSL Reference) defines them:
    each range starts at 00:00:00 of its first day; LAST_N_DAYS:n "starts with the current day and continues for the
    past n days ... includes the current day" (so LAST_N_DAYS:1 is yesterday and today); NEXT_N_DAYS:n "starts 00:00:00
    of the next day and continues for the next n days", without the current day."""
    day = datetime.timedelta(days=1)
    name, dummy, number = literal.partition(':')
    if name == 'LAST_N_DAYS':
        return today - int(number) * day, today + day
    if name == 'NEXT_N_DAYS':
        return today + day, today + (int(number) + 1) * day
    if name in ('YESTERDAY', 'TODAY', 'TOMORROW'):
        start = today + {'YESTERDAY': -1, 'TODAY': 0, 'TOMORROW': 1}[name] * day
        return start, start + day
    shift = {'LAST': -1, 'THIS': 0, 'NEXT': 1}[name.split('_')[0]]
    if name.endswith('_MONTH'):
        return _month_start(today, shift), _month_start(today, shift + 1)
    return datetime.date(today.year + shift, 1, 1), datetime.date(today.year + shift + 1, 1, 1)
