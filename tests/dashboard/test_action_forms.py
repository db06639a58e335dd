"""The campaign actions' forms (tokens_app.forms) on their own: what each turns request data into
and what it refuses, without a server or a database. The pages that use them are tested in
test_campaign_actions.py and test_campaign_repair.py."""

from datetime import timedelta

import pytest

from tokens_app.forms import AddViewForm, AdoptForm, FieldForm, ScrubForm, StatusForm

pytestmark = pytest.mark.unit


def valid(form) -> dict:
    assert form.is_valid(), form.errors
    return form.cleaned_data


@pytest.mark.parametrize("value, kept", [
    ("0", 0), ("true", True), ('"0"', "0"), ("[1, 2]", [1, 2]), ("null", None), ("done", "done"), ("", ""),
    ("{broken", "{broken"),
])
def test_a_field_value_is_json_when_it_parses_and_text_otherwise(value, kept):
    assert valid(FieldForm({"field": "status", "value": value}))["value"] == kept


@pytest.mark.parametrize("chosen, targets", [
    ({"view": "error"}, {"view": "error"}), ({"token_id": "t_1"}, {"ids": ["t_1"]}), ({}, {"view": None}),
])
def test_a_status_targets_a_view_one_token_or_every_token(chosen, targets):
    form = StatusForm({"status": "todo", **chosen})
    valid(form)
    assert form.targets() == targets


def test_a_scrub_age_is_a_duration_of_the_one_grammar_and_only_of_locked_tokens():
    form = ScrubForm({"older_than": "6h"})
    assert valid(form)["older_than"] == timedelta(hours=6)
    assert form.targets() == {"view": "locked"}
    # As scrub_tokens --older-than takes it: weeks, several parts, spaces.
    assert valid(ScrubForm({"older_than": "1w 2d"}))["older_than"] == timedelta(days=9)
    for garbage in ("0", "0h", "-1", "6", "soon", "nan", "1e400h", "9" * 400 + "w", ""):
        assert "older_than" in ScrubForm({"older_than": garbage}).errors, garbage


def test_a_view_condition_is_checked_and_an_invalid_one_keeps_its_excerpt():
    assert valid(AddViewForm({"name": "slow", "condition": "doc.scrub_count > 2"}))["condition"] == "doc.scrub_count > 2"
    refused = AddViewForm({"name": "bad", "condition": "doc.status ==== ("})
    assert not refused.is_valid()
    assert "assignment is not allowed" in refused.errors["condition"][0]
    assert refused.error_excerpt.splitlines()[0].strip() == "doc.status ==== ("


@pytest.mark.parametrize("database, token_type, field", [
    ("tokens", "_design", "token_type"),
    ("tokens", "a/b", "token_type"),
    ("Tokens", "pref_cal1", "database"),
    ("_config", "pref_cal1", "database"),
])
def test_a_design_to_adopt_has_a_valid_database_and_type(database, token_type, field):
    assert field in AdoptForm({"database": database, "token_type": token_type}).errors
    assert valid(AdoptForm({"database": "tokens", "token_type": "pref_cal1"})) == {
        "database": "tokens", "token_type": "pref_cal1"}
