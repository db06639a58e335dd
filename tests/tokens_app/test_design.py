"""The design documents against the real server: every state lands in its view of
``_design/<type>`` and of ``_design/tokenportal``, and the JavaScript rule agrees with its Python
twin ``state_of``."""

import json

import pytest

from tokens_app.design import (
    BUILTIN_VIEWS,
    MARKER_FIELD,
    PORTAL_DESIGN,
    TYPE_VIEWS,
    build_portal_design_doc,
    is_token_list_view,
    replaced_views,
    USER_VIEWS_FIELD,
    STATE_NAMES,
    build_design_doc,
    design_doc_id,
    merged_design_doc,
    state_of,
    user_view,
    validate_condition,
    validate_token_type,
    validate_view_name,
    with_user_view,
)

TYPE = "pref_cal1"

# (token id, fields, expected state): both the GRID_LRT ``output`` and the PiCaS ``exit_code``
# conventions, pilot statuses, and the odd values pilots have been seen to write.
CASES = [
    ("fresh", {"lock": 0, "done": 0}, "todo"),
    ("no_bookkeeping", {}, "todo"),
    ("running", {"lock": 1700000000, "done": 0, "status": "running"}, "locked"),
    ("downloading", {"lock": 1700000000, "done": 0, "status": "downloading"}, "locked"),
    ("launched", {"lock": 1700000000, "done": 0, "status": "launched"}, "locked"),
    ("lock_as_text", {"lock": "1700000000", "done": 0}, "locked"),
    ("output_zero", {"lock": 1700000000, "done": 1700000500, "output": 0}, "done"),
    ("output_zero_text", {"lock": 1700000000, "done": 1700000500, "output": "0"}, "done"),
    ("output_empty", {"lock": 1700000000, "done": 1700000500, "output": ""}, "done"),
    ("exit_code_zero", {"lock": 1700000000, "done": 1700000500, "exit_code": 0}, "done"),
    ("done_without_lock", {"lock": 0, "done": 1700000500}, "done"),
    ("output_nonzero", {"lock": 1700000000, "done": 1700000500, "output": 1}, "error"),
    ("output_text", {"lock": 1700000000, "done": 1700000500, "output": "segfault"}, "error"),
    ("exit_code_text_one", {"lock": 1700000000, "done": 1700000500, "exit_code": "1"}, "error"),
    ("exit_code_while_running", {"lock": 1700000000, "done": 0, "exit_code": 137}, "error"),
    ("status_error", {"lock": 1700000000, "done": 0, "status": "error"}, "error"),
    ("status_error_no_lock", {"lock": 0, "done": 0, "status": "error"}, "todo"),
    ("exit_code_null", {"lock": 1700000000, "done": 1700000500, "exit_code": None}, "done"),
    ("exit_code_false", {"lock": 1700000000, "done": 1700000500, "exit_code": False}, "done"),
    ("output_list", {"lock": 1700000000, "done": 1700000500, "output": ["oops"]}, "error"),
    ("output_object", {"lock": 1700000000, "done": 1700000500, "output": {"log": "oops"}}, "error"),
    # picas gives every new Task ``output: {}``: empty, it reports nothing.
    ("picas_output_empty_object", {"lock": 1700000000, "done": 1700000500, "exit_code": 0, "output": {}}, "done"),
    ("picas_running_empty_object", {"lock": 1700000000, "done": 0, "output": {}}, "locked"),
    ("output_empty_list", {"lock": 1700000000, "done": 1700000500, "output": []}, "done"),
    # picas 1.x Task.error(): lock = done = 99, the message appended to ``error``, no exit code.
    ("picas_task_error", {"lock": 99, "done": 99, "exit_code": "", "error": [{"message": "boom"}]}, "error"),
    ("picas_no_errors", {"lock": 1700000000, "done": 1700000500, "exit_code": "", "error": []}, "done"),
]


