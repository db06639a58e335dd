"""Counting: the dashboard's counts from the read model vs the raw grouped view query.

A campaign of N tokens (70 % todo, 10 % locked, 15 % done, 5 % error) is written with raw
``_bulk_docs`` beside the portal's design documents, the portal's ``states`` index is built by
one query, and the ``_changes`` follower reads the database into the read model, all before
anything is timed. Then ``token_reads.counts_many`` of the campaign (what the dashboard and the
campaign page count with: one ``GROUP BY`` of ``TokenRow``) and the grouped query of the same
counts sent to CouchDB with a plain ``requests`` session alternate, and the medians are compared.

The dashboard counts many campaigns in one call; every HTTP request the process sends while it
runs is counted (``requests.Session.send`` wrapped), for 20 campaigns of a few tokens and 20 of
many more: the read model sends none, whatever the number of tokens.
"""

from __future__ import annotations

import collections
import contextlib
import json
import statistics
import threading
import time

import requests

from .environment import couch_server, raw_session
from .report import Table, ratio
from .timing import seconds, timed

RAW_TARGET = 1.2
WRITE_BATCH = 2_000
STATE_MIX = ((70, "todo"), (10, "locked"), (15, "done"), (5, "error"))
HOSTS = 7


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
        # Finishing times spread over the last day, so the completions chart has a series.
        doc.update(lock=now - 3600 - number % 86_400, hostname=f"wn-{number % HOSTS:02d}.grid.example",
                   status="running")
    if state == "done":
        doc.update(done=doc["lock"] + 60, status="done", output=0)
    if state == "error":
        doc.update(status="error", exit_code=1 + number % 3, output=1)
    return doc


def populate(gateway, database: str, token_types: list[str], count: int) -> None:
    """``count`` tokens of each type and the portal's design documents in a new database; the
    portal's index built (the raw queries' baseline is a warm index)."""
    from tokens_app.services import ensure_design_doc

    gateway.create_database(database)
    for token_type in token_types:
        ensure_design_doc(database, token_type)
        for start in range(0, count, WRITE_BATCH):
            docs = [token_doc(token_type, n) for n in range(start, min(count, start + WRITE_BATCH))]
            if any("error" in result for result in gateway.bulk_docs(database, docs)):
                raise RuntimeError(f"could not write the tokens of {database}")
    build_index(gateway, database)


def build_index(gateway, database: str, limit: float = 3600.0) -> None:
    """The portal's ``states`` index of ``database`` brought up to date; asked again while
    Apache CouchDB answers that the build takes longer than its own request timeout."""
    from tokens_app.couch import CouchError
    from tokens_app.design import PORTAL_DESIGN, STATES_VIEW

    started = time.monotonic()
    while True:
        try:
            gateway.view(database, PORTAL_DESIGN, STATES_VIEW, group_level=2, limit=0, timeout=limit)
            return
        except CouchError:
            if time.monotonic() - started > limit:
                raise


def campaign_rows(database: str, token_types: list[str], count: int) -> list:
    """The portal's campaign rows for tokens written by :func:`populate`."""
    from tokens_app.models import Campaign

    return [Campaign.objects.create(database=database, token_type=token_type, token_count=count,
                                    written_count=count, status=Campaign.Status.READY)
            for token_type in token_types]


def follow(*databases: str) -> float:
    """Seconds for a follower (holding the lease, as ``follow_changes`` does) to read
    ``databases`` into the read model."""
    from tokens_app.follower import Follower

    follower = Follower()
    if not follower.take_lease():
        raise RuntimeError("another follower holds the lease")
    try:
        return timed(lambda: [follower.catch_up(database) for database in databases])[0]
    finally:
        follower.release_lease()


def settle(server, session, limit: float = 900.0, quiet: float = 3.0) -> float:
    """Seconds until the server has no background task (Apache CouchDB builds every design
    document's views by itself after writes) for ``quiet`` seconds: figures timed meanwhile would
    measure the indexer's use of the cores, not the reads. pouchdb-server reports none."""
    from tokens_app.couch import couch_url

    started = quiet_since = time.monotonic()
    while time.monotonic() - started < limit:
        response = session.get(couch_url(server.url, ("_active_tasks",)), timeout=60)
        if response.status_code != 200 or not response.json():
            if time.monotonic() - quiet_since >= quiet:
                break
        else:
            quiet_since = time.monotonic()
        time.sleep(0.5)
    return time.monotonic() - started - quiet


def forget(database: str) -> None:
    """The database, its campaign rows and its read model gone (the next case starts clean)."""
    from tokens_app.couch import get_gateway
    from tokens_app.models import Campaign
    from tokens_app.read_models import ChangesCheckpoint, TokenRow

    get_gateway().delete_database(database)
    Campaign.objects.filter(database=database).delete()
    TokenRow.objects.filter(database=database).delete()
    ChangesCheckpoint.objects.filter(database=database).delete()


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


