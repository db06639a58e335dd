"""Read model: the follower's backfill against a raw ``_changes`` read, its memory, and how far
behind the pilots' writes the rows are.

- backfill: a database of ``size`` tokens made by ``create_tokenset`` (attachments and all), read
  whole by ``_changes?include_docs=true`` in one request and parsed (the raw baseline), then
  followed from zero by ``Follower.catch_up`` in a child process (its time and peak memory);
  alternating, ``repeat`` times each, medians compared;
- lag: 4 simulated pilots work a campaign while a follower runs (as ``follow_changes`` does);
  a probe writes one token at a time and times how long until its row holds that revision.
"""

from __future__ import annotations

import resource
import statistics
import threading
import time

from .environment import bench_user, couch_server, raw_session, run_child
from .inputs import campaign_kwargs
from .report import Table, ratio
from .timing import seconds, timed

BACKFILL_TARGET = 1.5
LAG_TARGET = 1.0
PILOTS = 4
PROBE_TIMEOUT = 60


def backfill_in_child(database: str) -> dict:
    """Runs in the child: follow ``database`` from zero; seconds, memory at start and peak."""
    import psutil

    from tokens_app.follower import Follower

    follower = Follower()
    follower.take_lease()
    start = psutil.Process().memory_info().rss
    elapsed, read = timed(lambda: follower.catch_up(database))
    return {"seconds": elapsed, "read": read, "start": start,
            "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def raw_changes(server, session, database: str) -> float:
    """Seconds to read and parse every change of ``database`` with its document, in one request."""
    from tokens_app.couch import couch_url, database_path

    def read():
        response = session.get(couch_url(server.url, (*database_path(database), "_changes")),
                               params={"include_docs": "true"}, timeout=3600)
        response.raise_for_status()
        return len(response.json()["results"])

    return timed(read)[0]


def measure_backfill(server, workdir, table: Table, size: int, repeat: int) -> None:
    from django.conf import settings

    from tokens_app.couch import get_gateway
    from tokens_app.services import create_tokenset

    database = f"read_model_{size}"
    get_gateway().create_database(database)
    create_tokenset(user=bench_user(), **campaign_kwargs(size, 1, database))
    session = raw_session(server)
    couch = settings.COUCHDB
    env = {"COUCHDB_URL": couch["URL"], "COUCHDB_USER": couch["USER"], "COUCHDB_PASSWORD": couch["PASSWORD"],
           "COUCHDB_TIMEOUT": str(couch["TIMEOUT"])}
    raw, followed, peaks = [], [], []
    for attempt in range(repeat):
        raw.append(raw_changes(server, session, database))
        env["DATABASE_URL"] = f"sqlite:///{workdir / f'backfill-{attempt}.sqlite3'}"
        result = run_child("bench.read_model:backfill_in_child", database=database, env=env)
        followed.append(result["seconds"])
        peaks.append((result["peak"] - result["start"]) / 2**20)
    portal, baseline = statistics.median(followed), statistics.median(raw)
    table.add(f"backfill of {size:,} tokens (follower, into SQLite)", seconds(portal),
              f"raw _changes read {seconds(baseline)}", ratio(portal, baseline),
              target=f"≤ {BACKFILL_TARGET}× raw", met=portal <= BACKFILL_TARGET * baseline)
    table.add(f"backfill of {size:,} tokens: follower's peak memory above start", f"{max(peaks):.0f} MB")


def measure_lag(server, table: Table, tokens: int, probes: int) -> None:
    from devtools.pilots import CouchAccess, simulate
    from tokens_app.couch import get_gateway
    from tokens_app.follower import Follower
    from tokens_app.read_models import TokenRow
    from tokens_app.services import create_tokenset

    gateway = get_gateway()
    gateway.create_database("read_model_lag")
    campaign, _ = create_tokenset(user=bench_user(), **campaign_kwargs(tokens, 1, "read_model_lag"))
    stop = threading.Event()
    follower = threading.Thread(target=Follower().run, kwargs={"interval": 0.1, "stop": stop})
    pilots = threading.Thread(target=simulate, args=(CouchAccess.of(gateway), campaign.database, campaign.token_type),
                              kwargs={"workers": PILOTS, "job_seconds": 0.2})
    follower.start()
    pilots.start()
    lags = []
    try:
        for number in range(probes):
            # A type of its own, so no pilot takes the probe and changes its revision.
            doc = {"_id": f"probe_{number:04d}", "type": "lag_probe", "lock": 0, "done": 0}
            written = time.monotonic()
            rev = gateway.put_doc(campaign.database, doc)
            while not TokenRow.objects.filter(database=campaign.database, doc_id=doc["_id"], rev=rev).exists():
                if time.monotonic() - written > PROBE_TIMEOUT:
                    raise RuntimeError(f"the follower did not record {doc['_id']} within {PROBE_TIMEOUT} s")
                time.sleep(0.005)
            lags.append(time.monotonic() - written)
            time.sleep(0.1)
    finally:
        pilots.join()
        stop.set()
        follower.join()
    p95 = statistics.quantiles(lags, n=20)[-1] if len(lags) > 1 else lags[0]
    table.add(f"lag with {PILOTS} pilots working, p95 of {len(lags)} probes", seconds(p95),
              f"median {seconds(statistics.median(lags))}", target=f"< {seconds(LAG_TARGET)}", met=p95 < LAG_TARGET)


def run(workdir, *, sizes: list[int], repeat: int, lag_tokens: int, probes: int) -> Table:
    table = Table("Read model: the changes follower")
    with couch_server(workdir) as server:
        # The lag first: its follower follows every campaign's database, the large ones included.
        measure_lag(server, table, lag_tokens, probes)
        for size in sizes:
            measure_backfill(server, workdir, table, size, repeat)
    table.notes.append(
        "Backfill: medians of alternating runs; the raw read is one _changes?include_docs=true request parsed "
        "by Python's json. Lag: from the probe's write to its row holding that revision, read through the ORM."
    )
    return table
