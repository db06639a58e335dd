"""The condition language of user views, and its compiler to JavaScript.

A user view lists the tokens for which a condition holds. Map functions run on the CouchDB host
(pouchdb-server runs them in Node's ``vm``, which is no sandbox), so no text a user wrote ever
reaches CouchDB: the portal parses the condition into a small tree and writes the JavaScript
itself, from its own code and JSON-encoded literals only.

The language is the part of JavaScript that GRID_LRT's ``add_view`` conditions and the picas
example views use::

    condition  := or
    or         := and ("||" and)*
    and        := comparison ("&&" comparison)*
    comparison := unary [("==" | "!=" | "===" | "!==" | "<" | "<=" | ">" | ">=") unary]
    unary      := "!" unary | "-" number | value
    value      := path | string | number | "true" | "false" | "null" | "undefined"
                | "(" condition ")"
    path       := "doc" ("." name | "[" string "]" | "[" index "]")+

``name`` is an ASCII identifier; a field whose name is not one (``data-set``, ``größe``) is read
with a quoted name in brackets, ``doc["data-set"]``, and an array element with a whole number,
``doc.error[0]``. Strings take single or double quotes and JavaScript's escapes; numbers are
decimal. Operators and truthiness are JavaScript's. Comparisons do not chain (``a < b < c`` means
something else in JavaScript than it reads). Newlines are whitespace. A path reads only fields
the document has: a missing field, or a field of something that is not an object, reads as
``undefined`` instead of throwing, and ``constructor``, ``__proto__`` and ``prototype`` are
refused as names.

Everything else (other names, calls, assignments, arithmetic, ``;``, braces, comments, template
strings, regular expressions, escapes outside strings, characters outside ASCII outside strings)
is refused with a :class:`ConditionError` that names the line and column of the offending
character.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MAX_CONDITION_LENGTH = 2000
# Parentheses and "!" nest; deeper than this is no condition a person writes.
MAX_DEPTH = 32
ROOT = "doc"
FORBIDDEN_NAMES = frozenset({"constructor", "__proto__", "prototype"})
# What the compiled expression calls to read a path: own fields only, never throwing.
FIELD_FUNCTION = """\
  function field(value, name) {
    if (value === null || value === undefined) return undefined;
    return Object.prototype.hasOwnProperty.call(value, name) ? value[name] : undefined;
  }