@pytest.fixture
def tokens(gateway, couch_db):
    docs = [{"_id": doc_id, "type": TYPE, **fields} for doc_id, fields, _ in CASES]
    docs.append({"_id": "other_type", "type": "other", "lock": 0, "done": 0})
    gateway.bulk_docs(couch_db, docs)
    gateway.put_doc(couch_db, build_design_doc(TYPE))
    gateway.put_doc(couch_db, build_portal_design_doc())
    return couch_db


def expected_ids(state):
    return sorted(doc_id for doc_id, _, expected in CASES if expected == state)


def portal_rows(gateway, db, view, **params):
    return gateway.view(db, PORTAL_DESIGN, view, **{"startkey": [TYPE], "endkey": [TYPE, {}], **params})["rows"]


@pytest.mark.parametrize("doc_id,fields,expected", CASES, ids=[case[0] for case in CASES])
def test_state_of_follows_the_rule(doc_id, fields, expected):
    assert state_of(fields) == expected


@pytest.mark.parametrize("state", STATE_NAMES)
def test_each_token_lands_in_the_view_of_its_state_keyed_by_its_id(gateway, tokens, state):
    """GRID_LRT's reset_tokens and set_view_to_status read each row's key as the document id."""
    rows = gateway.view(tokens, TYPE, state)["rows"]
    assert [row["key"] for row in rows] == [row["id"] for row in rows] == expected_ids(state)
    in_portal = portal_rows(gateway, tokens, "states", reduce=False, startkey=[TYPE, state], endkey=[TYPE, state, {}])
    assert [row["id"] for row in in_portal] == expected_ids(state)


def test_the_javascript_rule_agrees_with_state_of(gateway, tokens):
    rows = gateway.view(tokens, TYPE, "overview_total", reduce=False)["rows"]
    by_id = {doc_id: fields for doc_id, fields, _ in CASES}
    assert {row["id"]: row["key"] for row in rows} == {doc_id: state_of(by_id[doc_id]) for doc_id in by_id}
    walk = portal_rows(gateway, tokens, "tokens")
    assert [row["key"] for row in walk] == [[TYPE, doc_id] for doc_id in sorted(by_id)]
    assert {row["id"]: row["value"] for row in walk} == {doc_id: state_of(by_id[doc_id]) for doc_id in by_id}


def test_counts_are_one_grouped_query_in_either_design_document(gateway, tokens):
    expected = {state: len(expected_ids(state)) for state in STATE_NAMES}
    rows = gateway.view(tokens, TYPE, "overview_total", group=True)["rows"]
    assert {row["key"]: row["value"] for row in rows} == expected
    every_type = gateway.view(tokens, PORTAL_DESIGN, "states", group_level=2)["rows"]
    assert {tuple(row["key"]): row["value"] for row in every_type} == {
        **{(TYPE, state): count for state, count in expected.items()}, ("other", "todo"): 1}


def test_view_keys_and_values(gateway, tokens):
    locked = {row["id"]: row for row in gateway.view(tokens, TYPE, "locked")["rows"]}
    assert locked["downloading"]["value"] == {"lock": 1700000000, "status": "downloading"}
    done = {row["id"]: row for row in gateway.view(tokens, TYPE, "done")["rows"]}
    assert done["output_zero"]["value"] == 1700000500
    error = {row["id"]: row for row in gateway.view(tokens, TYPE, "error")["rows"]}
    assert error["exit_code_text_one"]["value"] == {"exit_code": "1"}


def test_errors_group_by_exit_code_output_and_status_and_by_host(gateway, tokens):
    rows = portal_rows(gateway, tokens, "errors", group=True)
    summary = {json.dumps(row["key"][1:]): row["value"] for row in rows}
    assert summary['[null, 1, null]'] == 1
    assert summary['["1", null, null]'] == 1
    assert summary['[null, null, "error"]'] == 1
    assert sum(summary.values()) == len(expected_ids("error"))
    hosts = portal_rows(gateway, tokens, "errors_by_host", group=True)
    assert hosts == [{"key": [TYPE, None], "value": len(expected_ids("error"))}]


