"""The live campaign page against what pilots and other tools write into token documents, and
against what a caller puts in its query: the page, the status API (its HTML fragments and the
subband map), the search and the chart answer without a 500, without markup of a token's own,
and with bounded work.
"""

import time

import pytest
from django.urls import reverse

from tokens_app import selectors, token_charts
from tokens_app.couch import get_gateway

pytestmark = pytest.mark.django_db

MARKUP = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def write_token(campaign, token_id, **fields):
    """A document of the campaign's type, written as a pilot or another tool would."""
    gateway = get_gateway()
    doc = gateway.get_doc(campaign.database, token_id, default=None) or {"_id": token_id, "type": campaign.token_type}
    doc.update(fields)
    gateway.put_doc(campaign.database, doc)


def first_ids(campaign, count):
    return [row["id"] for row in selectors.iter_token_rows(campaign, "tokens", limit=count)]


def status(client, campaign, **params):
    return client.get(reverse("tokens:campaign-status", args=[campaign.pk]), params)


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def assert_page_and_status_answer(client, campaign, **params):
    """The page and the status API (fragments and map) answer 200; their text, to look at."""
    page = client.get(campaign.get_absolute_url(), params)
    assert page.status_code == 200
    answer = status(client, campaign, map="now", **params)
    assert answer.status_code == 200, answer.content[:2000]
    data = answer.json()
    assert "html" in data and "map" in data, data.get("couch_error")
    return page.content.decode(), data


# -- what pilots write -------------------------------------------------------------------------

def test_markup_in_every_field_a_pilot_writes_stays_text(viewer_client, make_campaign):
    campaign = make_campaign(4)
    failed, done = first_ids(campaign, 2)
    write_token(campaign, failed, lock=1_700_000_000, done=1_700_000_100, hostname=MARKUP,
                exit_code={"nested": [MARKUP]}, output=MARKUP, status=MARKUP)
    write_token(campaign, done, lock=1_700_000_000, done=1_700_000_100, hostname=MARKUP, status="done")
    write_token(campaign, MARKUP, lock=1_700_000_000, exit_code=1, hostname=MARKUP)
    for params in ({}, {"view": "error"}, {"view": "tokens"}, {"view": "error", "q": f"host:{MARKUP}"}):
        page, data = assert_page_and_status_answer(viewer_client, campaign, **params)
        for text in (page, *data["html"].values()):
            assert "<script>alert" not in text and "<img src=x" not in text, params
    # The map carries ids as JSON data; the page script draws them as text.
    assert any(MARKUP.endswith(key) for key in data["map"]["keys"])
    token_page = viewer_client.get(reverse("tokens:token-detail", args=[campaign.pk, failed]))
    assert token_page.status_code == 200 and "<script>alert" not in token_page.content.decode()


@pytest.mark.parametrize("field, value", [
    ("done", 1e300), ("done", "1e300"), ("done", "inf"), ("done", "Infinity"), ("done", "nan"),
    ("done", -5), ("done", 253_402_300_799), ("lock", 1e300), ("lock", "-inf"),
    ("done", {"$gt": 1}), ("done", [1_700_000_000]), ("done", True),
])
def test_impossible_times_do_not_break_the_page(viewer_client, make_campaign, field, value):
    campaign = make_campaign(3)
    ids = first_ids(campaign, 3)
    write_token(campaign, ids[0], lock=time.time() - 60, done=time.time())
    # Once done, once failed, with the strange time in ``field``.
    write_token(campaign, ids[1], **{"lock": time.time() - 60, "done": time.time(), field: value})
    write_token(campaign, ids[2], **{"lock": time.time() - 60, "exit_code": 3, field: value})
    page, data = assert_page_and_status_answer(viewer_client, campaign)
    assert "error" in data["html"]["errors"]
    token_page = viewer_client.get(reverse("tokens:token-detail", args=[campaign.pk, ids[1]]))
    assert token_page.status_code == 200


# -- what other tools name their tokens --------------------------------------------------------

def test_an_id_ending_in_a_huge_number_does_not_break_the_map_or_the_search(viewer_client, make_campaign):
    campaign = make_campaign(3)
    write_token(campaign, "t_" + "9" * 5000)
    page, data = assert_page_and_status_answer(viewer_client, campaign, view="tokens", q="SB001")
    assert len(data["map"]["keys"]) == 4
    assert viewer_client.get(campaign.get_absolute_url(), {"view": "tokens", "q": "SB001"}).context[
        "tokens"].matched == 1


def test_a_far_subband_does_not_make_the_map_millions_of_rows():
    states = [("t_x_SB000", "done", 0), ("t_x_SB001", "todo", 1), ("t_x_SB" + "9" * 12, "error", 10**12 - 1)]
    grid = token_charts.subband_map(states)
    # Three tokens: a few rows, not ten thousand million (the page draws rows × row height).
    assert grid["rows"] <= 4
    assert len(grid["cells"]) == 6 and len(set(zip(grid["cells"][::2], grid["cells"][1::2]))) == 3


