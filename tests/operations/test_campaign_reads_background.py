"""The live page's whole-campaign reads (the map, errors by host, finishing times, error groups)
made again by a real task worker: a request that finds one due shows the one it has and
queues the new read, so no page waits on a walk that grows with the campaign."""

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from operation_support import CONFIG, make_user, srm_list, wait_until

from tokens_app import campaign_reads, counts, services
from tokens_app.couch import get_gateway

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def campaign(couch_db):
    campaign, _ = services.create_tokenset(
        user=make_user("alice"), config_data=CONFIG, srmlist_data=srm_list(12), database=couch_db,
    )
    return campaign


def fail(campaign, token_id):
    """A pilot's failed job: the counts move (their interval passed), the shared reads are due."""
    gateway = get_gateway()
    doc = gateway.get_doc(campaign.database, token_id)
    doc.update(lock=1_700_000_000, done=1_700_000_060, hostname="wn-bad", exit_code=1, status="error")
    gateway.put_doc(campaign.database, doc)
    counts.expire(campaign.database)


def map_errors(client, campaign) -> tuple[int, int]:
    """(errors in the counts, errors in the map) of one status request."""
    answer = client.get(reverse("tokens:campaign-status", args=[campaign.pk]), {"map": "1", "known": "{}"}).json()
    return answer["counts"]["error"], answer["map"]["states"].count("e")


def queued_reads() -> list[str]:
    """The names of the whole-campaign reads queued for a worker."""
    rows = DBTaskResult.objects.filter(task_path__endswith="refresh_campaign_read")
    return [row.args_kwargs["args"][1] for row in rows]


def test_a_due_read_is_made_by_a_worker_while_pages_show_the_last_one(client, campaign, database_tasks, workers,
                                                                      monkeypatch):
    monkeypatch.setattr(campaign_reads, "READ_SHARE", float("inf"))  # due with every new snapshot
    client.force_login(campaign.created_by)
    ids = services.plan_of(campaign).token_ids
    assert map_errors(client, campaign) == (0, 0)  # the first read: made by the request

    fail(campaign, ids[0])
    # Due: the request shows the map it has and queues the read; no worker runs yet.
    assert map_errors(client, campaign) == (1, 0)
    assert sorted(queued_reads()) == ["done_times", "error_scan", "error_summary", "map"]
    # Everyone else meanwhile shows the same, and queues nothing more.
    assert map_errors(client, campaign) == (1, 0)
    assert len(queued_reads()) == 4

    workers.start()
    wait_until(lambda: map_errors(client, campaign) == (1, 1), "the worker's map", workers)
