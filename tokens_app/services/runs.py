"""Operations as the history records them: queue one for a task worker, run one, resume one.

Every long piece of work on a campaign's tokens is an :class:`~tokens_app.models.Operation` row.
A page or the admin *queues* it (:func:`queue_operation`: the lock guard is asked first, a
refusal is recorded as ``refused`` and nothing is queued) and a task worker *runs* it
(:func:`run_operation`); a command runs its work in its own process and records the same row
(:func:`run_in_process`). The services in this package stay the writers: a run calls them with
the ids and options the row holds, and they ask the guard again when the work starts.

A runner claims a row by a conditional UPDATE (queued → running), which one process wins on
SQLite and on PostgreSQL alike, so two workers never run the same operation. While it works it
renews a lease on the row; a row whose lease lapsed belongs to a runner that died and is marked
``interrupted`` by :func:`expire_leases` (queued again if it was waiting for CouchDB), which the
follower's upkeep, the resume paths and every run call (pages show such a row as it will be).
An interrupted operation is queued again by :func:`resume_operation`; its work is idempotent (a push finds the tokens already
written, a bulk operation re-decides each token), so a re-run completes it. For the same reason
a worker that finds CouchDB unreachable or timing out waits for it (``waiting_since`` on the row)
and runs the work again when it answers; only a refusal or a bad request fails an operation.

The work runs as ``run_by``: who asked for it, or who resumed it last. Whether that user may
still do it (active, allowed to change campaigns, let through by the lock guard) is checked when
the work starts, not only when it was queued.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tokens_app.couch import CouchError, CouchTimeout, CouchUnavailable, CouchUnreachable
from tokens_app.models import CHANGE_CAMPAIGN, Campaign, Operation, OperationFile

from tokens_app.design import validate_token_type

from .common import (
    OperationResult,
    Refused,
    ServiceError,
    check_can_change,
    validate_attachment_name,
    validate_database_name,
)
from .creation import CreationReport, push_tokenset
from .operations import (
    adopt_design,
    attach_file,
    check_field,
    check_stale_age,
    check_status,
    count_targets,
    delete_tokens,
    purge_campaign,
    reset_tokens,
    scrub_stale,
    set_field,
    set_status,
)

logger = logging.getLogger(__name__)
Action = Operation.Action
State = Operation.State
Progress = Callable[..., None]
# CouchDB gone for a while (restarted, network down, a node or proxy answering 502-504): a worker's
# operation waits for it, pausing longer each time up to a bound, and then runs its work again
# (the work is idempotent).
OUTAGES = (CouchUnreachable, CouchTimeout, CouchUnavailable)
FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 10.0


class LeaseLost(Exception):
    """The row is no longer this runner's (its lease lapsed and it was declared interrupted)."""


def lease() -> timedelta:
    return timedelta(seconds=settings.TASKS_LEASE_SECONDS)


