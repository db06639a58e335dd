"""The completions chart (token_charts.completions): buckets counted by the database from the
rows' finishing times, gaps kept, the range the operator chose, throughput per host, the rate and
the estimate; and the finishing time of a row (token_rows.finished_of)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tokens_app import token_charts, token_rows
from tokens_app.read_models import TokenRow
from tokens_app.tokensets import TokenSet

pytestmark = pytest.mark.django_db

SET = TokenSet(database="charts", token_type="obs")
START = datetime(2026, 1, 1, 10, tzinfo=UTC)


def record(*tokens):
    """Rows of tokens ``(number, fields)`` as the follower would record them."""
    token_rows.record(SET.database, [
        {"_id": f"obs_SB{number:03d}", "_rev": "1-a", "type": "obs", **fields} for number, fields in tokens
    ])


def done_at(moment: datetime, **fields) -> dict:
    return {"lock": moment.timestamp() - 30, "done": moment.timestamp(), **fields}


def chart(counts=None, **kwargs):
    return token_charts.completions(SET, counts or {"todo": 0, "locked": 0}, **kwargs)


def test_the_finishing_time_of_a_row():
    assert token_rows.finished_of("done", 5.0, 9.0) == 9.0
    assert token_rows.finished_of("error", 5.0, None) == 5.0  # failed before writing ``done``
    assert token_rows.finished_of("error", 5.0, 7.0) == 7.0
    assert token_rows.finished_of("locked", 5.0, None) is None
    assert token_rows.finished_of("done", 5.0, 0.0) is None
    assert token_rows.finished_of("error", None, -1.0) is None


def test_buckets_keep_the_gaps_and_estimate():
    record(*((minute, done_at(START + timedelta(minutes=minute))) for minute in (0, 1, 2, 30)),
           (90, {"lock": (START + timedelta(seconds=90)).timestamp(), "exit_code": 1}))
    shown = chart({"todo": 10, "locked": 0}, now=START + timedelta(minutes=40))
    assert shown["size"] == 60  # minutes for a fresh campaign
    assert len(shown["buckets"]) == 41 and shown["buckets"][1] == {
        "start": START + timedelta(minutes=1), "done": 1, "error": 1}
    assert sum(bucket["done"] for bucket in shown["buckets"][3:30]) == 0  # the stall shows
    assert shown["rate_per_hour"] == 0 and shown["eta_seconds"] is None
    days = chart(now=datetime(2026, 1, 20, tzinfo=UTC))
    assert days["size"] == 86400 and days["eta_seconds"] == 0
    assert chart(now=START)["buckets"]  # times up to an hour ahead of the clock still show


def test_a_fresh_campaign_is_one_bar_of_thirty_and_nothing_finished_is_no_chart():
    assert chart(now=START)["buckets"] == []
    record((0, done_at(START)))
    fresh = chart(now=START + timedelta(seconds=30))
    assert len(fresh["buckets"]) == 30 and fresh["buckets"][-1]["done"] == 1


def test_the_rate_and_the_estimate_come_from_the_last_buckets():
    now = START + timedelta(minutes=10)
    record(*((minute, done_at(now - timedelta(minutes=minute, seconds=1))) for minute in range(5)))
    shown = chart({"todo": 100, "locked": 20}, now=now)
    # The last five one-minute buckets cover four minutes (the current one has just begun),
    # in which four of the five tokens finished.
    assert shown["rate_per_hour"] == pytest.approx(4 / 240 * 3600)
    assert shown["eta_seconds"] == pytest.approx(120 / shown["rate_per_hour"] * 3600)


def test_a_range_shows_only_its_span_and_keeps_the_campaigns_rate():
    now = START + timedelta(hours=30)
    record(*((hour, done_at(START + timedelta(hours=hour), hostname=f"wn-{hour % 2}")) for hour in range(30)))
    whole = chart({"todo": 5}, now=now)
    last_hour = chart({"todo": 5}, now=now, start=now - timedelta(hours=1), end=now)
    assert last_hour["ranged"] and last_hour["size"] == 60 and len(last_hour["buckets"]) == 60
    assert sum(bucket["done"] for bucket in last_hour["buckets"]) == 1  # the token of hour 29
    assert last_hour["rate_per_hour"] == whole["rate_per_hour"] and last_hour["eta_seconds"] == whole["eta_seconds"]
    day = chart({"todo": 5}, now=now, start=START, end=START + timedelta(hours=24))
    assert day["size"] == 3600 and sum(bucket["done"] for bucket in day["buckets"]) == 24
    assert [(host["host"], host["done"], host["per_hour"]) for host in day["hosts"]] == [
        ("wn-0", 12, "0.5"), ("wn-1", 12, "0.5")]
    empty = chart(now=now, start=START - timedelta(days=3), end=START - timedelta(days=2))
    assert empty["buckets"] == [] and empty["hosts"] == []


def test_a_range_of_years_shows_its_latest_weeks():
    """Years asked for are weeks of buckets; the ones shown end where the range ends, as the whole
    history's do (not a year after its start, saying nothing finished)."""
    now = START + timedelta(days=2)
    record(*((hour, done_at(START + timedelta(hours=hour))) for hour in range(24)))
    years = chart(now=now, start=START - timedelta(days=3 * 365), end=now)
    assert years["size"] == 7 * 86400 and len(years["buckets"]) == token_charts.CHART_MAX_BUCKETS
    assert years["buckets"][-1]["start"] <= now < years["buckets"][-1]["start"] + timedelta(days=7)
    assert sum(bucket["done"] for bucket in years["buckets"]) == 24


def test_one_far_future_time_does_not_blank_the_chart():
    """A pilot whose clock (or code) says year 3000 must not push the real work off the axis."""
    now = START + timedelta(hours=2)
    record(*((minute, done_at(now - timedelta(minutes=minute))) for minute in range(30)),
           (99, {"lock": 1.0, "done": 32_503_680_000.0}), (98, {"lock": 1.0, "done": 253_402_300_799.0}),
           (97, {"lock": 1.0, "done": 1e300}))
    shown = chart({"todo": 5}, now=now)
    assert sum(bucket["done"] for bucket in shown["buckets"]) == 30
    assert shown["buckets"][-1]["start"] <= now


def test_the_chart_is_counted_by_the_database_in_a_few_queries():
    record(*((number, done_at(START + timedelta(seconds=number))) for number in range(300)))
    with CaptureQueriesContext(connection) as queries:
        shown = chart(now=START + timedelta(minutes=10))
    assert sum(bucket["done"] for bucket in shown["buckets"]) == 300
    assert len(queries.captured_queries) == 4  # span, rate, buckets, hosts
    assert TokenRow.objects.filter(database=SET.database, finished__isnull=False).count() == 300
