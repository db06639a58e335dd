"""What pages show of the tokens, read from the read model (:class:`~tokens_app.read_models.TokenRow`).

Nothing here asks CouchDB: the ``_changes`` follower and the portal's own writes keep the rows,
and a page reads them inside :func:`one_snapshot`, so its counts, tabs, tables, errors and chart
are of the same moment and add up. How far that moment is behind CouchDB is :func:`lag_of`.
Selectors take anything with ``database`` and ``token_type`` (a Campaign or a TokenSet).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Case, Count, F, Max, Min, Q, When
from django.db.models.functions import Floor

from .design import STATE_NAMES
from .read_models import ChangesCheckpoint, DesignRow, FollowerLease, TokenRow
from .couch.paths import addressable
from .rendering import EXCERPT_CHARACTERS, readable_text
from .tokensets import TokenSet

# Matches a search looks through at most before asking the operator to narrow it.
SEARCH_LIMIT = 50_000
# A finishing time this far past now is a pilot's wrong clock, not the campaign's last finish.
CLOCK_SKEW = 3600
# Error tokens' hosts and exit codes grouped at most: a page lists the worst first.
ERROR_GROUPS_SHOWN = 200


@contextmanager
def one_snapshot():
    """Every read inside sees the rows as of one moment: a follower batch recorded meanwhile
    shows in none of them or in all (SQLite's read transaction; PostgreSQL's repeatable read)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _rows(token_set):
    return TokenRow.objects.filter(database=token_set.database, token_type=token_set.token_type)


def _rows_of_sets(token_sets):
    """The rows of many token sets, and of other types in their databases, which the callers
    pass over: one range of the index a database (an OR of every (database, type) pair makes
    SQLite search and sort once a campaign)."""
    return TokenRow.objects.filter(database__in={token_set.database for token_set in token_sets},
                                   token_type__in={token_set.token_type for token_set in token_sets})


def zero_counts() -> dict:
    return {**dict.fromkeys(STATE_NAMES, 0), "total": 0}


def counts_many(items: Iterable) -> dict[TokenSet, dict | None]:
    """``{token set: {"todo", "locked", "done", "error", "total"}}`` of many campaigns or token
    sets in one grouped query; None for a set whose database the follower has not read yet."""
    token_sets = {item.token_set for item in items}
    databases = {token_set.database for token_set in token_sets}
    followed = set(ChangesCheckpoint.objects.filter(database__in=databases).values_list("database", flat=True))
    counts = {token_set: zero_counts() if token_set.database in followed else None for token_set in token_sets}
    if not counts:
        return counts
    grouped = _rows_of_sets(counts).values_list("database", "token_type", "state").annotate(n=Count("id"))
    for database, token_type, state, number in grouped.order_by():
        found = counts.get(TokenSet(database=database, token_type=token_type))
        if found is not None and state in found:
            found[state] = number
            found["total"] += number
    return counts


def activity_many(items, *, now: float, window: float) -> dict[TokenSet, dict]:
    """``{token set: {"last_finished": epoch | None, "recent": n}}``: when the set's last token
    finished (done or failed) and how many finished in the ``window`` seconds before ``now``,
    for many sets in one grouped query."""
    token_sets = {item.token_set for item in items}
    activity = {token_set: {"last_finished": None, "recent": 0} for token_set in token_sets}
    if not activity:
        return activity
    finished = _rows_of_sets(activity).filter(finished__isnull=False, finished__lte=now + CLOCK_SKEW)
    grouped = finished.values_list("database", "token_type").annotate(
        last=Max("finished"), recent=Count("id", filter=Q(finished__gt=now - window)),
    )
    for database, token_type, last, recent in grouped.order_by():
        found = activity.get(TokenSet(database=database, token_type=token_type))
        if found is not None:
            found.update(last_finished=last, recent=recent)
    return activity


def counts_of(item) -> dict | None:
    return counts_many([item])[item.token_set]


def design_of(token_set) -> DesignRow | None:
    """The read model's row of the set's ``_design/<type>``: its extra tabs and the portal's
    record of views it put back; None when there is none (:func:`lag_of` says whether the
    database has been read at all)."""
    return DesignRow.objects.filter(database=token_set.database, name=token_set.token_type).first()


def token_designs() -> list[dict]:
    """``[{"database", "token_type", "counted_type"}]``: every token design document of the
    followed databases (the follower follows every database holding one), by database and name."""
    rows = DesignRow.objects.filter(counted_type__isnull=False).order_by("database", "name")
    return [{"database": database, "token_type": name, "counted_type": counted}
            for database, name, counted in rows.values_list("database", "name", "counted_type")]


def discovery_problem() -> str:
    """Why the follower could not look for other tools' design documents last time ("" if it could)."""
    return FollowerLease.objects.filter(discovery_problem__gt="").values_list("discovery_problem", flat=True).first() or ""


