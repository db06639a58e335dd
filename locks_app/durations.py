"""Durations as operators type and read them: ``90m``, ``1h``, ``1h30m``, ``2d``, ``until-ended``."""

import datetime
import re

UNTIL_ENDED = ("until-ended", "until_ended", "none", "forever")
_PART = re.compile(r"(\d+)\s*([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
# Longer than any lock should run and short enough that every expiration is a valid date.
LONGEST = datetime.timedelta(days=3650)


def parse_duration(text: str) -> datetime.timedelta | None:
    """The duration ``text`` names; ``None`` for "until-ended". ``ValueError`` (one line) for
    anything else, including zero and negative durations."""
    cleaned = text.strip().lower()
    if cleaned in UNTIL_ENDED:
        return None
    compact = cleaned.replace(" ", "")
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(
            f"{text!r} is not a duration: write e.g. 90m, 1h, 1h30m, 2d or until-ended"
        )
    try:
        duration = sum(
            (datetime.timedelta(**{_UNITS[unit]: int(number)}) for number, unit in parts),
            datetime.timedelta(),
        )
    except OverflowError:
        duration = LONGEST * 2
    if duration <= datetime.timedelta():
        raise ValueError(f"{text!r} is not a positive duration")
    if duration > LONGEST:
        raise ValueError(f"{text!r} is longer than ten years: write until-ended for a lock without expiry")
    return duration


def format_duration(duration: datetime.timedelta | None) -> str:
    """``2 d 3 h``, ``1 h 05 min``, ``4 min``, ``under a minute``; ``until ended`` for None."""
    if duration is None:
        return "until ended"
    minutes = int(duration.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return "under a minute"
