"""Reading the operations history (the selectors of Operation rows): one operation, a
campaign's running operation and recent ones, the list of every operation with its filters, and
how one reads as a sentence or as JSON for the page."""

import json
from bisect import bisect_left

from django.contrib.humanize.templatetags.humanize import ordinal
from django.db.models import Q
from django.utils import timezone

from tokenportal.disclosure import shown_to

from .campaign_selectors import narrowed
from .models import Campaign, Operation
from .services import OperationResult, typed_value

CAMPAIGN_HISTORY_ROWS = 20


def operation(pk: int) -> Operation | None:
    """The operation numbered ``pk``, None when there is none."""
    return Operation.objects.filter(pk=pk).select_related("campaign").first()


def current_operation(campaign: Campaign) -> Operation | None:
    """The operation the campaign page follows: the one running, else the newest interrupted one
    (until it is resumed), else the next one queued."""
    rows = Operation.objects.filter(campaign=campaign)
    current = (
        rows.filter(state=Operation.State.RUNNING).first()
        or rows.filter(state=Operation.State.INTERRUPTED).first()
        or rows.filter(state=Operation.State.QUEUED).order_by("created_at", "pk").first()
    )
    if current is not None:
        as_shown([current])
    return current


def campaign_history(campaign: Campaign, limit: int = CAMPAIGN_HISTORY_ROWS) -> list[Operation]:
    return as_shown(list(Operation.objects.filter(campaign=campaign).select_related("user")[:limit]))


def as_shown(operations: list[Operation]) -> list[Operation]:
    """The operations as the pages show them: a running one whose lease lapsed as what it is
    about to become (interrupted; queued again if it was waiting for CouchDB: the follower's
    upkeep writes that, ``tasks.expire_leases``), and on each queued one ``ahead`` (how many
    queued operations were queued before it: workers take them in that order) and ``place``
    (its words), from one query on the state index; answer ``operations``."""
    now = timezone.now()
    for operation in operations:
        if operation.state == Operation.State.RUNNING and operation.lease_until and operation.lease_until < now:
            if operation.waiting_since:
                operation.state = Operation.State.QUEUED
            else:
                operation.state = Operation.State.INTERRUPTED
                operation.error = "its runner stopped renewing the lease"
    queued = [operation for operation in operations if operation.state == Operation.State.QUEUED]
    if not queued:
        return operations
    last = max(operation.pk for operation in queued)
    line = list(Operation.objects.filter(state=Operation.State.QUEUED, pk__lte=last).order_by("pk")
                .values_list("pk", flat=True))
    for operation in queued:
        operation.ahead = bisect_left(line, operation.pk)
        operation.place = place_words(operation.ahead)
    return operations


def place_words(ahead: int) -> str:
    if ahead == 0:
        return "next in line"
    return f"{ordinal(ahead + 1)} in line, {ahead} ahead of it"


def filtered_operations(*, user=None, campaign=None, action=None, state=None, sort=None):
    """Every operation, newest first or ordered by ``sort`` (a field, ``-field`` descending),
    narrowed by whichever filters are given; a state as the pages show it (see :func:`as_shown`)."""
    rows = narrowed(Operation.objects.select_related("campaign", "user"),
                    username=user, campaign_id=campaign, action=action)
    rows = rows.filter(_shown_in(state)) if state else rows
    return rows.order_by(sort, "-pk") if sort else rows


def _shown_in(state: str) -> Q:
    """The rows :func:`as_shown` shows in ``state``."""
    lapsed = Q(state=Operation.State.RUNNING, lease_until__lt=timezone.now())
    waited = Q(waiting_since__isnull=False)
    if state == Operation.State.RUNNING:
        return Q(state=state) & ~lapsed
    if state == Operation.State.INTERRUPTED:
        return Q(state=state) | (lapsed & ~waited)
    if state == Operation.State.QUEUED:
        return Q(state=state) | (lapsed & waited)
    return Q(state=state)


def filter_choices() -> dict:
    """The users and campaigns the list's filters offer."""
    return {
        "users": sorted(set(Operation.objects.exclude(username="").values_list("username", flat=True))),
        "campaigns": list(Campaign.objects.filter(operations__isnull=False).distinct().order_by("token_type")),
    }


def selection_words(selection: dict | None) -> str:
    """An operation's tokens as an operator asks for them: ``view error · 3 ids ·
    hostname=vm-pilot3``, each value as it is typed (a text that would read as JSON quoted);
    empty for every token."""
    selection = selection or {}
    parts = []
    if selection.get("view"):
        parts.append(f"view {selection['view']}")
    if selection.get("ids"):
        count = len(selection["ids"])
        parts.append(f"{count} id{'' if count == 1 else 's'}")
    for field, value in (selection.get("where") or {}).items():
        parts.append(f"{field}={value if isinstance(value, str) and typed_value(value) == value else json.dumps(value)}")
    return " · ".join(parts)


def result_message(operation: Operation) -> str:
    """What the operation did, in the words its service's result uses."""
    if operation.action == Operation.Action.ADOPT:
        return f"{operation.processed} tokens"
    return OperationResult(
        written=operation.written, existing=operation.existing, changed=operation.changed,
        conflicted=operation.conflicted, skipped=operation.skipped, failed=operation.failed, error=operation.error,
        total=operation.total or 0 if operation.action == Operation.Action.PUSH else None,
    ).message()


def as_json(operation: Operation, user) -> dict:
    """The operation as the campaign page's script follows it (internal addresses in its error
    only for staff)."""
    return {
        "id": operation.pk,
        "action": operation.get_action_display(),
        "run_by": operation.run_by_username,
        "waiting_since": operation.waiting_since.isoformat() if operation.waiting_since else None,
        "state": operation.state,
        "ahead": getattr(operation, "ahead", None),
        "place": getattr(operation, "place", ""),
        "processed": operation.processed,
        "total": operation.total,
        "error": shown_to(operation.error, user),
        "result": shown_to(result_message(operation), user) if operation.state == Operation.State.DONE else "",
    }
