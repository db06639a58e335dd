"""The live campaign page (issue 16): one status request refreshes counts, tabs, table, errors
by exit code and by host, the chart and the subband map; search, jump and tab counts; the
lock's reason before any action; the SRM list's head and download; the token page's dates."""

import time

import pytest
from dashboard_data import CONFIG, SMALL_SRMLIST
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import services, token_charts
from tokens_app.couch import get_gateway
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db


def run(campaign, token_id, *, host, failed=False, at=1_700_000_100):
    """What a pilot writes: claimed on ``host``, then done or failed at ``at``."""
    gateway = get_gateway()
    doc = gateway.get_doc(campaign.database, token_id)
    doc.update(lock=at - 60, done=at, hostname=host, exit_code=1 if failed else 0, output=1 if failed else 0,
               status="error" if failed else "done")
    gateway.put_doc(campaign.database, doc)


def status(client, campaign, **params):
    response = client.get(reverse("tokens:campaign-status", args=[campaign.pk]), params)
    assert response.status_code == 200
    return response.json()


def test_one_status_request_carries_every_live_part(operator_client, campaign):
    ids = services.plan_of(campaign).token_ids
    first = status(operator_client, campaign, map="1")
    assert "No token is in error" in first["html"]["errors"]
    assert first["map"]["states"] == "t" * 12

    run(campaign, ids[0], host="wn-good")
    run(campaign, ids[1], host="wn-bad", failed=True)
    run(campaign, ids[2], host="wn-bad", failed=True)
    second = status(operator_client, campaign, map="1", known=first["signature"])
    assert second["counts"] == {"todo": 9, "locked": 0, "done": 1, "error": 2, "total": 12}
    errors = second["html"]["errors"]
    assert "No token is in error" not in errors
    # The failing host stands out, linked to its tokens.
    assert "wn-bad" in errors and "?view=error&amp;q=host%3Awn-bad" in errors and "wn-good" not in errors
    assert 'class="error"' in second["html"]["chart_card"]
    assert '<span class="tab-count">2</span>' in second["html"]["tabs"]
    assert second["map"]["states"].count("e") == 2 and second["map"]["states"].count("d") == 1

    # Nothing moved: the counts only, the heavy parts are not read again.
    third = status(operator_client, campaign, map="1", known=second["signature"])
    assert third["counts"] == second["counts"] and "html" not in third and "map" not in third
    # The page's first request: the page is fresh, its map is wanted now.
    page = operator_client.get(campaign.get_absolute_url()).content.decode()
    known = page.split('data-known="')[1].split('"')[0].replace("&quot;", '"')
    assert known == second["signature"]
    fourth = status(operator_client, campaign, map="now", known=known)
    assert "html" not in fourth and fourth["map"]["states"] == second["map"]["states"]


def test_status_api_keeps_the_page_table(operator_client, campaign):
    ids = services.plan_of(campaign).token_ids
    run(campaign, ids[5], host="wn-bad", failed=True)
    answer = status(operator_client, campaign, view="error")
    assert ids[5] in answer["html"]["token_table"] and ids[0] not in answer["html"]["token_table"]
    # Garbage parameters read as the defaults.
    assert status(operator_client, campaign, view="x" * 500, page="-3", q="y" * 5000)["counts"]["total"] == 12


def test_the_page_opens_on_the_first_nonempty_state_with_tab_counts(operator_client, campaign):
    page = operator_client.get(campaign.get_absolute_url())
    assert page.context["view"] == "todo"
    text = page.content.decode()
    assert 'data-view="todo" aria-current="page">todo <span class="tab-count">12</span>' in text
    for token_id in services.plan_of(campaign).token_ids:
        run(campaign, token_id, host="wn1")
    assert operator_client.get(campaign.get_absolute_url()).context["view"] == "done"


def test_an_unknown_view_says_so_and_shows_another(operator_client, campaign):
    page = operator_client.get(campaign.get_absolute_url(), {"view": "nosuchview"})
    assert "has no view named &#x27;nosuchview&#x27;; showing todo" in page.content.decode()


@pytest.mark.parametrize("query, expected", [("SB003", [3]), ("7", [7]), ("sb010", [10]), ("host:wn-x", [4, 6])])
def test_search_by_id_subband_and_host(operator_client, campaign, query, expected):
    ids = services.plan_of(campaign).token_ids
    run(campaign, ids[4], host="wn-x", failed=True)
    run(campaign, ids[6], host="wn-x")
    page = operator_client.get(campaign.get_absolute_url(), {"view": "tokens", "q": query})
    assert [row["id"] for row in page.context["tokens"].rows] == [ids[index] for index in expected]


def test_search_garbage_finds_nothing_and_says_so(operator_client, campaign):
    page = operator_client.get(campaign.get_absolute_url(), {"view": "tokens", "q": "host:"})
    assert page.context["tokens"].rows == []
    assert "0 tokens in any state match" in page.content.decode()