def runner_name() -> str:
    """A name for this process that no other runner shares: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# -- what each action runs -------------------------------------------------------------------------

def _selection(operation: Operation) -> dict:
    selection = operation.selection or {}
    return {"view": selection.get("view"), "ids": selection.get("ids"), "where": selection.get("where") or None}


def _attach(operation, campaign, user, progress):
    file = OperationFile.objects.get(operation=operation)
    return attach_file(
        campaign, file.name, bytes(file.data), content_type=file.content_type or None, user=user, progress=progress,
        **_selection(operation),
    )


# Each action as a call of its service, from the ids and options the row holds.
ACTIONS = {
    Action.PUSH: lambda op, campaign, user, progress: push_tokenset(
        campaign, user=user, overwrite=bool(op.options.get("overwrite")), progress=progress
    ),
    Action.RESET: lambda op, campaign, user, progress: reset_tokens(
        campaign, user=user, drop_attachments=bool(op.options.get("drop_attachments")), progress=progress,
        **_selection(op),
    ),
    Action.SCRUB: lambda op, campaign, user, progress: scrub_stale(
        campaign, user=user, older_than=timedelta(seconds=op.options.get("older_than_seconds", 0)),
        progress=progress,
    ),
    Action.SET_STATUS: lambda op, campaign, user, progress: set_status(
        campaign, op.options.get("status"), user=user, progress=progress, **_selection(op)
    ),
    Action.SET_FIELD: lambda op, campaign, user, progress: set_field(
        campaign, op.options.get("field"), op.options.get("value"), user=user, progress=progress, **_selection(op)
    ),
    Action.ATTACH: _attach,
    Action.DELETE: lambda op, campaign, user, progress: delete_tokens(
        campaign, user=user, progress=progress, **_selection(op)
    ),
    Action.PURGE: lambda op, campaign, user, progress: purge_campaign(campaign, user=user, progress=progress),
    # ``token_type`` is the name of the design document adopted; the campaign is the type it
    # lists (``_design/Monitor`` makes the campaign ``token``), decided when the work runs.
    Action.ADOPT: lambda op, campaign, user, progress: adopt_design(
        op.options.get("database"), op.options.get("token_type"), user=user
    ),
}
# Actions queued again only when no identical one is still queued (a double click, two operators
# asking the same): a push has its own rule, an attachment its own bytes.
DEDUPLICATED = (Action.RESET, Action.SCRUB, Action.SET_STATUS, Action.SET_FIELD, Action.DELETE, Action.PURGE)
# What the guard is asked before queueing, and the campaign statuses each action refuses.
GUARD_WORDING = {
    Action.PUSH: ("write the tokens of", ()),
    Action.PURGE: ("purge", (Campaign.Status.PURGED,)),
    Action.ADOPT: ("adopt", ()),
}


def check_options(action: str, options: dict) -> None:
    """Refuse, before anything is queued, options the action's service would refuse when it runs."""
    if action == Action.SET_STATUS:
        check_status(options.get("status"))
    elif action == Action.SET_FIELD:
        check_field(options.get("field"), options.get("value"))
    elif action == Action.SCRUB:
        seconds = options.get("older_than_seconds")
        check_stale_age(timedelta(seconds=seconds) if isinstance(seconds, int | float) else seconds)
    elif action == Action.ADOPT:
        validate_database_name(options.get("database"))
        try:
            validate_token_type(options.get("token_type"))
        except ValueError as exc:
            raise ServiceError(str(exc)) from None


def _total(operation: Operation, campaign: Campaign | None) -> int | None:
    """How many tokens the work will go through, as far as can be told cheaply now."""
    if operation.action == Action.PUSH:
        return campaign.token_count
    if operation.action == Action.ADOPT or campaign is None:
        return None
    selection = _selection(operation)
    if operation.action == Action.SCRUB:
        selection = {"view": "locked"}
    elif operation.action == Action.PURGE:
        selection = {}
    if selection.get("ids") is not None:
        return len(selection["ids"])
    if selection.get("where"):
        return None
    return count_targets(campaign, **selection)


def _counts(outcome) -> dict:
    """The result columns of a service's answer."""
    if isinstance(outcome, OperationResult):
        return {"changed": outcome.changed, "conflicted": outcome.conflicted, "skipped": outcome.skipped,
                "failed": outcome.failed, "processed": outcome.processed, "error": outcome.error}
    if isinstance(outcome, CreationReport):
        return {"written": outcome.written, "existing": outcome.existing, "changed": outcome.overwritten,
                "failed": outcome.failed, "processed": outcome.processed, "error": outcome.error}
    if isinstance(outcome, Campaign):
        return {"campaign": outcome, "target": str(outcome), "processed": outcome.token_count,
                "total": outcome.token_count}
    return {}


# -- recording ------------------------------------------------------------------------------------

