"""The design document against the real server: every state lands in its view, and the
JavaScript rule agrees with its Python twin ``state_of``."""

import json

import pytest

from tokens_app.design import (
    BUILTIN_VIEWS,
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
    return couch_db


def expected_ids(state):
    return sorted(doc_id for doc_id, _, expected in CASES if expected == state)


@pytest.mark.parametrize("doc_id,fields,expected", CASES, ids=[case[0] for case in CASES])
def test_state_of_follows_the_rule(doc_id, fields, expected):
    assert state_of(fields) == expected


@pytest.mark.parametrize("state", STATE_NAMES)
def test_each_token_lands_in_the_view_of_its_state(gateway, tokens, state):
    rows = gateway.view(tokens, TYPE, state, reduce=False)["rows"]
    assert sorted(row["id"] for row in rows) == expected_ids(state)


def test_the_javascript_rule_agrees_with_state_of(gateway, tokens):
    rows = gateway.view(tokens, TYPE, "overview_total", reduce=False)["rows"]
    by_id = {doc_id: fields for doc_id, fields, _ in CASES}
    assert {row["id"]: row["key"] for row in rows} == {doc_id: state_of(by_id[doc_id]) for doc_id in by_id}
    tokens = gateway.view(tokens, TYPE, "tokens")["rows"]
    assert [row["key"] for row in tokens] == sorted(by_id)
    assert {row["id"]: row["value"] for row in tokens} == {doc_id: state_of(by_id[doc_id]) for doc_id in by_id}


def test_overview_total_counts_every_state_in_one_grouped_query(gateway, tokens):
    rows = gateway.view(tokens, TYPE, "overview_total", group=True)["rows"]
    assert {row["key"]: row["value"] for row in rows} == {state: len(expected_ids(state)) for state in STATE_NAMES}


def test_view_keys_and_values(gateway, tokens):
    locked = {row["id"]: row for row in gateway.view(tokens, TYPE, "locked", reduce=False)["rows"]}
    assert locked["downloading"]["key"] == 1700000000
    assert locked["downloading"]["value"] == {"status": "downloading"}
    done = {row["id"]: row for row in gateway.view(tokens, TYPE, "done", reduce=False)["rows"]}
    assert done["output_zero"]["key"] == 1700000500
    error = {row["id"]: row for row in gateway.view(tokens, TYPE, "error", reduce=False)["rows"]}
    assert error["exit_code_text_one"]["value"] == {"exit_code": "1"}


def test_error_summary_groups_by_exit_code_output_and_status(gateway, tokens):
    rows = gateway.view(tokens, TYPE, "error_summary", group=True)["rows"]
    summary = {json.dumps(row["key"]): row["value"] for row in rows}
    assert summary['[null, 1, null]'] == 1
    assert summary['["1", null, null]'] == 1
    assert summary['[null, null, "error"]'] == 1
    assert sum(summary.values()) == len(expected_ids("error"))


def test_completions_count_done_tokens_per_utc_hour(gateway, tokens):
    rows = gateway.view(tokens, TYPE, "completions", group_level=4)["rows"]
    # 1700000500 is 2023-11-14 22:21:40 UTC.
    assert rows == [{"key": [2023, 11, 14, 22], "value": len(expected_ids("done"))}]


def test_a_user_view_lists_the_tokens_its_condition_holds_for(gateway, tokens):
    design = build_design_doc(TYPE, {"long_runs": 'doc.status == "running"'})
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
    assert set(BUILTIN_VIEWS) <= set(merged["views"])


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
        build_design_doc(TYPE, {"todo": "doc.lock == 0"})


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
    design = {**build_design_doc(TYPE, {"mine": "true"}), USER_VIEWS_FIELD: record}
    with pytest.raises(ValueError, match="not written by the portal"):
        with_user_view(design, TYPE, "mine", "false")
