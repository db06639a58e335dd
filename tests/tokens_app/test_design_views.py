"""The design documents against the real server: every state lands in its view of
``_design/<type>`` and of ``_design/tokenportal``, and the JavaScript rule agrees with its Python
twin ``state_of``."""


import pytest

from design_cases import CASES, TYPE
from tokens_app.design import (
    PORTAL_DESIGN,
    STATE_NAMES,
    build_design_doc,
    build_portal_design_doc,
    design_id,
    state_of,
    with_user_view,
)


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


CASES_BY_ID = {doc_id: fields for doc_id, fields, _ in CASES}


def test_a_user_view_lists_the_tokens_its_condition_holds_for(gateway, tokens):
    design = with_user_view(build_design_doc(TYPE), TYPE, "long_runs", 'doc.status == "running"')
    design["_rev"] = gateway.get_doc(tokens, design_id(TYPE))["_rev"]
    gateway.put_doc(tokens, design)
    rows = gateway.view(tokens, TYPE, "long_runs")["rows"]
    assert [row["id"] for row in rows] == ["running"]
