"""Memory: peak resident memory of a process creating a large campaign through ``create_tokenset``.

A child process sets Django up, notes its resident memory (the start), creates the campaign in
batches of ``COUCHDB_BATCH_SIZE`` on the parent's pouchdb-server, and reports its peak resident
memory (``ru_maxrss``). One link per token: ``plan_tokenset`` refuses SRM lists of more than
100,000 lines, so 100,000 tokens cannot have 10 links each.
"""

from __future__ import annotations

import resource

from .environment import bench_user, couch_server, run_child
from .inputs import campaign_kwargs
from .report import Table
from .timing import timed

TARGET_MB = 200
LINKS_PER_TOKEN = 1


def create_in_child(size: int, database: str) -> dict:
    """Runs in the child: resident memory at the start and at the peak, in bytes."""
    import psutil

    from tokens_app.services import create_tokenset

    user = bench_user()
    start = psutil.Process().memory_info().rss
    elapsed, (campaign, report) = timed(
        lambda: create_tokenset(user=user, **campaign_kwargs(size, LINKS_PER_TOKEN, database))
    )
    if report.written != size:
        raise RuntimeError(f"create_tokenset wrote {report.written} of {size} tokens: {report.message()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"start": start, "peak": peak, "seconds": elapsed}


def run(workdir, *, size: int) -> Table:
    from django.conf import settings

    from tokens_app.couch import get_gateway

    table = Table("Memory: peak resident memory while creating a campaign")
    with couch_server(workdir) as server:
        database = f"memory_{size}"
        get_gateway().create_database(database)
        couch = settings.COUCHDB
        result = run_child("bench.memory:create_in_child", size=size, database=database, env={
            "COUCHDB_URL": couch["URL"], "COUCHDB_USER": couch["USER"], "COUCHDB_PASSWORD": couch["PASSWORD"],
            "COUCHDB_TIMEOUT": str(couch["TIMEOUT"]), "DATABASE_URL": f"sqlite:///{workdir / 'memory.sqlite3'}",
        })
    above = (result["peak"] - result["start"]) / 2**20
    table.add(f"create_tokenset, {size:,} tokens: peak above start", f"{above:.0f} MB",
              f"{result['start'] / 2**20:.0f} MB at start", target=f"< {TARGET_MB} MB", met=above < TARGET_MB)
    table.add(f"create_tokenset, {size:,} tokens: time", f"{result['seconds']:.1f} s",
              f"{size / result['seconds']:,.0f} tokens/s")
    table.notes.append(
        f"Child process: start = resident memory after Django setup and migrate; peak = ru_maxrss. "
        f"Batches of {settings.COUCHDB['BATCH_SIZE']}; {LINKS_PER_TOKEN} link per token, since plan_tokenset "
        "refuses SRM lists of more than 100,000 lines; the input list is generated inside the measured span."
    )
    return table
