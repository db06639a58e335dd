"""Counting: ``overview_counts`` vs the raw grouped view query, and the requests of the dashboard.

A campaign of N tokens (70 % todo, 10 % locked, 15 % done, 5 % error) is written with raw
``_bulk_docs`` beside the portal's design documents, and the portal's ``states`` index (keyed by
type first, one per database) is built by one query before anything is timed. Then
``overview_counts`` and the same grouped query of that index sent with a plain ``requests``
session alternate, and the medians are compared; so do the dashboard's count of the whole
database (``tokens_app.counts.refresh``: one grouped query for every campaign in it) and the raw
grouped query of the whole index.

The dashboard counts many campaigns with ``overview_counts_many``; every HTTP request the
process sends while it runs is counted (``requests.Session.send`` wrapped), for 20 campaigns of
a few tokens and 20 of many more, to show the number does not follow the token count.
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import time

import requests

from .environment import couch_server, raw_session
from .report import Table, ratio
from .timing import seconds, timed

RAW_TARGET = 1.2
WRITE_BATCH = 2_000
STATE_MIX = ((70, "todo"), (10, "locked"), (15, "done"), (5, "error"))


def token_doc(token_type: str, number: int) -> dict:
    """A token in the state the mix gives ``number``; the fields pilots would have written."""
    bucket, state = number % 100, "todo"
    for share, name in STATE_MIX:
        if bucket < share:
            state = name
            break
        bucket -= share
    now = int(time.time())
    doc = {"_id": f"t_{token_type}_L229507_SB{number:06d}", "type": token_type, "lock": 0, "done": 0,
           "hostname": "", "scrub_count": 0, "output": "", "status": "todo", "created": now,
           "OBSID": "L229507", "STARTSB": f"{number:03d}"}
    if state != "todo":
        doc.update(lock=now - 3600, hostname="wn-01.grid.example", status="running")
    if state == "done":
        doc.update(done=now - 60, status="done", output=0)
    if state == "error":
        doc.update(status="error", exit_code=1, output=1)
    return doc


def populate(gateway, database: str, token_type: str, count: int) -> None:
    """``count`` tokens and the portal's design documents in a new database; the index built."""
    from tokens_app.design import PORTAL_DESIGN, STATES_VIEW
    from tokens_app.services import ensure_design_doc

    gateway.create_database(database)
    ensure_design_doc(database, token_type)
    for start in range(0, count, WRITE_BATCH):
        results = gateway.bulk_docs(database, [token_doc(token_type, n) for n in range(start, min(count, start + WRITE_BATCH))])
        if any("error" in result for result in results):
            raise RuntimeError(f"could not write the tokens of {database}")
    gateway.view(database, PORTAL_DESIGN, STATES_VIEW, group_level=2, limit=0, timeout=3600)


@contextlib.contextmanager
def counted_requests():
    """Count every HTTP request this process sends meanwhile, by method and last path part."""
    counts: collections.Counter = collections.Counter()
    lock = threading.Lock()
    original = requests.Session.send

    def send(self, request, **kwargs):
        path = request.path_url.split("?")[0]
        with lock:
            counts[f"{request.method} {path.rsplit('/', 1)[-1] or '/'}"] += 1
        return original(self, request, **kwargs)

    requests.Session.send = send
    try:
        yield counts
    finally:
        requests.Session.send = original


def run(workdir, *, sizes: list[int], campaign_sizes: list[int], repeat: int, campaigns: int = 20) -> Table:
    from tokens_app.couch import get_gateway

    table = Table("Counting: overview counts vs the raw grouped view query")
    with couch_server(workdir) as server:
        gateway = get_gateway()
        session = raw_session(server)
        for size in sizes:
            time_one_campaign(table, gateway, server, session, size, repeat)
        requests_by_size = {
            size: count_dashboard(table, gateway, server, session, size, campaigns) for size in campaign_sizes
        }
        independent = len(set(requests_by_size.values())) == 1
        table.add("dashboard requests independent of token count",
                  " vs ".join(f"{count} at {size:,}" for size, count in requests_by_size.items()),
                  target="equal", met=independent)
    table.notes.append(
        f"Medians of {repeat} alternating runs (who goes first changes every round) after one warm-up query that builds the index; the raw query is "
        "GET …/_design/tokenportal/_view/states?group_level=2 (one type's key range, or the whole database) "
        "with a plain cookie-session requests.Session."
    )
    table.notes.append(
        "pouchdb-server does not keep reduce values in its index: every grouped query re-reduces the whole "
        "view, so both figures grow with the campaign there (Apache CouchDB answers from stored reductions)."
    )
    return table


def states_url(server, database: str) -> str:
    """The URL of the portal's ``states`` view of ``database``, for the raw queries."""
    from tokens_app.couch import couch_url, view_path
    from tokens_app.design import PORTAL_DESIGN, STATES_VIEW

    return couch_url(server.url, view_path(database, PORTAL_DESIGN, STATES_VIEW))


