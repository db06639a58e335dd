"""Running an operation: claim its row, run its work, keep its lease, record how it ended.

A runner claims a row by a conditional UPDATE (queued → running), which one process wins on
SQLite and on PostgreSQL alike, so two workers never run the same operation. While it works it
renews a lease on the row; a row whose lease lapsed belongs to a runner that died and is marked
``interrupted`` by :func:`tokens_app.tasks.expire_leases` (queued again if it was waiting for
CouchDB), which the follower's upkeep, the resume paths and every task call (pages show such a
row as it will be). The work is idempotent (a push finds the tokens already written, a bulk operation
re-decides each token), so a re-run completes it. For the same reason a worker that finds
CouchDB unreachable or timing out waits for it (``waiting_since`` on the row) and runs the work
again when it answers; only a refusal or a bad request fails an operation.

The work runs as ``run_by``: who asked for it, or who resumed it last. Whether that user may
still do it (active, allowed to change campaigns, let through by the lock guard) is checked when
the work starts, not only when it was queued. Nothing here hands work to the task backend: that
is :mod:`tokens_app.tasks`.
"""

from __future__ import annotations

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
from tokens_app.models import CHANGE_CAMPAIGN, Campaign, Operation

from .actions import ACTIONS, Progress, check_guard, total_of
from .common import Refused, ServiceError

logger = logging.getLogger(__name__)
Action = Operation.Action
State = Operation.State
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


def new_operation(action, campaign, user, *, source, selection=None, options=None, target="") -> Operation:
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


def update_row(operation: Operation, runner: str | None = None, **values) -> bool:
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
    return update_row(operation, runner, state=state, finished_at=timezone.now(), lease_until=None, **values)


def _progress_of(operation: Operation, runner: str, extra: Progress | None) -> Progress:
    """The ``progress`` callback a service is given: records the step and renews the lease."""

    def progress(processed: int, total: int | None = None) -> None:
        values = {"processed": processed, "lease_until": timezone.now() + lease(), "waiting_since": None}
        if total is not None:
            values["total"] = total
        if not update_row(operation, runner, **values):
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
    _finish(operation, runner, State.DONE, **{"error": "", "waiting_since": None, **(outcome.columns() if outcome is not None else {})})
    return outcome


def _attempt(operation: Operation, runner: str, work, progress: Progress):
    total = total_of(operation)
    # Counting the targets can take a while (a user view is walked): renew the lease after it.
    if not update_row(operation, runner, total=total, lease_until=timezone.now() + lease()):
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
    if not update_row(operation, runner, **values):
        raise LeaseLost(f"operation #{operation.pk} is no longer run by {runner}")
    logger.warning("operation #%s waits %.1f s for CouchDB: %s", operation.pk, pause, outage)
    time.sleep(pause)
    return pause


def _finish_interrupted(operation: Operation, runner: str) -> None:
    update_row(operation, runner, state=State.INTERRUPTED, lease_until=None, error="stopped before it finished")


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
        check_guard(operation.action, operation.campaign, user)


def run_operation(
    operation_id: int, *, runner: str | None = None, waits_for_couchdb: bool = False, in_turn: bool = False,
) -> str | None:
    """Claim a queued operation and run it (what a worker's task does); answer the state it ended
    in, or None when it was not this runner's to run (finished, or claimed by another). With
    ``waits_for_couchdb`` a CouchDB outage is waited out (see :func:`_execute`). With ``in_turn``
    (workers side by side) it is left queued, and ``queued`` answered, while another operation of
    its campaign runs or an earlier one is queued: a campaign's operations run one at a time, in
    the order they were queued."""
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
        _execute(operation, runner, lambda progress: work(operation, user, progress),
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


def run_in_process(
    action: str, campaign: Campaign, user, work: Callable[[Progress], object], *, selection: dict | None = None,
    options: dict | None = None, progress: Progress | None = None,
):
    """Run ``work(progress)`` in this process (a command) and record it as an operation; answer
    what ``work`` answered. ``progress`` (a command's progress bar) is told every step too."""
    operation = new_operation(action, campaign, user, source=Operation.Source.COMMAND, selection=selection,
                               options=options)
    runner = runner_name()
    now = timezone.now()
    operation.state, operation.runner, operation.attempts = State.RUNNING, runner, 1
    operation.started_at, operation.lease_until = now, now + lease()
    operation.save()
    return _execute(operation, runner, work, progress)
