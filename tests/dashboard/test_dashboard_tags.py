"""The template tags of the dashboard."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tokens_app.templatetags.campaigns import (
    ago,
    bar_widths,
    completions_chart,
    epoch_date,
    percent,
    state_bar,
    subband_ranges,
)

pytestmark = pytest.mark.unit


def test_state_bar_widths_and_percent():
    bar = state_bar({"todo": 1, "locked": 1, "done": 2, "error": 0, "total": 4}, 7)
    assert [segment["width"] for segment in bar["segments"]] == [25.0, 25.0, 50.0, 0.0]
    assert bar["percent_done"] == 50.0 and bar["known"] and bar["campaign_id"] == 7
    empty = state_bar(None)
    assert not empty["known"] and empty["percent_done"] == 0.0


def test_a_small_state_keeps_a_visible_width():
    widths = bar_widths({"todo": 19_997, "locked": 0, "done": 0, "error": 3}, 20_000)
    assert widths == [98.5, 0.0, 0.0, 1.5]


def test_percent_rounds_halves_up_as_the_page_script():
    # 912.5 per mille: Python's round() would give 91.2 (binary fractions), the script 91.3.
    assert percent(365, 400) == 91.3 and percent(1, 3) == 33.3 and percent(0, 0) == 0.0


def test_completions_chart_plots_done_and_error_with_the_pace():
    assert completions_chart({"buckets": []}) == {"empty": True}
    start = datetime(2026, 1, 1, 10, tzinfo=UTC)
    chart = completions_chart({
        "size": 3600, "rate_per_hour": 12.0, "eta_seconds": 7500,
        "buckets": [{"start": start, "done": 3, "error": 1}, {"start": start + timedelta(hours=1), "done": 0, "error": 0}],
    })
    assert len(chart["bars"]) == 2 and chart["bucket"] == "hour" and chart["eta"] == "2 h 05 min"
    assert chart["bars"][0]["title"] == "2026-01-01 10:00 UTC, hour: 3 done, 1 error"
    assert [label["text"] for label in chart["x_labels"]] == ["01 Jan 10:00", "01 Jan 11:00"]


def test_an_eta_beyond_what_a_timedelta_holds_is_shown_not_raised():
    # Two finishing times years apart give a rate of a token per decade: the ETA's seconds
    # exceed timedelta's range (the project's one duration formatter takes a timedelta).
    start = datetime(2026, 1, 1, 10, tzinfo=UTC)
    chart = completions_chart({"size": 3600, "rate_per_hour": 1e-9, "eta_seconds": 1e300,
                               "buckets": [{"start": start, "done": 1, "error": 0}]})
    assert chart["eta"] == "365000 d 0 h"


def test_ago_never_says_zero_minutes():
    assert ago(timezone.now()) == "just now"
    assert ago(timezone.now() - timedelta(minutes=5)) == "5\xa0minutes ago"


def test_epoch_date_and_garbage():
    assert epoch_date(1_700_000_100) == "2023-11-14 22:15:00 UTC" == epoch_date("1700000100")
    assert [epoch_date(value) for value in (0, None, "x", True, 1e30, -5)] == [""] * 6


def test_subband_ranges():
    assert subband_ranges([0, 1, 2, 5, 7, 8]) == "000–002, 005, 007–008"
    assert subband_ranges([]) == ""