def one_type(token_type: str) -> dict:
    """The raw query's parameters for one type's key range of the ``states`` view."""
    return {"group_level": "2", "startkey": json.dumps([token_type]), "endkey": json.dumps([token_type, {}])}


def time_one_campaign(table: Table, gateway, server, session, size: int, repeat: int) -> None:
    """Rows for a campaign of ``size`` tokens: ``overview_counts`` and the count of its whole
    database, each against its raw grouped query (medians of ``repeat`` alternating runs)."""
    from tokens_app import counts as shared_counts
    from tokens_app.models import Campaign
    from tokens_app.selectors import overview_counts

    database, token_type = f"count_{size}", f"count{size}"
    build, _ = timed(lambda: populate(gateway, database, token_type, size))
    campaign = Campaign.objects.create(database=database, token_type=token_type, token_count=size,
                                       status=Campaign.Status.READY)
    expected = overview_counts(campaign)
    if expected["total"] != size:
        raise RuntimeError(f"overview_counts found {expected['total']} of {size} tokens")
    pairs = (
        (lambda: overview_counts(campaign),
         lambda: session.get(states_url(server, database), params=one_type(token_type)).raise_for_status()),
        (lambda: shared_counts.refresh(database),
         lambda: session.get(states_url(server, database), params={"group_level": "2"}).raise_for_status()),
    )
    times = [([], []), ([], [])]
    for round_number in range(repeat):
        for (mine, theirs), (my_times, their_times) in zip(pairs, times):
            # Who goes first changes every round: pouchdb-server's pauses (its garbage collector
            # after a 100,000-row reduce) otherwise fall on the same side each time (1.24× in one
            # run, 0.87× in the one before, for what is the same query).
            order = ((mine, my_times), (theirs, their_times))
            for function, into in order if round_number % 2 == 0 else reversed(order):
                into.append(timed(function)[0])
    (portal_times, raw_times), (whole_times, raw_whole_times) = times
    for label, mine, theirs in (
        (f"overview_counts, {size:,} tokens", portal_times, raw_times),
        (f"the dashboard's count of that database, {size:,} tokens", whole_times, raw_whole_times),
    ):
        portal, raw = sorted(mine)[len(mine) // 2], sorted(theirs)[len(theirs) // 2]
        table.add(label, seconds(portal), seconds(raw) + " raw query", ratio(portal, raw),
                  f"≤ {RAW_TARGET:g}×", portal <= RAW_TARGET * raw)
    campaign.delete()
    table.add(f"writing {size:,} tokens and building the index", seconds(build))
    gateway.delete_database(database)


def count_dashboard(table: Table, gateway, server, session, size: int, campaigns: int) -> int:
    """Rows for the dashboard's count of ``campaigns`` campaigns of ``size`` tokens each: the
    requests it sends and its time against the raw queries; returns how many requests."""
    from django.test import override_settings

    from tokens_app import counts as shared_counts
    from tokens_app.models import Campaign
    from tokens_app.selectors import overview_counts_many

    rows = []
    for number in range(campaigns):
        database, token_type = f"dash_{size}_{number}", f"dash{number}"
        populate(gateway, database, token_type, size)
        rows.append(Campaign.objects.create(database=database, token_type=token_type, token_count=size,
                                            status=Campaign.Status.READY))
    # A warm-up load that queries (the threads sign in to CouchDB once), then the measured one.
    # The counts are made inline, by the load itself, as the task worker a due snapshot is
    # handed to would make them: what is measured is the counting, whoever runs it.
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}):
        for _ in range(2):
            for row in rows:
                shared_counts.expire(row.database)
            overview_counts_many(rows)
        for row in rows:
            shared_counts.expire(row.database)
        with counted_requests() as counts:
            elapsed, result = timed(lambda: overview_counts_many(rows))
    if any(result[row.pk] is None or result[row.pk]["total"] != size for row in rows):
        raise RuntimeError("overview_counts_many did not count every campaign")
    raw, _ = timed(lambda: [session.get(states_url(server, row.database), params=one_type(row.token_type))
                            for row in rows])
    total = sum(counts.values())
    detail = ", ".join(f"{count} × {name}" for name, count in sorted(counts.items()))
    table.add(f"dashboard, {campaigns} campaigns of {size:,} tokens: requests", f"{total} ({detail})",
              f"{campaigns} (one grouped query each)", f"{total / campaigns:.2f}×")
    table.add(f"dashboard, {campaigns} campaigns of {size:,} tokens: time", seconds(elapsed),
              seconds(raw) + " raw queries one after another", ratio(elapsed, raw))
    for row in rows:
        gateway.delete_database(row.database)
        row.delete()
    return total
