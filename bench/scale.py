"""Scale (issue #13): what a campaign costs as the number of campaigns in its database grows.

For each number of campaigns N (``campaign_counts``), one fresh database on its own
pouchdb-server receives N campaigns of ``tokens`` tokens through ``create_tokenset``, then:

- creation: the time of the first and of the N-th campaign (target: the N-th ≤ 1.2× the first);
- dashboard: the counts of every campaign as the dashboard reads them (the shared snapshot),
  first load right after the last creation (cold: the index has the new tokens to take in) and
  steady state (the snapshot due, the index current), with the CouchDB requests each load sends;
  the baseline is version one's layout: one grouped ``overview_total`` query per campaign, each
  of its own per-type index (measured up to ``before_up_to`` campaigns: beyond, its N full index
  builds take too long for a run of a few minutes);
- pilots: ``simulate_pilots`` on the first campaign with 3 dashboards polling every 3 s,
  against the same pilots on a campaign alone in its database with no dashboard open.

Everything runs twice when ``validation`` is "both": pouchdb-server with and without its
validation part (which reads every design document on each write).
"""

from __future__ import annotations

import statistics
import threading

from .environment import bench_user, couch_server
from .inputs import campaign_kwargs
from .report import Table
from .timing import seconds, timed

CREATION_TARGET = 1.2
STEADY_TARGET = 0.3
# Creations compared at each end of a run (medians), at most half of them.
CREATION_SAMPLE = 3
FIRST_LOAD_TARGET = 2.0
PILOT_TARGET = 0.8
DASHBOARDS = 3
POLL_SECONDS = 3.0


def _requests_of(function) -> tuple[float, int, object]:
    """Seconds, CouchDB requests and result of ``function()``."""
    from tokens_app.couch import Gateway

    sent = []
    real = Gateway.request

    def counting(self, *args, **kwargs):
        sent.append(args[1])
        return real(self, *args, **kwargs)

    Gateway.request = counting
    try:
        elapsed, result = timed(function)
    finally:
        Gateway.request = real
    return elapsed, len(sent), result


def _expire_all(databases) -> None:
    from django.core.cache import cache

    from tokens_app import counts

    for database in databases:
        cache.delete(counts._key("snapshot", database))
        cache.delete(counts._key("lock", database))


def _pilot_rate(gateway, database: str, token_type: str, *, pilot_tokens: int, dashboards: list | None) -> float:
    """Tokens per second of 2 pilot processes taking ``pilot_tokens`` tokens, while
    ``dashboards`` (campaign lists) are polled every few seconds by threads."""
    from django.test import override_settings

    from devtools import pilots
    from tokens_app import selectors
    from tokens_app.design import PORTAL_DESIGN, STATES_VIEW, TYPE_VIEWS

    # Throughput once the views are built, as after `warm_views` (the README's step after
    # creating campaigns): a first query builds an index over the whole database, which is the
    # cost of its size, not of the pilots' work or of monitoring.
    for view in TYPE_VIEWS:
        gateway.view(database, token_type, view, limit=0)
    gateway.view(database, PORTAL_DESIGN, STATES_VIEW, limit=0)
    stop = threading.Event()

    def poll(campaigns):
        while not stop.is_set():
            selectors.overview_counts_many(campaigns)
            stop.wait(POLL_SECONDS)

    threads = [threading.Thread(target=poll, args=(campaigns,), daemon=True) for campaigns in dashboards or []]
    # The pollers count inline when a snapshot is due, as the worker they would hand it to: the
    # server does the same work, here measured against the pilots.
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}):
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


def _one_server(workdir, *, validation: bool, campaign_counts, tokens, before_up_to, pilot_tokens, table):
    from django.db import close_old_connections

    from tokens_app.couch import get_gateway
    from tokens_app.services import create_tokenset

    user = bench_user()
    label = "validation on" if validation else "validation off"
    with couch_server(workdir / label.replace(" ", "_"), validation=validation):
        gateway = get_gateway()
        alone_db = "scale_alone"
        gateway.create_database(alone_db)
        create_tokenset(user=user, **{**campaign_kwargs(tokens, 1, alone_db), "token_type": "alone"})
        alone_rate = _pilot_rate(gateway, alone_db, "alone", pilot_tokens=pilot_tokens, dashboards=None)
        for count in campaign_counts:
            database = f"scale_{count}"
            gateway.create_database(database)
            campaigns = _create_campaigns(table, label, user, database, count, tokens)
            _dashboard_rows(table, label, gateway, database, campaigns, count, tokens, before_up_to)
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
    ratio = last / first
    table.add(f"{label}, {count} campaigns × {tokens:,}: creation of the last {sample} vs the first {sample} "
              "(medians)", seconds(last), seconds(first) + " first", f"{ratio:.2f}×",
              f"≤ {CREATION_TARGET:g}×" if count > 1 else "—", ratio <= CREATION_TARGET if count > 1 else None)
    return list(Campaign.objects.filter(database=database))


