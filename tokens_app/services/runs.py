"""Operations as the history records them: queue one for a task worker, resume one.

Every long piece of work on a campaign's tokens is an :class:`~tokens_app.models.Operation` row.
A page or the admin *queues* it (:func:`queue_operation`: the lock guard is asked first, a
refusal is recorded as ``refused`` and nothing is queued) and a task worker runs it
(:mod:`tokens_app.services.runner`); a command runs its work in its own process and records the
same row (:func:`~tokens_app.services.runner.run_in_process`). The services in this package stay
the writers: a run calls them with the ids and options the row holds (:mod:`.actions`), and
they ask the guard again when the work starts. An interrupted operation is queued again by
:func:`resume_operation`.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.utils import timezone

from tokens_app.models import Campaign, Operation, OperationFile
from tokens_app.tasks import enqueue_operation, expire_leases

from .actions import DEDUPLICATED, check_guard, check_options, selection_of
from .common import Refused, ServiceError, validate_attachment_name
from .runner import new_operation, update_row
from .targets import select

Action = Operation.Action
State = Operation.State


def queue_operation(
    action: str, campaign: Campaign | None, user, *, source: str, selection: dict | None = None,
    options: dict | None = None, file: tuple[str, str, bytes] | None = None, target: str = "",
) -> Operation:
    """Record an operation and queue it for a worker; answer the row (refreshed: the immediate
    backend has run it already). When an identical operation is still queued, nothing is queued
    and that one is answered, with ``already_queued`` set on it.

    The guard is asked first: a refusal is recorded as ``refused`` (nothing is queued) and
    raised. A selection naming a view the campaign does not have is refused before anything is
    recorded. ``file`` is ``(name, content_type, bytes)`` for ``attach``.
    """
    operation = new_operation(action, campaign, user, source=source, selection=selection, options=options,
                               target=target)
    check_options(action, operation.options)
    if file is not None:
        validate_attachment_name(file[0])
    try:
        if campaign is not None:
            check_guard(action, campaign, user)
    except Refused as exc:
        _save_refused(operation, exc)
        raise
    if action == Action.PUSH:
        _refuse_second_push(campaign)
    if campaign is not None and selection:
        select(campaign, **selection_of(operation))
    with transaction.atomic():
        twin = _queued_twin(operation)
        if twin is not None:
            twin.already_queued = True
            return twin
        operation.save()
        if file is not None:
            name, content_type, data = file
            OperationFile.objects.create(operation=operation, name=name, content_type=content_type, data=data)
    task_id = enqueue_operation(operation.pk)
    update_row(operation, task_id=str(task_id))
    operation.refresh_from_db()
    return operation


def _as_stored(value):
    """``value`` as the row's JSON column gives it back (tuples become lists, and so on)."""
    return json.loads(json.dumps(value))


def _queued_twin(operation: Operation) -> Operation | None:
    """The operation still queued that does exactly what ``operation`` would (same campaign,
    action, selection and options), if any. Called in the transaction that saves ``operation``:
    the campaign's row is locked (PostgreSQL; SQLite's transactions take the write lock when they
    begin), so two requests at once cannot both find none and both queue."""
    if operation.campaign is None or operation.action not in DEDUPLICATED:
        return None
    list(Campaign.objects.select_for_update().filter(pk=operation.campaign.pk).values_list("pk", flat=True))
    selection, options = _as_stored(operation.selection), _as_stored(operation.options)
    queued = Operation.objects.filter(campaign=operation.campaign, action=operation.action, state=State.QUEUED)
    return next(
        (row for row in queued.order_by("pk") if row.selection == selection and row.options == options), None
    )


def _refuse_second_push(campaign: Campaign) -> None:
    """One push of a campaign at a time: a second (a double click, two web processes) would only
    find the first one's tokens there."""
    # A push whose runner died is no longer writing (pages show it interrupted already).
    expire_leases()
    running = Operation.objects.filter(
        campaign=campaign, action=Action.PUSH, state__in=Operation.ACTIVE_STATES
    ).first()
    if running is not None:
        raise ServiceError(f"operation #{running.pk} is writing the tokens of {campaign} already ({running.state})")


def _save_refused(operation: Operation, refusal: Refused) -> None:
    operation.state = State.REFUSED
    operation.error = str(refusal)
    operation.finished_at = timezone.now()
    operation.save()


def record_refusal(action: str, campaign: Campaign | None, user, refusal: Refused, *, source: str) -> Operation:
    """Record an operation the guard refused before it could start (nothing else is done)."""
    operation = new_operation(action, campaign, user, source=source)
    _save_refused(operation, refusal)
    return operation


def resume_operation(operation: Operation, user) -> Operation:
    """Queue an interrupted operation again, after asking the guard; answer the row. It runs as
    ``user`` from now on, and the row says so."""
    expire_leases()
    operation.refresh_from_db()
    if operation.state != State.INTERRUPTED:
        raise ServiceError(f"operation #{operation.pk} is {operation.state}; only an interrupted one is resumed")
    if operation.action == Action.ARCHIVE_DELETE:
        raise ServiceError("an archive is written by the command that asked for it: run archive_tokens again")
    if operation.campaign is not None:
        check_guard(operation.action, operation.campaign, user)
    if not Operation.objects.filter(pk=operation.pk, state=State.INTERRUPTED).update(
        state=State.QUEUED, runner="", lease_until=None, run_by=user, run_by_username=user.get_username()
    ):
        raise ServiceError(f"operation #{operation.pk} was resumed by someone else meanwhile")
    task_id = enqueue_operation(operation.pk)
    update_row(operation, task_id=str(task_id))
    operation.refresh_from_db()
    return operation