def _refuse_nul(value) -> None:
    """Refuse a NUL character anywhere in a selection or options: PostgreSQL's JSON cannot hold
    one, so the history could not record (nor a worker re-read) what was asked."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ServiceError(f"{value!r} contains a NUL character; no token id, field or value may hold one")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_nul(item)


def _new_operation(action, campaign, user, *, source, selection=None, options=None, target="") -> Operation:
    if action not in ACTIONS and action != Action.ARCHIVE_DELETE:
        raise ServiceError(f"unknown operation {action!r}")
    _refuse_nul(selection)
    _refuse_nul(options)
    known = getattr(user, "is_authenticated", False)
    username = user.get_username() if known else ""
    return Operation(
        action=action,
        campaign=campaign,
        target=target or str(campaign),
        user=user if known else None,
        username=username,
        run_by=user if known else None,
        run_by_username=username,
        source=source,
        selection={key: value for key, value in (selection or {}).items() if value},
        options=options or {},
    )


def _update(operation: Operation, runner: str | None = None, **values) -> bool:
    """Write ``values`` to the row unless it has finished (or, with ``runner``, is no longer that
    runner's); keep the instance in step. Answers whether the row was written."""
    rows = Operation.objects.filter(pk=operation.pk).exclude(state__in=Operation.FINAL_STATES)
    if runner is not None:
        rows = rows.filter(state=State.RUNNING, runner=runner)
    if not rows.update(**values):
        return False
    for name, value in values.items():
        setattr(operation, name, value)
    return True


def _finish(operation: Operation, runner: str, state: str, **values) -> bool:
    return _update(operation, runner, state=state, finished_at=timezone.now(), lease_until=None, **values)


def _progress_of(operation: Operation, runner: str, extra: Progress | None) -> Progress:
    """The ``progress`` callback a service is given: records the step and renews the lease."""

    def progress(processed: int, total: int | None = None) -> None:
        values = {"processed": processed, "lease_until": timezone.now() + lease(), "waiting_since": None}
        if total is not None:
            values["total"] = total
        if not _update(operation, runner, **values):
            raise LeaseLost(f"operation #{operation.pk} is no longer run by {runner}")
        if extra is not None:
            extra(processed, total) if total is not None else extra(processed)

    return progress


def _execute(operation: Operation, runner: str, work, extra_progress: Progress | None = None, *,
             waits_for_couchdb: bool = False):
    """Run ``work(progress)`` for a claimed row and record how it ended; answer the service's
    outcome. A refusal, a bad option or a CouchDB failure is recorded and raised again; with
    ``waits_for_couchdb`` (a worker) an outage is waited out and the work run again instead."""
    progress = _progress_of(operation, runner, extra_progress)
    pause = 0.0
    while True:
        try:
            outcome = _attempt(operation, runner, work, progress)
            break
        except LeaseLost:
            raise
        except OUTAGES as exc:
            if not waits_for_couchdb:
                _finish(operation, runner, State.FAILED, error=str(exc))
                raise
            pause = _wait_for_couchdb(operation, runner, exc, pause)
        except Refused as exc:
            _finish(operation, runner, State.REFUSED, error=str(exc))
            raise
        except (ServiceError, CouchError) as exc:
            _finish(operation, runner, State.FAILED, error=str(exc))
            raise
        except Exception as exc:
            _finish(operation, runner, State.FAILED, error=f"{type(exc).__name__}: {exc}")
            raise
        except BaseException:
            # Ctrl-C on a command, or a worker told to stop at once: resumable, and said so now.
            _finish_interrupted(operation, runner)
            raise
    _finish(operation, runner, State.DONE, **{"error": "", "waiting_since": None, **_counts(outcome)})
    return outcome


def _attempt(operation: Operation, runner: str, work, progress: Progress):
    total = _total(operation, operation.campaign)
    # Counting the targets can take a while (a user view is walked): renew the lease after it.
    if not _update(operation, runner, total=total, lease_until=timezone.now() + lease()):
        raise LeaseLost(f"operation #{operation.pk} is no longer run by {runner}")
    return work(progress)


def _wait_for_couchdb(operation: Operation, runner: str, outage: CouchError, pause: float) -> float:
    """Record that the operation waits for CouchDB (since when, and why), keep its lease while it
    pauses, and pause; answer the pause, longer each time up to a bound."""
    pause = min(max(pause * 2, FIRST_PAUSE_SECONDS), LONGEST_PAUSE_SECONDS)
    now = timezone.now()
    values = {"lease_until": now + lease() + timedelta(seconds=pause), "error": f"waiting for CouchDB: {outage}"}
    if operation.waiting_since is None:
        values["waiting_since"] = now
    if not _update(operation, runner, **values):
        raise LeaseLost(f"operation #{operation.pk} is no longer run by {runner}")
    logger.warning("operation #%s waits %.1f s for CouchDB: %s", operation.pk, pause, outage)
    time.sleep(pause)
    return pause


def _finish_interrupted(operation: Operation, runner: str) -> None:
    _update(operation, runner, state=State.INTERRUPTED, lease_until=None, error="stopped before it finished")


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
    from tokens_app.tasks import enqueue_operation

    operation = _new_operation(action, campaign, user, source=source, selection=selection, options=options,
                               target=target)
    check_options(action, operation.options)
    if file is not None:
        validate_attachment_name(file[0])
    try:
        if campaign is not None:
            _check_guard(action, campaign, user)
    except Refused as exc:
        _save_refused(operation, exc)
        raise
    if action == Action.PUSH:
        _refuse_second_push(campaign)
    if campaign is not None and selection:
        from .targets import select

        select(campaign, **_selection(operation))
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
    _update(operation, task_id=str(task_id))
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
    operation = _new_operation(action, campaign, user, source=source)
    _save_refused(operation, refusal)
    return operation


def _check_guard(action: str, campaign: Campaign, user) -> None:
    verb, statuses = GUARD_WORDING.get(action, (f"{Action(action).label} tokens of", None))
    check_can_change(campaign, user, verb, refuse_statuses=statuses)


def check_may_run(operation: Operation) -> None:
    """Raise Refused unless the user the operation runs as may do it now: still there, active,
    allowed to change campaigns, and let through by the lock guard. Asked when the work starts,
    since a user may be deactivated or a lock taken while the operation waits in the queue."""
    user = operation.run_by
    if user is None:
        raise Refused(f"{operation.run_by_username or 'the user it runs as'} no longer exists")
    if not user.is_active:
        raise Refused(f"{user.get_username()} is no longer an active user")
    if not user.has_perm(CHANGE_CAMPAIGN):
        raise Refused(f"{user.get_username()} may no longer change campaigns")
    if operation.campaign is not None:
        _check_guard(operation.action, operation.campaign, user)


def run_operation(
    operation_id: int, *, runner: str | None = None, waits_for_couchdb: bool = False, in_turn: bool = False,
) -> str | None:
    """Claim a queued operation and run it (what a worker's task does); answer the state it ended
    in, or None when it was not this runner's to run (finished, or claimed by another). With
    ``waits_for_couchdb`` a CouchDB outage is waited out (see :func:`_execute`). With ``in_turn``
    (workers side by side) it is left queued, and ``queued`` answered, while another operation of
    its campaign runs or an earlier one is queued: a campaign's operations run one at a time, in
    the order they were queued."""
    expire_leases()
    runner = runner or runner_name()
    claimed = _claim(operation_id, runner, in_turn=in_turn)
    if claimed != State.RUNNING:
        return claimed
    operation = Operation.objects.select_related("campaign", "run_by").get(pk=operation_id)
    try:
        check_may_run(operation)
    except ServiceError as exc:  # refused, or a campaign in a status the action does not apply to
        _finish(operation, runner, State.REFUSED if isinstance(exc, Refused) else State.FAILED, error=str(exc))
        return operation.state
    user = operation.run_by
    work = ACTIONS[operation.action]
    try:
        _execute(operation, runner, lambda progress: work(operation, operation.campaign, user, progress),
                 waits_for_couchdb=waits_for_couchdb)
    except (LeaseLost, ServiceError, CouchError):
        pass  # recorded on the row (or, for a lost lease, by whoever declared it interrupted)
    return operation.state


def _claim(operation_id: int, runner: str, *, in_turn: bool) -> str | None:
    """Take the queued row for ``runner``: answer ``running`` when taken, ``queued`` when it must
    wait for its turn, None when it is not queued. The campaign's row is locked meanwhile, so two
    workers cannot both find the campaign idle and both start one of its operations."""
    now = timezone.now()
    rows = Operation.objects.filter(pk=operation_id, state=State.QUEUED)
    with transaction.atomic():
        if in_turn:
            campaign_id = rows.values_list("campaign_id", flat=True).first()
            if campaign_id is not None:
                list(Campaign.objects.select_for_update().filter(pk=campaign_id).values_list("pk", flat=True))
                if ahead_in_campaign(operation_id, campaign_id).exists():
                    return State.QUEUED
        claimed = rows.update(
            state=State.RUNNING, runner=runner, started_at=now, lease_until=now + lease(),
            attempts=F("attempts") + 1, error="",
        )
    return State.RUNNING if claimed else None


def ahead_in_campaign(operation_id: int, campaign_id: int):
    """The operations of the campaign that go before ``operation_id``: any running, and those
    queued before it."""
    return Operation.objects.filter(campaign_id=campaign_id).exclude(pk=operation_id).filter(
        Q(state=State.RUNNING) | Q(state=State.QUEUED, pk__lt=operation_id)
    )


def next_in_campaign(operation_id: int) -> int | None:
    """The operation of the same campaign queued first after ``operation_id`` ended, if any."""
    campaign_id = Operation.objects.filter(pk=operation_id).values_list("campaign_id", flat=True).first()
    if campaign_id is None:
        return None
    queued = Operation.objects.filter(campaign_id=campaign_id, state=State.QUEUED)
    return queued.order_by("pk").values_list("pk", flat=True).first()


def requeue(operation_id: int, *, after: timedelta | None = None) -> None:
    """Hand a queued operation to the task backend again (``after`` from now, if given) and note
    the task on its row; nothing when it is no longer queued."""
    from tokens_app.tasks import enqueue_operation

    task_id = enqueue_operation(operation_id, run_after=timezone.now() + after if after else None)
    Operation.objects.filter(pk=operation_id, state=State.QUEUED).update(task_id=str(task_id))


def run_in_process(
    action: str, campaign: Campaign, user, work: Callable[[Progress], object], *, selection: dict | None = None,
    options: dict | None = None, progress: Progress | None = None,
):
    """Run ``work(progress)`` in this process (a command) and record it as an operation; answer
    what ``work`` answered. ``progress`` (a command's progress bar) is told every step too."""
    operation = _new_operation(action, campaign, user, source=Operation.Source.COMMAND, selection=selection,
                               options=options)
    runner = runner_name()
    now = timezone.now()
    operation.state, operation.runner, operation.attempts = State.RUNNING, runner, 1
    operation.started_at, operation.lease_until = now, now + lease()
    operation.save()
    return _execute(operation, runner, work, progress)


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


def resume_operation(operation: Operation, user) -> Operation:
    """Queue an interrupted operation again, after asking the guard; answer the row. It runs as
    ``user`` from now on, and the row says so."""
    from tokens_app.tasks import enqueue_operation

    expire_leases()
    operation.refresh_from_db()
    if operation.state != State.INTERRUPTED:
        raise ServiceError(f"operation #{operation.pk} is {operation.state}; only an interrupted one is resumed")
    if operation.action == Action.ARCHIVE_DELETE:
        raise ServiceError("an archive is written by the command that asked for it: run archive_tokens again")
    if operation.campaign is not None:
        _check_guard(operation.action, operation.campaign, user)
    if not Operation.objects.filter(pk=operation.pk, state=State.INTERRUPTED).update(
        state=State.QUEUED, runner="", lease_until=None, run_by=user, run_by_username=user.get_username()
    ):
        raise ServiceError(f"operation #{operation.pk} was resumed by someone else meanwhile")
    task_id = enqueue_operation(operation.pk)
    _update(operation, task_id=str(task_id))
    operation.refresh_from_db()
    return operation