def _dashboard_rows(table, label: str, gateway, database: str, campaigns: list, count: int, tokens: int,
                    before_up_to: int) -> None:
    """The dashboard's loads of every campaign of ``database``: first, steady, the worker's count
    and while the snapshot is fresh, against version one's layout up to ``before_up_to`` campaigns."""
    from django.core.cache import cache

    from tokens_app import counts, selectors

    _expire_all([database])
    first, first_requests, _ = _requests_of(lambda: selectors.overview_counts_many(campaigns))
    # A first load that timed out handed the count to a worker: count as it would, with the
    # full timeout (a request's 1 s never suffices for a grouped query over 100,000 rows,
    # which pouchdb-server reduces on every read).
    while (counts.cached(database) or {}).get("at") is None:
        counts.refresh(database)
    # Steady state: the snapshot is there and due; the load hands the count to a worker
    # (queued in the ORM database here) and shows the snapshot it has.
    counts.expire(database)
    cache.delete(counts._key("lock", database))
    steady, steady_requests, result = _requests_of(lambda: selectors.overview_counts_many(campaigns))
    if sum((value or {}).get("total", 0) for value in result.values()) != count * tokens:
        raise RuntimeError(f"the dashboard counted {result} for {count} × {tokens} tokens")
    refresh, refresh_requests, _ = _requests_of(lambda: counts.refresh(database))
    cached, _, _ = _requests_of(lambda: selectors.overview_counts_many(campaigns))
    before_first, before_steady, before_requests = _version_one(gateway, database, campaigns, count, before_up_to)
    table.add(f"{label}, {count} campaigns: dashboard first load after the last creation",
              f"{seconds(first)}, {first_requests} requests", f"{before_first} (v1: per-type overview_total)",
              "—", f"< {FIRST_LOAD_TARGET:g} s", first < FIRST_LOAD_TARGET)
    table.add(f"{label}, {count} campaigns: dashboard steady state (snapshot due: a worker counts)",
              f"{seconds(steady)}, {steady_requests} requests",
              f"{before_steady}, {before_requests} requests (v1)", "—",
              f"< {STEADY_TARGET * 1000:g} ms", steady < STEADY_TARGET)
    table.add(f"{label}, {count} campaigns: the worker's count of the database",
              f"{seconds(refresh)}, {refresh_requests} requests")
    table.add(f"{label}, {count} campaigns: dashboard while the snapshot is fresh", seconds(cached) + ", 0 requests")


def _version_one(gateway, database: str, campaigns: list, count: int, before_up_to: int) -> tuple[str, str, str]:
    """(first load, steady load, requests) of version one's dashboard: one grouped
    ``overview_total`` query per campaign; "not measured" beyond ``before_up_to`` campaigns."""
    if count > before_up_to:
        return ("not measured",) * 3
    old_first, _ = timed(lambda: [gateway.view(database, c.token_type, "overview_total", group=True)
                                  for c in campaigns])
    old_steady, _ = timed(lambda: [gateway.view(database, c.token_type, "overview_total", group=True)
                                   for c in campaigns])
    return seconds(old_first), seconds(old_steady), str(count)


def _pilot_rows(table, label: str, gateway, database: str, campaigns: list, count: int, alone_rate: float,
                pilot_tokens: int) -> None:
    """The pilots' rate on a campaign of ``database`` with no dashboard open, then with
    DASHBOARDS polling, against a campaign alone in its database."""
    quiet = _pilot_rate(gateway, database, campaigns[1 % count].token_type, pilot_tokens=pilot_tokens,
                        dashboards=None)
    table.add(f"{label}, {count} campaigns: pilots, no dashboard open",
              f"{quiet:.1f} tokens/s", f"{alone_rate:.1f} tokens/s alone, no dashboard",
              f"{quiet / alone_rate:.2f}×", "—")
    rate = _pilot_rate(gateway, database, campaigns[0].token_type, pilot_tokens=pilot_tokens,
                       dashboards=[campaigns] * DASHBOARDS)
    table.add(f"{label}, {count} campaigns: pilots with {DASHBOARDS} dashboards polling",
              f"{rate:.1f} tokens/s", f"{alone_rate:.1f} tokens/s alone, no dashboard",
              f"{rate / alone_rate:.2f}×", f"≥ {PILOT_TARGET:g}×", rate / alone_rate >= PILOT_TARGET)


def run(workdir, *, campaign_counts: list[int], tokens: int, before_up_to: int, pilot_tokens: int,
        validation: str = "both", sizes: list[int] | None = None) -> Table:
    table = Table(f"Scale: cost versus number of campaigns in one database ({tokens:,} tokens each)", echo=True)
    if sizes:
        campaign_counts = sizes
    modes = {"both": (True, False), "on": (True,), "off": (False,)}[validation]
    for mode in modes:
        _one_server(workdir, validation=mode, campaign_counts=campaign_counts, tokens=tokens,
                    before_up_to=before_up_to, pilot_tokens=pilot_tokens, table=table)
    table.notes.append(
        "One pouchdb-server per validation mode; each number of campaigns in a fresh database. The issue's sizes "
        "are 50 campaigns × 2,000 tokens; this run's sizes are parameters (FULL in bench/__main__.py, "
        "--sizes gives the campaign counts)."
    )
    table.notes.append(
        "Dashboard loads are `selectors.overview_counts_many` over every campaign of the database with the "
        "snapshot expired (first load: right after the last creation, no snapshot yet, counted by the request; steady: the snapshot there and due, handed to a worker, whose count is the next row). "
        "The v1 baseline sends one grouped `overview_total` query per campaign, as version one's dashboard did."
    )
    table.notes.append(
        f"Pilots: 2 `simulate_pilots` processes taking {pilot_tokens} tokens with no job time, on the first "
        f"campaign, while {DASHBOARDS} threads poll the dashboard every {POLL_SECONDS:g} s; the baseline is the "
        "same pilots on a campaign alone in its database with no dashboard."
    )
    return table
