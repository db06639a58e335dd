"""The operations history in one process: the guard asked when an operation is queued and again
when it starts, rows final once finished, leases, resume, the pages and the admin, and every
command recording its operation. Runs happen in the test (the tests' immediate task backend, or
``run_operation`` called as a worker would) unless the test starts a worker."""

import io
import subprocess
import sys
import tarfile
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from operation_support import CONFIG, ROOT, srm_list, worker_env

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import selectors, services
from tokens_app.models import Campaign, Operation, OperationFinished
from tokens_app.services import runs
from tokens_app.services import runner
from tokens_app.tasks import expire_leases

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(make_user):
    """alice as a superuser, not the shared operator: these tests also use the admin (the
    operations list, its resume action, the campaigns' "write the missing tokens"). The shared
    campaign is hers here too."""
    return make_user("alice", superuser=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def reset_url(campaign):
    return reverse("tokens:campaign-reset", args=[campaign.pk])


def test_a_lock_refuses_the_operation_when_it_is_queued_and_nothing_is_queued(client, campaign, database_tasks):
    TokenUtility().register(tokens.ExclusiveLock(campaign, "bob"))
    client.force_login(campaign.created_by)
    response = client.post(reset_url(campaign), {"view": "todo", "confirmed": "True"})
    assert "locked by bob" in messages_of(response)[-1]
    refused = Operation.objects.get()
    assert (refused.action, refused.state, refused.source) == ("reset", "refused", "browser")
    assert "locked by bob" in refused.error and refused.finished_at is not None
    assert not DBTaskResult.objects.exists()


def test_a_lock_taken_after_queueing_refuses_the_operation_when_a_worker_starts_it(campaign, alice, database_tasks):
    operation = runs.queue_operation(
        Operation.Action.RESET, campaign, alice, source="admin", selection={"view": "todo"}
    )
    before = Campaign.objects.values().get(pk=campaign.pk)
    TokenUtility().register(tokens.Freeze(campaign))
    # A real worker, run until the queue is empty.
    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay"],
        cwd=ROOT, env=worker_env(), check=True, timeout=120, capture_output=True,
    )
    operation.refresh_from_db()
    assert operation.state == "refused" and "frozen since" in operation.error
    assert Campaign.objects.values().get(pk=campaign.pk) == before
    assert selectors.overview_counts(campaign)["todo"] == 12


def test_a_push_refused_when_it_starts_leaves_a_button_to_write_the_tokens(client, alice, couch_db, database_tasks):
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srm_list(5), database=couch_db)
    campaign = services.start_campaign(plan, user=alice)
    push = runs.queue_operation(Operation.Action.PUSH, campaign, alice, source="browser")
    TokenUtility().register(tokens.Freeze(campaign))
    assert runner.run_operation(push.pk) == "refused"
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count, campaign.last_error) == ("creating", 0, "")
    client.force_login(alice)
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "No push queued" in page and reverse("tokens:campaign-resume", args=[campaign.pk]) in page


def test_a_second_push_of_a_campaign_is_refused_while_the_first_is_queued(campaign, alice, database_tasks):
    first = runs.queue_operation(Operation.Action.PUSH, campaign, alice, source="browser")
    with pytest.raises(services.ServiceError, match=f"operation #{first.pk} is writing the tokens"):
        runs.queue_operation(Operation.Action.PUSH, campaign, alice, source="admin")
    assert Operation.objects.count() == 1 and DBTaskResult.objects.count() == 1


def test_a_push_whose_runner_died_does_not_refuse_the_next(campaign, alice, database_tasks):
    """The page shows such a push interrupted (its lease lapsed) before the follower's upkeep
    writes it: Resume creation then queues a push, not "is writing the tokens already"."""
    gone = runs.queue_operation(Operation.Action.PUSH, campaign, alice, source="browser")
    Operation.objects.filter(pk=gone.pk).update(state="running", runner="gone",
                                                lease_until=timezone.now() - timedelta(seconds=1))
    again = runs.queue_operation(Operation.Action.PUSH, campaign, alice, source="browser")
    assert again.pk != gone.pk
    assert Operation.objects.get(pk=gone.pk).state == "interrupted"


