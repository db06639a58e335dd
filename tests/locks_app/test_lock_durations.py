"""Durations as operators type and read them (locks_app.durations), and the lock panel's choices
of duration (locks_app.forms): pure functions, no server, no database."""

import datetime

import pytest

from locks_app.durations import LONGEST, format_duration, parse_duration
from locks_app.forms import DURATION_CHOICES, DURATIONS, EXTENSION_CHOICES, EXTENSIONS

pytestmark = pytest.mark.unit

MINUTE = datetime.timedelta(minutes=1)


@pytest.mark.parametrize("text, minutes", [
    ("90m", 90), ("1h", 60), ("1h30m", 90), ("2d", 2 * 24 * 60), (" 1H 30M ", 90), ("1h1h", 120),
    ("3650d", 3650 * 24 * 60),
])
def test_durations_are_read_as_typed(text, minutes):
    assert parse_duration(text) == minutes * MINUTE


@pytest.mark.parametrize("text", ["until-ended", "until_ended", "none", "Forever"])
def test_until_ended_is_no_duration(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("text, words", [
    ("", "is not a duration: write e.g. 90m"),
    ("h", "is not a duration"),
    ("1x", "is not a duration"),
    ("-1h", "is not a duration"),
    ("1h and more", "is not a duration"),
    ("0m", "is not a positive duration"),
    ("3651d", "longer than ten years: write until-ended"),
    ("9" * 20 + "d", "longer than ten years"),
])
def test_anything_else_is_refused_in_one_line(text, words):
    with pytest.raises(ValueError, match=words) as refused:
        parse_duration(text)
    assert "\n" not in str(refused.value) and repr(text) in str(refused.value)


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


def test_every_choice_of_the_lock_panel_is_a_duration_an_operator_may_type():
    for choice, _ in DURATION_CHOICES:
        assert parse_duration(choice) == DURATIONS[choice]
    for choice, _ in EXTENSION_CHOICES:
        assert parse_duration(choice) == EXTENSIONS[choice]
