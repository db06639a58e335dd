"""The template tags of the dashboard."""

from datetime import UTC, datetime

from tokens_app.templatetags.campaigns import completions_chart, state_bar, subband_ranges


def test_state_bar_widths_and_percent():
    bar = state_bar({"todo": 1, "locked": 1, "done": 2, "error": 0, "total": 4}, 7)
    assert [segment["width"] for segment in bar["segments"]] == [25.0, 25.0, 50.0, 0.0]
    assert bar["percent_done"] == 50.0 and bar["known"] and bar["campaign_id"] == 7
    empty = state_bar(None)
    assert not empty["known"] and empty["percent_done"] == 0.0


def test_completions_chart():
    assert "No token has finished yet" in completions_chart([])
    svg = completions_chart([(datetime(2026, 1, 1, 10, tzinfo=UTC), 3), (datetime(2026, 1, 1, 11, tzinfo=UTC), 6)])
    assert svg.count("<rect") == 2 and "2026-01-01 11:00 UTC: 6 done" in svg and "6 per hour" in svg


def test_subband_ranges():
    assert subband_ranges([0, 1, 2, 5, 7, 8]) == "000–002, 005, 007–008"
    assert subband_ranges([]) == ""
