"""The design-document layout on a real server: counts from ``_design/tokenportal`` agree with the
per-type views and with a full scan while pilots work, views another tool replaced are restored
and reported, reduce views and foreign views not keyed by id are refused as selections, version
one's design documents are migrated on first use (the follower sees every design document
another tool writes and puts the portal's views back)."""

import threading

import pytest

from devtools import pilots
from tokens_app import selectors, services, token_reads
from tokens_app.follower import Follower
from tokens_app.design import (
    MARKER_FIELD,
    PORTAL_DESIGN,
    STATE_NAMES,
    TYPE_VIEWS,
    _ZERO_TEXT,
    design_id,
    is_marked,
    replaced_views,
    state_of,
)
from tokens_app.models import Campaign
from tokens_app.tokensets import TokenSet
from tokens_app.services import ServiceError, ensure_design_doc

TYPES = ("alpha", "beta", "gamma")

# What GRID_LRT 0.5.1's ``add_status_views`` and ``add_overview_view`` write (its map code):
# ``locked`` keyed by ``doc.lock``, ``overview_total`` keyed running/downloading/....
GRID_LRT_VIEWS = {
    "todo": 'function(doc) { if(doc.type == "{t}") { if (doc.lock ==  0 && doc.done == 0 ) { emit(doc._id, doc._id); } } }',
    "locked": 'function(doc) { if(doc.type == "{t}") { if (doc.lock > 0 && doc.done == 0 ) { emit(doc._id, doc._id); } } }',
    "done": 'function(doc) { if(doc.type == "{t}") { if (doc.status == "done" ) { emit(doc._id, doc._id); } } }',
    "error": 'function(doc) { if(doc.type == "{t}") { if (doc.output != 0 ) { emit(doc._id, doc.output); } } }',
}
GRID_LRT_OVERVIEW = (
    'function(doc) { if(doc.type == "{t}") { if (doc.lock == 0 && doc.done == 0) { emit("todo", 1); }'
    ' if (doc.lock > 0 && doc.done == 0 && doc.status != "downloading") { emit("running", 1); }'
    ' if (doc.lock > 0 && doc.done > 0 && doc.output == 0) { emit("done", 1); }'
    ' if (doc.lock > 0 && doc.output != 0) { emit("error", 1); } } }'
)


def grid_lrt_views(token_type: str) -> dict:
    views = {name: {"map": code.replace("{t}", token_type)} for name, code in GRID_LRT_VIEWS.items()}
    views["overview_total"] = {"map": GRID_LRT_OVERVIEW.replace("{t}", token_type),
                               "reduce": "function (key, values, rereduce) { return sum(values); }"}
    return views


def tokens_of(token_type: str, count: int, **fields) -> list[dict]:
    return [{"_id": f"{token_type}_{n:04d}", "type": token_type, "lock": 0, "done": 0, "status": "todo",
             "output": "", **fields} for n in range(count)]


def scan(gateway, database: str) -> dict:
    """Counts by type from reading every document: the reference."""
    found: dict = {}
    for row in gateway.iter_all_docs(database, include_docs=True):
        doc = row["doc"]
        if row["id"].startswith("_") or not isinstance(doc.get("type"), str):
            continue
        found.setdefault(doc["type"], dict.fromkeys(STATE_NAMES, 0))[state_of(doc)] += 1
    return {token_type: {**by_state, "total": sum(by_state.values())} for token_type, by_state in found.items()}


def follow(database: str) -> None:
    """One round of the changes follower, as deployment runs it."""
    follower = Follower()
    assert follower.take_lease()
    follower.round()


def counted(database: str) -> dict:
    """The exact counts of every campaign of ``database`` (the portal's grouped view)."""
    return {campaign.token_type: selectors.overview_counts(campaign)
            for campaign in Campaign.objects.filter(database=database)}


def per_type_view_counts(gateway, database: str, token_type: str) -> dict:
    rows = gateway.view(database, token_type, "overview_total", group=True)["rows"]
    by_state = {**dict.fromkeys(STATE_NAMES, 0), **{row["key"]: row["value"] for row in rows}}
    return {**by_state, "total": sum(by_state.values())}


