"""Scale (issue #13): what a campaign costs as the number of campaigns in its database grows.

For each number of campaigns N (``campaign_counts``), one fresh database on its own
pouchdb-server receives N campaigns of ``tokens`` tokens through ``create_tokenset``, then:

- creation: the median time of the last creations against that of the first (target ≤ 1.2×);
- dashboard: ``token_reads.counts_many`` of every campaign (the dashboard's one ``GROUP BY``)
  once the follower caught up, p95 of repeated loads; the baseline is the raw grouped query of
  the portal's ``states`` view of the database, which gives the same counts from CouchDB;
- pilots: ``simulate_pilots`` on a campaign while the follower follows and 3 dashboards poll
  every 3 s, against the same pilots on a campaign alone in its database, nothing following.

Everything runs twice when ``validation`` is "both": pouchdb-server with and without its
validation part (which reads every design document on each write).
"""

from __future__ import annotations

import statistics
import threading

from .counting import follow, settle, states_url
from .environment import bench_user, couch_server, raw_session
from .inputs import campaign_kwargs
from .report import Table, ratio
from .timing import seconds, timed

CREATION_TARGET = 1.2
DASHBOARD_TARGET = 0.1
# Creations compared at each end of a run (medians), at most half of them.
CREATION_SAMPLE = 3
DASHBOARD_LOADS = 20
RAW_QUERIES = 3
PILOT_TARGET = 0.8
DASHBOARDS = 3
POLL_SECONDS = 3.0


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def _pilot_rate(gateway, database: str, token_type: str, *, pilot_tokens: int, dashboards: list | None) -> float:
    """Tokens per second of 2 pilot processes taking ``pilot_tokens`` tokens; with
    ``dashboards`` (campaign lists, maybe none), a follower follows and threads poll their counts."""
    from django.db import connection

    from devtools import pilots
    from tokens_app import token_reads
    from tokens_app.design import TYPE_VIEWS
    from tokens_app.follower import Follower

    # Throughput once the pilots' views are built, as after `warm_views` (the README's step
    # after creating campaigns): a first query builds an index over the whole database.
    for view in TYPE_VIEWS:
        gateway.view(database, token_type, view, limit=0)
    stop = threading.Event()

    def poll(campaigns):
        try:
            while not stop.is_set():
                with token_reads.one_snapshot():
                    token_reads.counts_many(campaigns)
                stop.wait(POLL_SECONDS)
        finally:
            connection.close()

    def follow_changes():
        try:
            Follower().run(interval=0.5, stop=stop)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll, args=(campaigns,), daemon=True) for campaigns in dashboards or []]
    if dashboards is not None:
        threads.append(threading.Thread(target=follow_changes, daemon=True))
    for thread in threads:
        thread.start()
    try:
        elapsed, reports = timed(lambda: pilots.simulate(
            pilots.CouchAccess.of(gateway), database, token_type, workers=2, failure_rate=0.1, job_seconds=0.0,
            max_tokens=pilot_tokens))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return sum(report.done + report.failed for report in reports) / elapsed


def _one_server(workdir, *, validation: bool, campaign_counts, tokens, pilot_tokens, table):
    from django.db import close_old_connections

    from tokens_app.couch import get_gateway
    from tokens_app.services import create_tokenset

    user = bench_user()
    label = "validation on" if validation else "validation off"
    with couch_server(workdir / label.replace(" ", "_"), validation=validation) as server:
        gateway = get_gateway()
        session = raw_session(server)
        alone_db = "scale_alone"
        gateway.create_database(alone_db)
        create_tokenset(user=user, **{**campaign_kwargs(tokens, 1, alone_db), "token_type": "alone"})
        alone_rate = _pilot_rate(gateway, alone_db, "alone", pilot_tokens=pilot_tokens, dashboards=None)
        for count in campaign_counts:
            database = f"scale_{count}"
            gateway.create_database(database)
            campaigns = _create_campaigns(table, label, user, database, count, tokens)
            _dashboard_rows(table, label, server, session, database, campaigns, count, tokens)
            _pilot_rows(table, label, gateway, database, campaigns, count, alone_rate, pilot_tokens)
            gateway.delete_database(database)
            close_old_connections()