def test_a_finished_row_is_never_changed_and_a_second_run_does_nothing(campaign, alice):
    operation = runs.queue_operation(Operation.Action.RESET, campaign, alice, source="browser")
    assert (operation.state, operation.changed, operation.attempts) == ("done", 12, 1)
    operation.error = "rewritten"
    with pytest.raises(OperationFinished):
        operation.save()
    assert runner.run_operation(operation.pk) is None  # the task delivered twice: nothing to claim
    assert not runner.update_row(operation, error="rewritten")
    again = Operation.objects.get(pk=operation.pk)
    assert (again.error, again.attempts, again.changed) == ("", 1, 12)


def test_a_lapsed_lease_is_interrupted_and_its_runner_stops(campaign, alice, database_tasks):
    operation = runs.queue_operation(Operation.Action.RESET, campaign, alice, source="browser")
    Operation.objects.filter(pk=operation.pk).update(
        state="running", runner="gone", lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert expire_leases() == 1
    operation.refresh_from_db()
    assert operation.state == "interrupted" and "lease" in operation.error
    progress = runner._progress_of(operation, "gone", None)
    with pytest.raises(runner.LeaseLost):
        progress(5)


def test_a_lapsed_lease_of_an_operation_waiting_for_couchdb_is_queued_again_for_a_worker(
    campaign, alice, database_tasks
):
    waiting, working = (runs.queue_operation(Operation.Action.SET_STATUS, campaign, alice, source="browser",
                                             options={"status": status}) for status in ("one", "two"))
    since, gone = timezone.now() - timedelta(seconds=30), timezone.now() - timedelta(seconds=1)
    Operation.objects.filter(pk=waiting.pk).update(state="running", runner="gone", lease_until=gone,
                                                   waiting_since=since)
    Operation.objects.filter(pk=working.pk).update(state="running", runner="gone", lease_until=gone)
    tasks = DBTaskResult.objects.count()
    assert expire_leases() == 2
    waiting.refresh_from_db()
    working.refresh_from_db()
    assert (waiting.state, waiting.runner, waiting.lease_until, waiting.waiting_since) == ("queued", "", None, since)
    assert DBTaskResult.objects.count() == tasks + 1 and DBTaskResult.objects.filter(pk=waiting.task_id).exists()
    assert working.state == "interrupted"
    assert runner.run_operation(waiting.pk, in_turn=True) == "done"


def test_pages_show_a_lapsed_lease_as_interrupted_without_writing_it(client, campaign, alice, database_tasks):
    operation = runs.queue_operation(Operation.Action.RESET, campaign, alice, source="browser")
    Operation.objects.filter(pk=operation.pk).update(
        state="running", runner="gone", lease_until=timezone.now() - timedelta(seconds=1))
    client.force_login(alice)
    page = client.get(campaign.get_absolute_url()).content.decode()
    listed = client.get(reverse("tokens:operations"), {"state": "interrupted"}).content.decode()
    assert f"#{operation.pk}" not in client.get(reverse("tokens:operations"), {"state": "running"}).content.decode()
    answer = client.get(reverse("tokens:campaign-status", args=[campaign.pk])).json()
    assert f"Resume operation #{operation.pk}" in page and f"Resume operation #{operation.pk}" in listed
    assert answer["operation"]["state"] == "interrupted"
    operation.refresh_from_db()
    assert operation.state == "running"  # what the follower's upkeep or a resume writes, not a page
    client.post(reverse("tokens:operation-resume", args=[operation.pk]))
    operation.refresh_from_db()
    assert operation.state == "queued"


def test_an_interrupted_operation_is_shown_and_resumed_from_the_campaign_page(
    client, campaign, alice, victor, database_tasks
):
    operation = runs.queue_operation(Operation.Action.RESET, campaign, alice, source="browser")
    Operation.objects.filter(pk=operation.pk).update(state="interrupted", error="stopped")
    client.force_login(victor)
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "Interrupted: stopped" in page and "Resume operation" not in page
    assert client.post(reverse("tokens:operation-resume", args=[operation.pk])).status_code == 403

    client.force_login(alice)
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert f"Resume operation #{operation.pk}" in page
    client.post(reverse("tokens:operation-resume", args=[operation.pk]))
    operation.refresh_from_db()
    # Queued twice: first, and again when resumed.
    assert operation.state == "queued" and DBTaskResult.objects.filter(task_path__endswith="run_operation").count() == 2
    response = client.post(reverse("tokens:operation-resume", args=[operation.pk]))
    assert "only an interrupted one is resumed" in messages_of(response)[-1]


def test_resume_operation_command(campaign, alice):
    operation = runs.queue_operation(Operation.Action.SET_STATUS, campaign, alice, source="browser",
                                     options={"status": "again"})
    Operation.objects.filter(pk=operation.pk).update(state="interrupted")
    out = io.StringIO()
    call_command("resume_operation", str(operation.pk), stdout=out)
    assert f"Operation #{operation.pk}" in out.getvalue()
    operation.refresh_from_db()
    assert (operation.state, operation.attempts, operation.skipped) == ("done", 2, 12)  # re-decided: already set
    with pytest.raises(CommandError, match="only an interrupted one"):
        call_command("resume_operation", str(operation.pk))
    with pytest.raises(CommandError, match="no operation #999"):
        call_command("resume_operation", "999")
    with pytest.raises(CommandError, match="'x' is not a whole number"):
        call_command("resume_operation", "x")


@pytest.mark.parametrize(("name", "data", "message"), [
    ("set-field", {"field": "type", "value": "x", "confirmed": "True"}, "cannot be set"),
    ("set-field", {"field": "_id", "value": "x", "confirmed": "True"}, "starts with '_'"),
    ("reset", {"view": "no_such_view", "confirmed": "True"}, "has no view 'no_such_view'"),
])
def test_bad_options_are_refused_before_anything_is_queued(client, campaign, name, data, message):
    client.force_login(campaign.created_by)
    response = client.post(reverse(f"tokens:campaign-{name}", args=[campaign.pk]), data)
    assert message in messages_of(response)[-1]
    assert not Operation.objects.exists()


def test_queue_refuses_garbage(campaign, alice):
    with pytest.raises(services.ServiceError, match="unknown operation"):
        runs.queue_operation("explode", campaign, alice, source="browser")
    with pytest.raises(services.ServiceError, match="positive duration"):
        runs.queue_operation(Operation.Action.SCRUB, campaign, alice, source="browser",
                             options={"older_than_seconds": "soon"})
    with pytest.raises(services.ServiceError, match="not valid in CouchDB"):
        runs.queue_operation(Operation.Action.ADOPT, None, alice, source="browser",
                             options={"database": "../x", "token_type": "t"})
    # PostgreSQL's JSON cannot hold a NUL: refused before a row is written, on every engine.
    with pytest.raises(services.ServiceError, match="contains a NUL character"):
        runs.queue_operation(Operation.Action.SET_STATUS, campaign, alice, source="browser",
                             selection={"ids": ["nul\x00byte"]}, options={"status": "todo"})
    with pytest.raises(services.ServiceError, match="contains a NUL character"):
        runs.queue_operation(Operation.Action.SET_FIELD, campaign, alice, source="browser",
                             options={"field": "note", "value": "a\x00b"})
    assert not Operation.objects.exists()


def test_the_operations_list_filters_and_survives_garbage_filters(client, campaign, alice, couch_db):
    runs.queue_operation(Operation.Action.RESET, campaign, alice, source="browser")
    runs.queue_operation(Operation.Action.SET_STATUS, campaign, alice, source="admin", options={"status": "x"})
    client.force_login(alice)
    every = client.get(reverse("tokens:operations"))
    assert [op.action for op in every.context["operations"]] == ["set_status", "reset"]
    for query, expected in [
        ({"action": "reset"}, ["reset"]), ({"state": "done", "user": "alice"}, ["set_status", "reset"]),
        ({"user": "nobody"}, []), ({"campaign": campaign.pk, "state": "failed"}, []),
    ]:
        page = client.get(reverse("tokens:operations"), query)
        assert [op.action for op in page.context["operations"]] == expected, query
    garbage = client.get(reverse("tokens:operations"), {"state": "exploded", "campaign": "abc"})
    assert garbage.status_code == 200 and "Filters not understood" in garbage.content.decode()
    assert len(garbage.context["operations"]) == 2


def test_the_admin_shows_operations_read_only_and_resumes_interrupted_ones(client, campaign, alice):
    operation = runs.queue_operation(Operation.Action.RESET, campaign, alice, source="browser")
    client.force_login(alice)
    change_url = reverse("admin:tokens_app_operation_change", args=[operation.pk])
    page = client.get(change_url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    client.post(change_url, {"error": "rewritten"})
    assert Operation.objects.get(pk=operation.pk).error == ""
    assert client.get(reverse("admin:tokens_app_operation_add")).status_code == 403
    assert client.post(reverse("admin:tokens_app_operation_delete", args=[operation.pk]), {"post": "yes"}).status_code == 403

    Operation.objects.filter(pk=operation.pk).update(state="interrupted")  # as a lapsed lease leaves it
    client.post(reverse("admin:tokens_app_operation_changelist"),
                {"action": "resume", "_selected_action": [operation.pk]})
    operation.refresh_from_db()
    assert (operation.state, operation.attempts) == ("done", 2)


def test_the_admin_queues_the_missing_tokens_of_a_campaign(client, campaign, alice):
    client.force_login(alice)
    client.post(reverse("admin:tokens_app_campaign_changelist"),
                {"action": "resume_creation", "_selected_action": [campaign.pk]})
    push = Operation.objects.get(action="push")
    assert (push.source, push.state, push.existing) == ("admin", "done", 12)


def command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def test_every_command_records_its_operation(campaign, alice, tmp_path):
    where = ["--type", campaign.token_type, "--database", campaign.database]
    token_id = services.plan_of(campaign).token_ids[0]
    (tmp_path / "run.parset").write_text("a=1\n")
    (tmp_path / "c.yaml").write_bytes(CONFIG)
    (tmp_path / "l.txt").write_bytes(srm_list(12))
    runs_of = [
        (["create_tokenset", "--config", str(tmp_path / "c.yaml"), "--srmlist", str(tmp_path / "l.txt"),
          "--database", campaign.database], "push", {"existing": 12, "written": 0}),
        (["reset_tokens", *where, "--yes"], "reset", {"changed": 12}),
        (["set_token_status", "queued", *where, "--yes"], "set_status", {"changed": 12}),
        (["set_token_field", "priority", "5", *where, "--view", "todo"], "set_field", {"changed": 12}),
        (["attach_to_tokens", str(tmp_path / "run.parset"), *where], "attach", {"changed": 12}),
        (["scrub_tokens", *where, "--older-than", "1h"], "scrub", {"changed": 0}),
        (["delete_tokens", *where, "--yes", "--ids", token_id], "delete", {"changed": 1}),
        (["archive_tokens", *where, "--yes", "--delete", "--output", str(tmp_path / "a.tar.gz")],
         "archive_delete", {"total": 11}),
    ]
    for args, action, counts in runs_of:
        command(*args)
        operation = Operation.objects.latest("pk")
        assert (operation.action, operation.source, operation.state, operation.username) == (
            action, "command", "done", "alice"), args
        assert {field: getattr(operation, field) for field in counts} == counts, args
    assert Operation.objects.get(action="set_field").selection == {"view": "todo"}
    assert Operation.objects.get(action="delete").selection == {"ids": [token_id]}
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert sum(name.endswith(".json") for name in tar.getnames()) == 12
    campaign.refresh_from_db()
    assert campaign.status == "archived"


def test_a_command_refused_by_the_guard_records_refused(campaign, alice, tmp_path):
    TokenUtility().register(tokens.ExclusiveLock(campaign, "bob"))
    with pytest.raises(CommandError, match="locked by bob"):
        command("purge_tokens", "--type", campaign.token_type, "--database", campaign.database, "--yes")
    (tmp_path / "c.yaml").write_bytes(CONFIG)
    (tmp_path / "l.txt").write_bytes(srm_list(12))
    with pytest.raises(CommandError, match="locked by bob"):
        command("create_tokenset", "--config", str(tmp_path / "c.yaml"), "--srmlist", str(tmp_path / "l.txt"),
                "--database", campaign.database)
    refused = Operation.objects.order_by("pk")
    assert [(op.action, op.source, op.state, op.campaign_id) for op in refused] == [
        ("purge", "command", "refused", campaign.pk), ("push", "command", "refused", campaign.pk)]
    assert all("locked by bob" in operation.error for operation in refused)


def test_seed_demo_records_its_push(alice, couch_db):
    command("seed_demo", "--database", couch_db)
    push = Operation.objects.get()
    assert (push.action, push.source, push.state, push.username) == ("push", "command", "done", "alice")
    assert push.written == push.total == push.campaign.token_count > 0
