"""Counts and the live page's whole-campaign reads (the map, errors by host, finishing times,
error groups) made again by a real task worker: a request that finds one due shows the one it
has and queues the new read, so no page waits on a query that grows with the data."""

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from operation_support import wait_until

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


def map_errors(client, campaign) -> tuple[int, int]:
    """(errors in the counts, errors in the map) of one status request."""
    answer = client.get(reverse("tokens:campaign-status", args=[campaign.pk]), {"map": "1", "known": "{}"}).json()
    return answer["counts"]["error"], answer["map"]["states"].count("e")


def queued(task_name: str) -> list[list]:
    """The arguments of the tasks ``task_name`` queued for a worker."""
    return [row.args_kwargs["args"] for row in DBTaskResult.objects.filter(task_path__endswith=task_name)]


def queued_reads() -> list[str]:
    """The names of the whole-campaign reads queued for a worker."""
    return [args[1] for args in queued("refresh_campaign_read")]


def test_a_due_read_is_made_by_a_worker_while_pages_show_the_last_one(client, campaign, database_tasks, workers,
                                                                      monkeypatch):
    monkeypatch.setattr(campaign_reads, "READ_SHARE", float("inf"))  # due with every new snapshot
    client.force_login(campaign.created_by)
    ids = services.plan_of(campaign).token_ids
    assert map_errors(client, campaign) == (0, 0)  # the first read: made by the request

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
