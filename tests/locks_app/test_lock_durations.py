"""Durations as locks_app.durations shows them, and read back: pure functions, no server, no
database. The grammar's accepted and refused forms: test_durations.py."""

import datetime

import pytest

from locks_app.durations import LONGEST, format_duration, parse_duration

pytestmark = pytest.mark.unit

MINUTE = datetime.timedelta(minutes=1)


@pytest.mark.parametrize("text, minutes", [
    ("90m", 90), ("1h", 60), ("1h30m", 90), ("2d", 2 * 24 * 60), (" 1H 30M ", 90), ("1h1h", 120),
    ("3650d", 3650 * 24 * 60),
])
def test_durations_are_read_as_typed(text, minutes):
    assert parse_duration(text) == minutes * MINUTE


@pytest.mark.parametrize("duration, shown", [
    (None, "until ended"),
    (datetime.timedelta(days=2, hours=3, minutes=5), "2 d 3 h"),
    (datetime.timedelta(hours=1, minutes=5), "1 h 05 min"),
    (4 * MINUTE, "4 min"),
    (datetime.timedelta(seconds=59), "under a minute"),
])
def test_durations_are_shown_in_words(duration, shown):
    assert format_duration(duration) == shown


def test_what_is_shown_reads_back_within_the_minute_it_shows():
    for duration in (4 * MINUTE, datetime.timedelta(hours=1, minutes=5)):
        typed = format_duration(duration).replace(" min", "m").replace(" h ", "h").replace(" ", "")
        assert parse_duration(typed) == duration
    assert LONGEST == parse_duration("3650d")