def test_an_id_of_many_digits_then_a_letter_is_read_in_linear_time():
    # ``^(.*?)(\d+)$`` took seconds over such an id, on every poll of the map and every search.
    token_id = "1" * 30_000 + "x"
    started = time.perf_counter()
    grid = token_charts.subband_map([(token_id, "todo", None), ("t_SB001", "done", 1)])
    assert token_charts.trailing_number(token_id) is None
    assert time.perf_counter() - started < 1.0
    assert grid["labels"][-1] == [1, "other ids"]


# -- the search --------------------------------------------------------------------------------

@pytest.fixture
def foreign_view(make_campaign, gateway):
    """A campaign whose ``_design/<type>`` holds another tool's list that emits every document
    of the database, and a document of another type there, run on host ``wn-x``."""
    campaign = make_campaign(3)
    design = gateway.get_doc(campaign.database, f"_design/{campaign.token_type}")
    design["views"]["everything"] = {"map": "function (doc) { emit(doc._id, null); }"}
    gateway.put_doc(campaign.database, design)
    gateway.put_doc(campaign.database, {"_id": "foreign_secret", "type": "other", "hostname": "wn-x",
                                        "output": "OTHER-CAMPAIGN-OUTPUT", "lock": 1, "exit_code": 4})
    write_token(campaign, first_ids(campaign, 1)[0], hostname="wn-x", lock=1, done=2)
    return campaign


@pytest.mark.parametrize("query", ["host:wn-x", "foreign"])
def test_a_search_shows_no_document_of_another_type(viewer_client, foreign_view, query):
    page = viewer_client.get(foreign_view.get_absolute_url(), {"view": "everything", "q": query})
    assert page.status_code == 200
    assert "OTHER-CAMPAIGN-OUTPUT" not in page.content.decode()
    rows = page.context["tokens"].rows
    assert "foreign_secret" not in [row["id"] for row in rows]
    if query.startswith("host:"):
        assert [row["id"] for row in rows] == first_ids(foreign_view, 1)


# -- the page's own fields ---------------------------------------------------------------------

@pytest.mark.parametrize("params, field, words", [
    ({"view": "error", "page": "abc"}, "page", "whole number"),
    ({"view": "error", "page": str(10**9)}, "page", "less than or equal to"),
    ({"view": "error", "page": "9" * 5000}, "page", "whole number"),
    ({"view": "error", "page": "-3"}, "page", "greater than or equal to"),
    ({"view": "error", "q": "y" * 5000}, "q", "at most 200 characters"),
    ({"view": "v" * 500}, "view", "at most 64 characters"),
    ({"view": "error", "order": "lock; drop table"}, "order", "Select a valid choice"),
    ({"view": "error", "after": "x" * 64}, "after", "is no row key"),
    ({"view": "error", "before": "'; drop table"}, "before", "is no row key"),
    ({"view": "error", "range": "7y"}, "range", "Select a valid choice"),
    ({"view": "error", "since": "yesterday"}, "since", "valid date/time"),
    ({"view": "error", "since": "0001-01-01T00:00"}, "since", "must be between 1970 and 9000"),
    ({"view": "error", "since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}, "until", "later than since"),
    ({"view": "error", "until": "2026-01-01T00:00"}, "since", "is needed with until"),
    # A zone that moves the moment off the calendar, either end.
    ({"view": "error", "since": "0001-01-01T00:00+01:00"}, "since", "must be between 1970 and 9000"),
    ({"view": "error", "since": "2026-01-01T00:00", "until": "9999-12-31T23:59-01:00"}, "until",
     "must be between 1970 and 9000"),
])
def test_garbage_in_a_field_of_the_page_is_named_and_the_other_fields_kept(viewer_client, make_campaign,
                                                                            params, field, words):
    campaign = make_campaign(3)
    write_token(campaign, first_ids(campaign, 1)[0], lock=1_700_000_000, exit_code=2)
    page = viewer_client.get(campaign.get_absolute_url(), params)
    assert page.status_code == 200
    shown = [str(message) for message in page.context["messages"]]
    assert any(f"The {field} asked for is ignored" in text and words in text for text in shown), shown
    if field != "view":
        assert page.context["view"] == "error"
    # The status API, polled with the page's own query, answers as the page does.
    answer = status(viewer_client, campaign, **params)
    assert answer.status_code == 200 and "html" in answer.json()


@pytest.mark.parametrize("ids", ["9" * 30, str(2**63), "0", "-1", f"1,{'9' * 25}"])
def test_the_counts_api_refuses_numbers_no_campaign_can_have(viewer_client, ids):
    response = viewer_client.get(reverse("tokens:api-counts"), {"ids": ids})
    assert response.status_code == 400 and b"campaign numbers" in response.content


def test_every_query_parameter_of_the_status_api_takes_garbage(viewer_client, make_campaign):
    campaign = make_campaign(3)
    for params in ({"known": "x" * 1_000_000}, {"map": "\x00"}, {"map": "now" * 1000}, {"q": "\x00"},
                   {"q": "host:\x00"}, {"view": "../_all_docs"}, {"view": "_all_docs"}, {"page": "1e9"},
                   {"q": "SB" + "9" * 150}, {"view": "tokens", "q": "%00%2F..%2F_all_docs"}):
        answer = status(viewer_client, campaign, **params)
        assert answer.status_code == 200, params
        assert answer.json()["counts"]["total"] == 3
