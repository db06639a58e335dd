"""Reads of the live campaign page: the subband map, errors by host, completions in time
buckets, and token search.

Built on the public reads of :mod:`tokens_app.selectors` and the gateway's ``iter_view``, so
that they follow wherever the views live. Each read walks one view page by page (memory stays
a page of rows) and is bounded where it needs documents: the error documents are read up to
:data:`ERROR_SCAN_LIMIT` (the host of a failure is in the document only; a host-keyed view would
make this a grouped query).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from django.core.cache import cache

from tokens_app.couch import get_gateway
from tokens_app.design import STATE_NAMES, TOKENS_VIEW
from tokens_app.rendering import EXCERPT_CHARACTERS, excerpt, readable_text
from tokens_app import selectors
from tokens_app.selectors import WALK_PAGE_SIZE, TokenPage

# How long a read shared by everyone watching a campaign is kept (see :func:`shared`): a newer
# one replaces it while the campaign is watched; kept long, so that the next viewer after a
# quiet spell sees the last one at once while a worker makes a new one (as the counts are).
SHARED_READ_SECONDS = 24 * 3600
# The most of the server's time one shared read may take: made again at most every took/share
# seconds (as the counts, tokens_app.counts.SHARE).
READ_SHARE = 0.05
# How long one request may hold the right to re-read before another may try.
READ_BUSY_SECONDS = 60
# Error documents read for the host groups and the error times of the chart.
ERROR_SCAN_LIMIT = 5000
# Rows a search looks through; a search over more asks the operator to narrow it.
SEARCH_SCAN_LIMIT = 50_000
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
CHART_MIN_BUCKETS = 30
# The rate of the estimate is that of the last buckets (a campaign's pace changes as pilots
# come and go; the whole history would hide a stall).
RATE_BUCKETS = 5
# Times later than now by more than this are no finishing time (a pilot's clock or code is
# wrong): the chart leaves them out rather than stretch its axis to them.
CLOCK_SKEW = timedelta(hours=1)
# 9999-12-31 UTC, the last second a datetime holds: a token's time past it is none.
_LATEST_EPOCH = 253_402_300_799


def trailing_number(token_id: str) -> tuple[str, int] | None:
    """``(stem, number)`` of an id ending in digits (``t_x_SB042`` → ``("t_x_SB", 42)``), else
    None. Linear in the id's length: a regular expression over an id of many digits followed
    by a letter backtracks quadratically, and any tool may write such an id."""
    stem = token_id.rstrip(_DIGITS)
    digits = token_id[len(stem):]
    if not digits or len(digits) > MAX_NUMBER_DIGITS:
        return None
    return stem, int(digits)


def token_states(campaign) -> list[tuple[str, str]]:
    """``(token id, state)`` of every token of the campaign, in id order (the ``tokens`` view)."""
    walk = selectors.iter_token_rows(campaign, TOKENS_VIEW, page_size=WALK_PAGE_SIZE, **selectors.PAGE_READ)
    return [(row["id"], row["value"]) for row in walk]


def subband_map(states: list[tuple[str, str]], *, columns: int = MAP_COLUMNS) -> dict:
    """The grid of the map from ``token_states``: tokens whose ids end in a number sit at that
    number's column, in rows of ``columns`` per id stem (``t_T_OBSID_STEP_SB``), so that a gap
    or a failing band shows where it is (a run of empty rows shows as one, labelled where the
    numbers go on); other ids follow in id order.

    ``{"columns", "rows", "prefix", "keys": [id without prefix], "states": "tdle…",
    "cells": [row, column, …], "labels": [[row, text], …]}``: the prefix is shared by every id,
    so the page receives each id once and short.
    """
    numbered: dict[str, list[tuple[int, str, str]]] = {}
    others: list[tuple[str, str]] = []
    for token_id, state in states:
        split = trailing_number(token_id)
        if split:
            numbered.setdefault(split[0], []).append((split[1], token_id, state))
        else:
            others.append((token_id, state))
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


def page_from_map(campaign, grid: dict, view: str, *, page: int, per_page: int) -> TokenPage:
    """Page ``page`` of a state's tokens (or of every token, ``view`` "tokens") from the shared
    map ``grid``, in id order as the view lists them, each row with its document: no view query
    in the request (pouchdb-server holds every query of a view behind its index's update, up to
    a second under load), one request for the page's documents."""
    letter = STATE_LETTERS.get(view)
    prefix = grid["prefix"]
    ids = sorted(prefix + key for key, state in zip(grid["keys"], grid["states"]) if letter is None or state == letter)
    start = (page - 1) * per_page
    chosen = ids[start:start + per_page]
    docs = selectors.tokens_of(campaign, chosen)
    rows = [selectors.with_doc({"id": token_id}, docs) for token_id in chosen]
    return TokenPage(rows=rows, page=page, per_page=per_page, has_next=len(ids) > start + per_page)


