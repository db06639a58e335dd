"""Whom an operation runs as: the runner checks that user when the work starts (still there,
active, allowed to change campaigns, let through by the lock guard), not only when it was queued;
a resume by someone else runs, and is recorded, as theirs."""

import subprocess
import sys

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from operation_support import ROOT, worker_env

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app.models import Operation
from tokens_app.services import runs
from tokens_app.services import runner

pytestmark = pytest.mark.django_db(transaction=True)


def queue_set_field(campaign, user) -> Operation:
    return runs.queue_operation(Operation.Action.SET_FIELD, campaign, user, source="browser",
                                options={"field": "note", "value": "changed"})


def noted(gateway, campaign) -> int:
    docs = gateway.fetch_docs(campaign.database, [row["id"] for row in gateway.iter_view(
        campaign.database, campaign.token_type, "todo")])
    return sum(doc.get("note") == "changed" for doc in docs.values())


def run_a_worker() -> None:
    """A real worker, run until the queue is empty."""
    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay"],
        cwd=ROOT, env=worker_env(), check=True, timeout=120, capture_output=True,
    )


def test_a_resume_by_another_operator_runs_as_them_and_says_so(
    client, campaign, alice, bob, gateway, database_tasks
):
    operation = queue_set_field(campaign, bob)
    Operation.objects.filter(pk=operation.pk).update(state="interrupted", error="stopped")
    bob.is_active = False
    bob.save()
    # Only alice may change the campaign now: the work must run as her, not as bob.
    TokenUtility().register(tokens.ExclusiveLock(campaign, "alice"))

    runs.resume_operation(operation, alice)
    run_a_worker()

    operation.refresh_from_db()
    assert (operation.state, operation.changed, operation.error) == ("done", 12, "")
    assert (operation.username, operation.run_by, operation.run_by_username) == ("bob", alice, "alice")
    assert noted(gateway, campaign) == 12
    client.force_login(alice)
    for page in (reverse("tokens:operations"), campaign.get_absolute_url()):
        assert "run by alice" in client.get(page).content.decode()


def deactivate(user):
    user.is_active = False
    user.save()


def withdraw_permission(user):
    user.user_permissions.remove(Permission.objects.get(codename="change_campaign"))


def delete(user):
    user.delete()


@pytest.mark.parametrize(("change", "reason"), [
    (deactivate, "bob is no longer an active user"),
    (withdraw_permission, "bob may no longer change campaigns"),
    (delete, "bob no longer exists"),
])
def test_an_operation_whose_user_may_no_longer_run_it_is_refused_at_start_and_changes_nothing(
    campaign, bob, gateway, database_tasks, change, reason
):
    operation = queue_set_field(campaign, bob)
    change(bob)
    assert runner.run_operation(operation.pk) == "refused"
    operation.refresh_from_db()
    assert operation.state == "refused" and reason in operation.error
    assert (operation.processed, operation.changed) == (0, 0)
    assert noted(gateway, campaign) == 0


def test_an_interrupted_operation_resumed_by_a_user_the_guard_refuses_is_refused_at_start(
    campaign, alice, bob, gateway, database_tasks
):
    operation = queue_set_field(campaign, alice)
    Operation.objects.filter(pk=operation.pk).update(state="interrupted", error="stopped")
    runs.resume_operation(operation, bob)
    # A lock alice takes after bob resumed: the run is bob's, so the guard refuses it.
    TokenUtility().register(tokens.ExclusiveLock(campaign, "alice"))
    assert runner.run_operation(operation.pk) == "refused"
    operation.refresh_from_db()
    assert "locked by alice" in operation.error and operation.run_by_username == "bob"
    assert noted(gateway, campaign) == 0