def test_jump_to_a_page(operator_client, campaign):
    page = operator_client.get(campaign.get_absolute_url(), {"view": "todo", "page": "1"})
    assert page.context["pages"] == 1
    assert 'id="jump-page" name="page" min="1" max="1"' in page.content.decode()
    assert operator_client.get(campaign.get_absolute_url(), {"page": "abc"}).status_code == 200


def test_tokens_in_view_is_a_select_of_the_views(operator_client, campaign):
    text = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert '<select name="view" id="reset-view">' in text
    assert '<option value="error">error</option>' in text


def test_a_locked_campaign_disables_the_actions_with_the_reason(client, campaign, bob):
    TokenUtility().register(tokens.ExclusiveLock(campaign, "alice"))
    client.force_login(bob)
    text = client.get(campaign.get_absolute_url()).content.decode()
    assert 'data-testid="refusal">Actions are disabled:' in text and "locked by alice until" in text
    assert '<fieldset class="grid actions" disabled' in text
    # The lock panel sits above the tokens.
    assert text.index("lock-panel") < text.index('id="tokens"')
    # The confirmation page is not even shown: the refusal comes first.
    response = client.post(reverse("tokens:campaign-reset", args=[campaign.pk]), {"view": "todo"}, follow=True)
    assert "locked by alice" in response.content.decode() and "confirm-count" not in response.content.decode()

    client.force_login(campaign.created_by)
    text = client.get(campaign.get_absolute_url()).content.decode()
    assert "refusal" not in text and "fieldset class=\"grid actions\">" in text


def test_a_refused_view_name_keeps_what_was_typed(operator_client, campaign):
    url = reverse("tokens:campaign-add-view", args=[campaign.pk])
    response = operator_client.post(url, {"name": "todo", "condition": "doc.status == 'x'"})
    text = response.content.decode()
    assert response.status_code == 200 and "doc.status == &#x27;x&#x27;" in text and 'value="todo"' in text
    ok = operator_client.post(url, {"name": "mine", "condition": "doc.status == 'x'"})
    assert ok.status_code == 302 and ok["Location"].endswith("?view=mine")


