"""Reading the operations history (the selectors of Operation rows): one operation, a
campaign's running operation and recent ones, the list of every operation with its filters, and
how one reads as a sentence or as JSON for the page."""

from tokenportal.disclosure import shown_to

from .campaign_selectors import narrowed
from .models import Campaign, Operation
from .services import CreationReport, OperationResult

CAMPAIGN_HISTORY_ROWS = 20


def operation(pk: int) -> Operation | None:
    """The operation numbered ``pk``, None when there is none."""
    return Operation.objects.filter(pk=pk).select_related("campaign").first()


def current_operation(campaign: Campaign) -> Operation | None:
    """The operation the campaign page follows: the one running, else the newest interrupted one
    (until it is resumed), else the next one queued."""
    rows = Operation.objects.filter(campaign=campaign)
    return (
        rows.filter(state=Operation.State.RUNNING).first()
        or rows.filter(state=Operation.State.INTERRUPTED).first()
        or rows.filter(state=Operation.State.QUEUED).order_by("created_at", "pk").first()
    )


def campaign_history(campaign: Campaign, limit: int = CAMPAIGN_HISTORY_ROWS) -> list[Operation]:
    return list(Operation.objects.filter(campaign=campaign).select_related("user")[:limit])


def filtered_operations(*, user=None, campaign=None, action=None, state=None):
    """Every operation, newest first, narrowed by whichever filters are given."""
    return narrowed(Operation.objects.select_related("campaign", "user"),
                    username=user, campaign_id=campaign, action=action, state=state)


def filter_choices() -> dict:
    """The users and campaigns the list's filters offer."""
    return {
        "users": sorted(set(Operation.objects.exclude(username="").values_list("username", flat=True))),
        "campaigns": list(Campaign.objects.filter(operations__isnull=False).distinct().order_by("token_type")),
    }


def result_message(operation: Operation) -> str:
    """What the operation did, in the words its service's result uses."""
    if operation.action == Operation.Action.PUSH:
        return CreationReport(
            total=operation.total or 0, written=operation.written, existing=operation.existing,
            overwritten=operation.changed, failed=operation.failed, error=operation.error,
        ).message()
    if operation.action == Operation.Action.ADOPT:
        return f"{operation.processed} tokens"
    return OperationResult(
        changed=operation.changed, conflicted=operation.conflicted, skipped=operation.skipped,
        failed=operation.failed, error=operation.error,
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
        "processed": operation.processed,
        "total": operation.total,
        "error": shown_to(operation.error, user),
        "result": shown_to(result_message(operation), user) if operation.state == Operation.State.DONE else "",
    }
