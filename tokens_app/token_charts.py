"""The campaign page's pictures of its tokens: the subband map and the completions chart.

Built from what :mod:`tokens_app.token_reads` reads from the read model: the map from every
token's state, the chart from counts the database groups by time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from . import token_reads

# Subbands per row of the map: LOFAR's 488 subbands read as five rows of a hundred.
MAP_COLUMNS = 100
# One letter a cell in the map's state string (the page script knows the same letters).
STATE_LETTERS = {"todo": "t", "locked": "l", "done": "d", "error": "e"}
# A trailing number of a token id is its subband (or first subband of a slice): ``…_SB042``.
# Longer runs of digits are no subband (and Python refuses int() of over 4,300 digits).
MAX_NUMBER_DIGITS = 15
_DIGITS = "0123456789"
# Bucket sizes of the completions chart, smallest first; the first giving at most
# CHART_MAX_BUCKETS buckets over the campaign's span is used.
BUCKET_SIZES = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
    timedelta(hours=3), timedelta(hours=6), timedelta(days=1), timedelta(days=7),
)
CHART_MAX_BUCKETS = 60
# The ranges the chart offers besides the whole history, by their name in the page's query.
CHART_RANGES = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(hours=24)}
# The chart's range links: the whole history first.
RANGE_LINKS = [("", "all"), *((name, f"{name[:-1]} h") for name in CHART_RANGES)]
CHART_MIN_BUCKETS = 30
# The rate of the estimate is that of the last buckets (a campaign's pace changes as pilots
# come and go; the whole history would hide a stall).
RATE_BUCKETS = 5
# Times later than now by more than this are no finishing time (a pilot's clock or code is
# wrong): the chart leaves them out rather than stretch its axis to them.
CLOCK_SKEW = timedelta(hours=1)


def trailing_number(token_id: str) -> tuple[str, int] | None:
    """``(stem, number)`` of an id ending in digits (``t_x_SB042`` → ``("t_x_SB", 42)``), else
    None. Linear in the id's length: a regular expression over an id of many digits followed
    by a letter backtracks quadratically, and any tool may write such an id."""
    stem = token_id.rstrip(_DIGITS)
    digits = token_id[len(stem):]
    if not digits or len(digits) > MAX_NUMBER_DIGITS:
        return None
    return stem, int(digits)


def subband_map(states: Iterable[tuple[str, str, int | None]], *, columns: int = MAP_COLUMNS) -> dict:
    """The grid of the map from ``token_states`` (id, state, the number the id ends in): tokens whose ids end in a number sit at that
    number's column, in rows of ``columns`` per id stem (``t_T_OBSID_STEP_SB``), so that a gap
    or a failing band shows where it is (a run of empty rows shows as one, labelled where the
    numbers go on); other ids follow in id order.

    ``{"columns", "rows", "prefix", "keys": [id without prefix], "states": "tdle…",
    "cells": [row, column, …], "labels": [[row, text], …]}``: the prefix is shared by every id,
    so the page receives each id once and short.
    """
    numbered: dict[str, list[tuple[int, str, str]]] = {}
    others: list[tuple[str, str]] = []
    for token_id, state, number in states:
        if number is None:
            others.append((token_id, state))
        else:
            # The stem of ``trailing_number``; the number itself the read model already holds.
            numbered.setdefault(token_id.rstrip(_DIGITS), []).append((number, token_id, state))
    ids, letters, cells, labels, row = [], [], [], [], 0
    for stem in sorted(numbered):
        tokens = sorted(numbered[stem])
        last_place = tokens[0][0] // columns
        labels.append([row, f"{stem}{last_place * columns:03d}"])
        for number, token_id, state in tokens:
            place = number // columns
            if place != last_place:
                # Rows without a token show as one empty row, however many there are: the
                # label says where the numbers go on (so 000 and 10**12 make three rows, not 10**10).
                row += min(place - last_place, 2)
                labels.append([row, f"{number - number % columns:03d}"])
                last_place = place
            ids.append(token_id)
            letters.append(STATE_LETTERS.get(state, "t"))
            cells += [row, number % columns]
        row += 1
    if others:
        labels.append([row, "other ids"])
        for index, (token_id, state) in enumerate(others):
            ids.append(token_id)
            letters.append(STATE_LETTERS.get(state, "t"))
            cells += [row + index // columns, index % columns]
        row += (len(others) - 1) // columns + 1
    prefix = _common_prefix(ids)
    return {
        "columns": columns, "rows": row, "prefix": prefix, "keys": [token_id[len(prefix):] for token_id in ids],
        "states": "".join(letters), "cells": cells, "labels": labels,
    }


def _common_prefix(ids: list[str]) -> str:
    if not ids:
        return ""
    low, high = min(ids), max(ids)
    length = 0
    while length < min(len(low), len(high)) and low[length] == high[length]:
        length += 1
    return low[:length]


def completions(token_set, counts: dict, *, now: datetime, start: datetime | None = None,
                end: datetime | None = None) -> dict:
    """Done and error per time bucket, every bucket present (a stall is a run of empty
    buckets), the bucket size chosen from the span shown: from the first finish to now, or
    ``start`` to ``end`` when the operator chose a range; with the tokens finished per host in
    that span, the recent throughput and the time to finish at that rate (both of the whole
    campaign, whatever the range).

    ``{"size": seconds, "buckets": [{"start", "done", "error"}], "hosts", "rate_per_hour",
    "eta_seconds", "rate_window_seconds", "ranged"}``; ``buckets`` empty when nothing
    finished in the span.
    """
    # Times in the future are left out: a pilot's wrong clock must not stretch the axis.
    latest = (now + CLOCK_SKEW).timestamp()
    span = token_reads.finishing_span(token_set, latest=latest)
    chart = {"size": 0, "buckets": [], "hosts": [], "rate_per_hour": 0.0, "eta_seconds": None,
             "rate_window_seconds": 0, "ranged": start is not None}
    left = counts.get("todo", 0) + counts.get("locked", 0)
    if span is None:
        return chart
    first, last = (datetime.fromtimestamp(moment, UTC) for moment in span)
    end_of_work = max(now, last)
    size, origin, count = _whole_frame(first, end_of_work)
    # The rate is that of the last buckets of the whole history's chart, however the operator
    # ranges the one shown: the current bucket has run only since its start.
    window_start = origin + size * max(0, count - RATE_BUCKETS)
    covered = (end_of_work - window_start).total_seconds() or size.total_seconds()
    rate = token_reads.finished_between(token_set, window_start.timestamp(), latest) / covered * 3600
    chart.update(
        rate_per_hour=rate, rate_window_seconds=int(size.total_seconds()) * min(count, RATE_BUCKETS),
        eta_seconds=left / rate * 3600 if rate and left else (0 if not left else None),
    )
    if start is not None:
        size, origin, count = _range_frame(start, end or now)
    buckets = token_reads.finished_per_bucket(
        token_set, origin=origin.timestamp(), size=size.total_seconds(), count=count)
    shown_end = min((origin + size * count).timestamp(), latest)
    hours = max(shown_end - origin.timestamp(), size.total_seconds()) / 3600
    chart.update(
        size=int(size.total_seconds()),
        buckets=[{"start": origin + size * index, **buckets.get(index, {"done": 0, "error": 0})}
                 for index in range(count)],
        hosts=[{**host, "per_hour": f"{(host['done'] + host['error']) / hours:.1f}"}
               for host in token_reads.finished_per_host(token_set, origin.timestamp(), shown_end)],
    )
    if not buckets and start is not None:
        chart["buckets"] = []
    return chart


def _whole_frame(first: datetime, end: datetime) -> tuple[timedelta, datetime, int]:
    """``(bucket size, first bucket's start, buckets)`` of the chart from ``first`` to ``end``."""
    size = next((size for size in BUCKET_SIZES if (end - first) / size < CHART_MAX_BUCKETS), BUCKET_SIZES[-1])
    origin = _floor(first, size)
    count = int((end - origin) / size) + 1
    if count < CHART_MIN_BUCKETS:
        # A fresh campaign's minute of work is one bar among many, not a block filling the chart.
        origin -= size * (CHART_MIN_BUCKETS - count)
        count = CHART_MIN_BUCKETS
    if count > CHART_MAX_BUCKETS:
        # Spans beyond the largest bucket show their latest part.
        origin += size * (count - CHART_MAX_BUCKETS)
        count = CHART_MAX_BUCKETS
    return size, origin, count


def _range_frame(start: datetime, end: datetime) -> tuple[timedelta, datetime, int]:
    """The frame of a range the operator chose: the smallest bucket size giving at most
    CHART_MAX_BUCKETS buckets over it; a longer range shows its latest part."""
    size = next((size for size in BUCKET_SIZES if (end - start) / size <= CHART_MAX_BUCKETS), BUCKET_SIZES[-1])
    origin = _floor(start, size)
    count = max(1, -(-int((end - origin).total_seconds()) // int(size.total_seconds())))
    if count > CHART_MAX_BUCKETS:
        origin += size * (count - CHART_MAX_BUCKETS)
        count = CHART_MAX_BUCKETS
    return size, origin, count


def _floor(moment: datetime, size: timedelta) -> datetime:
    """The start of the bucket of ``moment`` (buckets are aligned on the epoch, UTC)."""
    seconds = int(size.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)


def activity(counts: dict | None, finished: dict, *, now: float, window: float, stalled_after: float,
             started: float) -> dict:
    """What the dashboard says of a campaign's pace from its counts and ``finished`` (see
    ``token_reads.activity_many``): ``{"last_finished", "seconds_ago", "rate_per_hour",
    "eta_seconds", "stalled"}``. Stalled: tokens wait or run, and none finished for
    ``stalled_after`` seconds (counted from ``started`` when none ever did)."""
    last = finished.get("last_finished")
    left = (counts or {}).get("todo", 0) + (counts or {}).get("locked", 0)
    rate = finished.get("recent", 0) / window * 3600
    quiet_since = last if last is not None else started
    return {
        "last_finished": last,
        "seconds_ago": None if last is None else max(0.0, now - last),
        "rate_per_hour": rate,
        "eta_seconds": left / rate * 3600 if rate and left else (0 if counts and not left else None),
        "stalled": bool(left) and now - quiet_since > stalled_after,
    }
