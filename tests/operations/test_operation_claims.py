"""Two workers never run the same operation: each task claims its row with a conditional UPDATE
before it works. Every operation here is handed to the workers twice (as a backend that
delivers a task again would), and each still runs exactly once."""

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult
from operation_support import finished, wait_until

from tokens_app import tasks
from tokens_app.models import Operation
from tokens_app.services import runs

pytestmark = pytest.mark.django_db(transaction=True)
OPERATIONS = 20


def each_runs_once(campaign, workers):
    alice = campaign.created_by
    numbers = []
    for number in range(OPERATIONS):
        operation = runs.queue_operation(
            Operation.Action.SET_STATUS, campaign, alice, source="browser", options={"status": f"round-{number}"}
        )
        tasks.enqueue_operation(operation.pk)
        numbers.append(operation.pk)
    workers.start()
    workers.start()
    for number in numbers:
        wait_until(lambda: finished(number), f"operation #{number}", workers)
    wait_until(lambda: not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists(), "every task", workers)

    rows = list(Operation.objects.filter(pk__in=numbers))
    assert all((row.state, row.attempts) == ("done", 1) for row in rows)
    assert all(row.changed + row.conflicted + row.skipped == 12 for row in rows)
    returned = [str(result.return_value) for result in DBTaskResult.objects.all()]
    # Every other delivery found the row claimed, or left it for its turn in the campaign.
    assert returned.count("done") == OPERATIONS and set(returned) <= {"done", "None", "queued"}


@pytest.mark.postgres
def test_two_workers_on_postgresql_run_each_of_twenty_operations_once(campaign, workers):
    each_runs_once(campaign, workers)


@pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"), reason="the SQLite twin")
def test_two_workers_on_sqlite_run_each_of_twenty_operations_once(campaign, workers):
    each_runs_once(campaign, workers)
