"""The portal on databases GRID_LRT made: counts before adoption, after it, and after GRID_LRT
re-adds its views; and reduce views other tools made are never a selection of tokens.

The campaigns are made by GRID_LRT's own code (0.5.1: ``TokenSet.create_dict_tokens`` with
``add_status_views`` and ``add_overview_view``; 1.0.7: ``caToken``s in a ``TokenList`` with
``add_token_views``), then worked the way GRID_LRT-era pilots write (``lock``, ``status``
running or downloading, ``done`` with ``output`` 0 or not) and the way a PiCaS pilot finishes
(``exit_code``, the status left as it was). GRID_LRT's ``overview_total`` groups tokens by its
own rule (todo/running/downloading/waiting/done/error by ``status``), 1.0's design document has
no ``overview_total`` at all, and its ``overview_view`` is a reduce view: the portal must count
with its own views and say exactly what a full scan says, wherever it shows counts.
"""

import io
import re
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from interop_support import (
    EXAMPLES,
    api_counts,
    assert_exact,
    assert_views_follow_the_rule,
    campaign_page_counts,
    dashboard_counts,
    scan,
    selector_counts,
    token_status,
)

from tokens_app.couch import get_gateway
from tokens_app.design import design_id
from tokens_app.models import Campaign

TYPE = "pref_cal1"

pytestmark = pytest.mark.django_db


def made_by_grid_lrt(version, lrt, database, tmp_path, count=24) -> list[str]:
    """A campaign as GRID_LRT ``version`` makes it, views included (1.0.7: ``count`` tokens; 0.5.1:
    the example list in slices of 10, 25 tokens); its token ids."""
    if version == "0.5.1":
        parset = tmp_path / "step.parset"
        parset.write_text("msin = input.MS\n")
        lrt(database, TYPE, "create", EXAMPLES / "pref_cal1.yaml", EXAMPLES / "L229507.srmlist", 10, parset)
    else:
        lrt(database, TYPE, "create", EXAMPLES / "pref_cal1.json", count)
    lrt(database, TYPE, "add_views")
    return sorted(scan(database, TYPE))


def work(database, ids) -> None:
    """Put tokens in every state the way pilots write them, over several rules' edges."""
    gateway = get_gateway()
    docs = gateway.fetch_docs(database, ids)
    now = int(time.time())
    writes = [
        {"lock": now, "status": "running"},
        {"lock": now, "status": "running"},
        {"lock": now, "status": "downloading"},
        {"lock": now, "done": now, "output": 0, "status": "done"},
        {"lock": now, "done": now, "output": 0, "status": "done"},
        {"lock": now, "done": now, "output": 0, "status": "done"},
        # A PiCaS pilot's finish: an exit code, the status left as the claim wrote it.
        {"lock": now, "done": now, "exit_code": 0, "status": "running"},
        {"lock": now, "done": now, "output": 1, "status": "error"},
        {"lock": now, "done": now, "output": "killed", "status": "error"},
        {"lock": now, "done": 0, "exit_code": 137, "status": "running"},
    ]
    gateway.bulk_docs(database, [{**docs[token_id], **fields} for token_id, fields in zip(ids, writes)])


def finish_more(database, ids) -> None:
    """Later progress: two todo tokens finish, one well, one badly."""
    gateway = get_gateway()
    scanned = scan(database, TYPE)
    todo = [token_id for token_id in ids if scanned[token_id][1] == "todo"][:2]
    docs = gateway.fetch_docs(database, todo)
    now = int(time.time())
    gateway.bulk_docs(database, [
        {**docs[todo[0]], "lock": now, "done": now, "output": 0, "status": "done"},
        {**docs[todo[1]], "lock": now, "done": now, "output": 2, "status": "error"},
    ])


def design_rev(database):
    return get_gateway().get_doc(database, design_id(TYPE))["_rev"]


def adopt(client, database) -> Campaign:
    response = client.post(reverse("tokens:design-adopt"), {"database": database, "token_type": TYPE}, follow=True)
    page = response.content.decode()
    assert "Adopted" in page, re.findall(r'<li class="message[^"]*">(.*?)</li>', page)
    return Campaign.objects.get(database=database, token_type=TYPE)


