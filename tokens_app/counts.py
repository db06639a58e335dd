"""Shared count snapshots: the counts of every campaign of a database, refreshed at most once
per interval whatever the number of open dashboards, campaign pages and pollers.

A snapshot is one grouped query of ``_design/tokenportal/_view/states`` (``group_level=2``: one
row per type and state) plus the database's ``update_seq``, kept in Django's cache (shared by
every process: the default cache is the database cache) as::

    {"database", "counts": {type: {"todo", "locked", "done", "error", "total"}}, "at", "started", "took",
     "interval", "checked", "view_seq", "db_seq", "indexing": {"done", "total"} | None, "error",
     "restored": {type: [views]}}

``at`` is when the counts were read (None: never), ``started`` when that count began,
``checked`` the last attempt (0: due, as after the portal's own writes, :func:`expire`).

Reading never waits on CouchDB longer than :data:`INLINE_TIMEOUT`, and in steady state not at
all: a snapshot that is due is handed by the one request that wins ``cache.add`` of the
database's refresh lock to the ``refresh_counts`` task, which a task worker runs with the full
``COUCHDB_TIMEOUT``; every request meanwhile shows the snapshot there is, with its age (a count
over a big database takes pouchdb-server seconds: it reduces every row on each read). Only a
database never counted yet, or a backend that runs tasks inside the request (the immediate one:
tests, single-process setups), is counted by the request itself, its requests sharing one
second; a query slower than that is handed over the same way, and while an index is being built
the page says "indexing N of M" (the server goes on with the build the timed-out query started).
With no worker to hand it to (the immediate backend), a database whose index is current but whose
count is slow (a big one on pouchdb-server) is counted by the request with the full timeout, once
a quick read of the index (bounded by a second of its own) found it current.

Why not ``stale=update_after`` (CouchDB 3's ``update=lazy``)? pouchdb-server takes it, but queues
every query of a view behind that view's running build (pouchdb-abstract-mapreduce's per-view
task queue), so a stale read waits exactly as long as a fresh one while an index is built; and
on an index that is merely behind it answers the counts from before the portal's own last write
(a campaign just created would show 0 tokens). A fresh read bounded by the timeout gives the same
guarantee (no page waits longer than the timeout) with exact counts whenever they are cheap.
Writes through the portal expire the snapshot (:func:`expire`), so its own changes show at once. The interval is :data:`BASE_INTERVAL`, or 1/:data:`SHARE`
times the query's duration when that is longer, so counting takes at most that share of the
server's time; a query that timed out doubles it (up to :data:`MAX_INTERVAL`).

N of M is CouchDB's own index progress where ``_active_tasks`` shows it (Apache CouchDB, server
admins); pouchdb-server keeps no active tasks, so N is the ``update_seq`` of the index as last
answered and M the database's ``update_seq``.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from tokens_app.couch import CouchError, CouchTimeout, get_gateway
from tokens_app.design import PORTAL_DESIGN, STATE_NAMES, STATES_VIEW
from tokens_app.pools import concurrently

BASE_INTERVAL = 5.0
MAX_INTERVAL = 300.0
# The most of the server's time the counts may take: a refresh every took/SHARE seconds.
SHARE = 0.05
INLINE_TIMEOUT = 1.0
# An index further behind the database than this many changes is shown as being built.
INDEXING_LAG = 100
# How long a snapshot is kept: old counts with their age beat no counts.
KEEP_SECONDS = 7 * 24 * 3600


def _key(kind: str, database: str) -> str:
    # Database names may hold characters memcached refuses in a key: hash them. "z": a full
    # database cache deletes its lowest keys first, and the counts every page needs sort after
    # every other key of the portal (sign-in slots, shared reads), whatever their number.
    return f"tokenportal:zcounts:{kind}:{hashlib.sha256(database.encode()).hexdigest()[:32]}"


def cached(database: str) -> dict | None:
    """The database's snapshot as it is in the cache (no refresh)."""
    return cache.get(_key("snapshot", database))


def snapshots(databases) -> dict[str, dict | None]:
    """The snapshot of each database, those that are due refreshed first (side by side) unless
    another request is at it. The cache and the ORM are used from this thread only; the threads
    talk to CouchDB alone."""
    databases = sorted(set(databases))
    current = {database: cached(database) for database in databases}
    due = [
        database for database in databases
        if (current[database] is None or time.time() - current[database]["checked"] >= current[database]["interval"])
        and cache.add(_key("lock", database), time.time(),
                      timeout=(current[database] or {}).get("interval") or BASE_INTERVAL)
    ]
    # Counted before: a worker counts again while everyone shows what there is.
    inline = [database for database in due if (current[database] or {}).get("at") is None or not _hand_over(database)]
    if not inline:
        return current
    types = _campaign_types(inline)
    fresh = concurrently(
        lambda database: count(database, types.get(database, set()), timeout=INLINE_TIMEOUT,
                               previous=current[database]),
        inline,
    )
    for database, snap in zip(inline, fresh):
        if snap.get("timed_out") and not _hand_over(database):
            snap = _count_unless_indexing(database, types.get(database, set()), snap)
        _store(database, snap)
        current[database] = snap
    return current


