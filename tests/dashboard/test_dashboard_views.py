"""The dashboard, the counts API, adoption, and the campaign, token and attachment pages."""

import io
import re
import tarfile

import pytest
from django.urls import reverse

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import services
from tokens_app.couch import get_gateway
from tokens_app.design import build_design_doc
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db


def finish(campaign, token_id, *, output=0):
    """What a pilot writes when a token ends (GRID_LRT: output 0 = fine)."""
    gateway = get_gateway()
    doc = gateway.get_doc(campaign.database, token_id)
    doc.update(lock=1_700_000_000, done=1_700_000_100, output=output, status="done" if not output else "error")
    gateway.put_doc(campaign.database, doc)


def test_dashboard_lists_campaigns_with_counts_and_lock_badge(operator_client, campaign):
    TokenUtility().register(tokens.ExclusiveLock(campaign, "bob"))
    response = operator_client.get(reverse("tokens:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert campaign.token_type in page and campaign.database in page and "L229507" in page
    assert 'data-count="todo">12<' in page
    assert "locked by bob" in page
    assert f"ids={campaign.pk}" in page


def test_dashboard_filters(operator_client, campaign):
    url = reverse("tokens:dashboard")
    assert campaign.database in operator_client.get(url, {"obsid": "L2295"}).content.decode()
    assert campaign.database not in operator_client.get(url, {"obsid": "L999"}).content.decode()
    assert campaign.database not in operator_client.get(url, {"state": "archived"}).content.decode()
    assert campaign.database in operator_client.get(url, {"owner": "alice", "q": "pref"}).content.decode()
    assert campaign.database not in operator_client.get(url, {"owner": "nobody"}).content.decode()
    # Garbage filters are ignored, not a server error.
    assert operator_client.get(url, {"state": "no-such-state", "q": "x" * 5000}).status_code == 200


def test_counts_api(operator_client, campaign):
    finish(campaign, services.plan_of(campaign).token_ids[0])
    response = operator_client.get(reverse("tokens:api-counts"), {"ids": f"{campaign.pk},99999"}).json()
    assert response["campaigns"] == {str(campaign.pk): {"todo": 11, "locked": 0, "done": 1, "error": 0, "total": 12}}
    assert response["labels"] == {str(campaign.pk): "ready"} and set(response["paces"]) == {str(campaign.pk)}
    assert response["states"] == {str(campaign.pk): "ready"}
    assert operator_client.get(reverse("tokens:api-counts"), {"ids": "1,x"}).status_code == 400
    too_many = ",".join(str(number) for number in range(300))
    assert operator_client.get(reverse("tokens:api-counts"), {"ids": too_many}).status_code == 400
    assert operator_client.get(reverse("tokens:api-counts")).json() == {
        "campaigns": {}, "labels": {}, "states": {}, "paces": {}, "newest": campaign.pk}


def test_pages_need_a_login(client, campaign):
    for url in (reverse("tokens:dashboard"), reverse("tokens:api-counts"), campaign.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_discovered_designs_are_shown_only_to_those_who_may_adopt_them(client, victor, couch_db):
    get_gateway().put_doc(couch_db, build_design_doc("picas_hidden"))
    client.force_login(victor)
    page = client.get(reverse("tokens:dashboard")).content.decode()
    assert "picas_hidden" not in page and "Found in CouchDB" not in page


def test_discovered_design_is_listed_and_adopted(operator_client, couch_db):
    get_gateway().put_doc(couch_db, build_design_doc("picas_demo"))
    page = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert "picas_demo" in page and "Adopt" in page
    response = operator_client.post(
        reverse("tokens:design-adopt"), {"database": couch_db, "token_type": "picas_demo"}, follow=True
    )
    adopted = Campaign.objects.get(database=couch_db, token_type="picas_demo")
    assert response.redirect_chain[-1][0] == adopted.get_absolute_url()
    assert "Adopted picas_demo" in response.content.decode()
    again = operator_client.post(
        reverse("tokens:design-adopt"), {"database": couch_db, "token_type": "picas_demo"}, follow=True
    )
    assert "already a campaign" in again.content.decode()
    missing = operator_client.post(reverse("tokens:design-adopt"), {"database": couch_db}, follow=True)
    assert "needs a database and a token type" in missing.content.decode()


def test_adopt_needs_the_permission(client, victor, couch_db):
    client.force_login(victor)
    response = client.post(reverse("tokens:design-adopt"), {"database": couch_db, "token_type": "x"})
    assert response.status_code == 403


def test_campaign_page(operator_client, campaign):
    plan = services.plan_of(campaign)
    finish(campaign, plan.token_ids[0])
    finish(campaign, plan.token_ids[1], output=3)
    response = operator_client.get(campaign.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and "1 done" in page  # the completions chart
    assert "<td>1</td>" in page  # one token in the error summary
    assert plan.token_ids[2] in page  # the todo view, first page
    assert 'id="lock-panel-title"' in page
    for action in ("reset", "scrub", "set-status", "set-field", "attach", "add-view", "delete", "purge"):
        assert reverse(f"tokens:campaign-{action}", args=[campaign.pk]) in page
    error_page = operator_client.get(campaign.get_absolute_url(), {"view": "error"}).content.decode()
    assert plan.token_ids[1] in error_page and plan.token_ids[2] not in error_page


def test_campaign_page_paginates(operator_client, campaign, monkeypatch):
    monkeypatch.setattr("tokens_app.campaign_page.TOKENS_PER_PAGE", 5)
    ids = services.plan_of(campaign).token_ids
    second = operator_client.get(campaign.get_absolute_url(), {"view": "todo", "page": 2}).content.decode()
    assert ids[5] in second and ids[4] not in second and 'rel="prev"' in second and 'rel="next"' in second
    # An unknown view or a bad page number falls back to the first page of todo.
    fallback = operator_client.get(campaign.get_absolute_url(), {"view": "nope", "page": "-3"}).content.decode()
    assert ids[0] in fallback


def test_campaign_page_for_a_viewer_has_no_actions(client, victor, campaign):
    client.force_login(victor)
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert reverse("tokens:campaign-reset", args=[campaign.pk]) not in page
    assert "Download archive" in page


def test_campaign_page_404(operator_client):
    assert operator_client.get("/campaigns/424242/").status_code == 404


def test_status_api(operator_client, campaign):
    response = operator_client.get(reverse("tokens:campaign-status", args=[campaign.pk]))
    answer = response.json()
    assert {key: answer[key] for key in ("state", "written_count", "token_count", "last_error", "operation")} == {
        "state": "ready", "written_count": 12, "token_count": 12, "last_error": "", "operation": None
    }
    assert answer["counts"] == {"todo": 12, "locked": 0, "done": 0, "error": 0, "total": 12}


def test_token_page_shows_fields_attachments_and_raw_json(operator_client, campaign):
    token_id = services.plan_of(campaign).token_ids[0]
    response = operator_client.get(reverse("tokens:token-detail", args=[campaign.pk, token_id]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "srm.txt" in page and "L229507_SB000_uv.dppp.MS" in page  # the text attachment inline
    assert "&quot;_id&quot;: &quot;" + token_id in page  # raw JSON
    assert reverse("tokens:campaign-reset", args=[campaign.pk]) in page
    assert operator_client.get(reverse("tokens:token-detail", args=[campaign.pk, "no-such-token"])).status_code == 404


def test_attachment_download(operator_client, campaign):
    token_id = services.plan_of(campaign).token_ids[0]
    url = reverse("tokens:token-attachment", args=[campaign.pk])
    response = operator_client.get(url, {"token": token_id, "name": "srm.txt"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="srm.txt"'
    assert b"L229507_SB000" in response.content
    assert operator_client.get(url, {"token": token_id, "name": "nope.txt"}).status_code == 404
    assert operator_client.get(url, {"token": token_id}).status_code == 400


def test_archive_download_streams_a_tarball(operator_client, campaign):
    response = operator_client.get(reverse("tokens:campaign-archive", args=[campaign.pk]))
    assert response.status_code == 200 and response.streaming
    assert re.fullmatch(
        rf'attachment; filename="pref_cal1-{campaign.database}-\d{{8}}-\d{{6}}\.tar\.gz"', response["Content-Disposition"]
    )
    archive = tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content)), mode="r:gz")
    assert sum(name.endswith(".json") for name in archive.getnames()) == 13  # 12 tokens + design


def test_archive_of_a_purged_campaign_is_refused(operator_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PURGED)
    response = operator_client.get(reverse("tokens:campaign-archive", args=[campaign.pk]), follow=True)
    assert "the campaign is purged" in response.content.decode()


def test_dashboard_survives_a_campaign_whose_database_is_gone(operator_client, campaign):
    get_gateway().delete_database(campaign.database)
    response = operator_client.get(reverse("tokens:dashboard"))
    assert response.status_code == 200
    assert response.context["rows"][0]["counts"] is None
    assert '<span class="unavailable error-text" >' in response.content.decode()
    api = operator_client.get(reverse("tokens:api-counts"), {"ids": str(campaign.pk)}).json()
    assert api["campaigns"] == {str(campaign.pk): None} and api["labels"] == {str(campaign.pk): "ready"}
    assert api["paces"] == {str(campaign.pk): {"text": "no token finished yet", "stalled": False}}


def test_the_dashboard_asks_couchdb_for_nothing_even_for_those_who_may_adopt(operator_client, campaign, monkeypatch):
    """Campaigns, counts, pace and other tools' design documents all come from the read model."""
    get_gateway().put_doc(campaign.database, build_design_doc("picas_other"))
    assert "picas_other" in operator_client.get(reverse("tokens:dashboard")).content.decode()
    gateway = get_gateway()
    real_request = type(gateway).request
    sent = []
    monkeypatch.setattr(type(gateway), "request",
                        lambda self, method, path, **kw: sent.append(path[-1]) or real_request(self, method, path, **kw))
    page = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert "picas_other" in page and set(sent) <= {"_changes"}