def test_completions_count_done_and_error_tokens_per_utc_hour(gateway, tokens):
    rows = portal_rows(gateway, tokens, "completions", group_level=6)
    # 1700000500 is 2023-11-14 22:21:40 UTC; PiCaS's done = 99 of a failed task is no time.
    failed_in_time = [doc_id for doc_id in expected_ids("error") if dict(CASES_BY_ID[doc_id]).get("done") == 1700000500]
    assert rows == [
        {"key": [TYPE, "done", 2023, 11, 14, 22], "value": len(expected_ids("done"))},
        {"key": [TYPE, "error", 2023, 11, 14, 22], "value": len(failed_in_time)},
    ]


CASES_BY_ID = {doc_id: fields for doc_id, fields, _ in CASES}


def test_the_type_design_holds_only_what_pilots_and_grid_lrt_read():
    design = build_design_doc(TYPE)
    assert set(design["views"]) == set(TYPE_VIEWS)
    assert [name for name, view in design["views"].items() if "reduce" in view] == ["overview_total"]
    assert design[MARKER_FIELD] == {"version": 2} and build_portal_design_doc()[MARKER_FIELD] == {"version": 2}
    assert replaced_views(TYPE, design) == []


def test_views_another_tool_replaced_are_found():
    design = build_design_doc(TYPE)
    grid_lrt = {"map": 'function(doc) { if (doc.type == "pref_cal1") { if (doc.lock > 0 && doc.done == 0) '
                       'emit(doc.lock, doc._id); } }'}
    edited = {**design, "views": {**design["views"], "locked": grid_lrt}}
    assert replaced_views(TYPE, edited) == ["locked"]
    # Without the marker it is another tool's document (adopted, not repaired).
    assert replaced_views(TYPE, {"views": edited["views"]}) == []
    restored = merged_design_doc(TYPE, edited)
    assert restored["views"]["locked"] == design["views"]["locked"] and replaced_views(TYPE, restored) == []


def test_version_one_documents_lose_the_views_that_moved_to_the_portal_document():
    from tokens_app.design import STATE_FUNCTION, _map_function

    old_tokens = {"map": _map_function(TYPE, "emit(doc._id, state(doc));", helpers=STATE_FUNCTION)}
    version_one = {"_id": design_doc_id(TYPE), "_rev": "1-a", "views": {
        **build_design_doc(TYPE)["views"], "tokens": old_tokens,
        "error_summary": {"map": "function (doc) {}", "reduce": "_sum"},
        "completions": {"map": "function (doc) {}", "reduce": "_sum"}, "mine": {"map": "function (doc) {}"},
    }}
    migrated = merged_design_doc(TYPE, version_one)
    assert set(migrated["views"]) == set(TYPE_VIEWS) | {"mine"} and migrated["_rev"] == "1-a"
    # A foreign view that happens to be called "tokens" is kept.
    foreign = {**version_one, "views": {**version_one["views"], "tokens": {"map": "function (doc) { emit(1); }"}}}
    assert "tokens" in merged_design_doc(TYPE, foreign)["views"]


@pytest.mark.parametrize("view,lists", [
    ({"map": "function (doc) {}"}, True), ({"map": "function (doc) {}", "reduce": "_count"}, False),
    ({"reduce": "_sum"}, False), ("function", False), (None, False),
])
def test_only_map_views_list_tokens(view, lists):
    assert is_token_list_view("v", view) is lists


def test_a_user_view_lists_the_tokens_its_condition_holds_for(gateway, tokens):
    design = with_user_view(build_design_doc(TYPE), TYPE, "long_runs", 'doc.status == "running"')
    design["_rev"] = gateway.get_doc(tokens, design_doc_id(TYPE))["_rev"]
    gateway.put_doc(tokens, design)
    rows = gateway.view(tokens, TYPE, "long_runs")["rows"]
    assert [row["id"] for row in rows] == ["running"]