def _create_campaigns(table, label: str, user, database: str, count: int, tokens: int) -> list:
    """``count`` campaigns of ``tokens`` tokens in ``database``, and the row comparing the time of
    the last creations with that of the first; the campaigns as the dashboard reads them."""
    from tokens_app.models import Campaign
    from tokens_app.services import create_tokenset

    times = []
    for number in range(count):
        kwargs = {**campaign_kwargs(tokens, 1, database), "token_type": f"c{number:03d}"}
        elapsed, _ = timed(lambda: create_tokenset(user=user, **kwargs))
        times.append(elapsed)
    # The median of the last few against that of the first few: one creation of half a second
    # on a shared machine varies by a third from one to the next.
    sample = max(1, min(CREATION_SAMPLE, count // 2))
    last, first = statistics.median(times[-sample:]), statistics.median(times[:sample])
    table.add(f"{label}, {count} campaigns × {tokens:,}: creation of the last {sample} vs the first {sample} "
              "(medians)", seconds(last), seconds(first) + " first", ratio(last, first),
              f"≤ {CREATION_TARGET:g}×" if count > 1 else "—", last <= CREATION_TARGET * first if count > 1 else None)
    return list(Campaign.objects.filter(database=database))


def _dashboard_rows(table, label: str, server, session, database: str, campaigns: list, count: int,
                    tokens: int) -> None:
    """The dashboard's counts of every campaign of ``database`` from the read model, once the
    follower caught up, against the raw grouped query of the database."""
    from tokens_app import token_reads
    from tokens_app.design import PORTAL_DESIGN, STATES_VIEW
    from tokens_app.couch import get_gateway

    caught_up = follow(database)
    settle(server, session)
    loads = []
    for _ in range(DASHBOARD_LOADS):
        elapsed, result = timed(lambda: token_reads.counts_many(campaigns))
        loads.append(elapsed)
    if sum((value or {}).get("total", 0) for value in result.values()) != count * tokens:
        raise RuntimeError(f"the dashboard counted {result} for {count} × {tokens} tokens")
    # The index built first, as the portal's design document is written at creation and
    # queried by operations: the baseline is a warm index.
    index, _ = timed(lambda: get_gateway().view(database, PORTAL_DESIGN, STATES_VIEW, group_level=2, limit=0,
                                                timeout=3600))
    raw = [timed(lambda: session.get(states_url(server, database), params={"group_level": "2"},
                                     timeout=3600).raise_for_status())[0] for _ in range(RAW_QUERIES)]
    worst = p95(loads)
    table.add(f"{label}, {count} campaigns: follower catching up after the creations", seconds(caught_up))
    table.add(f"{label}, {count} campaigns: dashboard counts (read model), p95 of {DASHBOARD_LOADS}",
              seconds(worst), f"{seconds(statistics.median(raw))} raw grouped query (median of {RAW_QUERIES})",
              ratio(worst, statistics.median(raw)), f"< {DASHBOARD_TARGET * 1000:g} ms", worst < DASHBOARD_TARGET)
    table.add(f"{label}, {count} campaigns: building the portal's states index (raw baseline's first query)",
              seconds(index))


def _pilot_rows(table, label: str, gateway, database: str, campaigns: list, count: int, alone_rate: float,
                pilot_tokens: int) -> None:
    """The pilots' rate on a campaign of ``database`` with nothing following, with the follower
    alone, and while the follower follows and DASHBOARDS poll, against a campaign alone in its
    database with nothing following (the first two tell the neighbours' cost from the follower's)."""
    for number, (what, dashboards) in enumerate((("nothing following", None), ("follower following", []))):
        rate = _pilot_rate(gateway, database, campaigns[(number + 1) % count].token_type, pilot_tokens=pilot_tokens,
                           dashboards=dashboards)
        table.add(f"{label}, {count} campaigns: pilots, {what}", f"{rate:.1f} tokens/s",
                  f"{alone_rate:.1f} tokens/s alone, nothing following", f"{rate / alone_rate:.2f}×")
    rate = _pilot_rate(gateway, database, campaigns[0].token_type, pilot_tokens=pilot_tokens,
                       dashboards=[campaigns] * DASHBOARDS)
    table.add(f"{label}, {count} campaigns: pilots, follower following, {DASHBOARDS} dashboards polling",
              f"{rate:.1f} tokens/s", f"{alone_rate:.1f} tokens/s alone, nothing following",
              f"{rate / alone_rate:.2f}×", f"≥ {PILOT_TARGET:g}×", rate / alone_rate >= PILOT_TARGET)


def run(workdir, *, campaign_counts: list[int], tokens: int, pilot_tokens: int,
        validation: str = "both", sizes: list[int] | None = None) -> Table:
    table = Table(f"Scale: cost versus number of campaigns in one database ({tokens:,} tokens each)", echo=True)
    if sizes:
        campaign_counts = sizes
    modes = {"both": (True, False), "on": (True,), "off": (False,)}[validation]
    for mode in modes:
        _one_server(workdir, validation=mode, campaign_counts=campaign_counts, tokens=tokens,
                    pilot_tokens=pilot_tokens, table=table)
    table.notes.append(
        "One server per validation mode; each number of campaigns in a fresh database. The issue's sizes "
        "are 50 campaigns × 2,000 tokens; this run's sizes are parameters (FULL in bench/__main__.py, "
        "--sizes gives the campaign counts)."
    )
    table.notes.append(
        "Dashboard: `token_reads.counts_many` over every campaign of the database after a follower caught up "
        "(in-process, no HTTP); the baseline is GET …/_view/states?group_level=2 of the database with a plain "
        "requests.Session on a built index, which answers the same counts from CouchDB."
    )
    table.notes.append(
        f"Pilots: 2 `simulate_pilots` processes taking {pilot_tokens} tokens with no job time, on the first "
        f"campaign, while a follower thread follows every database (every 0.5 s) and {DASHBOARDS} threads poll the "
        f"dashboard's counts every {POLL_SECONDS:g} s; the baseline is the same pilots on a campaign alone in its "
        "database with no follower and no dashboard."
    )
    return table
