"""Design documents of any shape, written by another tool or by hand, on the session's CouchDB.

Every read of design documents (the dashboard's discovery, the campaign page's selections, the
check of a view an operation acts on, the count refresh that restores the layout) takes a design
document it cannot read as "not the portal's, not a list of tokens" and answers; every repair
writes the portal's design documents exactly as the portal builds them, whatever was planted in
them.
"""

import pytest
from django.urls import reverse

from hardening_support import run_command, skip_where_the_engine_refuses
from tokens_app import services
from tokens_app.follower import Follower
from tokens_app.couch import CouchRequestError, get_gateway
from tokens_app.design import (
    MARKER_FIELD,
    USER_VIEWS_FIELD,
    build_portal_design_doc,
    design_id,
    merged_design_doc,
    type_views,
    user_view,
)
from tokens_app.services import layout

MAP = 'function (doc) { if (doc.type === "x") emit(doc._id, doc._id); }'

# Shapes another tool (or a hand) can give a design document; none is the portal's layout.
MALFORMED = {
    "views a string": {"views": "todo"},
    "views a list": {"views": ["todo", "locked"]},
    "views null": {"views": None},
    "views a number": {"views": 5},
    "views true": {"views": True},
    "a view a string": {"views": {"todo": MAP}},
    "a view a list": {"views": {"todo": [MAP]}},
    "a view null": {"views": {"todo": None}},
    "map a number": {"views": {"todo": {"map": 5}}},
    "map a list": {"views": {"todo": {"map": [MAP]}, "mine": {"map": {"x": 1}}}},
    "reduce an object": {"views": {"todo": {"map": MAP, "reduce": {"x": 1}}, "mine": {"map": MAP, "reduce": 7}}},
    "marker a string": {"views": {"todo": {"map": MAP}}, MARKER_FIELD: "2"},
    "marker a list": {"views": {"todo": {"map": MAP}}, MARKER_FIELD: [2]},
    "marker a number": {"views": {"todo": {"map": MAP}}, MARKER_FIELD: 2},
    "marker with garbage": {
        "views": {"todo": {"map": MAP}, "mine": {"map": MAP}},
        MARKER_FIELD: {"version": 2, "restored_views": 5, "restored_at": {"x": [1]}},
    },
    "user views a string": {"views": {"todo": {"map": MAP}, "mine": {"map": MAP}}, USER_VIEWS_FIELD: "mine"},
    "user views of odd values": {
        "views": {"todo": {"map": MAP}, "mine": {"map": MAP}},
        USER_VIEWS_FIELD: {"mine": 5, "other": None, "third": ["doc.x == 1"]},
    },
}


def plant(database, name, members):
    """``_design/<name>`` in ``database`` with exactly ``members`` (over what is there)."""
    gateway = get_gateway()
    current = gateway.get_design(database, name)
    doc = {"_id": design_id(name), **members}
    if current is not None:
        doc["_rev"] = current["_rev"]
    try:
        gateway.put_doc(database, doc)
    except CouchRequestError as refused:
        skip_where_the_engine_refuses(str(refused))
        raise


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_the_dashboard_answers_whatever_shape_a_foreign_design_document_has(operator_client, couch_db, shape):
    plant(couch_db, "foreign", MALFORMED[shape])
    plant(couch_db, "lrt_like", {"views": {"todo": {"map": MAP}}})

    page = operator_client.get(reverse("tokens:dashboard"))

    assert page.status_code == 200
    # A readable design document beside the odd one is still listed for adoption.
    assert "lrt_like" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_the_campaign_page_answers_whatever_shape_its_design_document_is_given(
    operator_client, make_campaign, shape
):
    campaign = make_campaign(3)
    plant(campaign.database, campaign.token_type, MALFORMED[shape])

    page = operator_client.get(campaign.get_absolute_url())

    assert page.status_code == 200
    status = operator_client.get(reverse("tokens:campaign-status", args=[campaign.pk]), {"map": "now"})
    assert status.status_code == 200
    # The count refresh of that page put the portal's views back.
    views = get_gateway().get_design(campaign.database, campaign.token_type)["views"]
    assert {name: views[name] for name in type_views(campaign.token_type)} == type_views(campaign.token_type)


@pytest.mark.django_db
@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_an_operation_on_a_view_of_a_malformed_design_document_is_counted_or_refused_in_one_line(
    make_campaign, shape
):
    campaign = make_campaign(3)
    plant(campaign.database, campaign.token_type, MALFORMED[shape])

    for view in ("mine", "other", "todo"):
        try:
            assert services.count_targets(campaign, view=view) >= 0
        except services.ServiceError as exc:
            assert "\n" not in str(exc)


@pytest.mark.django_db
def test_a_view_couchdb_cannot_build_is_refused_as_a_selection_saying_so(make_campaign):
    campaign = make_campaign(3)
    plant(campaign.database, campaign.token_type, MALFORMED["map a list"])

    with pytest.raises(services.ServiceError, match="'mine' is not a view CouchDB can build"):
        services.count_targets(campaign, view="mine")


@pytest.mark.django_db
@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_the_layout_and_the_commands_take_a_malformed_design_document(make_campaign, shape):
    campaign = make_campaign(3)
    plant(campaign.database, campaign.token_type, MALFORMED[shape])
    plant(campaign.database, "foreign", MALFORMED[shape])

    designs = get_gateway().design_docs(campaign.database)
    layout.ensure_layout(campaign.database, designs, {campaign.token_type})
    run_command("warm_views")  # builds only the views it can read: none fails

    design = get_gateway().get_design(campaign.database, campaign.token_type)
    assert merged_design_doc(campaign.token_type, design) == design


