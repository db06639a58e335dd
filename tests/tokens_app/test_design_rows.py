"""The read model's rows of design documents (token_rows.record): the tabs a campaign page offers
and the portal's record of restored views, kept by revision; names no page could ask for left out."""

import pytest

from tokens_app import token_rows
from tokens_app.design import MARKER_FIELD, marker
from tokens_app.read_models import DesignRow

pytestmark = pytest.mark.django_db

LIST = {"map": "function (doc) { emit(doc._id, null); }"}
COUNT = {"map": "function (doc) { emit(doc._id, 1); }", "reduce": "_count"}


def design(rev: str, **views) -> dict:
    return {"_id": "_design/obs", "_rev": rev, "views": {"todo": LIST, **views}}


def test_a_design_documents_tabs_and_restored_views_are_recorded():
    restored = {**marker(), "restored_views": ["todo"], "restored_at": "2026-12-07T10:00:00+00:00"}
    token_rows.record("db", [{**design("2-a", mine=LIST, counted=COUNT), MARKER_FIELD: restored}])
    row = DesignRow.objects.get(database="db", name="obs")
    assert row.listed_views == ["mine"]  # the portal's own and a reduce view are no extra tab
    assert row.restored == {"views": ["todo"], "at": "2026-12-07T10:00:00+00:00"}


def test_an_earlier_revision_changes_nothing_and_a_deletion_removes_the_row():
    token_rows.record("db", [design("3-b", newer=LIST)])
    token_rows.record("db", [design("2-a", older=LIST)])
    assert DesignRow.objects.get(database="db", name="obs").listed_views == ["newer"]
    token_rows.record("db", [{"_id": "_design/obs", "_rev": "2-c", "_deleted": True}])
    assert DesignRow.objects.filter(database="db").exists()  # a deletion of an older revision
    token_rows.record("db", [{"_id": "_design/obs", "_rev": "4-c", "_deleted": True}])
    assert not DesignRow.objects.filter(database="db").exists()


@pytest.mark.parametrize("doc", [
    {"_id": "_design/" + "x" * 101, "_rev": "1-a", "views": {"v": LIST}},
    {"_id": "_design/bad\udfff", "_rev": "1-a", "views": {"v": LIST}},
    {"_id": "_design/", "_rev": "1-a"},
    {"_id": "_design/obs", "_rev": "1-a", "views": "not an object"},
    {"_id": "_design/obs", "_rev": "1-a", "views": {"odd\x00name": LIST, "fine": LIST}},
])
def test_hostile_design_documents_are_recorded_safely_or_not_at_all(doc):
    token_rows.record("db", [doc])
    assert all(view == "fine" for row in DesignRow.objects.all() for view in row.listed_views)