@pytest.fixture(params=["0.5.1", "1.0.7"])
def grid_lrt(request):
    return request.param, request.getfixturevalue("grid_lrt_" + request.param.replace(".", "")[:3])


def test_the_portal_counts_a_grid_lrt_campaign_before_and_after_adoption(grid_lrt, couch_db, admin_client, tmp_path):
    version, lrt = grid_lrt
    ids = made_by_grid_lrt(version, lrt, couch_db, tmp_path)
    work(couch_db, ids)

    # Before adoption: what token_status, the selectors and the dashboard's "found in CouchDB"
    # row say is what a full scan finds; reading writes nothing.
    rev = design_rev(couch_db)
    before = assert_exact(
        couch_db, TYPE,
        lambda: token_status(couch_db, TYPE),
        lambda: selector_counts(couch_db, TYPE),
        lambda: dashboard_counts(admin_client, couch_db, TYPE),
    )
    assert before["locked"] == 3 and before["error"] == 3 and before["done"] == 4
    assert design_rev(couch_db) == rev
    views_before = set(get_gateway().get_doc(couch_db, design_id(TYPE))["views"])

    campaign = adopt(admin_client, couch_db)
    shown = (
        lambda: token_status(couch_db, TYPE),
        lambda: selector_counts(couch_db, TYPE),
        lambda: dashboard_counts(admin_client, couch_db, TYPE),
        lambda: api_counts(admin_client, campaign),
        lambda: campaign_page_counts(admin_client, campaign),
    )
    assert assert_exact(couch_db, TYPE, *shown) == before
    assert campaign.token_count == len(ids)
    # Adopted, the views pilots and GRID_LRT read follow the portal's rule; every view the
    # document had still answers, and GRID_LRT's scripts still find every token.
    assert_views_follow_the_rule(couch_db, TYPE, TYPE)
    for view in views_before:
        get_gateway().view(couch_db, TYPE, view, limit=1)
    assert lrt(couch_db, TYPE, "tokens") == ids
    finish_more(couch_db, ids)
    assert_exact(couch_db, TYPE, *shown)

    # A script re-adds GRID_LRT's views, as scripts routinely do: the counts stay exact at once,
    # the campaign page says the views were restored, and they follow the portal's rule again.
    lrt(couch_db, TYPE, "add_views")
    assert_exact(couch_db, TYPE, *shown)
    page = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert re.search(r"restored", page, re.IGNORECASE), "the campaign page does not say the views were restored"
    assert_views_follow_the_rule(couch_db, TYPE, TYPE)
    finish_more(couch_db, ids)
    assert_exact(couch_db, TYPE, *shown)
    assert lrt(couch_db, TYPE, "tokens") == ids


@pytest.mark.parametrize("command", [
    ["token_status", "--type", TYPE, "--database", "{db}"],
    ["token_status"],
    ["set_token_status", "--type", TYPE, "--database", "{db}", "--view", "locked", "--user", "{user}", "--yes",
     "checked"],
], ids=lambda command: " ".join(command[:2]))
def test_a_command_alone_puts_back_the_views_grid_lrt_replaced(grid_lrt_051, couch_db, admin_client, admin_user,
                                                               tmp_path, command):
    """An operator who only runs commands after a script re-added GRID_LRT's views: pilots read
    the portal's state views again (GRID_LRT's ``done`` lists ``status == "done"`` only, so a
    PiCaS pilot's finished tokens sat in no state view)."""
    ids = made_by_grid_lrt("0.5.1", grid_lrt_051, couch_db, tmp_path)
    work(couch_db, ids)
    adopt(admin_client, couch_db)
    grid_lrt_051(couch_db, TYPE, "add_views")
    scanned = scan(couch_db, TYPE)
    listed = {row["id"] for state in ("todo", "locked", "done", "error")
              for row in get_gateway().view(couch_db, TYPE, state, reduce=False)["rows"]}
    assert set(scanned) - listed, "GRID_LRT's views left no token out: the test shows nothing"

    call_command(*(part.format(db=couch_db, user=admin_user.username) for part in command), stdout=io.StringIO())

    assert_views_follow_the_rule(couch_db, TYPE, TYPE)