def _common_prefix(ids: list[str]) -> str:
    if not ids:
        return ""
    low, high = min(ids), max(ids)
    length = 0
    while length < min(len(low), len(high)) and low[length] == high[length]:
        length += 1
    return low[:length]


@dataclass
class ErrorScan:
    """What the error documents say: failures by host, and when each failed (epoch seconds)."""

    hosts: list[dict] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)
    scanned: int = 0
    complete: bool = True


def error_scan(campaign, *, limit: int = ERROR_SCAN_LIMIT) -> ErrorScan:
    """Read up to ``limit`` error tokens: ``hosts`` ``[{"host", "count", "exit_codes", "searchable"}]``, the
    most failures first (a token without ``hostname`` counts under ``""``)."""
    walk = selectors.iter_token_rows(
        campaign, "error", page_size=WALK_PAGE_SIZE, include_docs=True, cut_deep=True, limit=limit + 1,
        **selectors.PAGE_READ,
    )
    groups: dict[str, dict] = {}
    scan = ErrorScan()
    for row in walk:
        if scan.scanned == limit:
            scan.complete = False
            break
        scan.scanned += 1
        doc = row.get("doc") or {}
        host = readable_text(doc["hostname"]) if isinstance(doc.get("hostname"), str) else ""
        # A host name longer than a cell shows is cut, and is no search link (it would carry it all).
        group = groups.setdefault(host, {"host": host, "count": 0, "exit_codes": set(),
                                         "searchable": len(host) <= EXCERPT_CHARACTERS})
        group["count"] += 1
        group["exit_codes"].add(excerpt(doc.get("exit_code")) or "None")
        moment = _epoch(doc.get("done")) or _epoch(doc.get("lock"))
        if moment:
            scan.finished.append(moment)
    scan.hosts = sorted(
        ({**group, "exit_codes": sorted(group["exit_codes"])} for group in groups.values()),
        key=lambda group: (-group["count"], group["host"]),
    )
    return scan