def lag_of(database: str) -> dict:
    """``{"followed", "pending", "at", "age"}``: whether the follower has read the database, the
    changes CouchDB had after its checkpoint when last read, and when that was."""
    checkpoint = ChangesCheckpoint.objects.filter(database=database).first()
    if checkpoint is None:
        return {"followed": False, "pending": None, "at": None, "age": None}
    at = checkpoint.updated_at.timestamp()
    return {"followed": True, "pending": checkpoint.pending, "at": at, "age": max(0.0, time.time() - at)}


def signature_of(token_set, counts: dict | None) -> str:
    """What changes whenever anything a page shows of the set (whose ``counts`` these are) may
    have changed: the counts, or anything the follower read since."""
    checkpoint = ChangesCheckpoint.objects.filter(database=token_set.database).values_list("seq", flat=True).first()
    return hashlib.sha256(f"{checkpoint}|{json.dumps(counts)}".encode()).hexdigest()[:16]


@dataclass
class TokenPage:
    """One page of rows ``{"id", "state", "linked", "doc": {status, hostname, …}}`` in id order."""

    rows: list[dict]
    page: int
    per_page: int
    has_next: bool
    matched: int = 0
    complete: bool = True
    has_previous: bool = field(init=False)
    # The keys of the first and last row: the previous and next pages start from them (keyset
    # pages); None where the rows are CouchDB's (another tool's view), paged by number.
    first_key: str | None = None
    last_key: str | None = None

    def __post_init__(self):
        self.has_previous = self.page > 1

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.has_next else None

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.has_previous else None


def shown_row(row: TokenRow) -> dict:
    """A row as the token table shows it."""
    token_id = row.token_id
    return {
        "id": readable_text(token_id),
        "state": row.state,
        "linked": addressable(token_id),
        "doc": {
            "status": row.status or None, "hostname": row.hostname or None, "scrub_count": row.scrub_count,
            "exit_code": row.exit_code, "output": row.output, "lock": row.lock, "done": row.done,
            "finished": row.finished,
        },
    }


def _listed(token_set, state: str | None, search: Search | None):
    rows = _rows(token_set)
    if state is not None:
        rows = rows.filter(state=state)
    return search.filter(rows) if search else rows


def iter_tokens(token_set, state: str | None, *, search: Search | None = None) -> Iterator[dict]:
    """Every token of a tab (or of a search) as the table shows it, in id order, read in chunks."""
    for row in _listed(token_set, state, search).order_by(*ID_ORDER).iterator(chunk_size=2000):
        shown = shown_row(row)
        yield {"id": shown["id"], "state": row.state, **shown["doc"]}


# The token table's orders besides CouchDB's id order (``id``), by their name in the page's
# query: the longest-locked first, the last finished first, by host, by exit code, the most
# scrubbed first; ties in id order.
ID_ORDER = ("sort_key", "id_hash")
TABLE_ORDERS = {
    "id": ID_ORDER,
    # ``lock`` 0 is a token never claimed: last, with those without one.
    "locked": (Case(When(lock__gt=0, then=F("lock"))).asc(nulls_last=True), *ID_ORDER),
    "finished": (F("finished").desc(nulls_last=True), *ID_ORDER),
    "host": ("hostname", *ID_ORDER),
    "exit_code": (F("exit_code").asc(nulls_last=True), *ID_ORDER),
    "scrubs": (F("scrub_count").desc(nulls_last=True), *ID_ORDER),
}


def token_page(token_set, state: str | None, *, page: int = 1, per_page: int = 25, search: Search | None = None,
               after: str | None = None, before: str | None = None, order: str = "id") -> TokenPage:
    """Page ``page`` of the set's tokens in ``state`` (every token for None) in ``order`` (one of
    TABLE_ORDERS), that ``search`` matches (every state when it asks for none). In id order,
    ``after`` (``before``) is the key of the row the page follows (precedes): the next (previous)
    page is read from the index where that row is, however deep; otherwise ``page`` is counted
    from the start."""
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    rows = _listed(token_set, state, search)
    cursor = (after or before) if order == "id" else None
    key = _rows(token_set).filter(id_hash=cursor).values_list("sort_key", "id_hash").first() if cursor else None
    if key is not None and after:
        chosen = list(rows.filter(sort_key__gte=key[0]).exclude(sort_key=key[0], id_hash__lte=key[1])
                      .order_by(*ID_ORDER)[:per_page + 1])
        # A page after a row is the second at least, whatever page the address says.
        result = _page_of(chosen[:per_page], max(page, 2), per_page, has_next=len(chosen) > per_page)
    elif key is not None:
        chosen = list(rows.filter(sort_key__lte=key[0]).exclude(sort_key=key[0], id_hash__gte=key[1])
                      .order_by("-sort_key", "-id_hash")[:per_page + 1])
        # The first page, wherever the operator thought they were.
        page = page if len(chosen) > per_page else 1
        result = _page_of(chosen[:per_page][::-1], page, per_page, has_next=True)
    else:
        # A page asked for by number (or from a row deleted since): the index is walked to it.
        start = (page - 1) * per_page
        chosen = list(rows.order_by(*TABLE_ORDERS[order])[start:start + per_page + 1])
        result = _page_of(chosen[:per_page], page, per_page, has_next=len(chosen) > per_page)
        if order != "id":
            # Keys of another order would not say where its next page starts: pages by number.
            result.first_key = result.last_key = None
    if search:
        result.matched = rows[:SEARCH_LIMIT + 1].count()
        result.complete = result.matched <= SEARCH_LIMIT
        result.matched = min(result.matched, SEARCH_LIMIT)
    return result


