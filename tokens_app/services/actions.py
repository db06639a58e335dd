"""What each queued action runs: a call of its service from the ids and options its row holds.

``ACTIONS`` maps every action a worker runs to one function of this module; each takes the
``Operation`` row, the user it runs as and the ``progress`` callback, and answers an
:class:`~tokens_app.services.common.OperationResult`. The checks made before an action is
queued (its options, the guard's wording) live here too, beside the calls they protect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tokens_app.design import validate_token_type
from tokens_app.models import Campaign, Operation

from .common import OperationResult, ServiceError, check_can_change, validate_database_name
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
from .push import push_tokenset

Action = Operation.Action
Progress = Callable[..., None]


def selection_of(operation: Operation) -> dict:
    """The row's selection as the services take it (``view``, ``ids``, ``where``)."""
    selection = operation.selection or {}
    return {"view": selection.get("view"), "ids": selection.get("ids"), "where": selection.get("where") or None}


def push(operation: Operation, user, progress: Progress) -> OperationResult:
    overwrite = bool(operation.options.get("overwrite"))
    return push_tokenset(operation.campaign, user=user, overwrite=overwrite, progress=progress)


def reset(operation: Operation, user, progress: Progress) -> OperationResult:
    drop_attachments = bool(operation.options.get("drop_attachments"))
    return reset_tokens(operation.campaign, user=user, drop_attachments=drop_attachments, progress=progress,
                        **selection_of(operation))


def scrub(operation: Operation, user, progress: Progress) -> OperationResult:
    older_than = timedelta(seconds=operation.options.get("older_than_seconds", 0))
    return scrub_stale(operation.campaign, user=user, older_than=older_than, progress=progress)


def set_token_status(operation: Operation, user, progress: Progress) -> OperationResult:
    return set_status(operation.campaign, operation.options.get("status"), user=user, progress=progress,
                      **selection_of(operation))


def set_token_field(operation: Operation, user, progress: Progress) -> OperationResult:
    options = operation.options
    return set_field(operation.campaign, options.get("field"), options.get("value"), user=user, progress=progress,
                     **selection_of(operation))


def attach(operation: Operation, user, progress: Progress) -> OperationResult:
    file = operation.file
    return attach_file(operation.campaign, file.name, bytes(file.data), content_type=file.content_type or None,
                       user=user, progress=progress, **selection_of(operation))


def delete(operation: Operation, user, progress: Progress) -> OperationResult:
    return delete_tokens(operation.campaign, user=user, progress=progress, **selection_of(operation))


def purge(operation: Operation, user, progress: Progress) -> OperationResult:
    return purge_campaign(operation.campaign, user=user, progress=progress)


def adopt(operation: Operation, user, progress: Progress) -> OperationResult:
    """``token_type`` is the name of the design document adopted; the campaign is the type it
    lists (``_design/Monitor`` makes the campaign ``token``), decided when the work runs."""
    campaign = adopt_design(operation.options.get("database"), operation.options.get("token_type"), user=user)
    return OperationResult(existing=campaign.token_count, total=campaign.token_count, campaign=campaign)


ACTIONS: dict[str, Callable[[Operation, object, Progress], OperationResult]] = {
    Action.PUSH: push,
    Action.RESET: reset,
    Action.SCRUB: scrub,
    Action.SET_STATUS: set_token_status,
    Action.SET_FIELD: set_token_field,
    Action.ATTACH: attach,
    Action.DELETE: delete,
    Action.PURGE: purge,
    Action.ADOPT: adopt,
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


def check_guard(action: str, campaign: Campaign, user) -> None:
    """Ask the guard whether ``user`` may do ``action`` to ``campaign`` now."""
    verb, statuses = GUARD_WORDING.get(action, (f"{Action(action).label} tokens of", None))
    check_can_change(campaign, user, verb, refuse_statuses=statuses)


def total_of(operation: Operation) -> int | None:
    """How many tokens the work will go through, as far as can be told cheaply now."""
    campaign = operation.campaign
    if operation.action == Action.PUSH:
        return campaign.token_count
    if operation.action == Action.ADOPT or campaign is None:
        return None
    selection = selection_of(operation)
    if operation.action == Action.SCRUB:
        selection = {"view": "locked"}
    elif operation.action == Action.PURGE:
        selection = {}
    if selection.get("ids") is not None:
        return len(selection["ids"])
    if selection.get("where"):
        return None
    return count_targets(campaign, **selection)