# -- a repair writes the portal's design documents exactly as it builds them --------------------

# Members another tool or a hand can plant into a design document: code CouchDB runs (on every
# write, or behind its endpoints) and options of its index; the portal builds none of them.
PLANTED = {
    "validate_doc_update": "function (newDoc, oldDoc, userCtx) { if (newDoc.blocked) throw({forbidden: 'no'}); }",
    "options": {"local_seq": True, "include_design": True},
    "filters": {"all": "function (doc, req) { return true; }"},
    "updates": {"touch": "function (doc, req) { return [doc, 'ok']; }"},
    "shows": {"raw": "function (doc, req) { return JSON.stringify(doc); }"},
    "lists": {"raw": "function (head, req) { send('x'); }"},
    "rewrites": [{"from": "/x", "to": "../../x"}],
    "autoupdate": False,
    "planted": {"any": "thing"},
}
FOREIGN_VIEW = {"map": 'function (doc) { if (doc.status == "done") emit(doc._id, doc._id); }'}


def planted_over(database, name):
    """Every member of ``PLANTED`` added to ``_design/<name>``, its own members kept; a marker
    with a field of its own, and a view the portal recorded as a user view given other code."""
    gateway = get_gateway()
    design = gateway.get_design(database, name)
    views = design["views"]
    if "mine" in views:
        views = {**views, "mine": {"map": "function (doc) { emit(doc._id, doc._id); }"}}
    gateway.put_doc(database, {
        **design, **PLANTED, "views": views,
        MARKER_FIELD: {**design[MARKER_FIELD], "planted": True, "restored_views": ["todo"], "restored_at": 5},
    })


def portal_built(campaign, revision_of):
    """Both design documents exactly as the portal builds them for the campaign (a user view
    ``mine`` and another tool's view ``foreign`` in ``_design/<type>``), with the revisions of
    ``revision_of``."""
    portal = {**build_portal_design_doc(), "_rev": revision_of["tokenportal"]["_rev"]}
    own = merged_design_doc(campaign.token_type, None)
    own["views"].update(mine=user_view(campaign.token_type, "doc.x == 1"), foreign=FOREIGN_VIEW)
    own[USER_VIEWS_FIELD] = {"mine": "doc.x == 1"}
    own["_rev"] = revision_of[campaign.token_type]["_rev"]
    return portal, own


def repair_by_ensure_design_docs(campaign, operator):
    layout.ensure_design_docs(campaign.database, campaign.token_type)


def repair_by_the_follower(campaign, operator):
    follower = Follower()
    assert follower.take_lease()
    follower.round()


def repair_by_recreate_views(campaign, operator):
    services.recreate_views(campaign, user=operator)


@pytest.mark.django_db
@pytest.mark.parametrize("repair", [
    repair_by_ensure_design_docs, repair_by_the_follower, repair_by_recreate_views,
], ids=lambda repair: repair.__name__)
def test_a_repair_writes_the_portals_design_documents_exactly_as_built(make_campaign, operator, repair):
    campaign = make_campaign(3)
    gateway = get_gateway()
    services.add_view(campaign, "mine", "doc.x == 1", user=operator)
    design = gateway.get_design(campaign.database, campaign.token_type)
    gateway.put_doc(campaign.database, {**design, "views": {**design["views"], "foreign": FOREIGN_VIEW}})
    planted_over(campaign.database, "tokenportal")
    planted_over(campaign.database, campaign.token_type)

    repair(campaign, operator)

    found = {name: gateway.get_design(campaign.database, name) for name in ("tokenportal", campaign.token_type)}
    portal, own = portal_built(campaign, found)
    assert found["tokenportal"] == portal
    assert found[campaign.token_type] == own


@pytest.mark.unit
@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_a_repaired_design_document_is_current_at_once(shape):
    """What a repair writes is what the next count refresh wants: no rewrite every refresh."""
    planted = {"_id": design_id("t"), "_rev": "1-a", **MALFORMED[shape], **PLANTED}
    once = merged_design_doc("t", planted)
    assert merged_design_doc("t", once) == once
    assert not set(PLANTED) & set(once)
    assert set(once) <= {"_id", "_rev", "language", MARKER_FIELD, "views", USER_VIEWS_FIELD}


@pytest.mark.unit
def test_a_record_of_user_views_keeps_only_what_the_portal_could_have_written():
    planted = {
        "_id": design_id("t"), "_rev": "1-a",
        "views": {"mine": {"map": MAP}, "odd": {"map": MAP}, "todo": {"map": MAP}},
        USER_VIEWS_FIELD: {"mine": "doc.x == 1", "odd": "doc.x ==", "todo": "doc.x == 2", "9bad": "doc.x == 3"},
    }
    merged = merged_design_doc("t", planted)
    assert merged[USER_VIEWS_FIELD] == {"mine": "doc.x == 1"}
    assert merged["views"]["mine"] == user_view("t", "doc.x == 1")
    # A view whose record cannot be the portal's is another tool's: kept as it is, read only.
    assert merged["views"]["odd"] == {"map": MAP}
    assert merged["views"]["todo"] == type_views("t")["todo"]