def _count_unless_indexing(database: str, campaign_types: set[str], snap: dict) -> dict:
    """A count that timed out in a request with no worker to hand it to (the immediate backend
    runs tasks in the request): made here with the full timeout when the index is current (a big
    database on pouchdb-server, which reduces on every read), or it would never be made; an index
    being built is never waited for. The probe gets a second of its own: on pouchdb-server even
    that cheap read of a current index of 20,000 tokens can take longer than a quarter of one,
    and a probe that timed out would leave such a database "indexing" for ever. Such a request
    may so wait two seconds while an index is built; with a worker, as deployed, no probe is
    made."""
    if snap["indexing"] is None:
        # Current as last answered: no probe needed.
        return count(database, campaign_types, previous=snap)
    view_seq = _index_seq(database, INLINE_TIMEOUT)
    if view_seq is None:
        # Queued behind the build too: the progress count() read stands.
        return snap
    if snap["db_seq"] is not None and snap["db_seq"] - view_seq <= INDEXING_LAG:
        return count(database, campaign_types, previous=snap)
    return {**snap, "view_seq": view_seq, "indexing": _progress(database, view_seq, snap["db_seq"])}


def snapshot(database: str) -> dict | None:
    """The database's snapshot, refreshed first if it is due and no other request is at it."""
    return snapshots([database])[database]


def refresh(database: str) -> dict:
    """Count every campaign of ``database`` now, with the full CouchDB timeout, and store the
    snapshot (the ``refresh_counts`` task)."""
    snap = count(database, _campaign_types([database]).get(database, set()), previous=cached(database))
    _store(database, snap)
    return snap


def refresh_type(database: str, token_type: str) -> dict:
    """Count one type of ``database`` again into the database's snapshot, the rest as it was
    (after an operation on that campaign, by the runner: a query of that type's rows only, so
    its cost does not grow with the other campaigns of the database). A database never counted
    is counted whole. The snapshot keeps its ``at``: the other campaigns' shared reads stay
    current."""
    current = cached(database)
    if current is None or current.get("at") is None:
        return refresh(database)
    started = time.time()
    result = get_gateway().view(database, PORTAL_DESIGN, STATES_VIEW, group_level=2,
                                startkey=[token_type], endkey=[token_type, {}])
    fresh = counts_by_type(result["rows"]).get(token_type) or {**dict.fromkeys(STATE_NAMES, 0), "total": 0}
    snap = {**current, "counts": {**current["counts"], token_type: fresh}, "started": started}
    _store(database, snap)
    return snap


def count(database: str, campaign_types: set[str], *, timeout: float | None = None,
          previous: dict | None = None) -> dict:
    """A new snapshot of ``database`` (CouchDB only: safe in a worker thread).

    On the way, the database is brought to the design-document layout (the portal's design
    document written when missing, version one's ``_design/<type>`` of ``campaign_types``
    migrated, views another tool replaced restored; see
    :func:`tokens_app.services.layout.ensure_layout`). A query slower than ``timeout`` leaves
    the previous counts with ``timed_out`` set and the index progress.
    """
    from tokens_app.services import layout

    gateway = get_gateway()
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    previous = previous or {}
    base = {
        "database": database, "started": time.time(), "counts": previous.get("counts", {}), "at": previous.get("at"),
        "view_seq": previous.get("view_seq"), "db_seq": previous.get("db_seq"),
        "restored": previous.get("restored", {}), "indexing": None, "error": None, "timed_out": False,
    }
    try:
        base["db_seq"] = seq_number(gateway.database_info(database, timeout=_left(deadline))["update_seq"])
        restored = layout.ensure_layout(database, gateway.design_docs(database), campaign_types)
        base["restored"] = {**base["restored"], **restored}
        result = gateway.view(database, PORTAL_DESIGN, STATES_VIEW, group_level=2, update_seq=True,
                              timeout=_left(deadline))
    except CouchTimeout:
        # Slow because the index is being built, or (pouchdb-server, which reduces on every read)
        # because the database is big and its index current; with the index's last known
        # update_seq (none yet: assumed building) only the first is shown as "indexing".
        behind = base["view_seq"] is None or base["db_seq"] is None or base["db_seq"] - base["view_seq"] > INDEXING_LAG
        return {**base, "took": time.monotonic() - started, "timed_out": True,
                "interval": min(MAX_INTERVAL, 2 * (previous.get("interval") or BASE_INTERVAL)),
                "indexing": _progress(database, base["view_seq"], base["db_seq"]) if behind else None}
    except CouchError as exc:
        return {**base, "took": time.monotonic() - started, "interval": BASE_INTERVAL, "error": str(exc)}
    took = time.monotonic() - started
    snap = {
        **base, "counts": counts_by_type(result["rows"]), "at": time.time(), "took": took,
        "interval": min(MAX_INTERVAL, max(BASE_INTERVAL, took / SHARE)),
        "view_seq": seq_number(result.get("update_seq")),
    }
    if snap["view_seq"] is not None and snap["db_seq"] is not None and snap["db_seq"] - snap["view_seq"] > INDEXING_LAG:
        snap["indexing"] = _progress(database, snap["view_seq"], snap["db_seq"])
    return snap