def _epoch(value) -> float | None:
    """A positive timestamp of a token field (a number, or a decimal string as some tools write);
    None for anything else, ``inf`` and ``1e300`` included."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < _LATEST_EPOCH else None

def done_times(campaign) -> list[float]:
    """When each done token finished (the value of its row in the ``done`` view, which pilots
    and GRID_LRT key by id)."""
    walk = get_gateway().iter_view(
        campaign.database, campaign.token_type, "done", page_size=WALK_PAGE_SIZE, **selectors.PAGE_READ,
    )
    return [moment for row in walk if (moment := _epoch(row["value"]))]


def completion_buckets(done: list[float], errors: list[float], counts: dict, *, now: datetime) -> dict:
    """Done and error per time bucket from the first finish to now, every bucket present (a
    stall is a run of empty buckets), the bucket size chosen from the span; with the recent
    throughput and the time to finish at that rate.

    ``{"size": seconds, "buckets": [{"start", "done", "error"}], "rate_per_hour",
    "eta_seconds"}``; ``buckets`` empty when nothing has finished.
    """
    # Times in the future are left out (``_epoch`` already left out the impossible ones).
    latest = (now + CLOCK_SKEW).timestamp()
    done = [moment for moment in done if moment <= latest]
    errors = [moment for moment in errors if moment <= latest]
    moments = done + errors
    if not moments:
        return {"size": 0, "buckets": [], "rate_per_hour": 0.0, "eta_seconds": None, "rate_window_seconds": 0}
    first = datetime.fromtimestamp(min(moments), UTC)
    end = max(now, datetime.fromtimestamp(max(moments), UTC))
    span = end - first
    size = next((size for size in BUCKET_SIZES if span / size < CHART_MAX_BUCKETS), BUCKET_SIZES[-1])
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
    buckets = [{"start": origin + size * index, "done": 0, "error": 0} for index in range(count)]
    for name, values in (("done", done), ("error", errors)):
        for moment in values:
            index = int((datetime.fromtimestamp(moment, UTC) - origin) / size)
            if 0 <= index < count:
                buckets[index][name] += 1
    recent = buckets[-RATE_BUCKETS:]
    # The current bucket has run only since its start: the rate counts the time really covered.
    covered = (end - recent[0]["start"]).total_seconds() or size.total_seconds()
    finished = sum(bucket["done"] + bucket["error"] for bucket in recent)
    rate = finished / covered * 3600
    left = counts.get("todo", 0) + counts.get("locked", 0)
    eta = left / rate * 3600 if rate and left else (0 if not left else None)
    return {
        "size": int(size.total_seconds()), "buckets": buckets, "rate_per_hour": rate, "eta_seconds": eta,
        "rate_window_seconds": int(size.total_seconds()) * len(recent),
    }


def _floor(moment: datetime, size: timedelta) -> datetime:
    """The start of the bucket of ``moment`` (buckets are aligned on the epoch, UTC)."""
    seconds = int(size.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)


@dataclass
class Search:
    """What the operator searches for: an id part, a subband number, or ``host:NAME``."""

    text: str = ""
    host: str | None = None
    subband: int | None = None

    @classmethod
    def parse(cls, query: str) -> Search:
        query = (query or "").strip()
        if query.lower().startswith("host:") and query[5:].strip():
            return cls(text=query, host=query[5:].strip())
        # ``SB042``, ``sb42`` and ``42`` are the same subband; longer numbers (an OBSID) are
        # looked for in the ids.
        number = re.fullmatch(r"(?i)(?:sb)?(\d{1,4})", query)
        return cls(text=query, subband=int(number.group(1)) if number else None)

    def __bool__(self):
        return bool(self.text)

    def matches(self, token_id: str, doc: dict | None) -> bool:
        if self.host is not None:
            return doc is not None and doc.get("hostname") == self.host
        if self.subband is not None:
            split = trailing_number(token_id)
            return split is not None and split[1] == self.subband
        return self.text.lower() in token_id.lower()


@dataclass
class SearchPage(TokenPage):
    """A page of search results, with how many tokens matched among those looked at."""

    matched: int = 0
    complete: bool = True


def search_tokens(campaign, view: str, search: Search, *, page: int = 1, per_page: int = 25) -> SearchPage:
    """Page ``page`` of the tokens of ``view`` that ``search`` matches, looking through at most
    :data:`SEARCH_SCAN_LIMIT` rows (documents are read only for a host search)."""
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    walk = selectors.iter_token_rows(
        campaign, view, page_size=WALK_PAGE_SIZE, include_docs=search.host is not None, cut_deep=True,
        limit=SEARCH_SCAN_LIMIT + 1, **selectors.PAGE_READ,
    )
    matched, complete = [], True
    for scanned, row in enumerate(walk):
        if scanned == SEARCH_SCAN_LIMIT:
            complete = False
            break
        doc = row.pop("doc", None)
        # Another tool's view may list documents of other types: they are no token of this campaign.
        if doc is not None and doc.get("type") != campaign.token_type:
            continue
        if search.matches(row["id"], doc):
            # Only the row is kept: the page's documents are read below, not every match's.
            matched.append(row)
    start = (page - 1) * per_page
    rows = list(islice(matched, start, start + per_page))
    docs = selectors.tokens_of(campaign, [row["id"] for row in rows])
    result = SearchPage(
        rows=[
            selectors.with_doc(row, docs) for row in rows
        ],
        page=page, per_page=per_page, has_next=len(matched) > start + per_page,
    )
    result.matched, result.complete = len(matched), complete
    return result


def view_sizes(campaign, views: list[str], counts: dict) -> dict[str, int | None]:
    """How many tokens each tab holds: the states from the counts, the others from their view's
    ``total_rows`` (a map view's size, read with ``limit=0``)."""
    gateway = get_gateway()
    sizes: dict[str, int | None] = {}
    for name in views:
        if name in STATE_NAMES:
            sizes[name] = counts.get(name, 0)
        elif name == TOKENS_VIEW:
            sizes[name] = counts.get("total", 0)
        else:
            result = gateway.view(campaign.database, campaign.token_type, name, limit=0, reduce=False,
                                  **selectors.PAGE_READ)
            sizes[name] = result.get("total_rows")
    return sizes


def first_nonempty_view(sizes: dict[str, int | None]) -> str:
    """The tab a campaign page opens on: the first state that has tokens, else every token."""
    return next((state for state in STATE_NAMES if sizes.get(state)), TOKENS_VIEW)


def srmlist_head(campaign, lines: int) -> dict:
    """``{"lines": the first lines, "count": lines in all}`` of the campaign's SRM list, read in
    the database: a list of 20,000 lines is megabytes that no page needs whole."""
    from django.db.models import F, Value
    from django.db.models.functions import Length, Replace, Right, Substr

    from tokens_app.models import CampaignInputs

    # SRM lines are a few hundred characters; this many always holds the first ``lines``.
    head_chars = 1000 * lines
    row = (
        CampaignInputs.objects.filter(campaign_id=campaign.pk)
        .annotate(
            head=Substr("srmlist_text", 1, head_chars),
            newlines=Length("srmlist_text") - Length(Replace(F("srmlist_text"), Value("\n"), Value(""))),
            size=Length("srmlist_text"),
            last=Right("srmlist_text", 1),
        )
        .values("head", "newlines", "size", "last")
        .first()
    )
    if row is None or not row["size"]:
        return {"lines": [], "count": 0}
    head = row["head"].splitlines()[:lines]
    # A last line without a final newline is a line too.
    count = row["newlines"] + (0 if row["last"] == "\n" else 1)
    return {"lines": head, "count": count}


# The reads of a whole campaign, by name: shared by everyone watching, and made again in the
# background by a task worker (:func:`whole_campaign`).
WHOLE_CAMPAIGN_READS = {
    "error_scan": lambda campaign: error_scan(campaign),
    "done_times": lambda campaign: done_times(campaign),
    "error_summary": lambda campaign: selectors.error_summary(campaign),
    "map": lambda campaign: subband_map(token_states(campaign)),
}


def whole_campaign(campaign, name: str, *, at: float | None):
    """One of :data:`WHOLE_CAMPAIGN_READS`, shared as :func:`shared` says, except that a read
    that is due is made by a task worker: the page shows the earlier one (a snapshot or two
    behind) and never waits on a walk that grows with the campaign. None while the first read
    of a campaign is being made (the page says so and asks again); with a backend that runs
    tasks in the request (the immediate one), the request reads."""
    return shared(campaign, name, lambda: WHOLE_CAMPAIGN_READS[name](campaign), at=at, background=True)


def shared(campaign, name: str, read, *, at: float | None, background: bool = False):
    """``read()`` of a campaign (its error documents, finishing times, error groups, every
    token's state for the map, a page of its table), shared by everyone watching through the
    cache: twenty open pages cost CouchDB what one does.

    A read is made again when the database's counts snapshot (``at``, from
    :func:`selectors.counts_state`) is newer than the one it was made under, but not before
    ``took / READ_SHARE`` seconds have passed since it was made: a walk over every token of a
    big campaign runs at most that share of the time, however fast the pilots move the counts
    (the page shows it a little behind the counts meanwhile), unless the portal changed the
    campaign since (:func:`expire`). One request re-reads (or, with ``background``, hands the
    read to a task worker, the first one too: None until it is made); the others show the read
    they have. Without a snapshot yet, read directly."""
    if at is None or campaign.pk is None:
        return read()
    key, expired_key = _read_key(campaign.pk, name), _expired_key(campaign)
    found = cache.get_many([key, expired_key])
    kept, expired = found.get(key), found.get(expired_key, 0)
    if kept is None and not background:
        return _read_and_keep(key, read, at)
    if kept is not None and (kept["at"] == at or (time.time() < kept["next"] and kept["read"] >= expired)):
        return kept["value"]
    shown = kept["value"] if kept is not None else None
    if not cache.add(f"{key}:busy", True, READ_BUSY_SECONDS):
        return shown
    if background and _hand_over(campaign, name, at):
        return shown
    try:
        return _read_and_keep(key, read, at)
    finally:
        cache.delete(f"{key}:busy")


def remake(campaign_id: int, name: str, at: float) -> None:
    """Make the shared read ``name`` of a campaign again (the ``refresh_campaign_read`` task),
    then let the next due request hand it over again."""
    from tokens_app.campaign_selectors import campaign_by_pk

    campaign = campaign_by_pk(campaign_id)
    key = _read_key(campaign_id, name)
    try:
        if campaign is not None and name in WHOLE_CAMPAIGN_READS:
            _read_and_keep(key, lambda: WHOLE_CAMPAIGN_READS[name](campaign), at)
    finally:
        cache.delete(f"{key}:busy")


def renew(campaign, *, at: float) -> None:
    """Make the whole-campaign reads that someone watches (kept in the cache) again now, under
    the counts snapshot ``at`` (after an operation, in the worker that ran it: the pages that
    reload on its end show its result without waiting on a walk)."""
    kept = cache.get_many([_read_key(campaign.pk, name) for name in WHOLE_CAMPAIGN_READS])
    for name, read in WHOLE_CAMPAIGN_READS.items():
        if _read_key(campaign.pk, name) in kept:
            _read_and_keep(_read_key(campaign.pk, name), lambda: read(campaign), at)


def _read_and_keep(key: str, read, at: float):
    started, now = time.monotonic(), time.time()
    value = read()
    took = time.monotonic() - started
    cache.set(key, {"value": value, "at": at, "read": now, "next": now + took / READ_SHARE}, SHARED_READ_SECONDS)
    return value


def _hand_over(campaign, name: str, at: float) -> bool:
    """Queue the read for a task worker; False with a backend that would run it inside this
    request (the immediate one: tests and single-process setups read inline instead)."""
    from tokens_app.tasks import refresh_campaign_read, runs_apart

    if not runs_apart(refresh_campaign_read):
        return False
    refresh_campaign_read.enqueue(campaign.pk, name, at)
    return True


def _read_key(campaign_id: int, name: str) -> str:
    return f"tokenportal:reads:{name}:{campaign_id}"


def expire(campaign) -> None:
    """Make the campaign's shared reads due with the next counts snapshot, whatever they cost
    (after the portal changed its tokens: an operator sees the change at once)."""
    cache.set(_expired_key(campaign), time.time(), SHARED_READ_SECONDS)


def _expired_key(campaign) -> str:
    return f"tokenportal:reads:expired:{campaign.pk}"