@pytest.mark.django_db
def test_counts_agree_across_design_documents_and_a_full_scan_while_pilots_work(gateway, couch_db):
    for token_type in TYPES:
        ensure_design_doc(couch_db, token_type)
        gateway.bulk_docs(couch_db, tokens_of(token_type, 40))
        Campaign.objects.create(database=couch_db, token_type=token_type, token_count=40, status="ready")
    work = threading.Thread(target=pilots.simulate, args=(pilots.CouchAccess.of(gateway), couch_db, "alpha"),
                            kwargs={"workers": 2, "failure_rate": 0.3, "job_seconds": 0.01})
    work.start()
    seen = 0
    while work.is_alive() or not seen:
        # Mid-run the three reads are taken at different instants; the totals cannot move.
        assert {token_type: type_counts["total"] for token_type, type_counts in counted(couch_db).items()} == {
            token_type: 40 for token_type in TYPES}
        seen += 1
    work.join()
    by_portal = counted(couch_db)
    assert by_portal == scan(gateway, couch_db)
    assert by_portal == {token_type: per_type_view_counts(gateway, couch_db, token_type) for token_type in TYPES}
    assert by_portal["alpha"]["todo"] == 0 and by_portal["beta"]["todo"] == 40


@pytest.mark.django_db
def test_views_a_grid_lrt_script_rewrote_are_restored_and_reported(gateway, couch_db, client, django_user_model):
    ensure_design_doc(couch_db, "alpha")
    gateway.bulk_docs(couch_db, tokens_of("alpha", 3) + [{"_id": "locked_one", "type": "alpha", "lock": 7, "done": 0}])
    campaign = Campaign.objects.create(database=couch_db, token_type="alpha", token_count=4, status="ready")
    assert selectors.views_restored(campaign) is None
    # GRID_LRT's add_status_views/add_overview_view: couchdb-python's ViewDefinition.sync
    # rewrites the views in place and keeps the document's other fields (the marker).
    design = gateway.get_doc(couch_db, design_id("alpha"))
    gateway.put_doc(couch_db, {**design, "views": {**design["views"], **grid_lrt_views("alpha")}})
    assert gateway.view(couch_db, "alpha", "locked")["rows"][0]["key"] == "locked_one"

    follow(couch_db)
    assert counted(couch_db)["alpha"] == {"todo": 3, "locked": 1, "done": 0, "error": 0, "total": 4}
    restored_design = gateway.get_doc(couch_db, design_id("alpha"))
    assert is_marked(restored_design) and replaced_views("alpha", restored_design) == []
    restored = selectors.views_restored(campaign)
    assert restored["views"] == list(TYPE_VIEWS) and restored["at"]

    client.force_login(django_user_model.objects.create_user("vera", password="pw"))
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert 'id="views-restored"' in page and "the portal restored them" in page


@pytest.mark.django_db
def test_a_foreign_design_document_is_counted_by_the_portal_not_by_its_overview(gateway, couch_db):
    gateway.put_doc(couch_db, {"_id": design_id("lrt"), "language": "javascript", "views": grid_lrt_views("lrt")})
    gateway.bulk_docs(couch_db, tokens_of("lrt", 21) + [
        {"_id": f"lrt_locked_{n}", "type": "lrt", "lock": 9, "done": 0, "status": "running"} for n in range(3)])
    # GRID_LRT's own overview calls the locked tokens "running" and knows no "locked".
    assert per_type_view_counts(gateway, couch_db, "lrt")["locked"] == 0
    lrt = TokenSet(database=couch_db, token_type="lrt")
    follow(couch_db)  # the follower finds the foreign design and reads its database
    before = token_reads.counts_of(lrt)
    assert before == {"todo": 21, "locked": 3, "done": 0, "error": 0, "total": 24}
    # Not adopted: the portal writes nothing into another tool's design document.
    assert MARKER_FIELD not in gateway.get_doc(couch_db, design_id("lrt"))


