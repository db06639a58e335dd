"""The queue keeps up: an action identical to one still queued is not queued again (the operator
is shown the queued one)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tokens_app.models import Operation
from tokens_app.services import runs

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
    assert f"already queued as operation #{queued.pk}" in messages_of(second)[-1]
    assert list(Operation.objects.values_list("pk", flat=True)) == [queued.pk]
    assert DBTaskResult.objects.count() == 1
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert f'id="operation-{queued.pk}"' in page

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
