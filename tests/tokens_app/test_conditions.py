"""The condition language of user views, without a server: what GRID_LRT and picas write compiles
to the portal's own code; everything else is refused with the place of the offence. What the
compiled views select on the real server: test_condition_views.py."""

import re

import pytest

from condition_cases import ACCEPTED, TYPE
from tokens_app.conditions import (
    MAX_CONDITION_LENGTH,
    MAX_DEPTH,
    ConditionError,
    compile_condition,
    parse,
)
from tokens_app.design import user_view, validate_condition

pytestmark = pytest.mark.unit


# The compiled expression: the portal's ``field`` reader, ``doc``, operators, and literals
# (strings JSON-encoded). Nothing else of the user's text can be in it.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\["\\/bfnrtu])*"')
_PORTAL_CODE = re.compile(
    r"(?:field\(|doc|, |[()!]| (?:===|!==|==|!=|<=|>=|<|>|&&|\|\|) |-?[0-9][0-9.e+-]*|true|false|null|undefined)*"
)


@pytest.mark.parametrize("text", [text for text, _ in ACCEPTED])
def test_the_compiled_code_is_the_portals_own_with_json_literals(text):
    code = compile_condition(text)
    assert _PORTAL_CODE.fullmatch(_JSON_STRING.sub("", code)), code
    assert user_view(TYPE, text)["map"].count(code) == 1


# (what, condition, line, column, words of the reason). The first ones are the exploits.
ATTACKS = [
    ("Function from globalThis",
     'globalThis.constructor.constructor("return process")().mainModule.require("child_process")'
     '.execSync("touch /tmp/x")', 1, 1, "'globalThis' is not allowed"),
    ("Function from doc", 'doc.constructor.constructor("return process")()', 1, 5, "'constructor'"),
    ("Function from a field", 'doc.status.constructor.constructor("return process")()', 1, 12, "'constructor'"),
    ("this", "this", 1, 1, "'this' is not allowed"),
    ("process", 'process.mainModule.require("child_process")', 1, 1, "'process' is not allowed"),
    ("require", "require('child_process')", 1, 1, "'require' is not allowed"),
    ("leaving the if", "doc.x) || (function(){ return process })() || (1", 1, 6, "closes no '('"),
    ("newline leaving the if", "1\n) emit(1); if (1", 2, 1, "closes no '('"),
    ("statement after a newline", "doc.x == 1\n; emit(doc._id, 1)", 2, 1, "';'"),
    ("line comment", "doc.x == 1 // ) { evil(); } if (1", 1, 12, "comments"),
    ("block comment", "doc.x /* ) */ == 1", 1, 7, "comments"),
    ("template string", "`${process.exit()}` == doc.x", 1, 1, "template strings"),
    ("__proto__ in brackets", 'doc["__proto__"].polluted == 1', 1, 5, "'__proto__'"),
    ("__proto__", "doc.__proto__ == 1", 1, 5, "'__proto__'"),
    ("prototype", "doc.a.prototype == 1", 1, 7, "'prototype'"),
    ("constructor in brackets", "doc['constructor'] == 1", 1, 5, "'constructor'"),
    ("unicode escape in a name", "\\u0064oc.x == 1", 1, 1, "only allowed inside quoted strings"),
    ("escape after a name", "doc.\\u0078 == 1", 1, 5, "only allowed inside quoted strings"),
    ("Cyrillic o", "d\u043ec.x == 1", 1, 2, "CYRILLIC SMALL LETTER O"),
    ("Cyrillic d", "\u0501oc.x == 1", 1, 1, "CYRILLIC SMALL LETTER KOMI DE"),
    ("Cyrillic a in a field", "doc.st\u0430tus == 1", 1, 7, "CYRILLIC SMALL LETTER A"),
    ("fullwidth d", "\uff44oc.x == 1", 1, 1, "FULLWIDTH LATIN SMALL LETTER D"),
    ("no-break space", "doc.x ==\u00a01", 1, 9, "NO-BREAK SPACE"),
    ("line separator", "doc.x\u2028== 1", 1, 6, "LINE SEPARATOR"),
    ("call of a field", "doc.status.toString() == 1", 1, 20, "calls are not allowed"),
    ("call through brackets", 'doc["x"]("y")', 1, 9, "calls are not allowed"),
    ("computed member", "doc[doc.key] == 1", 1, 5, "quoted field name"),
    ("parseInt", "parseInt(doc.exit_code) == 0", 1, 1, '"0" == 0'),
    ("eval", 'doc.x == eval("1")', 1, 10, "'eval' is not allowed"),
    ("new", 'new Function("return 1")', 1, 1, "'new' is not allowed"),
    ("assignment", "doc.lock = 0", 1, 10, "assignment"),
    ("arrow function", "(x) => 1", 1, 2, "'x' is not allowed"),
    ("arithmetic", "doc.lock + 1 > 2", 1, 10, "arithmetic"),
    ("minus", "doc.lock - 1 > 2", 1, 10, "arithmetic"),
    ("regular expression", "/x/.test(doc.status)", 1, 1, "regular expressions"),
    ("braces", "doc.x == {}", 1, 10, "braces"),
    ("comma", "doc.x, process", 1, 6, "','"),
    ("conditional", "doc.x ? 1 : 0", 1, 7, "'?:'"),
    ("octal", "doc.x == 010", 1, 10, "octal"),
    ("hexadecimal", "doc.x == 0x10", 1, 11, "cannot follow the number"),
    ("unclosed string", 'doc.x == "abc', 1, 10, "not closed"),
    ("newline in a string", 'doc.x == "a\nb"', 1, 12, "cannot span lines"),
    ("unknown escape", r'doc.x == "\q"', 1, 11, "escape"),
    ("chained comparison", "0 < doc.x < 9", 1, 11, "do not chain"),
    ("bare doc", "doc == 1", 1, 1, "doc.<field>"),
    ("empty", "  ", 1, 1, "empty"),
    ("dangling operator", "doc.x ==", 1, 9, "ends where a value should follow"),
    ("unclosed parenthesis", "(doc.x == 1", 1, 12, "close the '(' at column 1"),
    ("NUL", "doc.x\x00", 1, 6, "U+0000"),
    ("very long", "doc.x == 1 && " * 150 + "true", 1, MAX_CONDITION_LENGTH + 1, "longer than"),
    ("deep parentheses", "(" * 900 + "doc.x" + ")" * 900, 1, MAX_DEPTH + 1, f"deeper than {MAX_DEPTH}"),
    ("deep negation", "!" * 1999 + "1", 1, MAX_DEPTH + 1, f"deeper than {MAX_DEPTH}"),
]