@pytest.mark.django_db
def test_adopting_grid_lrt_designs_keeps_their_extra_views_and_counts_stay_right(gateway, couch_db, superuser):
    views = {**grid_lrt_views("lrt"), "overview_view": {"map": "function (doc) { emit(doc.status, 1); }",
                                                          "reduce": "_count"}}
    gateway.put_doc(couch_db, {"_id": design_id("lrt"), "language": "javascript", "views": views})
    gateway.bulk_docs(couch_db, tokens_of("lrt", 5) + [{"_id": "held", "type": "lrt", "lock": 9, "done": 0}])
    campaign = services.adopt_design(couch_db, "lrt", user=superuser)
    design = gateway.get_doc(couch_db, design_id("lrt"))
    assert is_marked(design) and replaced_views("lrt", design) == [] and "overview_view" in design["views"]
    assert campaign.token_count == 6 and selectors.overview_counts(campaign)["locked"] == 1
    follow(couch_db)
    assert token_reads.counts_of(campaign)["locked"] == 1
    # GRID_LRT reads every row key as a document id: now it may.
    assert [row["key"] for row in gateway.view(couch_db, "lrt", "locked")["rows"]] == ["held"]
    with pytest.raises(ServiceError, match="'overview_view' is a reduce view"):
        services.reset_tokens(campaign, user=superuser, view="overview_view")


@pytest.mark.django_db
def test_a_foreign_map_view_not_keyed_by_id_is_refused_as_a_selection(gateway, couch_db, superuser):
    ensure_design_doc(couch_db, "alpha")
    gateway.bulk_docs(couch_db, tokens_of("alpha", 3))
    design = gateway.get_doc(couch_db, design_id("alpha"))
    by_status = {"map": 'function (doc) { if (doc.type == "alpha") emit(doc.status, doc._id); }'}
    by_id = {"map": 'function (doc) { if (doc.type == "alpha") emit(doc._id, null); }'}
    gateway.put_doc(couch_db, {**design, "views": {**design["views"], "by_status": by_status, "by_id": by_id}})
    campaign = Campaign.objects.create(database=couch_db, token_type="alpha", token_count=3, status="ready")
    with pytest.raises(ServiceError, match="'by_status' was not written by the portal and is not keyed by document id"):
        services.count_targets(campaign, view="by_status")
    with pytest.raises(ServiceError, match="counts tokens"):
        services.count_targets(campaign, view="overview_total")
    assert services.count_targets(campaign, view="by_id") == 3
    assert selectors.token_views(campaign) == [*STATE_NAMES, "tokens", "by_id", "by_status"]


# The state rule's pattern as version 2 wrote it into every map function (before it was linear).
VERSION_TWO_ZERO = r"^[+-]?(0+\.?0*|\.0+)$"


def as_version_two(design: dict) -> dict:
    """``design`` as version 2 of the portal wrote it: its old zero pattern, its marker."""
    views = {name: {**view, "map": view["map"].replace("/^" + _ZERO_TEXT + "$/", "/" + VERSION_TWO_ZERO + "/")}
             for name, view in design["views"].items()}
    assert views != design["views"]
    return {**design, "views": views, MARKER_FIELD: {"version": 2}}


@pytest.mark.django_db
def test_design_documents_of_version_two_are_upgraded_silently_not_reported_as_replaced(gateway, couch_db):
    ensure_design_doc(couch_db, "alpha")
    gateway.bulk_docs(couch_db, tokens_of("alpha", 2) + [
        {"_id": "zeros", "type": "alpha", "lock": 7, "done": 8, "exit_code": "-00.0"},
        {"_id": "failed", "type": "alpha", "lock": 7, "done": 8, "exit_code": "0" * 50 + "x"}])
    campaign = Campaign.objects.create(database=couch_db, token_type="alpha", token_count=4, status="ready")
    for name in (design_id("alpha"), design_id(PORTAL_DESIGN)):
        gateway.put_doc(couch_db, as_version_two(gateway.get_doc(couch_db, name)))

    follow(couch_db)
    assert selectors.views_restored(campaign) is None
    assert counted(couch_db)["alpha"] == {"todo": 2, "locked": 0, "done": 1, "error": 1, "total": 4}
    for name in (design_id("alpha"), design_id(PORTAL_DESIGN)):
        design = gateway.get_doc(couch_db, name)
        assert design[MARKER_FIELD] == {"version": 4}
        assert all(VERSION_TWO_ZERO not in view["map"] for view in design["views"].values())
    assert replaced_views("alpha", gateway.get_doc(couch_db, design_id("alpha"))) == []
