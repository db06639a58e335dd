"""The portal's tasks for Django's task framework (the django-tasks backport of ``django.tasks``).

One task runs every long operation: it takes the id of an ``Operation`` row, never an object,
and the row holds the rest (action, campaign, selection, options). Which backend runs it is the
``TASKS`` setting (``TASKS_BACKEND``): by default the ORM database, worked off by
``manage.py db_worker`` processes. Running the task twice is harmless: only the run that claims
the queued row does the work (see :mod:`tokens_app.services.runs`).
"""

from datetime import datetime, timedelta

from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend

from .models import Operation
from .services import runs


# How long an operation waiting for its campaign's turn is put back before it is tried again.
# The operation ahead of it hands the turn on when it ends; this retry is for one whose worker
# died instead.
TURN_RETRY = timedelta(seconds=5)


@task()
def run_operation(operation_id: int) -> str | None:
    """Run the queued operation ``operation_id``; answer the state it ended in. A worker waits
    out a CouchDB outage and runs a campaign's operations one at a time, in order, each worker
    taking another campaign's meanwhile; the immediate backend runs in the request that queued
    the operation, which must answer, so there an outage fails it."""
    apart = runs_apart(run_operation)
    state = runs.run_operation(operation_id, waits_for_couchdb=apart, in_turn=apart)
    if state == Operation.State.QUEUED:
        runs.requeue(operation_id, after=TURN_RETRY)
    elif state is not None and apart:
        following = runs.next_in_campaign(operation_id)
        if following is not None:
            runs.requeue(following)
    return state


def enqueue_operation(operation_id: int, *, run_after: datetime | None = None) -> str:
    """Hand the operation to the task backend (to run from ``run_after`` on, if given); answer
    the backend's id of the task."""
    task_function = run_operation if run_after is None else run_operation.using(run_after=run_after)
    return task_function.enqueue(operation_id).id


def runs_apart(task_function) -> bool:
    """Whether ``task_function`` runs apart from the request that enqueues it: not with the
    immediate backend (tests, single-process setups), which would make that request wait for
    the very work it hands over."""
    return not isinstance(task_function.get_backend(), ImmediateBackend)