"""

_WHITESPACE = " \t\r\n"
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_$]")
_OPERATORS = ("===", "!==", "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ".", "-")
_COMPARISONS = frozenset({"==", "!=", "===", "!==", "<", "<=", ">", ">="})
_LITERAL_NAMES = {"true": True, "false": False, "null": None}
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v",
                   "'": "'", '"': '"', "\\": "\\"}
_CODE_ESCAPE = re.compile(r"x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|u\{([0-9A-Fa-f]{1,6})\}")
_LINE_BREAKS = "\n\r\u2028\u2029"
# Why a character cannot start anything in a condition.
_REFUSED_CHARACTERS = {
    ";": "one condition is one expression: ';' is not allowed",
    "{": "braces are not allowed: a condition is one expression",
    "}": "braces are not allowed: a condition is one expression",
    "`": "template strings are not allowed: quote strings with ' or \"",
    "=": "assignment is not allowed: compare with == or ===",
    "&": "bitwise '&' is not allowed: join conditions with &&",
    "|": "bitwise '|' is not allowed: join conditions with ||",
    "+": "arithmetic is not allowed",
    "*": "arithmetic is not allowed",
    "%": "arithmetic is not allowed",
    ",": "',' is not allowed: a condition is one expression",
    "?": "'?:' is not allowed: write the condition with && and ||",
    ":": "'?:' is not allowed: write the condition with && and ||",
    "\\": "'\\' is only allowed inside quoted strings",
}
# Names operators bring from JavaScript habits, with what to write instead.
_NAME_HINTS = {
    "parseInt": "== already compares a number and the same number written as text (\"0\" == 0)",
    "parseFloat": "== already compares a number and the same number written as text (\"0\" == 0)",
    "Number": "== already compares a number and the same number written as text (\"0\" == 0)",
    "typeof": "doc.x == null holds when the field is missing or null",
}


class ConditionError(ValueError):
    """A condition that is not in the language; names the line and column of the offence."""

    def __init__(self, text: str, offset: int, reason: str):
        self.text = text
        self.offset = offset
        self.reason = reason
        self.line, self.column = _line_and_column(text, offset)
        super().__init__(f"the view condition is not valid at {_place(text, offset)}: {reason}")
        self.excerpt = _excerpt(text, offset)


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _place(text: str, offset: int) -> str:
    """'column C', or 'line L, column C' when the text has several lines (both from 1)."""
    line, column = _line_and_column(text, offset)
    return f"column {column}" if "\n" not in text else f"line {line}, column {column}"


def _excerpt(text: str, offset: int, width: int = 72) -> str:
    """The line holding ``offset`` (cut around it when long) and a caret under the offence."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", line_start)
    line = text[line_start: len(text) if line_end < 0 else line_end]
    at = offset - line_start
    start = max(0, min(at - width // 2, len(line) - width))
    shown = line[start: start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(line) else ""
    shown = "".join(char if char.isprintable() else " " for char in shown)
    return f"  {prefix}{shown}{suffix}\n  {' ' * (len(prefix) + at - start)}^"


def _describe(char: str) -> str:
    if char.isprintable() and char.isascii():
        return repr(char)
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


# -- the tree ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    value: object  # str, int, float, bool, None; UNDEFINED for JavaScript's undefined


@dataclass(frozen=True)
class Path:
    parts: tuple  # field names (str) and array indexes (int) below ``doc``


@dataclass(frozen=True)
class Not:
    operand: object


@dataclass(frozen=True)
class Comparison:
    operator: str
    left: object
    right: object


@dataclass(frozen=True)
class Logical:
    operator: str  # "&&" or "||"
    operands: tuple


UNDEFINED = object()


# -- tokens ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "string", "number", "op", "end"
    value: object
    offset: int
    text: str  # as written, for messages


def _tokens(text: str) -> Iterator[_Token]:
    """The tokens of ``text`` in order, ending with an "end" token; made as the parser asks, so
    that the first offence in reading order is the one reported."""
    at = 0
    while at < len(text):
        char = text[at]
        if char in _WHITESPACE:
            at += 1
            continue
        if char in "'\"":
            value, end = _string(text, at)
            yield _Token("string", value, at, text[at:end])
            at = end
        elif number := _NUMBER.match(text, at):
            yield _number(text, number)
            at = number.end()
        elif name := _NAME.match(text, at):
            if not text[name.end(): name.end() + 1].isascii():
                # A look-alike letter inside a name ("dоc" with a Cyrillic o): name that letter.
                raise _non_ascii(text, name.end())
            yield _Token("name", name.group(), at, name.group())
            at = name.end()
        elif char == "/":
            follows = text[at + 1: at + 2]
            kind = "comments" if follows in ("/", "*") else "division and regular expressions"
            raise ConditionError(text, at, f"{kind} are not allowed")
        elif operator := next((op for op in _OPERATORS if text.startswith(op, at)), None):
            yield _Token("op", operator, at, operator)
            at += len(operator)
        elif char in _REFUSED_CHARACTERS:
            raise ConditionError(text, at, _REFUSED_CHARACTERS[char])
        elif char.isascii():
            raise ConditionError(text, at, f"{_describe(char)} is not allowed")
        else:
            raise _non_ascii(text, at)
    yield _Token("end", None, len(text), "the end")


def _non_ascii(text: str, at: int) -> ConditionError:
    return ConditionError(
        text, at, f"{_describe(text[at])} is not allowed: outside quoted strings a condition is plain ASCII"
    )


def _number(text: str, match: re.Match) -> _Token:
    written = match.group()
    end = match.end()
    if _NAME_CHAR.match(text, end):
        raise ConditionError(text, end, f"{_describe(text[end])} cannot follow the number {written}")
    if re.match(r"0[0-9]", written):
        raise ConditionError(text, match.start(), f"{written} starts with 0 (JavaScript may read it as octal)")
    value = float(written)
    if not math.isfinite(value):
        raise ConditionError(text, match.start(), f"{written} is too large a number")
    if value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return _Token("number", value, match.start(), written)


def _string(text: str, start: int) -> tuple[str, int]:
    """The value of the quoted string at ``start`` and the offset after its closing quote."""
    quote = text[start]
    chars = []
    at = start + 1
    while True:
        if at >= len(text):
            raise ConditionError(text, start, "this string is not closed")
        char = text[at]
        if char == quote:
            return "".join(chars), at + 1
        if char in _LINE_BREAKS:
            raise ConditionError(text, at, "a string cannot span lines (write \\n for a newline)")
        if char != "\\":
            chars.append(char)
            at += 1
            continue
        escape = text[at + 1: at + 2]
        if escape in _SIMPLE_ESCAPES:
            chars.append(_SIMPLE_ESCAPES[escape])
            at += 2
        elif escape == "0" and not text[at + 2: at + 3].isdigit():
            chars.append("\0")
            at += 2
        elif hexa := _CODE_ESCAPE.match(text, at + 1):
            code = int(next(group for group in hexa.groups() if group), 16)
            if code > 0x10FFFF:
                raise ConditionError(text, at, f"{hexa.group()} is beyond the last Unicode character")
            chars.append(chr(code))
            at = hexa.end()
        else:
            shown = "\\" + escape if escape and escape.isprintable() else "\\"
            raise ConditionError(text, at, f"'{shown}' is not an escape a condition knows")


# -- the parser --------------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.stream = _tokens(text)
        self.token = next(self.stream)
        self.depth = 0

    def error(self, token: _Token, reason: str) -> ConditionError:
        return ConditionError(self.text, token.offset, reason)

    def advance(self) -> _Token:
        """The current token, moving on to the next."""
        current = self.token
        if current.kind != "end":
            self.token = next(self.stream)
        return current

    def at_op(self, *operators: str) -> bool:
        return self.token.kind == "op" and self.token.value in operators

    def take(self, *operators: str) -> _Token | None:
        return self.advance() if self.at_op(*operators) else None

    def condition(self):
        node = self.either()
        if self.token.kind != "end":
            found = self.token
            if self.at_op(")"):
                raise self.error(found, "this ')' closes no '('")
            if self.at_op("-"):
                raise self.error(found, "arithmetic is not allowed")
            raise self.error(found, f"expected && or || or the end, found {found.text!r}")
        return node

    def either(self):
        return self._chain("||", self.both)

    def both(self):
        return self._chain("&&", self.comparison)

    def _chain(self, operator: str, operand):
        operands = [operand()]
        while self.take(operator):
            operands.append(operand())
        return operands[0] if len(operands) == 1 else Logical(operator, tuple(operands))

    def comparison(self):
        left = self.unary()
        operator = self.take(*_COMPARISONS)
        if operator is None:
            return left
        right = self.unary()
        if self.at_op(*_COMPARISONS):
            raise self.error(self.token, "comparisons do not chain: join them with && (a < b && b < c)")
        return Comparison(operator.value, left, right)

    def unary(self):
        if bang := self.take("!"):
            with self.nested(bang):
                return Not(self.unary())
        if minus := self.take("-"):
            if self.token.kind != "number":
                raise self.error(minus, "'-' is only allowed before a number (no arithmetic)")
            return Literal(-self.advance().value)
        return self.value()

    def value(self):
        token = self.token
        if opening := self.take("("):
            with self.nested(opening):
                node = self.either()
            if not self.take(")"):
                raise self.error(self.token, f"expected ')' to close the '(' at {_place(self.text, opening.offset)}")
            return node
        if token.kind in ("string", "number"):
            return Literal(self.advance().value)
        if token.kind == "name":
            if token.value == ROOT:
                return self.path(self.advance())
            if token.value in _LITERAL_NAMES:
                return Literal(_LITERAL_NAMES[self.advance().value])
            if token.value == "undefined":
                self.advance()
                return Literal(UNDEFINED)
            hint = _NAME_HINTS.get(token.value, "a condition reads the token's fields as doc.<field>")
            raise self.error(token, f"'{token.value}' is not allowed: {hint}")
        if token.kind == "end":
            raise self.error(token, "the condition ends where a value should follow")
        raise self.error(
            token, f"expected a value (doc.<field>, a quoted string, a number, true, false or null), "
            f"found {token.text!r}"
        )

    def path(self, root: _Token) -> Path:
        parts = []
        while True:
            if self.take("."):
                if self.token.kind != "name":
                    raise self.error(self.token, 'a field name follows \'.\' (write doc["odd name"] for other names)')
                parts.append(self.part(self.token))
            elif self.token.kind == "number" and self.token.text.startswith("."):
                raise self.error(self.token, "an array element is read as doc.<field>[0], not with '.'")
            elif self.take("["):
                inside = self.token
                if not (inside.kind == "string" or (inside.kind == "number" and isinstance(inside.value, int))):
                    raise self.error(inside, "only a quoted field name or a whole number goes in [ ]")
                parts.append(self.part(inside))
                if not self.take("]"):
                    raise self.error(self.token, "expected ']'")
            else:
                break
        if not parts:
            raise self.error(root, "name a field of the token: doc.<field>")
        if self.at_op("("):
            raise self.error(self.token, "calls are not allowed: a condition compares fields with values")
        return Path(tuple(parts))

    def part(self, token: _Token):
        """The field name or index ``token`` stands for, unless it is one that is never a field."""
        if token.value in FORBIDDEN_NAMES:
            raise self.error(token, f"'{token.value}' is not a field of the token and cannot be read")
        return self.advance().value

    @contextmanager
    def nested(self, token: _Token):
        """One level deeper (a '(' or a '!'); refused past MAX_DEPTH before Python's own limit."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(token, f"the condition nests deeper than {MAX_DEPTH} levels")
        yield
        self.depth -= 1


def parse(text) -> object:
    """The tree of ``text``, or ConditionError naming where and why it is not a condition."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError(text if isinstance(text, str) else "", 0, "the condition is empty")
    if len(text) > MAX_CONDITION_LENGTH:
        raise ConditionError(text, MAX_CONDITION_LENGTH, f"the condition is longer than {MAX_CONDITION_LENGTH} characters")
    return _Parser(text).condition()


# -- the compiler ------------------------------------------------------------------------------

def to_javascript(node) -> str:
    """The JavaScript expression of a parsed condition; it calls only :data:`FIELD_FUNCTION`."""
    if isinstance(node, Literal):
        if node.value is UNDEFINED:
            return "undefined"
        literal = json.dumps(node.value)
        return f"({literal})" if literal.startswith("-") else literal
    if isinstance(node, Path):
        code = ROOT
        for part in node.parts:
            code = f"field({code}, {json.dumps(part)})"
        return code
    if isinstance(node, Not):
        return f"!{to_javascript(node.operand)}"
    if isinstance(node, Comparison):
        return f"({to_javascript(node.left)} {node.operator} {to_javascript(node.right)})"
    return "(" + f" {node.operator} ".join(to_javascript(operand) for operand in node.operands) + ")"


def compile_condition(text) -> str:
    """``text`` parsed and compiled: a JavaScript expression on ``doc`` (see :func:`to_javascript`)."""
    return to_javascript(parse(text))
