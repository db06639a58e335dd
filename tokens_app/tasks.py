"""The portal's tasks for Django's task framework (the django-tasks backport of ``django.tasks``).

One task runs every long operation: it takes the id of an ``Operation`` row, never an object,
and the row holds the rest (action, campaign, selection, options). Which backend runs it is the
``TASKS`` setting (``TASKS_BACKEND``): by default the ORM database, worked off by
``manage.py db_worker`` processes. Running the task twice is harmless: only the run that claims
the queued row does the work (see :mod:`tokens_app.services.runner`).

Every hand-over of an operation to the backend is here: queued (:func:`enqueue_operation`), put
back to wait for its campaign's turn (:func:`requeue`), and queued again when its runner died
while it waited for CouchDB (:func:`expire_leases`).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django_tasks import task, task_backends
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.exceptions import InvalidTaskBackendError

from .models import Operation
from .services import runner

State = Operation.State

# Defining the task loads the backend, at startup (the admin queues operations): one that cannot
# be loaded is refused naming the setting, not in a traceback.
try:
    task_backends["default"]
except InvalidTaskBackendError as exc:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND={settings.TASKS_BACKEND!r} is not a valid value for TASKS_BACKEND: {exc}"
    ) from None


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
    expire_leases()
    state = runner.run_operation(operation_id, waits_for_couchdb=apart, in_turn=apart)
    if state == State.QUEUED:
        requeue(operation_id, after=TURN_RETRY)
    elif state is not None and apart:
        following = runner.next_in_campaign(operation_id)
        if following is not None:
            requeue(following)
    return state


def enqueue_operation(operation_id: int, *, run_after: datetime | None = None) -> str:
    """Hand the operation to the task backend (to run from ``run_after`` on, if given); answer
    the backend's id of the task."""
    task_function = run_operation if run_after is None else run_operation.using(run_after=run_after)
    return task_function.enqueue(operation_id).id


def requeue(operation_id: int, *, after: timedelta | None = None) -> None:
    """Hand a queued operation to the task backend again (``after`` from now, if given) and note
    the task on its row; nothing when it is no longer queued."""
    task_id = enqueue_operation(operation_id, run_after=timezone.now() + after if after else None)
    Operation.objects.filter(pk=operation_id, state=State.QUEUED).update(task_id=str(task_id))


def expire_leases() -> int:
    """Mark running operations whose lease lapsed as interrupted, but queue again (for a worker
    to take) those that were waiting for CouchDB; answer how many."""
    now = timezone.now()
    lapsed = Operation.objects.filter(state=State.RUNNING, lease_until__lt=now)
    # A runner that died while its operation waited for CouchDB did not die of the operation's
    # work: the operation waits on, queued again, as an outage promises (none lost to a restart).
    requeued = [
        pk for pk in lapsed.filter(waiting_since__isnull=False).values_list("pk", flat=True)
        if lapsed.filter(pk=pk, waiting_since__isnull=False).update(state=State.QUEUED, runner="", lease_until=None)
    ]
    for pk in requeued:
        requeue(pk)
    return len(requeued) + lapsed.update(
        state=State.INTERRUPTED, lease_until=None,
        error=f"its runner stopped renewing the lease (gone since before {now:%Y-%m-%d %H:%M:%S} UTC)",
    )


def runs_apart(task_function) -> bool:
    """Whether ``task_function`` runs apart from the request that enqueues it: not with the
    immediate backend (tests, single-process setups), which would make that request wait for
    the very work it hands over."""
    return not isinstance(task_function.get_backend(), ImmediateBackend)
