"""Token values as people are shown them: pages, the status API, command output, the archive.

CouchDB stores any JSON value a pilot writes, and Python decodes some of it into strings that
cannot be encoded as UTF-8 (a lone UTF-16 surrogate, ``"\\udfff"``); a response holding one fails
as a whole. These functions make copies for showing only: documents that operations write back
keep their exact values (never pass a value made here to the gateway).

- :func:`readable` replaces lone surrogates with U+FFFD in every string (keys too), and nested
  values deeper than :data:`MAX_SHOWN_DEPTH` with a note;
- :func:`excerpt` is one value as a line of text, cut at :data:`EXCERPT_CHARACTERS`;
- :func:`exact_json` is a value as JSON in valid UTF-8 that decodes back to the same value
  (lone surrogates written as ``\\uXXXX`` escapes), for downloads of the raw document;
- :func:`loads_shown` decodes a document nested deeper than Python's decoder can go, or holding
  a number longer than Python converts, those parts replaced by a note.
"""

from __future__ import annotations

import json
import re

# Values nested deeper than this are shown as a note: no page reads further, and Python's
# recursion (the template engine's, the JSON encoder's) stays far from its limit.
MAX_SHOWN_DEPTH = 64
TOO_DEEP = f"[nested deeper than {MAX_SHOWN_DEPTH} levels: download the JSON to see it]"
# The characters of a value a table cell or a command's line shows.
EXCERPT_CHARACTERS = 200
# The characters of one field the token's page shows (its JSON is a download).
FIELD_CHARACTERS = 4000
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string (possessive: linear, whatever CouchDB sends) or a bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')


def readable_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (the replacement character)."""
    return _SURROGATE.sub("\ufffd", text)


def readable(value, *, depth: int = 0):
    """A copy of the JSON value ``value`` that every page can show (see the module's text)."""
    if isinstance(value, str):
        return readable_text(value)
    if isinstance(value, (dict, list)) and depth >= MAX_SHOWN_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {readable_text(str(key)): readable(item, depth=depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item, depth=depth + 1) for item in value]
    return value


def excerpt(value, limit: int = EXCERPT_CHARACTERS) -> str:
    """One value as one line of text: a string as it is, anything else as compact JSON; cut to
    ``limit`` characters with an ellipsis."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(readable(value), ensure_ascii=False, separators=(",", ":"))
    text = readable_text(text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exact_json(value, **options) -> str:
    """``value`` as JSON text that encodes as UTF-8 and decodes to exactly ``value``: non-ASCII
    text as it is, lone surrogates as ``\\uXXXX`` escapes (they occur only inside strings)."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def loads_shown(text: str):
    """Decode a JSON document whose arrays and objects nest deeper than Python's decoder goes:
    every value deeper than :data:`MAX_SHOWN_DEPTH` becomes :data:`TOO_DEEP`, and an integer
    too long for Python a note. Linear."""
    pieces, level, cut_from, kept_to = [], 0, None, 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            level += 1
            if level == MAX_SHOWN_DEPTH + 1 and cut_from is None:
                cut_from = match.start()
        elif token in "]}":
            if level == MAX_SHOWN_DEPTH + 1 and cut_from is not None:
                pieces += [text[kept_to:cut_from], json.dumps(TOO_DEEP)]
                kept_to, cut_from = match.end(), None
            level -= 1
    pieces.append(text[kept_to:])
    return json.loads("".join(pieces), parse_int=_shown_int)


def _shown_int(digits: str) -> int | str:
    """An integer; one longer than Python converts (4,300 digits) as a note."""
    try:
        return int(digits)
    except ValueError:
        return f"[a number of {len(digits.lstrip('-'))} digits]"
