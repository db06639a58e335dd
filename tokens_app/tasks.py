"""The portal's tasks for Django's task framework (the django-tasks backport of ``django.tasks``).

One task runs every long operation: it takes the id of an ``Operation`` row, never an object,
and the row holds the rest (action, campaign, selection, options). Which backend runs it is the
``TASKS`` setting (``TASKS_BACKEND``): by default the ORM database, worked off by
``manage.py db_worker`` processes. Running the task twice is harmless: only the run that claims
the queued row does the work (see :mod:`tokens_app.services.runs`).
"""

from django_tasks import task

from . import counts
from .services import runs


@task()
def run_operation(operation_id: int) -> str | None:
    """Run the queued operation ``operation_id``; answer the state it ended in."""
    return runs.run_operation(operation_id)


def enqueue_operation(operation_id: int) -> str:
    """Hand the operation to the task backend; answer the backend's id of the task."""
    return run_operation.enqueue(operation_id).id


@task()
def refresh_counts(database: str) -> None:
    """Count the campaigns of ``database`` with the full CouchDB timeout (a query too slow for a
    request, see :mod:`tokens_app.counts`); the snapshot lands in the shared cache."""
    counts.refresh(database)
