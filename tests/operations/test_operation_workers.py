"""Operations queued from the browser and run by real worker processes (``manage.py db_worker``)
on the test's database: the page queues, the worker runs, the history tells what came of it; a
worker killed mid-push leaves its operation interrupted, and resuming it completes the push."""

import os
import signal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from operation_support import CONFIG, finished, srm_list, wait_until

from tokens_app import selectors, services
from tokens_app.couch import get_gateway
from tokens_app.models import Campaign, Operation

pytestmark = pytest.mark.django_db(transaction=True)


def url(name, campaign):
    return reverse(f"tokens:campaign-{name}", args=[campaign.pk])


def queued(response) -> int:
    """The number of the operation a page said it queued."""
    message = [str(message) for message in get_messages(response.wsgi_request)][-1]
    assert "queued as operation #" in message, message
    return int(message.split("#")[1].split(";")[0])


@pytest.fixture
def operator_client(client, campaign):
    client.force_login(campaign.created_by)
    return client


def test_each_browser_action_is_queued_then_run_by_a_worker(operator_client, campaign, workers):
    token_id = services.plan_of(campaign).token_ids[0]
    posts = [
        ("reset", {"view": "todo", "confirmed": "True"}, {"changed": 12}),
        ("set-status", {"status": "queued", "confirmed": "True"}, {"changed": 12}),
        ("set-field", {"field": "priority", "value": "5", "confirmed": "True"}, {"changed": 12}),
        ("attach", {"file": SimpleUploadedFile("run.parset", b"a=1\n")}, {"changed": 12}),
        ("delete", {"token_id": token_id, "confirmed": "True"}, {"changed": 1}),
        ("scrub", {"older_than": "1h", "confirmed": "True"}, {"changed": 0, "processed": 0}),
        ("purge", {"confirmed": "True"}, {"changed": 11}),
    ]
    numbers = [queued(operator_client.post(url(name, campaign), data)) for name, data, _ in posts]
    rows = Operation.objects.in_bulk(numbers)
    assert all(rows[number].state == "queued" for number in numbers)
    assert selectors.overview_counts(campaign)["total"] == 12  # nothing ran in the request
    page = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert f"Operation #{numbers[0]}" in page and "data-operation-url" in page

    workers.start()
    for number, (name, _, counts) in zip(numbers, posts):
        operation = wait_until(lambda: finished(number), f"the {name} operation", workers)
        assert operation.state == "done", (name, operation.error)
        assert {field: getattr(operation, field) for field in counts} == counts, name
        assert (operation.source, operation.username, operation.attempts) == ("browser", "alice", 1)
    campaign.refresh_from_db()
    assert campaign.status == "purged"

    page = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert "12 changed, 0 conflicted, 0 skipped" in page and "11 changed, 0 conflicted" in page
    history = operator_client.get(reverse("tokens:operations"), {"campaign": campaign.pk, "action": "delete"})
    assert [operation.pk for operation in history.context["operations"]] == [numbers[4]]
    assert "1 changed, 0 conflicted, 0 skipped" in history.content.decode()


def test_a_push_confirmed_in_the_browser_is_written_by_a_worker(client, alice, couch_db, workers):
    client.force_login(alice)
    client.post(reverse("tokens:campaign-new"), {
        "config": SimpleUploadedFile("pref_cal1.yaml", CONFIG), "srmlist_file": SimpleUploadedFile("l.txt", srm_list(30)),
        "database": couch_db, "slice_size": 1, "id_prefix": "SB", "key_name": "STARTSB", "srm_attachment": "srm.txt",
        "link_flavor": "srm",
    })
    client.post(reverse("tokens:campaign-preview"))
    campaign = Campaign.objects.get(database=couch_db)
    push = Operation.objects.get(campaign=campaign)
    assert (push.action, push.state, campaign.status) == ("push", "queued", "creating")

    workers.start()
    push = wait_until(lambda: finished(push.pk), "the push", workers)
    assert (push.state, push.written, push.processed, push.total) == ("done", 30, 30, 30)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == ("ready", 30)
    status = client.get(url("status", campaign)).json()
    assert status["status"] == "ready" and status["operation"] is None


def test_a_worker_killed_mid_push_leaves_it_interrupted_and_resuming_completes_it(client, alice, couch_db, workers):
    tokens = 5_000
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srm_list(tokens), database=couch_db)
    campaign = services.start_campaign(plan, user=alice)
    push = services.runs.queue_operation(Operation.Action.PUSH, campaign, alice, source="browser")
    # Small batches written one at a time make the push long enough to be caught half-way.
    slow = {"COUCHDB_BATCH_SIZE": 25, "COUCHDB_WRITES_IN_FLIGHT": 1, "TASKS_LEASE_SECONDS": 3}
    worker = workers.start(**slow)
    halfway = wait_until(
        lambda: Operation.objects.filter(pk=push.pk, processed__gt=0, processed__lt=tokens).first(),
        "the push to be part-way", workers,
    )
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    halfway.refresh_from_db()
    assert halfway.state == "running" and 0 < halfway.processed < tokens

    # Nobody renews the lease now: once it has lapsed, the pages show it interrupted.
    wait_until(lambda: timezone.now() > halfway.lease_until, "the lease to lapse")
    client.force_login(alice)
    status = client.get(url("status", campaign)).json()
    assert status["operation"]["state"] == "interrupted" and status["operation"]["id"] == push.pk
    page = client.get(reverse("tokens:operations"), {"state": "interrupted"}).content.decode()
    assert f"Resume operation #{push.pk}" in page

    client.post(reverse("tokens:operation-resume", args=[push.pk]))
    assert Operation.objects.get(pk=push.pk).state == "queued"
    workers.start()
    push = wait_until(lambda: finished(push.pk), "the resumed push", workers)
    assert (push.state, push.attempts) == ("done", 2)
    assert push.written + push.existing == tokens and push.existing >= halfway.processed
    ids = [row["id"] for row in get_gateway().iter_all_docs(couch_db) if not row["id"].startswith("_design/")]
    assert len(ids) == tokens and set(ids) == set(plan.token_ids)  # every token once, nothing else
    assert selectors.overview_counts(campaign)["total"] == tokens
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == ("ready", tokens)