def _page_of(rows: list[TokenRow], page: int, per_page: int, *, has_next: bool) -> TokenPage:
    return TokenPage(
        rows=[shown_row(row) for row in rows], page=page, per_page=per_page, has_next=has_next,
        first_key=rows[0].id_hash if rows else None, last_key=rows[-1].id_hash if rows else None,
    )


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

    def filter(self, rows):
        if self.host is not None:
            return rows.filter(hostname=self.host)
        if self.subband is not None:
            return rows.filter(subband=self.subband)
        return rows.filter(doc_id__icontains=self.text)


def token_states(token_set) -> Iterator[tuple[str, str, int | None]]:
    """``(token id, state, the number it ends in)`` of every token of the set, in id order (for
    the subband map)."""
    return _rows(token_set).order_by(*ID_ORDER).values_list("doc_id", "state", "subband").iterator(chunk_size=5000)


def error_groups(token_set) -> list[dict]:
    """Error tokens grouped by ``(exit_code, output, status)``, the largest group first."""
    grouped = (
        _rows(token_set).filter(state="error").values("exit_code", "output", "status")
        .annotate(count=Count("id")).order_by("-count", "exit_code")[:ERROR_GROUPS_SHOWN]
    )
    return [{**group, "status": group["status"] or None} for group in grouped]


def errors_by_host(token_set) -> list[dict]:
    """``[{"host", "count", "exit_codes", "searchable"}]`` of the error tokens, the most first (a
    token without ``hostname`` counts under "")."""
    groups: dict[str, dict] = {}
    pairs = _rows(token_set).filter(state="error").values_list("hostname", "exit_code").annotate(n=Count("id"))
    for host, exit_code, number in pairs.order_by():
        group = groups.setdefault(host, {"host": host, "count": 0, "exit_codes": set(),
                                         "searchable": len(host) <= EXCERPT_CHARACTERS})
        group["count"] += number
        group["exit_codes"].add(exit_code if exit_code is not None else "None")
    hosts = sorted(groups.values(), key=lambda group: (-group["count"], group["host"]))[:ERROR_GROUPS_SHOWN]
    return [{**group, "exit_codes": sorted(group["exit_codes"])} for group in hosts]


def _finished(token_set):
    """The set's done and error rows that have a finishing time (``token_rows.finished_of``)."""
    return _rows(token_set).filter(finished__isnull=False)


def finishing_span(token_set, *, latest: float) -> tuple[float, float] | None:
    """``(first, last)`` finishing moment of the set no later than ``latest`` (None when
    nothing finished)."""
    span = _finished(token_set).filter(finished__lte=latest).aggregate(first=Min("finished"), last=Max("finished"))
    return None if span["first"] is None else (span["first"], span["last"])


def finished_per_bucket(token_set, *, origin: float, size: float, count: int) -> dict[int, dict[str, int]]:
    """``{bucket index: {"done": n, "error": n}}`` of the tokens finished in each of ``count``
    buckets of ``size`` seconds from ``origin`` (empty buckets absent), counted by the database."""
    end = origin + size * count
    grouped = (
        _finished(token_set).filter(finished__gte=origin, finished__lt=end)
        .annotate(bucket=Floor((F("finished") - origin) / size)).values_list("bucket", "state")
        .annotate(n=Count("id")).order_by()
    )
    buckets: dict[int, dict[str, int]] = {}
    for bucket, state, number in grouped:
        if 0 <= bucket < count:
            buckets.setdefault(int(bucket), {"done": 0, "error": 0})[state] += number
    return buckets


def finished_between(token_set, start: float, end: float) -> int:
    """How many of the set's tokens finished after ``start`` and no later than ``end``."""
    return _finished(token_set).filter(finished__gt=start, finished__lte=end).count()


def finished_per_host(token_set, start: float, end: float) -> list[dict]:
    """``[{"host", "done", "error"}]`` of the tokens finished from ``start`` until before ``end``
    (the chart's buckets' span), the busiest host first (a token without ``hostname`` counts
    under "")."""
    grouped = (
        _finished(token_set).filter(finished__gte=start, finished__lt=end).values("hostname")
        .annotate(done=Count("id", filter=Q(state="done")), error=Count("id", filter=Q(state="error")))
        .order_by()
    )
    hosts = sorted(grouped, key=lambda group: (-group["done"] - group["error"], group["hostname"]))
    return [{"host": group["hostname"], "done": group["done"], "error": group["error"]}
            for group in hosts[:ERROR_GROUPS_SHOWN]]