def test_srm_list_head_and_download(operator_client, campaign):
    text = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert "(12 lines)" in text and "… 12 lines in all" in text
    lines = campaign.inputs.srmlist_text.splitlines()
    assert lines[4] in text and lines[5] not in text
    download = operator_client.get(reverse("tokens:campaign-srmlist", args=[campaign.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="L229507.srmlist"'
    assert download.content.decode() == campaign.inputs.srmlist_text


def test_token_page_shows_epoch_fields_as_dates(operator_client, campaign):
    token_id = services.plan_of(campaign).token_ids[0]
    run(campaign, token_id, host="wn1", at=1_700_000_100)
    text = operator_client.get(reverse("tokens:token-detail", args=[campaign.pk, token_id])).content.decode()
    assert '<time data-testid="date-done" title="1700000100">2023-11-14 22:15:00 UTC</time>' in text
    assert 'data-testid="date-lock"' in text


def test_finished_campaign_with_errors_is_labelled_so(operator_client, campaign):
    ids = services.plan_of(campaign).token_ids
    for index, token_id in enumerate(ids):
        run(campaign, token_id, host="wn1", failed=index < 3)
    text = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert 'data-live="label" title="no token is left todo or locked">finished, 3 errors</span>' in text
    assert status(operator_client, campaign)["label"] == "finished, 3 errors"


def test_subband_map_layout_shows_gaps_and_other_ids():
    states = [(f"t_x_L1_s_SB{number:03d}", "done", number) for number in (0, 1, 2, 250)] + [("odd", "error", None)]
    grid = token_charts.subband_map(states)
    assert grid["prefix"] == ""
    assert grid["cells"] == [0, 0, 0, 1, 0, 2, 2, 50, 3, 0]
    assert grid["rows"] == 4 and grid["states"] == "dddde"
    assert [label[1] for label in grid["labels"]] == ["t_x_L1_s_SB000", "200", "other ids"]
    assert token_charts.subband_map([])["keys"] == []


def test_status_api_of_a_campaign_without_tokens(operator_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ARCHIVED)
    answer = status(operator_client, campaign)
    assert answer["state"] == "archived" and "counts" not in answer


def test_upload_error_keeps_the_files(operator_client, couch_db):
    url = reverse("tokens:campaign-new")
    options = {"slice_size": 1, "id_prefix": "SB", "key_name": "STARTSB", "srm_attachment": "srm.txt",
               "link_flavor": "srm", "database": couch_db}
    refused = operator_client.post(url, {
        **options, "slice_size": 0,
        "config": SimpleUploadedFile("pref_cal1.yaml", CONFIG),
        "srmlist_file": SimpleUploadedFile("L229507.srmlist", SMALL_SRMLIST),
    })
    text = refused.content.decode()
    assert 'data-testid="kept-config">File pref_cal1.yaml kept' in text
    assert 'data-testid="kept-srmlist">File L229507.srmlist kept' in text
    # Corrected without choosing the files again: the preview follows, named after the kept files.
    accepted = operator_client.post(url, options)
    assert accepted.status_code == 302 and accepted["Location"] == reverse("tokens:campaign-preview")
    preview = operator_client.get(accepted["Location"])
    assert preview.context["plan"].srmlist_name == "L229507.srmlist" and len(preview.context["plan"].token_ids) == 12
    # Used once: a later post without files asks for them.
    again = operator_client.post(url, options).content.decode()
    assert "Upload the step config." in again and "kept" not in again


def test_a_garbage_upload_is_not_kept(operator_client):
    refused = operator_client.post(reverse("tokens:campaign-new"), {
        "slice_size": 1, "key_name": "STARTSB", "config": SimpleUploadedFile("x.yaml", b"\xff\xfe\x00garbage"),
    })
    assert refused.status_code == 200 and "kept-config" not in refused.content.decode()


def test_admin_change_page_shows_the_srm_list_head(client, campaign):
    client.force_login(User.objects.create_superuser("root", password="pw-root"))
    text = client.get(reverse("admin:tokens_app_campaign_change", args=[campaign.pk])).content.decode()
    lines = campaign.inputs.srmlist_text.splitlines()
    assert "Download all 12 lines" in text and lines[4] in text and lines[5] not in text


def test_dashboard_says_finished_and_when_the_last_token_did(operator_client, campaign):
    for index, token_id in enumerate(services.plan_of(campaign).token_ids):
        run(campaign, token_id, host="wn1", failed=index == 0, at=time.time())
    text = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert f'data-pace-for="{campaign.pk}">last token just now' in text
    assert f'data-label-for="{campaign.pk}" title="no token is left todo or locked">finished, 1 error<' in text
    # The dashboard polls the counts API; the label comes with the counts, so it moves with the bar.
    answer = operator_client.get(reverse("tokens:api-counts"), {"ids": campaign.pk}).json()
    assert answer["labels"] == {str(campaign.pk): "finished, 1 error"}


def test_a_frozen_campaign_disables_the_actions_even_for_its_owner(operator_client, campaign, alice):
    TokenUtility().register(tokens.EndableFreeze(campaign), by=alice)
    text = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert "Actions are disabled:" in text and "is frozen since" in text and "by alice" in text
    token_id = services.plan_of(campaign).token_ids[0]
    token_page = operator_client.get(reverse("tokens:token-detail", args=[campaign.pk, token_id])).content.decode()
    assert 'data-testid="refusal">Disabled:' in token_page and '<fieldset class="actions-row" disabled>' in token_page


def test_every_tab_lists_only_its_state_and_the_counts_add_up_to_the_tables(operator_client, campaign):
    """One read model, one moment: each state's tab lists exactly the tokens of that state, the
    tab counts equal the tables, and the error groups add up to the error count."""
    ids = services.plan_of(campaign).token_ids
    run(campaign, ids[0], host="wn-good")
    run(campaign, ids[1], host="wn-bad", failed=True)
    run(campaign, ids[2], host="wn-odd", failed=True)
    doc = get_gateway().get_doc(campaign.database, ids[3])
    get_gateway().put_doc(campaign.database, {**doc, "lock": 1_700_000_000})
    page = status(operator_client, campaign, known="")
    assert page["counts"] == {"todo": 8, "locked": 1, "done": 1, "error": 2, "total": 12}
    for state in ("todo", "locked", "done", "error"):
        table = status(operator_client, campaign, view=state, known="")["html"]["token_table"]
        shown = [token_id for token_id in ids if f"<code>{token_id}</code>" in table]
        assert len(shown) == page["counts"][state]
        assert table.count(f'class="state {state}"') == len(shown)
        assert all(f'class="state {other}"' not in table for other in ("todo", "locked", "done", "error") if other != state)
    errors = page["html"]["errors"]
    assert errors.count("<td>1</td>") >= 2  # two hosts of one error each, two exit-code groups


def test_the_page_and_its_tabs_ask_couchdb_for_nothing(operator_client, campaign, monkeypatch):
    """The page reads the tokens and the design document's tabs from the read model: CouchDB
    hears only the follower (``_changes``), never the page."""
    ids = services.plan_of(campaign).token_ids
    run(campaign, ids[0], host="wn-bad", failed=True)
    operator_client.get(campaign.get_absolute_url())  # the follower has read the change
    gateway = get_gateway()
    real_request = type(gateway).request
    sent = []
    monkeypatch.setattr(type(gateway), "request",
                        lambda self, method, path, **kw: sent.append(path[-1]) or real_request(self, method, path, **kw))
    for view in ("todo", "error", "tokens"):
        status(operator_client, campaign, view=view, known="", map="1")
        assert operator_client.get(campaign.get_absolute_url(), {"view": view}).status_code == 200
    assert set(sent) - {"_changes"} == set()


def test_a_view_added_by_another_tool_is_a_tab_once_the_follower_read_it(operator_client, campaign):
    gateway = get_gateway()
    design = gateway.get_design(campaign.database, campaign.token_type)
    design["views"]["mine"] = {"map": "function (doc) { if (doc.type) emit(doc._id, null); }"}
    gateway.put_doc(campaign.database, design)
    assert "mine" in operator_client.get(campaign.get_absolute_url()).context["views"]
    current = gateway.get_design(campaign.database, campaign.token_type)
    gateway.put_doc(campaign.database, {"_id": current["_id"], "_rev": current["_rev"], "_deleted": True})
    page = operator_client.get(campaign.get_absolute_url())
    # The page says the design document is gone and offers to re-create it.
    assert page.status_code == 200 and page.context["couch_problem"]["kind"] == "views"


def test_the_page_says_how_far_behind_couchdb_it_is(operator_client, campaign):
    page = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert "In step with CouchDB, as read" in page
    from tokens_app.read_models import ChangesCheckpoint

    ChangesCheckpoint.objects.filter(database=campaign.database).update(pending=7)
    # (The test's follower reads again before each request: asked directly, the lag is as stored.)
    from django.template.loader import render_to_string
    from tokens_app import token_reads

    shown = render_to_string("tokens_app/_counts_age.html", {"lag": token_reads.lag_of(campaign.database)})
    assert "7 changes behind CouchDB" in shown


def test_a_search_finds_a_token_in_any_state_and_says_where_it_is(operator_client, campaign):
    """Searching ``SB001`` from the page's default tab (todo) found nothing once the token was
    done: a search looks through every state unless a state's tab is asked for."""
    ids = services.plan_of(campaign).token_ids
    run(campaign, ids[1], host="wn-good")
    page = operator_client.get(campaign.get_absolute_url(), {"q": "SB001"})
    assert [row["id"] for row in page.context["tokens"].rows] == [ids[1]]
    text = page.content.decode()
    assert "in any state match" in text and 'class="state done"' in text
    in_todo = operator_client.get(campaign.get_absolute_url(), {"q": "SB001", "view": "todo"})
    assert in_todo.context["tokens"].rows == [] and "in the state <strong>todo</strong>" in in_todo.content.decode()


def test_the_chart_shows_the_range_chosen_with_throughput_per_host(operator_client, campaign):
    ids = services.plan_of(campaign).token_ids
    now = time.time()
    run(campaign, ids[0], host="wn-old", at=now - 5 * 3600)
    run(campaign, ids[1], host="wn-new", at=now - 600)
    run(campaign, ids[2], host="wn-new", at=now - 300, failed=True)
    whole = operator_client.get(campaign.get_absolute_url())
    assert [host["host"] for host in whole.context["chart"]["hosts"]] == ["wn-new", "wn-old"]
    last_hour = operator_client.get(campaign.get_absolute_url(), {"range": "1h"})
    chart = last_hour.context["chart"]
    assert chart["ranged"] and sum(bucket["done"] + bucket["error"] for bucket in chart["buckets"]) == 2
    assert [(host["host"], host["done"], host["error"]) for host in chart["hosts"]] == [("wn-new", 1, 1)]
    assert '<b aria-current="true">1 h</b>' in last_hour.content.decode()
    # The live part, polled with the page's query, keeps the range.
    assert "wn-old" not in status(operator_client, campaign, range="1h")["html"]["chart_card"]
    long_ago = operator_client.get(campaign.get_absolute_url(), {"since": "2001-01-01T00:00", "until": "2001-01-02T00:00"})
    assert long_ago.context["chart"]["buckets"] == []
    assert "No token finished in this range" in long_ago.content.decode()


def test_next_and_previous_pages_carry_the_key_of_their_neighbour_row(operator_client, campaign, monkeypatch):
    monkeypatch.setattr("tokens_app.campaign_page.TOKENS_PER_PAGE", 5)
    first = operator_client.get(campaign.get_absolute_url(), {"view": "todo"})
    tokens = first.context["tokens"]
    assert f"after={tokens.last_key}" in first.content.decode()
    second = operator_client.get(campaign.get_absolute_url(), {"view": "todo", "page": 2, "after": tokens.last_key})
    following = second.context["tokens"]
    assert following.rows and following.rows[0]["id"] not in [row["id"] for row in tokens.rows]
    assert f"before={following.first_key}" in second.content.decode()
