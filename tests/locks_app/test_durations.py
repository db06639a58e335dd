"""The one duration grammar of the project (locks_app.durations): every form either former
grammar accepted (tokens_app's commands: weeks, no spaces; locks_app's: spaces, until-ended) is
accepted everywhere, and garbage is refused in one clear line."""

import argparse
import datetime

import pytest

from locks_app import limits
from locks_app.durations import parse_duration
from locks_app.forms import DURATION_CHOICES, EXTENSION_CHOICES, DurationForm, ExtendForm
from locks_app.management.arguments import duration, duration_type, lock_duration

H, M, D = datetime.timedelta(hours=1), datetime.timedelta(minutes=1), datetime.timedelta(days=1)

# What the token commands' grammar accepted (scrub_tokens --older-than) ...
TOKENS_FORMS = {"90s": 90 * M / 60, "30m": 30 * M, "6h": 6 * H, "2d": 2 * D, "1w": 7 * D, "1h30m": 90 * M,
                "2w3d": 17 * D, "1d1h1m1s": D + H + M + M / 60}
# ... and what the lock commands, forms and LOCK_MAX_DURATION accepted.
LOCKS_FORMS = {"90m": 90 * M, "1h": H, "2d": 2 * D, "1 h 30 m": 90 * M, "1h 30m": 90 * M, " 8h ": 8 * H,
               "1H30M": 90 * M, "3650d": 3650 * D, "0h5m": 5 * M}


@pytest.mark.parametrize("text, expected", [*TOKENS_FORMS.items(), *LOCKS_FORMS.items(),
                                            ("1w 2d", 9 * D), ("2W", 14 * D)])
def test_every_form_either_grammar_accepted_is_accepted(text, expected):
    assert parse_duration(text) == expected
    assert parse_duration(text, until_ended=True) == expected
    assert parse_duration(text, longest=None) == expected
    assert duration(text) == lock_duration(text) == expected


@pytest.mark.parametrize("text", ["until-ended", "until_ended", "none", "forever", " Until-Ended "])
def test_until_ended_only_where_a_lock_asks_for_it(text):
    assert parse_duration(text, until_ended=True) is None and lock_duration(text) is None
    with pytest.raises(ValueError, match=r"is not a duration: write e\.g\. 90s, 30m, 6h, 1h30m, 2d or 1w$"):
        parse_duration(text)


@pytest.mark.parametrize("text, message", [
    ("", "'' is not a duration"),
    ("   ", "'   ' is not a duration"),
    ("abc", "'abc' is not a duration"),
    ("6x", "'6x' is not a duration"),
    ("-5m", "'-5m' is not a duration"),
    ("1h30", "'1h30' is not a duration"),
    ("1.5h", "'1.5h' is not a duration"),
    ("h", "'h' is not a duration"),
    ("1h\n2h", r"'1h\\n2h' is not a duration"),
    ("1h\t30m", r"'1h\\t30m' is not a duration"),
    ("1y", "'1y' is not a duration"),
    ("0m", "'0m' is not a positive duration: it must be more than zero"),
    ("0h 0s", "'0h 0s' is not a positive duration"),
    ("3651d", "'3651d' is longer than ten years$"),
    ("99999999d", "longer than ten years"),
    ("9" * 40 + "d", "longer than ten years"),
])
def test_garbage_is_refused_in_one_clear_line(text, message):
    with pytest.raises(ValueError, match=message) as raised:
        parse_duration(text)
    assert "\n" not in str(raised.value)
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        duration(text)


def test_a_lock_too_long_is_told_about_until_ended_and_other_uses_have_no_ten_year_cap():
    with pytest.raises(ValueError, match="longer than ten years: write until-ended for a lock without expiry"):
        parse_duration("522w", until_ended=True)
    assert parse_duration("522w", longest=None) == 522 * 7 * D
    with pytest.raises(ValueError, match="^'9+d' is too long to be a duration$"):
        parse_duration("9" * 40 + "d", longest=None)
    with pytest.raises(argparse.ArgumentTypeError, match="longer than 1 d 0 h"):
        duration_type(longest=D)("25h")


def test_the_lock_forms_read_their_choices_with_the_grammar():
    for value, _ in DURATION_CHOICES:
        form = DurationForm({"object": "doc:1", "duration": value})
        form.is_valid()
        assert form.cleaned_data["duration"] == parse_duration(value, until_ended=True)
    for value, _ in EXTENSION_CHOICES:
        form = ExtendForm({"object": "doc:1", "by": value})
        form.is_valid()
        assert form.cleaned_data["by"] == parse_duration(value)
    assert "by" in ExtendForm({"object": "doc:1", "by": "until-ended"}).errors
    assert "duration" in DurationForm({"object": "doc:1", "duration": "3h"}).errors


def test_lock_max_duration_takes_the_same_grammar(settings):
    settings.LOCK_MAX_DURATION = "1w 12h"
    assert limits.max_duration() == 7 * D + 12 * H
