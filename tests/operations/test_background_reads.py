"""Counts and the live page's whole-campaign reads (the map, errors by host, finishing times,
error groups) made again by a real task worker: a request that finds one due shows the one it
has and queues the new read, so no page waits on a query that grows with the data."""

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from operation_support import ROOT, wait_until, worker_env

from tokens_app import campaign_reads, counts, services
from tokens_app.couch import get_gateway

pytestmark = pytest.mark.django_db(transaction=True)


def fail(campaign, token_id, *, counted: bool):
    """A pilot's failed job, then the counts' interval passes: they are due, or (``counted``)
    already counted again, as by a worker."""
    gateway = get_gateway()
    doc = gateway.get_doc(campaign.database, token_id)
    doc.update(lock=1_700_000_000, done=1_700_000_060, hostname="wn-bad", exit_code=1, status="error")
    gateway.put_doc(campaign.database, doc)
    if counted:
        counts.refresh(campaign.database)
    else:
        counts.expire(campaign.database)


def status(client, campaign) -> dict:
    return client.get(reverse("tokens:campaign-status", args=[campaign.pk]), {"map": "1", "known": "{}"}).json()


def map_errors(client, campaign) -> tuple[int, int]:
    """(errors in the counts, errors in the map) of one status request."""
    answer = status(client, campaign)
    return answer["counts"]["error"], answer["map"]["states"].count("e")


def queued(task_name: str) -> list[list]:
    """The arguments of the tasks ``task_name`` queued for a worker and not run yet."""
    rows = DBTaskResult.objects.ready().filter(task_path__endswith=task_name)
    return [row.args_kwargs["args"] for row in rows]


def queued_reads() -> list[str]:
    """The names of the whole-campaign reads queued for a worker."""
    return [args[1] for args in queued("refresh_campaign_read")]


def run_worker_once() -> str:
    """A real worker, run until the queue is empty; answer what it logged."""
    return subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay"],
        cwd=ROOT, env=worker_env(), check=True, timeout=120, capture_output=True, text=True,
    ).stderr


def test_a_due_read_is_made_by_a_worker_while_pages_show_the_last_one(client, campaign, database_tasks, workers,
                                                                      monkeypatch):
    monkeypatch.setattr(campaign_reads, "READ_SHARE", float("inf"))  # due with every new snapshot
    client.force_login(campaign.created_by)
    ids = services.plan_of(campaign).token_ids
    # The first read of a campaign is a worker's too: the page says it is reading, and asks again
    # (its signature matches no counts, and it asks for the map until it has one).
    first = status(client, campaign)
    assert first["map"] is None and first["signature"] == "incomplete"
    assert "Reading the error tokens" in first["html"]["errors"]
    assert sorted(queued_reads()) == ["done_times", "error_scan", "error_summary", "map"]
    assert status(client, campaign)["map"] is None and len(queued_reads()) == 4  # queued once
    run_worker_once()
    assert map_errors(client, campaign) == (0, 0)
    # The worker's reads are due with the next snapshot too (its READ_SHARE is the real one).
    later = time.time() + 10**9  # the module's clock only: the cache keeps its own
    monkeypatch.setattr(campaign_reads, "time", SimpleNamespace(time=lambda: later, monotonic=time.monotonic))

    fail(campaign, ids[0], counted=True)
    # Due: the request shows the map it has and queues the read; no worker runs yet.
    assert map_errors(client, campaign) == (1, 0)
    assert sorted(queued_reads()) == ["done_times", "error_scan", "error_summary", "map"]
    # Everyone else meanwhile shows the same, and queues nothing more.
    assert map_errors(client, campaign) == (1, 0)
    assert len(queued_reads()) == 4

    workers.start()
    wait_until(lambda: map_errors(client, campaign) == (1, 1), "the worker's map", workers)


def test_due_counts_are_counted_by_a_worker_while_pages_show_the_last_ones(client, campaign, database_tasks, workers):
    client.force_login(campaign.created_by)
    api = reverse("tokens:api-counts") + f"?ids={campaign.pk}"
    assert client.get(api).json()["campaigns"][str(campaign.pk)]["error"] == 0  # counted by the request

    fail(campaign, services.plan_of(campaign).token_ids[0], counted=False)
    assert client.get(api).json()["campaigns"][str(campaign.pk)]["error"] == 0  # the last counts
    assert queued("refresh_counts") == [[campaign.database]]
    assert client.get(api).json()["campaigns"][str(campaign.pk)]["error"] == 0
    assert queued("refresh_counts") == [[campaign.database]]  # one refresh, whoever asks

    workers.start()
    wait_until(lambda: client.get(api).json()["campaigns"][str(campaign.pk)]["error"] == 1, "the worker's counts",
               workers)


def test_an_operation_is_done_only_once_its_counts_and_watched_reads_show_it(client, campaign, alice, database_tasks):
    """The page following an operation reloads on "done": with a task worker, it showed the
    counts and error groups from before the operation (a reset of 300 errors still read 300)."""
    from tokens_app.models import Operation
    from tokens_app.services import runs

    client.force_login(campaign.created_by)
    ids = services.plan_of(campaign).token_ids
    for token_id in ids[:3]:
        fail(campaign, token_id, counted=True)
    status(client, campaign)  # watched: the first reads are queued, and made by a worker
    run_worker_once()
    assert map_errors(client, campaign) == (3, 3)
    operation = runs.queue_operation(Operation.Action.RESET, campaign, alice, source="admin",
                                     selection={"view": "error"})
    # A real worker, run until the queue is empty; nothing else counts meanwhile.
    run_worker_once()
    operation.refresh_from_db()
    assert operation.state == "done"
    snap = counts.cached(campaign.database)
    assert counts.counts_of(snap, campaign.token_type)["error"] == 0 and snap["checked"] > 0
    kept = cache.get(campaign_reads._read_key(campaign.pk, "map"))
    assert kept["at"] == snap["at"] and kept["value"]["states"].count("e") == 0
    # The page reads both as they are: no request re-reads or queues anything.
    assert map_errors(client, campaign) == (0, 0) and queued_reads() == [] and queued("refresh_counts") == []


def test_an_operation_whose_reads_cannot_be_made_again_is_done_all_the_same(client, campaign, alice, database_tasks):
    """Its work is written: a read failing afterwards (here the campaign's ``_design/<type>``,
    whose ``done`` view the finishing times walk, deleted by another tool) leaves the reads due."""
    from tokens_app.models import Operation
    from tokens_app.services import runs

    client.force_login(campaign.created_by)
    status(client, campaign)  # watched: the first reads are queued, and made by a worker
    run_worker_once()
    operation = runs.queue_operation(Operation.Action.SET_FIELD, campaign, alice, source="admin",
                                     selection={"view": "todo"}, options={"field": "priority", "value": 5})
    gateway = get_gateway()
    design = gateway.get_doc(campaign.database, f"_design/{campaign.token_type}")
    gateway.bulk_docs(campaign.database, [{**design, "_deleted": True}])
    logged = run_worker_once()
    operation.refresh_from_db()
    assert (operation.state, operation.changed) == ("done", 12)
    assert "after its operation" in logged
