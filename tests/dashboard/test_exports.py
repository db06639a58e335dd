"""Exports (``?format=csv|json`` on the page's own URL): the dashboard's campaigns, a campaign's
open tab or search (every page of it, streamed) and its error tables; garbage refused in a line."""

import csv
import io
import json

import pytest
from django.urls import reverse

from tokens_app import services
from tokens_app.couch import get_gateway

pytestmark = pytest.mark.django_db


def body(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def fail(campaign, token_id, host, code):
    gateway = get_gateway()
    doc = gateway.get_doc(campaign.database, token_id)
    gateway.put_doc(campaign.database, {**doc, "lock": 1_700_000_000, "done": 1_700_000_060, "hostname": host,
                                        "exit_code": code})


@pytest.fixture
def watched(campaign):
    ids = services.plan_of(campaign).token_ids
    fail(campaign, ids[0], "wn-bad", 1)
    fail(campaign, ids[1], "wn-bad", 2)
    fail(campaign, ids[2], "wn-<odd>", 1)
    return campaign, ids


def test_a_tab_exports_every_token_of_it_as_csv(operator_client, watched):
    campaign, ids = watched
    response = operator_client.get(campaign.get_absolute_url(), {"view": "todo", "format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [row["id"] for row in rows] == ids[3:] and {row["state"] for row in rows} == {"todo"}
    errors = list(csv.DictReader(io.StringIO(body(operator_client.get(
        campaign.get_absolute_url(), {"view": "error", "format": "csv"})))))
    assert [row["hostname"] for row in errors] == ["wn-bad", "wn-bad", "wn-<odd>"]


def test_a_search_exports_its_matches_in_every_state_as_json(operator_client, watched):
    campaign, ids = watched
    found = json.loads(body(operator_client.get(campaign.get_absolute_url(), {"q": "host:wn-bad", "format": "json"})))
    assert [(row["id"], row["state"], row["exit_code"]) for row in found] == [(ids[0], "error", "1"), (ids[1], "error", "2")]


def test_the_error_tables_export_as_they_are_shown(operator_client, watched):
    campaign, _ = watched
    groups = json.loads(body(operator_client.get(campaign.get_absolute_url(), {"table": "errors", "format": "json"})))
    assert sorted((group["exit_code"], group["count"]) for group in groups) == [("1", 2), ("2", 1)]
    hosts = list(csv.DictReader(io.StringIO(body(operator_client.get(
        campaign.get_absolute_url(), {"table": "hosts", "format": "csv"})))))
    assert [(host["host"], host["count"], host["exit_codes"]) for host in hosts] == [
        ("wn-bad", "2", "1 2"), ("wn-<odd>", "1", "1")]


def test_the_dashboard_exports_its_campaigns_with_their_counts(operator_client, watched):
    campaign, _ = watched
    rows = list(csv.DictReader(io.StringIO(body(operator_client.get(reverse("tokens:dashboard"), {"format": "csv"})))))
    assert [(row["id"], row["todo"], row["error"], row["total"]) for row in rows] == [(str(campaign.pk), "9", "3", "12")]
    page = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert "format=csv" in page and "format=json" in page


def test_the_pages_link_their_exports(operator_client, watched):
    campaign, _ = watched
    page = operator_client.get(campaign.get_absolute_url(), {"view": "error", "q": "wn-bad"}).content.decode()
    assert "?view=error&amp;q=wn-bad&amp;format=csv" in page
    assert "?table=errors&amp;format=json" in page and "?table=hosts&amp;format=csv" in page


@pytest.mark.parametrize("params, words", [
    ({"format": "xlsx"}, b"format is csv or json"),
    ({"format": ""}, b"format is csv or json"),
    ({"format": "csv", "table": "secrets"}, b"table is tokens, errors or hosts"),
    ({"format": "csv", "page": "x" * 500}, b"page"),
    ({"format": "json", "q": "y" * 5000}, b"q"),
    ({"format": "json", "view": "someone_elses"}, b"another tool's view"),
])
def test_garbage_in_an_export_is_refused_in_one_line(operator_client, watched, params, words):
    campaign, _ = watched
    response = operator_client.get(campaign.get_absolute_url(), params)
    assert response.status_code == 400 and words in response.content


def test_garbage_format_of_the_dashboard_is_refused(operator_client):
    response = operator_client.get(reverse("tokens:dashboard"), {"format": "pdf"})
    assert response.status_code == 400


def test_an_export_needs_a_sign_in(client, watched):
    campaign, _ = watched
    response = client.get(campaign.get_absolute_url(), {"format": "csv"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_pilots_text_stays_text_in_a_spreadsheet(operator_client, campaign):
    """A cell starting like a formula (``=``, ``+``, ``@``, ``-`` before anything but a number)
    is exported with a leading quote; numbers and ordinary text are exported as they are."""
    ids = services.plan_of(campaign).token_ids
    gateway = get_gateway()
    for token_id, host, code in ((ids[0], '=HYPERLINK("http://x")', -1), (ids[1], "+wn", "@sum"),
                                 (ids[2], "-cmd|' /C calc'!A0", "-2.5")):
        doc = gateway.get_doc(campaign.database, token_id)
        gateway.put_doc(campaign.database, {**doc, "lock": 1_700_000_000, "done": 1_700_000_060,
                                            "hostname": host, "exit_code": code})
    rows = list(csv.DictReader(io.StringIO(body(operator_client.get(
        campaign.get_absolute_url(), {"view": "error", "format": "csv"})))))
    assert [(row["hostname"], row["exit_code"]) for row in rows] == [
        ("'=HYPERLINK(\"http://x\")", "-1"), ("'+wn", "'@sum"), ("'-cmd|' /C calc'!A0", "-2.5")]