def _left(deadline: float | None) -> float | None:
    """The timeout of the next request of a count that must end by ``deadline`` (None: the
    gateway's own): the requests of one count share the request's second, not one each."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise CouchTimeout("the count's time ran out before its next request")
    return left


def _index_seq(database: str, timeout: float | None) -> int | None:
    """The ``update_seq`` of the states index, read without reducing (cheap on a current index;
    a query queued behind a running build times out): None when it does not answer in time."""
    try:
        result = get_gateway().view(database, PORTAL_DESIGN, STATES_VIEW, reduce=False, limit=0,
                                    update_seq=True, timeout=timeout)
    except CouchError:
        return None
    return seq_number(result.get("update_seq"))


def expire(database: str) -> None:
    """Make the database's snapshot due, so the next read counts again (after the portal changed
    tokens: its own writes show at once, not an interval later)."""
    cache.set(_key("expired", database), time.time(), timeout=KEEP_SECONDS)
    current = cached(database)
    if current is not None:
        cache.set(_key("snapshot", database), {**current, "checked": 0}, timeout=KEEP_SECONDS)
        cache.delete(_key("lock", database))


def counts_by_type(rows: list[dict]) -> dict[str, dict]:
    """``{type: {"todo", "locked", "done", "error", "total"}}`` from rows keyed ``[type, state]``."""
    counts: dict[str, dict] = {}
    for row in rows:
        token_type, state = row["key"][:2]
        if state in STATE_NAMES:
            counts.setdefault(token_type, dict.fromkeys(STATE_NAMES, 0))[state] = row["value"]
    for type_counts in counts.values():
        type_counts["total"] = sum(type_counts[state] for state in STATE_NAMES)
    return counts


def counts_of(snap: dict | None, token_type: str) -> dict | None:
    """One type's counts in a snapshot (zeros for a type without tokens); None when the
    database was never counted (unreachable, missing, or its index not built yet)."""
    if snap is None or snap.get("at") is None:
        return None
    return snap["counts"].get(token_type) or {**dict.fromkeys(STATE_NAMES, 0), "total": 0}


def seq_number(seq) -> int | None:
    """The number of a sequence: pouchdb-server's are integers, CouchDB's ``"<n>-<opaque>"``."""
    if isinstance(seq, int):
        return seq
    if isinstance(seq, str) and seq.split("-", 1)[0].isdigit():
        return int(seq.split("-", 1)[0])
    return None


def _progress(database: str, view_seq: int | None, db_seq: int | None) -> dict:
    """``{"done", "total"}`` of the index build: CouchDB's own figures where it shows them."""
    try:
        tasks = get_gateway().active_tasks()
    except CouchError:
        tasks = []
    builds = [
        task for task in tasks
        if task.get("type") == "indexer" and task.get("design_document") == f"_design/{PORTAL_DESIGN}"
        and str(task.get("database", "")).rsplit("/", 1)[-1].split(".", 1)[0] == database
    ]
    if builds:
        return {"done": sum(task.get("changes_done", 0) for task in builds),
                "total": sum(task.get("total_changes", 0) for task in builds)}
    return {"done": view_seq or 0, "total": db_seq}


def _store(database: str, snap: dict) -> None:
    snap["checked"] = time.time()
    # A count under way while the portal wrote may have read the index before those writes: it
    # is kept, but due at once (else the portal's own change shows an interval late).
    if snap.get("started", 0) <= (cache.get(_key("expired", database)) or 0):
        snap["checked"] = 0
        cache.delete(_key("lock", database))
    cache.set(_key("snapshot", database), snap, timeout=KEEP_SECONDS)


def _hand_over(database: str) -> bool:
    """Queue the refresh for a task worker; never with a backend that runs tasks inside the
    request (the immediate one, used by tests and single-process setups): that would make this
    request wait for the full query, which is what the hand-over avoids. True when queued."""
    from tokens_app.tasks import refresh_counts

    if not _worker_counts():
        return False
    refresh_counts.enqueue(database)
    return True


def _worker_counts() -> bool:
    from tokens_app.tasks import refresh_counts, runs_apart

    return runs_apart(refresh_counts)


def _campaign_types(databases: list[str]) -> dict[str, set[str]]:
    """The token types of the portal's campaigns in each database (one query)."""
    from tokens_app.campaign_selectors import known_token_sets

    types: dict[str, set[str]] = {}
    for database, token_type in known_token_sets(databases):
        types.setdefault(database, set()).add(token_type)
    return types