def test_merging_keeps_foreign_views_and_renews_the_builtin_ones():
    existing = {
        "_id": design_doc_id(TYPE),
        "_rev": "3-abc",
        "views": {"todo": {"map": "function (doc) { emit(1, 1); }"}, "overview_view": {"map": "old"}},
    }
    merged = merged_design_doc(TYPE, existing)
    assert merged["_rev"] == "3-abc"
    assert merged["views"]["overview_view"] == {"map": "old"}
    assert merged["views"]["todo"] == build_design_doc(TYPE)["views"]["todo"]
    assert set(TYPE_VIEWS) <= set(merged["views"]) and "tokens" not in merged["views"]
    assert set(BUILTIN_VIEWS) - set(merged["views"]) == {"tokens"}


def test_the_type_is_embedded_as_a_javascript_string():
    design = build_design_doc('we"ird')
    assert 'doc.type !== "we\\"ird"' in design["views"]["todo"]["map"]


@pytest.mark.parametrize(
    "name,message",
    [
        ("", "missing"),
        (None, "missing"),
        (42, "missing"),
        ("x" * 101, "longer than 100"),
        ("_design", "starts with '_'"),
        ("_secret", "starts with '_'"),
        ("a/b", "contains '/'"),
        ("pref cal", "spaces"),
        ("pref\tcal", "spaces"),
        ("pref\x00", "control"),
    ],
)
def test_bad_token_types_are_refused_with_a_reason(name, message):
    with pytest.raises(ValueError, match=message):
        validate_token_type(name)


def test_good_token_types_pass():
    assert validate_token_type("pref_cal1") == "pref_cal1"
    assert validate_token_type("x" * 100)


@pytest.mark.parametrize("name", ["", "1abc", "_x", "has-dash", "a" * 65, None, "sp ace"])
def test_bad_view_names_are_refused(name):
    with pytest.raises(ValueError, match="view name"):
        validate_view_name(name)


def test_builtin_view_names_cannot_be_user_views():
    with pytest.raises(ValueError, match="built-in"):
        with_user_view(build_design_doc(TYPE), TYPE, "todo", "doc.lock == 0")


@pytest.mark.parametrize(
    "condition,message",
    [("", "empty"), ("   ", "empty"), ("1) { emit(1, 1) } if (1", "closes no"), ("a;b", "'a' is not allowed"),
     ("x" * 2001, "longer than")],
)
def test_bad_conditions_are_refused(condition, message):
    with pytest.raises(ValueError, match=message):
        validate_condition(condition)
    with pytest.raises(ValueError, match=message):
        user_view(TYPE, condition)


def test_the_portal_records_the_user_views_it_writes_and_may_replace_only_those():
    foreign = {"map": 'function (doc) { if (doc.type == "pref_cal1") emit(doc._id, doc._id); }'}
    design = {**build_design_doc(TYPE), "views": {**build_design_doc(TYPE)["views"], "grid_lrt": foreign}}
    mine = with_user_view(design, TYPE, "mine", "doc.lock > 0")
    assert mine[USER_VIEWS_FIELD] == {"mine": "doc.lock > 0"}
    assert mine["views"]["grid_lrt"] == foreign
    again = with_user_view(mine, TYPE, "mine", "doc.done > 0")
    assert again[USER_VIEWS_FIELD] == {"mine": "doc.done > 0"}
    assert again["views"]["mine"] == user_view(TYPE, "doc.done > 0")
    with pytest.raises(ValueError, match="'grid_lrt' was not written by the portal"):
        with_user_view(again, TYPE, "grid_lrt", "true")
    with pytest.raises(ValueError, match="built-in"):
        with_user_view(again, TYPE, "todo", "true")
    assert merged_design_doc(TYPE, again)[USER_VIEWS_FIELD] == again[USER_VIEWS_FIELD]


@pytest.mark.parametrize("record", [None, "mine", ["mine"], 42])
def test_a_garbled_record_of_user_views_protects_every_view(record):
    design = {**with_user_view(build_design_doc(TYPE), TYPE, "mine", "true"), USER_VIEWS_FIELD: record}
    with pytest.raises(ValueError, match="not written by the portal"):
        with_user_view(design, TYPE, "mine", "false")
