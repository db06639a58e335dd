"""The queue keeps up: an action identical to one still queued is not queued again (the operator
is shown the queued one)."""

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from operation_support import finished, wait_until

from tokens_app import history
from tokens_app.models import Operation
from tokens_app.services import runs
from tokens_app.services import runner

pytestmark = pytest.mark.django_db(transaction=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_same_reset_posted_twice_is_queued_once_and_the_page_names_the_queued_one(
    client, campaign, database_tasks
):
    client.force_login(campaign.created_by)
    url = reverse("tokens:campaign-reset", args=[campaign.pk])
    first = client.post(url, {"view": "todo", "confirmed": "True"})
    queued = Operation.objects.get()
    assert f"queued as operation #{queued.pk}" in messages_of(first)[-1]

    second = client.post(url, {"view": "todo", "confirmed": "True"})
    link = f'<a href="{campaign.get_absolute_url()}#operation-{queued.pk}">operation #{queued.pk}</a>'
    assert f"already queued as {link} (not queued again)" in messages_of(second)[-1]
    assert list(Operation.objects.values_list("pk", flat=True)) == [queued.pk]
    assert DBTaskResult.objects.count() == 1
    page = client.get(second.url).content.decode()  # where the operator is sent: the link, and its row
    assert link in page and f'id="operation-{queued.pk}"' in page

    other = client.post(url, {"view": "error", "confirmed": "True"})
    assert "already" not in messages_of(other)[-1]
    assert Operation.objects.count() == 2


def test_options_compare_as_stored_json_and_only_a_queued_twin_counts(campaign, alice, database_tasks):
    def set_field(value, **selection):
        return runs.queue_operation(
            Operation.Action.SET_FIELD, campaign, alice, source="admin", selection=selection,
            options={"value": value, "field": "priority"},
        )

    first = set_field([1, 2], view="todo")
    assert not getattr(first, "already_queued", False)
    twin = set_field((1, 2), view="todo")  # a tuple is stored as the list it equals
    assert (twin.pk, twin.already_queued) == (first.pk, True)
    assert set_field([1, 2], view="todo", ids=None).pk == first.pk  # an empty part is not stored
    assert set_field([2, 1], view="todo").pk != first.pk
    assert set_field([1, 2], view="error").pk != first.pk

    Operation.objects.filter(pk=first.pk).update(state=Operation.State.RUNNING)
    again = set_field([1, 2], view="todo")
    assert again.pk != first.pk and not getattr(again, "already_queued", False)
    assert Operation.objects.filter(state=Operation.State.QUEUED).count() == 3


def test_a_campaign_operation_waits_for_the_ones_before_it_and_another_campaign_does_not(
    campaign, make_campaign, alice, database_tasks
):
    other = make_campaign(token_type="other")

    def set_status(target, status):
        return runs.queue_operation(Operation.Action.SET_STATUS, target, alice, source="admin",
                                    options={"status": status}).pk

    first, second, elsewhere = set_status(campaign, "one"), set_status(campaign, "two"), set_status(other, "one")
    assert runner.run_operation(second, in_turn=True) == "queued"
    assert Operation.objects.get(pk=second).attempts == 0
    assert runner.run_operation(elsewhere, in_turn=True) == "done"
    assert runner.run_operation(first, in_turn=True) == "done"
    assert runner.next_in_campaign(first) == second
    assert runner.run_operation(second, in_turn=True) == "done"


def overlap(one: Operation, other: Operation) -> bool:
    return one.started_at < other.finished_at and other.started_at < one.finished_at


def test_two_workers_run_two_campaigns_at_once_and_one_campaign_in_order(
    campaign, make_campaign, alice, couch_server, workers
):
    """CouchDB is stopped for real while the workers take the operations: an operation taken
    waits for it in its worker, so both workers are held at once whatever the machine's speed."""
    other = make_campaign(token_type="other")

    def set_status(target, status):
        return runs.queue_operation(Operation.Action.SET_STATUS, target, alice, source="browser",
                                    options={"status": status}).pk

    first, second, elsewhere = set_status(campaign, "one"), set_status(campaign, "two"), set_status(other, "one")
    couch_server.stop()
    try:
        workers.start()
        workers.start()
        wait_until(
            lambda: Operation.objects.filter(pk__in=[first, elsewhere], state="running").count() == 2,
            "both campaigns' first operations running at once", workers,
        )
        assert Operation.objects.get(pk=second).state == "queued"
    finally:
        couch_server.start()

    rows = {number: wait_until(lambda number=number: finished(number), f"operation #{number}", workers)
            for number in (first, second, elsewhere)}
    assert [rows[number].state for number in (first, second, elsewhere)] == ["done"] * 3
    assert overlap(rows[first], rows[elsewhere])
    assert rows[second].started_at >= rows[first].finished_at
    assert (rows[second].attempts, rows[second].changed) == (1, 12)


def test_the_pages_and_the_status_show_a_queued_operation_s_place_in_line(
    client, campaign, make_campaign, alice, database_tasks, django_assert_max_num_queries
):
    other = make_campaign(token_type="other")

    def set_status(target, status):
        return runs.queue_operation(Operation.Action.SET_STATUS, target, alice, source="browser",
                                    options={"status": status}).pk

    before = [set_status(other, "one"), set_status(other, "two")]
    mine = set_status(campaign, "three")
    Operation.objects.filter(pk=before[0]).update(state="running")  # no longer in line
    client.force_login(alice)

    status = client.get(reverse("tokens:campaign-status", args=[campaign.pk])).json()["operation"]
    assert (status["id"], status["ahead"], status["place"]) == (mine, 1, "2nd in line, 1 ahead of it")
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert page.count("2nd in line, 1 ahead of it") == 2  # the operation followed, and its history row
    listed = client.get(reverse("tokens:operations")).content.decode()
    assert "2nd in line, 1 ahead of it" in listed and "next in line" in listed

    rows = list(Operation.objects.all())
    with django_assert_max_num_queries(1):
        history.as_shown(rows)
    assert {row.pk: getattr(row, "ahead", None) for row in rows} == {before[0]: None, before[1]: 0, mine: 1}


def test_the_campaign_page_s_panel_shows_the_place_and_then_the_wait_for_couchdb_and_the_status_too(
    client, campaign, make_campaign, alice, database_tasks
):
    other = make_campaign(token_type="other")
    before = runs.queue_operation(Operation.Action.SET_STATUS, other, alice, source="browser", options={"status": "a"})
    mine = runs.queue_operation(Operation.Action.SET_STATUS, campaign, alice, source="browser", options={"status": "b"})
    client.force_login(alice)

    def panel() -> str:
        page = client.get(campaign.get_absolute_url()).content.decode()
        return page[page.index('<section class="card operation"'):page.index('id="history"')]

    shown = panel()
    place = 'data-operation="place" data-testid="operation-place"'
    assert f'<span class="muted" {place}>2nd in line, 1 ahead of it</span>' in shown
    assert '<span class="muted" data-operation="waiting" data-testid="operation-waiting" hidden></span>' in shown

    since = timezone.now().replace(microsecond=250000) - timedelta(seconds=42)
    Operation.objects.filter(pk=before.pk).update(state="done")
    Operation.objects.filter(pk=mine.pk).update(state="running", runner="elsewhere", waiting_since=since,
                                                lease_until=timezone.now() + timedelta(minutes=1))
    shown = panel()
    assert f'<span class="muted" {place} hidden></span>' in shown
    assert (f'<span class="muted" data-operation="waiting" data-testid="operation-waiting">waiting for CouchDB since '
            f'<time datetime="{since.isoformat()}">{since:%Y-%m-%d %H:%M:%S}</time></span>') in shown
    status = client.get(reverse("tokens:campaign-status", args=[campaign.pk])).json()["operation"]
    assert (status["id"], status["state"], status["waiting_since"], status["place"]) == (
        mine.pk, "running", since.isoformat(), "")


def test_two_requests_at_once_queue_one_operation(campaign, alice, database_tasks, monkeypatch):
    """The first request pauses between looking for a twin and saving its row, as long as the
    second takes to finish or up to 3 s: the second must wait for it, and then finds its row."""
    find, second_done = runs._queued_twin, threading.Event()

    def slow_find(operation):
        twin = find(operation)
        if threading.current_thread().name == "first":
            second_done.wait(3)
        return twin

    monkeypatch.setattr(runs, "_queued_twin", slow_find)
    answers = {}

    def request(name):
        try:
            answers[name] = runs.queue_operation(Operation.Action.RESET, campaign, alice, source="browser",
                                                 selection={"view": "todo"}).pk
        finally:
            if name == "second":
                second_done.set()
            connection.close()

    first = threading.Thread(target=request, args=("first",), name="first")
    first.start()
    time.sleep(0.2)  # let the first request take its place first
    second = threading.Thread(target=request, args=("second",), name="second")
    second.start()
    first.join()
    second.join()
    assert answers["first"] == answers["second"] == Operation.objects.get().pk
