"""The pages' reads of the read model (token_reads.py): counts of many campaigns in one query,
pages in id order, the search, the error groups and finishing times, the lag, one snapshot."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tokens_app import token_reads
from tokens_app.follower import Follower
from tokens_app.models import Campaign
from tokens_app.services import ensure_design_doc
from tokens_app.tokensets import TokenSet

pytestmark = pytest.mark.django_db

TYPE = "obs"
T0 = 1_709_633_700


def token(number, **fields):
    return {"_id": f"{TYPE}_SB{number:03d}", "type": TYPE, "lock": 0, "done": 0, **fields}


@pytest.fixture
def follower():
    follower = Follower()
    assert follower.take_lease()
    return follower


@pytest.fixture
def followed(gateway, couch_db, follower):
    """A campaign whose tokens, written straight to CouchDB, the follower has read."""
    ensure_design_doc(couch_db, TYPE)
    gateway.bulk_docs(couch_db, [
        token(0), token(1), token(2, lock=T0),
        token(3, lock=T0, done=T0 + 60), token(4, lock=T0, done=T0 + 120),
        token(5, lock=T0, done=T0 + 30, exit_code=1, hostname="wn-bad"),
        token(6, lock=T0, done=T0 + 40, exit_code=1, hostname="wn-bad"),
        token(7, lock=T0, exit_code=2, hostname="wn-odd", status="error"),
    ])
    campaign = Campaign.objects.create(database=couch_db, token_type=TYPE, status="ready", token_count=8)
    follower.round()
    return campaign


def test_counts_of_many_campaigns_are_one_query_and_none_where_unread(followed):
    other = TokenSet(database=followed.database, token_type="nothing")
    unread = TokenSet(database="not_followed_yet", token_type=TYPE)
    with CaptureQueriesContext(connection) as queries:
        counts = token_reads.counts_many([followed, other, unread])
    assert counts[followed.token_set] == {"todo": 2, "locked": 1, "done": 2, "error": 3, "total": 8}
    assert counts[other] == token_reads.zero_counts() and counts[unread] is None
    assert len(queries.captured_queries) == 2  # which databases are followed; the grouped count


def test_a_state_page_lists_that_state_in_id_order(followed):
    page = token_reads.token_page(followed, "error", per_page=2)
    assert [row["id"] for row in page.rows] == [f"{TYPE}_SB005", f"{TYPE}_SB006"] and page.has_next
    second = token_reads.token_page(followed, "error", page=2, per_page=2)
    assert [row["id"] for row in second.rows] == [f"{TYPE}_SB007"] and not second.has_next
    assert all(row["state"] == "error" for row in page.rows + second.rows)
    with pytest.raises(ValueError):
        token_reads.token_page(followed, None, page=0)


def test_keyset_pages_go_on_from_the_row_they_follow(followed):
    """Next and previous pages start at the key of the row next to them, read from the index:
    a token that changes state meanwhile moves no row to another page."""
    first = token_reads.token_page(followed, None, per_page=3)
    assert [row["id"] for row in first.rows] == [f"{TYPE}_SB{number:03d}" for number in (0, 1, 2)]
    second = token_reads.token_page(followed, None, page=2, per_page=3, after=first.last_key)
    assert [row["id"] for row in second.rows] == [f"{TYPE}_SB{number:03d}" for number in (3, 4, 5)]
    assert second.has_previous and second.has_next and second.page == 2
    back = token_reads.token_page(followed, None, page=1, per_page=3, before=second.first_key)
    assert back.rows == first.rows and not back.has_previous and back.has_next
    last = token_reads.token_page(followed, None, page=3, per_page=3, after=second.last_key)
    assert [row["id"] for row in last.rows] == [f"{TYPE}_SB006", f"{TYPE}_SB007"] and not last.has_next
    assert token_reads.token_page(followed, None, per_page=3, after=first.last_key).previous_page == 1
    # The key of a row deleted since (or never there) falls back to the page's number.
    gone = token_reads.token_page(followed, None, page=2, per_page=3, after="0" * 64)
    assert gone.rows == second.rows


def test_a_keyset_page_of_a_tab_keeps_to_its_state(followed):
    first = token_reads.token_page(followed, "error", per_page=1)
    rest = token_reads.token_page(followed, "error", page=2, per_page=5, after=first.last_key)
    assert [row["id"] for row in rest.rows] == [f"{TYPE}_SB006", f"{TYPE}_SB007"]


@pytest.mark.parametrize("order, expected", [
    ("locked", [2, 3, 4, 5, 6, 7, 0, 1]),  # every claimed token at T0, in id order; never claimed last
    ("finished", [4, 3, 6, 5, 7, 0, 1, 2]),  # the last finished first; an error without done at its lock
    ("host", [0, 1, 2, 3, 4, 5, 6, 7]),
    ("exit_code", [5, 6, 7, 0, 1, 2, 3, 4]),
])
def test_a_table_sorted_by_a_column_pages_by_number(followed, order, expected):
    first = token_reads.token_page(followed, None, per_page=4, order=order)
    second = token_reads.token_page(followed, None, page=2, per_page=4, order=order)
    assert [row["id"] for row in first.rows + second.rows] == [f"{TYPE}_SB{number:03d}" for number in expected]
    assert first.last_key is None and first.has_next


@pytest.mark.parametrize("query, found", [
    ("SB004", [4]), ("sb4", [4]), ("4", [4]), ("host:wn-bad", [5, 6]), ("_SB00", list(range(8))), ("nothing", []),
])
def test_the_search_looks_through_every_state(followed, query, found):
    page = token_reads.token_page(followed, None, search=token_reads.Search.parse(query), per_page=50)
    assert [row["id"] for row in page.rows] == [f"{TYPE}_SB{number:03d}" for number in found]
    assert page.matched == len(found)


def test_error_groups_add_up_to_the_error_count(followed):
    groups = token_reads.error_groups(followed)
    assert [(group["exit_code"], group["count"]) for group in groups] == [("1", 2), ("2", 1)]
    hosts = token_reads.errors_by_host(followed)
    assert [(host["host"], host["count"], host["exit_codes"]) for host in hosts] == [
        ("wn-bad", 2, ["1"]), ("wn-odd", 1, ["2"])]
    assert sum(group["count"] for group in groups) == token_reads.counts_of(followed)["error"]


def test_finishing_span_and_per_host(followed):
    assert token_reads.finishing_span(followed, latest=T0 + 1000) == (T0, T0 + 120)  # an error without ``done`` failed when locked
    assert token_reads.finishing_span(followed, latest=T0 + 100) == (T0, T0 + 60)
    assert token_reads.finished_between(followed, T0, T0 + 60) == 3
    assert token_reads.finished_per_host(followed, 0, T0 + 1000) == [
        {"host": "", "done": 2, "error": 0}, {"host": "wn-bad", "done": 0, "error": 2},
        {"host": "wn-odd", "done": 0, "error": 1}]

def test_the_lag_is_what_couchdb_had_after_the_checkpoint(followed):
    lag = token_reads.lag_of(followed.database)
    assert lag["followed"] and lag["pending"] == 0 and lag["age"] < 60
    assert token_reads.lag_of("not_followed_yet") == {"followed": False, "pending": None, "at": None, "age": None}


def test_the_signature_moves_with_any_change(followed, gateway, follower):
    before = token_reads.signature_of(followed, token_reads.counts_of(followed))
    doc = gateway.get_doc(followed.database, f"{TYPE}_SB000")
    gateway.put_doc(followed.database, {**doc, "progress": 1})  # no count moves
    follower.round()
    assert token_reads.signature_of(followed, token_reads.counts_of(followed)) != before
