"""Campaign operations after creation: repair tokens, change them in bulk, add views, purge,
adopt a design document made elsewhere, and keep the campaign's counts.

Every operation that changes something asks the guard first (``check_can_change``), then runs
through :func:`tokens_app.services.targets.apply`, which re-decides on conflicts. The decisions
here are small functions of one document.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from django.db import transaction

from tokens_app import bulk, campaign_selectors, selectors, token_rows
from tokens_app.couch import CouchRequestError, DatabaseMissing, addressable, attachment_digests, get_gateway
from tokens_app.design import (
    TOKENS_VIEW,
    counted_type,
    design_id,
    merged_design_doc,
    validate_condition,
    validate_token_type,
    validate_view_name,
    with_user_view,
)
from tokens_app.models import Campaign
from tokens_app.tokensets import TokenSet

from . import layout, targets
from .common import (
    OperationResult,
    ServiceError,
    check_can_change,
    content_type_of,
    inline_attachment,
    max_upload_bytes,
    validate_attachment_name,
    validate_database_name,
    validate_field_name,
)

MAX_STATUS_LENGTH = 100
# Room for a token's own fields beside a file attached to it, when checking that both fit into
# one request before anything is written.
TOKEN_BYTES = 16 * 1024
# Fields a bulk "set field" may not touch: ``type`` decides which campaign a token is in.
PROTECTED_FIELDS = frozenset({"type"})


def creation_attachments(campaign: Campaign) -> set[str]:
    """The attachments a token of the set was created with (its SRM file and the set's files)."""
    return set(campaign.attachment_names) | ({campaign.srm_attachment} if campaign.srm_attachment else set())


def reset_doc(doc: dict, keep_attachments: set[str] | None = None) -> dict:
    """A token back to ``todo`` as PiCaS and GRID_LRT reset it, counting the scrub.

    With ``keep_attachments`` every other attachment (pilot logs, results) is dropped.
    """
    doc.update(lock=0, done=0, hostname="", output="", status="todo")
    doc["scrub_count"] = _as_count(doc.get("scrub_count")) + 1
    doc.pop("exit_code", None)
    if keep_attachments is not None and "_attachments" in doc:
        doc["_attachments"] = {name: stub for name, stub in doc["_attachments"].items() if name in keep_attachments}
    return doc


def _as_count(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def reset_tokens(
    campaign, *, user, view=None, ids=None, where=None, drop_attachments=False, progress=None
) -> OperationResult:
    """Reset the targets to ``todo`` (lock, done, hostname, output, exit code cleared)."""
    check_can_change(campaign, user, "reset tokens of")
    selection = targets.select(campaign, view=view, ids=ids, where=where)
    keep = creation_attachments(campaign) if drop_attachments else None
    return targets.apply(campaign, selection, lambda doc: reset_doc(doc, keep), progress)


def scrub_stale(campaign, *, user, older_than: timedelta, progress=None) -> OperationResult:
    """Reset tokens locked longer than ``older_than`` ago: their pilots are lost."""
    check_can_change(campaign, user, "scrub tokens of")
    check_stale_age(older_than)
    cutoff = time.time() - older_than.total_seconds()
    selection = targets.select(campaign, view="locked")

    def decide(doc):
        return reset_doc(doc) if float(doc["lock"]) <= cutoff else None

    return targets.apply(campaign, selection, decide, progress)


def check_stale_age(older_than) -> None:
    if not isinstance(older_than, timedelta) or older_than <= timedelta(0):
        raise ServiceError(f"the age of a stale lock must be a positive duration, not {older_than!r}")


def set_status(campaign, status, *, user, view=None, ids=None, where=None, progress=None) -> OperationResult:
    """Set the free-text ``status`` of the targets (state is decided by lock/done/output)."""
    check_can_change(campaign, user, "set the status of tokens of")
    check_status(status)
    selection = targets.select(campaign, view=view, ids=ids, where=where)
    return targets.apply(campaign, selection, _setter("status", status), progress)


def typed_value(text: str):
    """A field value as an operator types it, in the browser or a command: JSON when it parses
    (``0``, ``true``, ``"0"``, ``[1, 2]``), otherwise the text itself."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # nesting deeper than Python's stack is no value an operator means
        return text


def field_assignment(text: str) -> tuple[str, object]:
    """``FIELD=VALUE`` as the commands' ``--where`` and the action forms take a filter, the value
    read by :func:`typed_value`."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise ServiceError(f"'{text}' is not FIELD=VALUE")
    return name.strip(), typed_value(value)


def set_field(campaign, field, value, *, user, view=None, ids=None, where=None, progress=None) -> OperationResult:
    """Set ``field`` to ``value`` (any JSON value) on the targets."""
    check_can_change(campaign, user, "set a field of tokens of")
    check_field(field, value)
    selection = targets.select(campaign, view=view, ids=ids, where=where)
    return targets.apply(campaign, selection, _setter(field, value), progress)


def check_status(status) -> None:
    if not isinstance(status, str) or not status.strip() or len(status) > MAX_STATUS_LENGTH:
        raise ServiceError(f"the status must be a word of at most {MAX_STATUS_LENGTH} characters")


def check_field(field, value) -> None:
    """A field a bulk "set field" may set, and a JSON value for it."""
    validate_field_name(field)
    if field in PROTECTED_FIELDS:
        raise ServiceError(f"the field {field!r} decides which campaign a token is in; it cannot be set")
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise ServiceError(f"the value for {field!r} is not a JSON value") from None


def _setter(field: str, value):
    def decide(doc):
        if field in doc and doc[field] == value:
            return None
        doc[field] = value
        return doc

    return decide


def attach_file(
    campaign, name, data: bytes, *, user, content_type=None, view=None, ids=None, where=None, progress=None
) -> OperationResult:
    """Attach a file to the targets; tokens that have the same bytes under ``name`` are skipped.

    Attached to every token (no view, ids or filter), the file becomes one of the set's own, kept
    by a reset that drops attachments.
    """
    check_can_change(campaign, user, "attach a file to tokens of")
    validate_attachment_name(name)
    if not isinstance(data, bytes):
        raise ServiceError(f"the attachment {name!r} is not a file's bytes")
    if len(data) > max_upload_bytes():
        raise ServiceError(f"the attachment {name!r} is larger than {max_upload_bytes() // 2**20} MB")
    attachment = inline_attachment(data, content_type or content_type_of(name))
    _check_fits_one_request(name, attachment)
    selection = targets.select(campaign, view=view, ids=ids, where=where)
    digests = attachment_digests(data)

    def decide(doc):
        if doc.get("_attachments", {}).get(name, {}).get("digest") in digests:
            return None
        doc.setdefault("_attachments", {})[name] = attachment
        return doc

    result = targets.apply(campaign, selection, decide, progress)
    if view is None and ids is None and not where and name not in campaign.attachment_names:
        campaign.attachment_names = [*campaign.attachment_names, name]
        campaign.save(update_fields=["attachment_names", "updated_at"])
    return result


def _check_fits_one_request(name: str, attachment: dict) -> None:
    """A token carrying the file must fit into one ``_bulk_docs`` request."""
    size = bulk.body_size([bulk.encode({"_id": "", "_attachments": {name: attachment}})]) + TOKEN_BYTES
    if size > bulk.max_batch_bytes():
        raise ServiceError(
            f"the attachment {name!r} is {size / 2**20:.1f} MB with its token as CouchDB receives it (files "
            f"travel base64-encoded, 4/3 of their size), more than the {bulk.max_batch_bytes() / 2**20:.1f} MB "
            "one request may carry (COUCHDB_BATCH_BYTES)"
        )


def delete_tokens(campaign, *, user, view=None, ids=None, where=None, progress=None) -> OperationResult:
    """Delete the targets (a token a pilot changed meanwhile is re-checked first)."""
    check_can_change(campaign, user, "delete tokens of")
    selection = targets.select(campaign, view=view, ids=ids, where=where)
    return targets.apply(campaign, selection, _deletion, progress)


def _deletion(doc: dict) -> dict:
    return {"_id": doc["_id"], "_rev": doc["_rev"], "_deleted": True}


def add_view(campaign, name, condition, *, user) -> None:
    """Add (or replace) a user view: the tokens for which ``condition`` on ``doc.*`` holds.

    The condition is in the portal's condition language, compiled to JavaScript by the portal
    (:mod:`tokens_app.conditions`); one outside it is refused with the line and column of the
    offending character and nothing is saved. A view of that name that the portal did not write
    (another tool's) is refused too: the portal reads such views but never changes them.
    """
    check_can_change(campaign, user, "add a view to")
    try:
        validate_view_name(name)
        validate_condition(condition)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None

    def with_view(current: dict | None) -> dict:
        try:
            return with_user_view(
                merged_design_doc(campaign.token_type, current), campaign.token_type, name, condition
            )
        except ValueError as exc:
            raise ServiceError(str(exc)) from None

    try:
        written = get_gateway().update_design(campaign.database, campaign.token_type, with_view)
    except CouchRequestError as exc:
        raise ServiceError(f"CouchDB refused the view '{name}': {exc}") from None
    token_rows.record(campaign.database, [written])


def recreate_views(campaign, *, user) -> None:
    """Write the campaign's design document again: the built-in views renewed, the views users
    added kept (after a push cut short before writing it, or a deletion by hand)."""
    check_can_change(campaign, user, "re-create the views of")
    try:
        layout.ensure_design_docs(campaign.database, campaign.token_type)
    except DatabaseMissing:
        raise ServiceError(
            f"cannot re-create the views of {campaign}: database '{campaign.database}' does not exist"
        ) from None


def purge_campaign(campaign, *, user, progress=None) -> OperationResult:
    """Delete every token of the type and the design document; the campaign becomes ``purged``.

    CouchDB first, the row last: CouchDB is not transactional, so the steps are ordered for a
    failure to leave what the next purge repairs. Until the CouchDB part is through, the row is
    untouched (its status, counts and error as they were): the tokens deleted so far stay
    deleted, and purging again deletes the rest and the design document. The row's changes
    (status, written count, error, counts) are written together in one transaction; if that
    rolls back, CouchDB holds neither tokens nor the design document while the row still says
    what it said before, and purging again (which re-creates the design document to walk the
    tokens, finds none and deletes it) records the purge.
    """
    check_can_change(campaign, user, "purge", refuse_statuses=(Campaign.Status.PURGED,))
    if addressable(design_id(campaign.token_type)):
        layout.ensure_design_docs(campaign.database, campaign.token_type)
    result = targets.apply(campaign, _every_token(campaign), _deletion, progress)
    gateway = get_gateway()
    own_design = design_id(campaign.token_type)
    design = gateway.fetch_docs(campaign.database, [own_design]).get(own_design)
    if design is not None:
        gateway.bulk_docs(campaign.database, [_deletion(design)])
    with transaction.atomic():
        campaign.status = Campaign.Status.PURGED
        campaign.written_count = 0
        campaign.last_error = "" if not result.conflicted else f"purge: {result.message()}"
        campaign.save(update_fields=["status", "written_count", "last_error", "updated_at"])
    return result


def _every_token(campaign) -> targets.Selection:
    """Every token of the campaign, found by its views; a type that cannot name a design document
    (``.`` and ``..``, accepted by earlier versions) has no views, so its tokens are found by
    reading the whole database, and its design document is then only ever named in request bodies."""
    if addressable(design_id(campaign.token_type)):
        return targets.Selection()
    rows = get_gateway().iter_all_docs(campaign.database, include_docs=True)
    return targets.Selection(ids=tuple(
        row["id"] for row in rows if (row.get("doc") or {}).get("type") == campaign.token_type
    ))


def adopt_design(database, name, *, user) -> Campaign:
    """Make a campaign of ``_design/<name>``, a design document another tool made (GRID_LRT,
    PiCaS examples).

    The campaign's type is the type the document lists (:func:`tokens_app.design.counted_type`). Named
    after it, the document becomes the campaign's ``_design/<type>``: the views pilots and
    GRID_LRT read (``todo``, ``locked``, ``done``, ``error``, ``overview_total``) are rewritten
    with the portal's one state rule and keyed by id, its other views kept (GRID_LRT 1.0's
    ``overview_view`` among them, a reduce view the portal never takes as a selection). Named
    otherwise (the PiCaS examples' ``_design/Monitor`` lists type ``token``), it is left exactly
    as it is, since its pilots keep reading it, and the campaign gets its own ``_design/<type>``
    beside it. Either way the database gets ``_design/tokenportal`` if it has none.

    CouchDB first, the row last: CouchDB is not transactional. The design documents are written
    and the tokens sampled and counted before the row is touched; the row (a new one, or the
    purged one adopted again) is then written with its counts in one transaction. A failure
    before it leaves no row (or the purged one as it was) and design documents that are
    current, which adopting again rewrites as they are (no change); a rollback of the row's
    transaction leaves the same, and the design document is still listed on the dashboard to
    be adopted again.
    """
    validate_database_name(database)
    try:
        validate_token_type(name)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    design = get_gateway().get_design(database, name)
    if design is None:
        raise ServiceError(f"database '{database}' has no design document '{design_id(name)}'")
    token_type = counted_type(name, design)
    try:
        validate_token_type(token_type)
    except ValueError as exc:
        raise ServiceError(
            f"{design_id(name)} in '{database}' lists tokens of type {token_type!r}, which cannot name a "
            f"campaign: {exc}"
        ) from None
    known = campaign_selectors.campaign_of(TokenSet(database=database, token_type=token_type))
    if known is not None:
        if known.status != Campaign.Status.PURGED:
            raise ServiceError(f"{known} is already a campaign of the portal")
        check_can_change(known, user, "adopt", refuse_statuses=())
    layout.ensure_design_docs(database, token_type)
    token_set = TokenSet(database=database, token_type=token_type)
    sample = list(selectors.iter_token_rows(token_set, TOKENS_VIEW, include_docs=True, limit=1))
    first = sample[0]["doc"] if sample else {}
    counts = selectors.overview_counts(token_set)
    campaign = known or Campaign(database=database, token_type=token_type)
    with transaction.atomic():
        campaign.created_by = user if getattr(user, "is_authenticated", False) else None
        campaign.obsid = str(first.get("OBSID", ""))[:32]
        campaign.status = Campaign.Status.READY
        campaign.last_error = ""
        campaign.token_count = campaign.written_count = counts["total"]
        campaign.save()
    return campaign


def count_targets(campaign, *, view=None, ids=None, where=None) -> int:
    """How many tokens an operation with these targets would act on now (for confirmations)."""
    if view is None and ids is None and not where:
        return targets.count(campaign, _every_token(campaign))
    return targets.count(campaign, targets.select(campaign, view=view, ids=ids, where=where))
