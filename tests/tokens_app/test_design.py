"""The design documents' rules, without a server: ``state_of``, what each document holds, how
the portal recognises, merges and restores its views, and what names and conditions it refuses.
The views on the real server: test_design_views.py."""

import pytest

from design_cases import CASES, TYPE
from tokens_app.design import (
    BUILTIN_VIEWS,
    MARKER_FIELD,
    TYPE_VIEWS,
    USER_VIEWS_FIELD,
    build_design_doc,
    build_portal_design_doc,
    design_id,
    is_token_list_view,
    merged_design_doc,
    replaced_views,
    state_of,
    user_view,
    validate_condition,
    validate_token_type,
    validate_view_name,
    with_user_view,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("doc_id,fields,expected", CASES, ids=[case[0] for case in CASES])
def test_state_of_follows_the_rule(doc_id, fields, expected):
    assert state_of(fields) == expected


def test_the_type_design_holds_only_what_pilots_and_grid_lrt_read():
    design = build_design_doc(TYPE)
    assert set(design["views"]) == set(TYPE_VIEWS)
    assert [name for name, view in design["views"].items() if "reduce" in view] == ["overview_total"]
    assert design[MARKER_FIELD] == {"version": 4} and build_portal_design_doc()[MARKER_FIELD] == {"version": 4}
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


@pytest.mark.parametrize("view,lists", [
    ({"map": "function (doc) {}"}, True), ({"map": "function (doc) {}", "reduce": "_count"}, False),
    ({"reduce": "_sum"}, False), ("function", False), (None, False),
])
def test_only_map_views_list_tokens(view, lists):
    assert is_token_list_view(view) is lists


def test_merging_keeps_foreign_views_and_renews_the_builtin_ones():
    existing = {
        "_id": design_id(TYPE),
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