def states_url(server, database: str) -> str:
    """The URL of the portal's ``states`` view of ``database``, for the raw queries."""
    from tokens_app.couch import couch_url, view_path
    from tokens_app.design import PORTAL_DESIGN, STATES_VIEW

    return couch_url(server.url, view_path(database, PORTAL_DESIGN, STATES_VIEW))


def one_type(token_type: str) -> dict:
    """The raw query's parameters for one type's key range of the ``states`` view, grouped."""
    return {"group_level": "2", "startkey": json.dumps([token_type]), "endkey": json.dumps([token_type, {}])}


def alternating(mine, theirs, repeat: int) -> tuple[float, float]:
    """Medians of ``repeat`` runs of each, who goes first changing every round: pouchdb-server's
    pauses (its garbage collector after a large reduce) otherwise fall on the same side."""
    my_times, their_times = [], []
    for round_number in range(repeat):
        order = ((mine, my_times), (theirs, their_times))
        for function, into in order if round_number % 2 == 0 else reversed(order):
            into.append(timed(function)[0])
    return statistics.median(my_times), statistics.median(their_times)


def run(workdir, *, sizes: list[int], campaign_sizes: list[int], repeat: int, campaigns: int = 20) -> Table:
    from tokens_app.couch import get_gateway

    table = Table("Counting: the read model's counts vs the raw grouped view query")
    with couch_server(workdir) as server:
        gateway = get_gateway()
        session = raw_session(server)
        for size in sizes:
            time_one_campaign(table, gateway, server, session, size, repeat)
        requests_by_size = {
            size: count_dashboard(table, gateway, server, session, size, campaigns, repeat) for size in campaign_sizes
        }
        table.add("dashboard's CouchDB requests independent of token count",
                  " vs ".join(f"{count} at {size:,}" for size, count in requests_by_size.items()),
                  target="0 at every size", met=set(requests_by_size.values()) == {0})
    table.notes.append(
        f"Medians of {repeat} alternating runs (who goes first changes every round), after the index was built and "
        "the follower caught up; the raw query is GET …/_design/tokenportal/_view/states?group_level=2 (one type's "
        "key range, or the whole database) with a plain cookie-session requests.Session."
    )
    table.notes.append(
        "pouchdb-server does not keep reduce values in its index: every grouped query re-reduces the whole "
        "view, so the raw figure grows with the campaign there (Apache CouchDB answers from stored reductions). "
        "The read model's count is one GROUP BY over an index of TokenRow."
    )
    return table


def time_one_campaign(table: Table, gateway, server, session, size: int, repeat: int) -> None:
    """Rows for a campaign of ``size`` tokens: its count from the read model against the raw
    grouped query of the same counts, and what filling the read model took."""
    from tokens_app import token_reads

    database, token_type = f"count_{size}", f"count{size}"
    build, _ = timed(lambda: populate(gateway, database, [token_type], size))
    [campaign] = campaign_rows(database, [token_type], size)
    followed = follow(database)
    settle(server, session)
    if token_reads.counts_of(campaign)["total"] != size:
        raise RuntimeError(f"the read model counts {token_reads.counts_of(campaign)} of {size} tokens")
    portal, raw = alternating(
        lambda: token_reads.counts_many([campaign]),
        lambda: session.get(states_url(server, database), params=one_type(token_type)).raise_for_status(),
        repeat,
    )
    table.add(f"counts of a campaign of {size:,} tokens", seconds(portal), seconds(raw) + " raw query",
              ratio(portal, raw), f"≤ {RAW_TARGET:g}×", portal <= RAW_TARGET * raw)
    table.add(f"writing {size:,} tokens and building the index", seconds(build))
    table.add(f"the follower reading {size:,} tokens into the read model", seconds(followed))
    forget(database)


def count_dashboard(table: Table, gateway, server, session, size: int, campaigns: int, repeat: int) -> int:
    """Rows for the dashboard's count of ``campaigns`` campaigns of ``size`` tokens each in one
    database: its CouchDB requests and its time against the raw grouped query of the database;
    returns how many requests it sent."""
    from tokens_app import token_reads

    database = f"dash_{size}"
    types = [f"dash{number:02d}" for number in range(campaigns)]
    populate(gateway, database, types, size)
    rows = campaign_rows(database, types, size)
    follow(database)
    settle(server, session)
    with counted_requests() as counts:
        result = token_reads.counts_many(rows)
    if any(result[row.token_set] is None or result[row.token_set]["total"] != size for row in rows):
        raise RuntimeError("counts_many did not count every campaign")
    portal, raw = alternating(
        lambda: token_reads.counts_many(rows),
        lambda: session.get(states_url(server, database), params={"group_level": "2"}).raise_for_status(),
        repeat,
    )
    total = sum(counts.values())
    table.add(f"dashboard, {campaigns} campaigns of {size:,} tokens: CouchDB requests",
              f"{total}" + (f" ({', '.join(f'{n} × {name}' for name, n in sorted(counts.items()))})" if total else ""),
              "1 (one grouped query of the database)")
    table.add(f"dashboard, {campaigns} campaigns of {size:,} tokens: time", seconds(portal),
              seconds(raw) + " raw grouped query of the database", ratio(portal, raw))
    forget(database)
    return total
