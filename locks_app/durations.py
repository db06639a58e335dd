"""Durations as operators type and read them: the one grammar of every command, form and setting
of the project (tokens_app's commands use it too).

A duration is one or more parts, each a whole number and a unit: ``s`` (seconds), ``m``
(minutes), ``h`` (hours), ``d`` (days) or ``w`` (weeks): ``90s``, ``30m``, ``6h``, ``2d``,
``1w``, ``1h30m``, ``1h 30m``, ``1d 12h``. Spaces are ignored and case does not matter; the
sum must be more than zero. Where a lock asks for it (``until_ended=True``), ``until-ended``
(also ``until_ended``, ``none``, ``forever``) names a lock without expiry and reads as ``None``.
"""

import datetime
import re

UNTIL_ENDED = ("until-ended", "until_ended", "none", "forever")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART = re.compile(r"(\d+)([smhdw])")
EXAMPLES = "90s, 30m, 6h, 1h30m, 2d or 1w"
# Longer than any lock should run and short enough that every expiration is a valid date.
LONGEST = datetime.timedelta(days=3650)
# Longer than any duration an operator types; the parts are read by a pattern that would
# otherwise try every start in a long run of digits.
MAX_CHARS = 64


def parse_duration(
    text: str, *, until_ended: bool = False, longest: datetime.timedelta | None = LONGEST
) -> datetime.timedelta | None:
    """The duration ``text`` names; ``None`` for "until-ended" when ``until_ended`` allows it.
    ``ValueError`` (one line) for anything else: garbage, zero, and more than ``longest``
    (``None``: no limit but what a ``timedelta`` holds)."""
    if len(text) > MAX_CHARS:
        raise ValueError(f"{text[:20]!r}… is not a duration: longer than {MAX_CHARS} characters (write e.g. {EXAMPLES})")
    cleaned = text.strip().lower()
    if until_ended and cleaned in UNTIL_ENDED:
        return None
    compact = cleaned.replace(" ", "")
    parts = _PART.findall(compact)
    if not parts or "".join(number + unit for number, unit in parts) != compact:
        also = " or until-ended" if until_ended else ""
        raise ValueError(f"{text!r} is not a duration: write e.g. {EXAMPLES}{also}")
    try:
        duration = sum(
            (datetime.timedelta(**{UNITS[unit]: int(number)}) for number, unit in parts), datetime.timedelta()
        )
    except OverflowError:
        duration = None
    if duration is not None and duration <= datetime.timedelta():
        raise ValueError(f"{text!r} is not a positive duration: it must be more than zero")
    if duration is None or (longest is not None and duration > longest):
        if longest is None:
            limit = "too long to be a duration"
        else:
            limit = "longer than ten years" if longest == LONGEST else f"longer than {format_duration(longest)}"
        hint = ": write until-ended for a lock without expiry" if until_ended else ""
        raise ValueError(f"{text!r} is {limit}{hint}")
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