@pytest.mark.parametrize("what,text,line,column,reason", ATTACKS, ids=[case[0] for case in ATTACKS])
def test_what_is_not_a_condition_is_refused_with_its_place(what, text, line, column, reason):
    with pytest.raises(ConditionError) as caught:
        validate_condition(text)
    error = caught.value
    assert (error.line, error.column) == (line, column)
    assert reason in error.reason
    place = f"line {line}, column {column}" if "\n" in text else f"column {column}"
    assert str(error).startswith(f"the view condition is not valid at {place}: ")
    assert "\n" not in str(error)
    shown, caret = error.excerpt.split("\n")
    offending = text.split("\n")[line - 1][column - 1: column]
    if offending.isprintable():
        assert shown[caret.index("^"):][:1] == offending
    with pytest.raises(ConditionError):
        user_view(TYPE, text)


def test_a_long_condition_within_the_cap_compiles_without_deep_recursion():
    text = "doc.x == 1 && " * 142 + "true"
    assert len(text) <= MAX_CONDITION_LENGTH
    assert len(compile_condition(text)) > len(text)
    assert parse("(" * MAX_DEPTH + "doc.x" + ")" * MAX_DEPTH)


@pytest.mark.parametrize("garbage", [None, 42, b"doc.x == 1", ["doc.x"]])
def test_a_condition_that_is_not_text_is_refused(garbage):
    with pytest.raises(ConditionError, match="empty"):
        validate_condition(garbage)
