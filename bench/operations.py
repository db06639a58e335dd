"""Operations on a task worker: how soon an idle worker starts a queued operation, and a push run
by a worker against the same push run in-process.

A real ``manage.py db_worker`` process (polling as ``runportal`` starts it) works off the
database task backend on the benchmark's ORM database and pouchdb-server.

- latency: an operation (``set status`` on 10 tokens) queued while the worker sleeps between
  polls, from the row's creation to the worker's claim, at phases spread over the poll interval;
- push: ``push_tokenset`` of a campaign, queued and run by the worker (timed from the row's
  creation to its end) vs called in this process, alternating, each into a fresh database.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from .environment import BASE_DIR, bench_user, couch_server
from .inputs import campaign_kwargs
from .report import Table
from .timing import seconds, timed

LATENCY_TARGET = 1.0
PUSH_TARGET = 0.95
LINKS_PER_TOKEN = 10
DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"


def start_worker(server, workdir):
    """A ``db_worker`` process on the benchmark's databases, polling as ``runportal``'s does."""
    from django.conf import settings

    from devtools.management.commands.runportal import WORKER_POLL_SECONDS

    env = {
        **os.environ, "TASKS_BACKEND": DATABASE_BACKEND, "COUCHDB_URL": server.url, "COUCHDB_USER": server.user,
        "COUCHDB_PASSWORD": server.password, "COUCHDB_BATCH_SIZE": str(settings.COUCHDB["BATCH_SIZE"]),
    }
    with (workdir / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval",
             WORKER_POLL_SECONDS],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    return worker, float(WORKER_POLL_SECONDS)


def wait_finished(operation_id: int, worker, timeout: float = 1800):
    """The operation once done; polled slowly, so that the waiting takes no CPU from the worker
    (the row's own timestamps say how long it took)."""
    from tokens_app.models import Operation

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = Operation.objects.get(pk=operation_id)
        if operation.is_final:
            if operation.state != Operation.State.DONE:
                raise RuntimeError(f"operation #{operation_id} ended {operation.state}: {operation.error}")
            return operation
        if worker.poll() is not None:
            raise RuntimeError("the worker stopped")
        time.sleep(0.25)
    raise RuntimeError(f"operation #{operation_id} did not finish in {timeout} s")


def run(workdir, *, sizes: list[int], latency_samples: int) -> Table:
    from django.test.utils import override_settings

    from tokens_app.couch import get_gateway

    table = Table("Operations on a task worker (db_worker, database backend)")
    user = bench_user()
    with couch_server(workdir) as server, override_settings(
        TASKS={"default": {"BACKEND": DATABASE_BACKEND, "QUEUES": ["default"]}}
    ):
        gateway = get_gateway()
        worker, interval = start_worker(server, workdir)
        try:
            measure_latency(table, gateway, user, worker, interval, latency_samples)
            for size in sizes:
                compare_pushes(table, gateway, user, worker, size)
        finally:
            worker.terminate()
            worker.wait(30)
    table.notes.append(
        f"The worker polls every {interval:g} s when idle (runportal's setting; db_worker's default is 1 s). "
        "Latency is the row's creation to the worker's claim; the worker's push is the row's creation to its "
        "end (its own timestamps), so it includes the latency. The benchmark looks at the row only every "
        "0.25 s, so that waiting takes no CPU from the worker on this 2-core machine."
    )
    table.notes.append(f"Pushes: {LINKS_PER_TOKEN} links per token + one parset, as in the creation benchmark; "
                       "in-process and worker rounds alternate, each into a fresh database.")
    return table


def measure_latency(table: Table, gateway, user, worker, interval: float, samples: int) -> None:
    """Rows for the time from queueing an operation to the idle worker's start of it."""
    from tokens_app.models import Operation
    from tokens_app.services import create_tokenset, runs

    gateway.create_database("ops_latency")
    small, _ = create_tokenset(user=user, **campaign_kwargs(10, 1, "ops_latency"))
    latencies = []
    for sample in range(samples):
        # Queue at a different phase of the idle worker's sleep each time.
        time.sleep(interval * (1 + sample / samples))
        operation = runs.queue_operation(
            Operation.Action.SET_STATUS, small, user, source="command", options={"status": f"s{sample}"}
        )
        done = wait_finished(operation.pk, worker)
        latencies.append((done.started_at - done.created_at).total_seconds())
    median = statistics.median(latencies)
    table.add(f"queue to start, idle worker (median of {samples})", seconds(median),
              target=f"< {LATENCY_TARGET:g} s", met=median < LATENCY_TARGET)
    table.add("queue to start, slowest", seconds(max(latencies)))


def compare_pushes(table: Table, gateway, user, worker, size: int) -> None:
    """A row for pushes of ``size`` tokens through the worker against in this process (medians
    of 3 rounds, alternating, each into a fresh database)."""
    from tokens_app.models import Operation
    from tokens_app.services import plan_tokenset, push_tokenset, runs, start_campaign

    in_process, through_worker = [], []
    for round_number in range(3):
        for how in ("here", "worker"):
            database = f"ops_push_{how}_{size}_{round_number}"
            gateway.create_database(database)
            plan = plan_tokenset(**campaign_kwargs(size, LINKS_PER_TOKEN, database))
            campaign = start_campaign(plan, user=user)
            if how == "here":
                elapsed, report = timed(lambda: push_tokenset(campaign, user=user))
                in_process.append(elapsed)
            else:
                report = wait_finished(
                    runs.queue_operation(Operation.Action.PUSH, campaign, user, source="command").pk,
                    worker,
                )
                through_worker.append((report.finished_at - report.created_at).total_seconds())
            if report.written != size:
                raise RuntimeError(f"the {how} push wrote {report.written} of {size} tokens")
            gateway.delete_database(database)
    here, there = statistics.median(in_process), statistics.median(through_worker)
    table.add(f"push of {size:,} tokens: worker vs in-process (median of 3)", seconds(there),
              seconds(here), f"{here / there:.2f}× its speed", f"≥ {PUSH_TARGET:g}× its speed",
              here / there >= PUSH_TARGET)
