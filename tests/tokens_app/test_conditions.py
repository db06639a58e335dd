"""The condition language of user views: what GRID_LRT and picas write compiles and selects on the
real server what JavaScript selects; everything else is refused with the place of the offence."""

import re
import uuid

import pytest

from tokens_app.conditions import (
    MAX_CONDITION_LENGTH,
    MAX_DEPTH,
    ConditionError,
    compile_condition,
    parse,
)
from tokens_app.couch import get_gateway
from tokens_app.design import build_design_doc, user_view, validate_condition, with_user_view

TYPE = "cond"
LOCK, DONE = 1700000000, 1700000500

# Tokens as GRID_LRT (``output``) and picas (``exit_code``, ``error``) pilots leave them.
DOCS = {
    "todo": {"lock": 0, "done": 0, "status": "todo", "output": "", "scrub_count": 0, "OBSID": "L229507",
             "cores": 1, "PIPELINE_STEP": "pref_cal1", "config.json": {"container": "lofar"}, "data-set": "a"},
    "downloading": {"lock": LOCK, "done": 0, "status": "downloading", "output": "", "scrub_count": 1,
                    "OBSID": "L229507", "cores": 4},
    "launched": {"lock": LOCK, "done": 0, "status": "launched", "cores": 1, "OBSID": "L111111"},
    "done_ok": {"lock": LOCK, "done": DONE, "status": "done", "output": 0, "exit_code": 0, "cores": 1},
    "done_text_zero": {"lock": LOCK, "done": DONE, "status": "done", "output": "0", "exit_code": "0"},
    "failed": {"lock": LOCK, "done": DONE, "status": "error", "output": 1, "exit_code": 1, "scrub_count": 3,
               "error": [{"message": "boom"}]},
    "picas_error": {"lock": 99, "done": 99, "exit_code": "", "error": [{"message": "x"}]},
    "bare": {},
    "nested": {"lock": 0, "done": 0, "meta": {"site": {"name": "sara"}}, "tags": ["a", "b"]},
    "flat_meta": {"lock": 0, "done": 0, "meta": "flat"},
}
EVERY = sorted(DOCS)


def every_but(*ids):
    return sorted(set(EVERY) - set(ids))


# (condition, the tokens JavaScript selects). The first block is GRID_LRT's (TokenHandler.add_view
# and add_status_views, the overview map) and picas' (createViews.py, its autopilot appendix)
# conditions as they write them; the selections follow JavaScript's == (undefined != 0, "" == 0).
ACCEPTED = [
    ("doc.lock ==  0 && doc.done == 0 ", ["flat_meta", "nested", "todo"]),
    ("doc.lock == 0 && doc.done == 0", ["flat_meta", "nested", "todo"]),
    ("doc.lock > 0 && doc.done == 0 ", ["downloading", "launched"]),
    ('doc.status == "done" ', ["done_ok", "done_text_zero"]),
    ("doc.output != 0 ", ["bare", "failed", "flat_meta", "launched", "nested", "picas_error"]),
    ("doc.lock > 0 && doc.done > 0 && doc.output > 0", ["failed"]),
    ("doc.lock > 0 && doc.done > 0 && doc.output == 0 ", ["done_ok", "done_text_zero"]),
    ("doc.lock > 0 && doc.status == 'downloading' ", ["downloading"]),
    ("doc.lock > 0  && doc.done==0 && doc.status!='downloading' ", ["launched"]),
    ('doc.lock > 0 && doc.output != 0 && doc.output != "" ', ["failed", "launched", "picas_error"]),
    ('doc.PIPELINE_STEP == "pref_cal1" ', ["todo"]),
    ('doc.OBSID == "L229507"', ["downloading", "todo"]),
    ("doc.lock > 0 && doc.done > 0 && doc.exit_code == 0", ["done_ok", "done_text_zero", "picas_error"]),
    ("doc.lock > 0 && doc.done > 0 && doc.exit_code != 0", ["failed"]),
    ("doc.lock == 0 && doc.done == 0 && doc.cores == 1", ["todo"]),
    ("doc.status == 'todo'", ["todo"]),
    # The rest of the language.
    ('doc.scrub_count > 2 && doc.status == "error"', ["failed"]),
    ("!doc.error", every_but("failed", "picas_error")),
    ("doc.error && doc.error.length > 0", ["failed", "picas_error"]),
    ('doc.error[0].message == "boom"', ["failed"]),
    ('doc.meta.site.name === "sara"', ["nested"]),
    ("doc[\"config.json\"]['container'] == 'lofar'", ["todo"]),
    ('doc["data-set"] === "a"', ["todo"]),
    ('doc.tags[1] == "b"', ["nested"]),
    ("doc.exit_code == null", ["bare", "downloading", "flat_meta", "launched", "nested", "todo"]),
    ("doc.exit_code === undefined", ["bare", "downloading", "flat_meta", "launched", "nested", "todo"]),
    ("doc.lock > -1 && doc.done >= 0 && doc.done <= 99",
     ["downloading", "flat_meta", "launched", "nested", "picas_error", "todo"]),
    ('!(doc.lock > 0) || doc.status === "launched"', ["bare", "flat_meta", "launched", "nested", "todo"]),
    ("doc.lock > 0\n  && doc.done == 0", ["downloading", "launched"]),
    ('doc.status == "done" || doc.status == "error"', ["done_ok", "done_text_zero", "failed"]),
    ("doc.cores >= 4 || doc.cores < 1", ["downloading"]),
    ("doc.x == 'it\\'s' || doc.status == \"\\u0074o\\x64o\"", ["todo"]),
    ("(doc.lock === 1700000000) == true && doc.done === 1.7000005e9", ["done_ok", "done_text_zero", "failed"]),
    ("doc.toString === undefined && doc.hasOwnProperty === undefined", EVERY),
    ("true", EVERY),
    ("false", []),
]


@pytest.fixture(scope="module")
def selections(couch_server):
    """A database holding DOCS (and a token of another type) and every ACCEPTED condition as a view."""
    gateway = get_gateway()
    database = f"test_conditions_{uuid.uuid4().hex[:8]}"
    gateway.create_database(database)
    docs = [{"_id": doc_id, "type": TYPE, **fields} for doc_id, fields in DOCS.items()]
    gateway.bulk_docs(database, [*docs, {"_id": "other", "type": "other", "lock": 0, "done": 0}])
    design = build_design_doc(TYPE)
    for index, (text, _) in enumerate(ACCEPTED):
        design = with_user_view(design, TYPE, f"c{index}", text)
    gateway.put_doc(database, design)
    yield lambda view: sorted(row["id"] for row in gateway.view(database, TYPE, view)["rows"])
    gateway.delete_database(database)


@pytest.mark.parametrize("index", range(len(ACCEPTED)), ids=[text for text, _ in ACCEPTED])
def test_a_condition_selects_on_the_server_what_javascript_selects(selections, index):
    assert selections(f"c{index}") == ACCEPTED[index][1]


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


def test_a_path_reads_missing_fields_of_any_depth_without_throwing(gateway, couch_db):
    deep = "doc" + ".meta" * 300 + ' == "x" || doc.status.length.x.y === undefined'
    gateway.bulk_docs(couch_db, [{"_id": doc_id, "type": TYPE, **fields} for doc_id, fields in DOCS.items()])
    gateway.put_doc(couch_db, with_user_view(build_design_doc(TYPE), TYPE, "deep", deep))
    assert sorted(row["id"] for row in gateway.view(couch_db, TYPE, "deep")["rows"]) == EVERY


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