@pytest.mark.slow
def test_grid_lrt_0_5_1_resets_an_adopted_campaign(grid_lrt_051, couch_db, admin_client, tmp_path):
    """After adoption GRID_LRT 0.5.1's scripts still reset each view and mark tokens."""
    ids = made_by_grid_lrt("0.5.1", grid_lrt_051, couch_db, tmp_path)
    work(couch_db, ids)
    campaign = adopt(admin_client, couch_db)
    shown = (lambda: token_status(couch_db, TYPE), lambda: api_counts(admin_client, campaign))
    before = assert_exact(couch_db, TYPE, *shown)
    assert grid_lrt_051(couch_db, TYPE, "reset", "error") == before["error"]
    assert grid_lrt_051(couch_db, TYPE, "set_view_to_status", "locked", "error") == before["locked"]
    after = assert_exact(couch_db, TYPE, *shown)
    assert after == {**before, "todo": before["todo"] + before["error"], "locked": 0, "error": before["locked"]}
    assert grid_lrt_051(couch_db, TYPE, "reset", "done") == before["done"]
    assert grid_lrt_051(couch_db, TYPE, "reset", "error") == before["locked"]
    assert assert_exact(couch_db, TYPE, *shown)["todo"] == len(ids)
    assert_views_follow_the_rule(couch_db, TYPE, TYPE)


# -- reduce views are counts, not selections of tokens ---------------------------------------------

REDUCE_REFUSAL = re.compile(r"count|reduce", re.IGNORECASE)


@pytest.fixture
def reduce_view_campaign(request, couch_db, admin_client, tmp_path, admin_user):
    """A campaign with a reduce view another tool made: GRID_LRT 1.0's ``overview_view`` in an
    adopted campaign, or a GRID_LRT 0.5.1 "mini-overview" on a campaign the portal made."""
    if request.param == "overview_view":
        lrt = request.getfixturevalue("grid_lrt_107")
        ids = made_by_grid_lrt("1.0.7", lrt, couch_db, tmp_path, count=12)
        work(couch_db, ids)
        return adopt(admin_client, couch_db), "overview_view"
    call_command(
        "create_tokenset", "--config", EXAMPLES / "pref_cal1.yaml", "--srmlist", EXAMPLES / "L229507.srmlist",
        "--database", couch_db, "--slice-size", "10", "--user", admin_user.username,
        stdout=io.StringIO(), stderr=io.StringIO(),
    )
    work(couch_db, sorted(scan(couch_db, TYPE)))
    views = request.getfixturevalue("grid_lrt_051")(couch_db, TYPE, "add_mapreduce_view", "progress", "doc.lock > 0")
    assert "progress" in views
    return Campaign.objects.get(database=couch_db, token_type=TYPE), "progress"


@pytest.mark.parametrize("reduce_view_campaign", ["overview_view", "progress"], indirect=True)
def test_a_reduce_view_of_another_tool_is_refused_by_the_commands(reduce_view_campaign):
    campaign, view = reduce_view_campaign
    before = scan(campaign.database, TYPE)
    for command, extra in (("reset_tokens", []), ("delete_tokens", []), ("set_token_status", ["todo"])):
        with pytest.raises(CommandError) as refused:
            call_command(command, "--type", TYPE, "--database", campaign.database, "--view", view, "--yes", *extra,
                         stdout=io.StringIO(), stderr=io.StringIO())
        message = str(refused.value)
        assert view in message and REDUCE_REFUSAL.search(message), f"{command}: {message}"
    assert scan(campaign.database, TYPE) == before


@pytest.mark.parametrize("reduce_view_campaign", ["overview_view", "progress"], indirect=True)
def test_a_reduce_view_of_another_tool_is_refused_by_the_pages(reduce_view_campaign, admin_client):
    campaign, view = reduce_view_campaign
    before = scan(campaign.database, TYPE)
    for action in ("reset", "set-status", "delete"):
        url = reverse(f"tokens:campaign-{action}", args=[campaign.pk])
        for confirmed in ("", "true"):
            response = admin_client.post(url, {"view": view, "status": "todo", "confirmed": confirmed}, follow=True)
            page = response.content.decode()
            messages = re.findall(r'<li class="message error">(.*?)</li>', page, re.DOTALL)
            assert any(view in message and REDUCE_REFUSAL.search(message) for message in messages), (action, messages)
    assert scan(campaign.database, TYPE) == before
