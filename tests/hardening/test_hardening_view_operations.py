"""Operations through views the portal has no rule for, on the session's CouchDB: a user view and
another tool's list are asked again just before each write, so a token a pilot took out of the
view meanwhile is left as the pilot wrote it; and every operation and counting command puts back
the portal's views a script replaced, as the pages' count refresh does."""

import time

import pytest

from hardening_support import run_command
from tokens_app import selectors, services
from tokens_app.couch import get_gateway
from tokens_app.design import TYPE_VIEWS, type_views

pytestmark = pytest.mark.django_db

RUNNING = 'function (doc) {{ if (doc.type == "{t}" && doc.lock > 0 && doc.done == 0) emit(doc._id, doc._id); }}'


def with_running_view(campaign, operator, kind):
    """A view ``running`` of the locked, unfinished tokens: another tool's, or the portal's user view."""
    gateway = get_gateway()
    if kind == "user view":
        services.add_view(campaign, "running", "doc.lock > 0 && doc.done == 0", user=operator)
        return
    design = gateway.get_design(campaign.database, campaign.token_type)
    running = {"map": RUNNING.format(t=campaign.token_type)}
    gateway.put_doc(campaign.database, {**design, "views": {**design["views"], "running": running}})


def lock_all(campaign) -> list[str]:
    gateway = get_gateway()
    ids = [row["id"] for row in selectors.iter_token_rows(campaign, "tokens")]
    docs = gateway.fetch_docs(campaign.database, ids)
    gateway.bulk_docs(campaign.database, [{**doc, "lock": int(time.time()), "done": 0, "status": "running"}
                                          for doc in docs.values()])
    return ids


@pytest.mark.parametrize("kind", ["another tool's view", "user view"])
def test_a_reset_through_a_view_leaves_a_token_that_left_the_view_before_the_write(
    make_campaign, operator, settings, kind
):
    settings.COUCHDB = {**settings.COUCHDB, "BATCH_SIZE": 2}
    campaign = make_campaign(6)
    with_running_view(campaign, operator, kind)
    ids = lock_all(campaign)
    gateway = get_gateway()
    # The walk reads a row beyond each page before handing the page out: the first token of
    # the second page is selected already when a pilot finishes it.
    finishing = ids[2]

    def pilot_finishes_a_selected_token(processed):
        if processed == 2:
            token = gateway.get_doc(campaign.database, finishing)
            gateway.put_doc(campaign.database, {**token, "done": int(time.time()), "exit_code": 0, "status": "done"})

    result = services.reset_tokens(campaign, user=operator, view="running", progress=pilot_finishes_a_selected_token)

    finished = gateway.get_doc(campaign.database, finishing)
    assert finished["done"] > 0 and finished["lock"] > 0 and finished["status"] == "done"
    assert not finished.get("scrub_count")
    assert (result.changed, result.skipped) == (5, 1)


def grid_lrt_style_views(token_type: str) -> dict:
    """``todo``/``locked``/``done``/``error`` as GRID_LRT 0.5.1's ``add_status_views`` writes them
    (its ``done`` lists ``status == "done"`` only), over the portal's."""
    code = 'function(doc) {{ if(doc.type == "{t}") {{ if ({rule}) {{ emit(doc._id, doc._id); }} }} }}'
    rules = {"todo": "doc.lock == 0 && doc.done == 0", "locked": "doc.lock > 0 && doc.done == 0",
             "done": 'doc.status == "done"', "error": "doc.output != 0"}
    return {name: {"map": code.format(t=token_type, rule=rule)} for name, rule in rules.items()}


def replace_views_as_a_script_does(campaign):
    gateway = get_gateway()
    design = gateway.get_design(campaign.database, campaign.token_type)
    gateway.put_doc(campaign.database, {**design, "views": {**design["views"], **grid_lrt_style_views(campaign.token_type)}})


def the_portals_views(campaign) -> bool:
    views = get_gateway().get_design(campaign.database, campaign.token_type)["views"]
    return {name: views.get(name) for name in TYPE_VIEWS} == type_views(campaign.token_type)


@pytest.mark.parametrize("command", [
    ["token_status", "--type", "{t}", "--database", "{db}"],
    ["token_status", "--database", "{db}"],
    ["reset_tokens", "--type", "{t}", "--database", "{db}", "--view", "error", "--user", "operator", "--yes"],
    ["set_token_status", "--type", "{t}", "--database", "{db}", "--view", "done", "--user", "operator",
     "--yes", "checked"],
], ids=lambda command: " ".join(command[:2]))
def test_a_command_alone_puts_back_the_views_a_script_replaced(make_campaign, operator, command):
    campaign = make_campaign(3)
    replace_views_as_a_script_does(campaign)
    assert not the_portals_views(campaign)

    run_command(*(part.format(t=campaign.token_type, db=campaign.database) for part in command))

    assert the_portals_views(campaign)
    restored = selectors.views_restored(campaign)
    assert restored is not None and restored["views"] == ["todo", "locked", "done", "error"]
