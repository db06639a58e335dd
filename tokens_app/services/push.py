"""Recording a planned token set as a campaign and pushing its tokens in batches.

Pushing is idempotent: the campaign row holds everything the plan was made from, so a push cut
short (server gone, process killed) is completed by pushing again; tokens already there are
counted and left alone unless ``overwrite`` is asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction

from tokens_app import campaign_selectors, token_rows
from tokens_app.bulk import EncodedDoc, batches, encode, max_batch_bytes
from tokens_app.couch import CouchError, bulk_error, get_gateway
from tokens_app.models import Campaign, CampaignFile, CampaignInputs
from tokens_app.pools import in_flight
from tokens_app.tokensets import TokenSet

from . import layout
from .common import (
    OperationResult,
    ServiceError,
    batch_size_or_default,
    check_can_change,
    chunked,
    default_database,
    writes_in_flight,
)
from .creation_plan import TokenSetPlan, plan_of, plan_tokenset


def start_campaign(plan: TokenSetPlan, *, user) -> Campaign:
    """Record the plan as a campaign in status ``creating``.

    A campaign of the same type and database is re-planned in place (the new config and list
    win): that is how an operator completes or redoes a set by creating it again. CouchDB is
    asked first: a creation that cannot reach it leaves the row as it was (a healthy campaign
    must not become "0 written" because another shell pointed at the wrong server).
    """
    campaign = campaign_selectors.campaign_of(TokenSet(database=plan.database, token_type=plan.token_type))
    if campaign is not None:
        check_can_change(campaign, user, "re-create", refuse_statuses=())
    else:
        campaign = Campaign(created_by=user if getattr(user, "is_authenticated", False) else None)
    get_gateway().database_exists(plan.database)
    for name in (
        "token_type", "database", "obsid", "location", "slice_size", "id_prefix", "key_name",
        "link_flavor", "allow_mixed", "config_name", "config_format", "kept_sections", "srmlist_name",
    ):
        setattr(campaign, name, getattr(plan, name))
    campaign.srm_attachment = plan.srm_attachment
    campaign.token_fields = plan.fields
    campaign.attachment_names = plan.attachments
    campaign.token_count = plan.token_count
    campaign.written_count = 0
    campaign.status = Campaign.Status.CREATING
    campaign.last_error = ""
    with transaction.atomic():
        campaign.save()
        CampaignInputs.objects.update_or_create(
            campaign=campaign, defaults={"config_text": plan.config_text, "srmlist_text": plan.srmlist_text}
        )
        campaign.files.all().delete()
        CampaignFile.objects.bulk_create(
            CampaignFile(campaign=campaign, name=name, content_type=content_type, data=data)
            for name, (content_type, data) in plan.files.items()
        )
    return campaign


# The states of a campaign whose push can be resumed: one that is writing (a push that died with
# its process before its first batch leaves "creating") or was cut short.
RESUMABLE = (Campaign.Status.CREATING, Campaign.Status.INCOMPLETE)


def check_can_resume(campaign: Campaign, user) -> None:
    """Raise Refused or ServiceError unless ``user`` may complete ``campaign``'s push now: the
    guard allows it and the campaign is still being created (a ``ready`` campaign has all its
    tokens; an archived or purged one must not get them back)."""
    check_can_change(
        campaign, user, "resume the creation of",
        refuse_statuses=[status for status in Campaign.Status if status not in RESUMABLE],
    )


def ensure_design_doc(database: str, token_type: str) -> list[str]:
    """Create the campaign's design documents (``_design/<type>`` and the database's
    ``_design/tokenportal``), or renew the portal's views keeping every other view."""
    return layout.ensure_design_docs(database, token_type)


def push_tokenset(
    campaign: Campaign,
    *,
    user,
    plan: TokenSetPlan | None = None,
    overwrite: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> OperationResult:
    """Write the campaign's tokens through ``_bulk_docs`` in batches of at most ``batch_size``
    tokens and ``COUCHDB_BATCH_BYTES`` bytes.

    ``plan`` is the plan the campaign was started from (``create_tokenset`` passes the one it
    made); without it the plan is made again from the campaign row, as for a resumed push.
    Each batch's documents are encoded only when that batch is about to be sent and dropped
    after it; the set's files are encoded once for the whole push.

    Each batch is one bulk write, and ``COUCHDB_WRITES_IN_FLIGHT`` of them are sent at once; a
    token already in the database comes back as a conflict and is counted as there and left
    alone. With ``overwrite`` each batch first looks up the revisions of its tokens (one
    ``_all_docs`` request) so that they can be replaced. After each batch the campaign records
    how many tokens the server confirmed, so whatever stops a push leaves ``incomplete`` with
    that count (a batch whose answer was lost may have landed: the next push finds it there);
    ``progress(processed, total)`` is called after each batch. The campaign is
    ``ready`` once every token and the design document are in.

    The row never learns less than it knew: its count stays at least what it was when the push
    started (a resumed push re-counts from its first batch), and a push that CouchDB failed
    before confirming any token leaves a row that knew of tokens as it was (the operation
    records why); a new campaign's row is left ``incomplete`` with the reason.
    """
    check_can_change(campaign, user, "write the tokens of")
    batch_size = batch_size_or_default(batch_size)
    report = OperationResult(total=campaign.token_count)
    known = campaign.written_count
    try:
        if plan is None:
            plan = plan_of(campaign)
        elif (plan.database, plan.token_type, plan.token_count) != (
            campaign.database, campaign.token_type, campaign.token_count
        ):
            raise ServiceError(f"the plan given is not the plan of {campaign}")
        report.total = plan.token_count
        if plan.database == default_database():
            layout.create_default_database()
        failure = _write_tokens(campaign, plan, overwrite, batch_size, report, progress, known)
        # After the tokens: pouchdb-server reads every design document for each document written.
        # A part-written set wants its views too, but a batch's error is the one to report.
        try:
            ensure_design_doc(plan.database, plan.token_type)
        except CouchError:
            if failure is None:
                raise
        if failure is not None:
            raise failure
        _record(campaign, report, Campaign.Status.READY if report.complete else Campaign.Status.INCOMPLETE,
                known=known)
    except CouchError as exc:
        # A row that knew of tokens keeps what it knew; one that knew of none (a new campaign)
        # has nothing to lose and says why it is not written.
        if report.processed or not known:
            _record(campaign, report, Campaign.Status.INCOMPLETE, str(exc), known=known)
        raise
    except ServiceError as exc:
        _record(campaign, report, Campaign.Status.INCOMPLETE, str(exc), known=known)
        raise
    return report


def _write_tokens(campaign, plan, overwrite, batch_size, report, progress, known) -> Exception | None:
    """Write the plan's tokens batch by batch, ``writes_in_flight()`` batches at a time, and count
    them into ``report``; answer the first batch's error, if any (no batch is started after it,
    but those already sent are counted).

    Batches are made only when there is room for one more in flight, so a push holds a few
    batches at a time; the campaign records its count after each batch while the next ones wait
    on the server.
    """
    writes = in_flight(
        lambda batch: get_gateway().bulk_docs(plan.database, batch.docs),
        _token_batches(plan, overwrite, batch_size),
        limit=writes_in_flight(),
    )
    failure = None
    for batch, write in writes:
        if write.exception() is not None:
            failure = failure or write.exception()
            continue
        _count_results(write.result(), batch.replaced, overwrite, report)
        # The pages show the tokens as they are written, not a follower's round later; rows and
        # progress in one commit, while the next batches are on the wire.
        with transaction.atomic():
            token_rows.record(plan.database, [
                {**plan.fields, "_id": outcome["id"], "_rev": outcome["rev"]}
                for outcome in write.result() if "error" not in outcome
            ])
            _record(campaign, report, Campaign.Status.INCOMPLETE, known=known)
        if progress is not None:
            progress(report.processed, report.total)
    return failure


@dataclass
class _TokenBatch:
    """One ``_bulk_docs`` request of a push, and which of its tokens replace existing ones."""

    docs: list[EncodedDoc]
    replaced: set[str]


def _token_batches(plan: TokenSetPlan, overwrite: bool, batch_size: int) -> Iterator[_TokenBatch]:
    """The plan's tokens encoded, in batches of at most ``batch_size`` tokens and
    ``COUCHDB_BATCH_BYTES`` bytes, made as they are drawn.

    With ``overwrite`` the revisions of each ``batch_size`` tokens are looked up first (one
    ``_all_docs`` request) so that they can be replaced. Without it no lookup is needed:
    ``_bulk_docs`` refuses a document that exists (sent without a revision) with a conflict,
    which says "already there" just as well.
    """
    created = int(time.time())
    for chunk in chunked(plan.slices.items(), batch_size):
        ids = [plan.token_id(key) for key, _ in chunk]
        revisions = get_gateway().existing_ids(plan.database, ids) if overwrite else {}
        docs = (
            encode(plan.token_doc(key, links, token_id, created, revisions.get(token_id)), plan.shared_attachments)
            for (key, links), token_id in zip(chunk, ids)
        )
        for docs_of_batch in batches(docs, max_docs=batch_size, max_bytes=max_batch_bytes()):
            yield _TokenBatch(docs_of_batch, {doc.id for doc in docs_of_batch if doc.id in revisions})


def _count_results(results: list[dict], replaced: set[str], overwrite: bool, report: OperationResult) -> None:
    for result in results:
        if "error" not in result:
            if result["id"] in replaced:
                report.changed += 1
            else:
                report.written += 1
        elif result["error"] == "conflict" and not overwrite:
            # Already there (an earlier push, or someone else): not ours to replace.
            report.existing += 1
        else:
            report.failed += 1
            report.error = report.error or bulk_error(result)


def _record(
    campaign: Campaign, report: OperationResult, status: str, error: str | None = None, *, known: int
) -> None:
    campaign.written_count = max(known, report.present)
    campaign.status = status
    campaign.last_error = error if error is not None else report.error
    campaign.save(update_fields=["written_count", "status", "last_error", "updated_at"])


def create_tokenset(
    *,
    user,
    overwrite: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **plan_kwargs,
) -> tuple[Campaign, OperationResult]:
    """Plan, record and push a token set: what the dashboard and ``create_tokenset`` call."""
    batch_size_or_default(batch_size)
    plan = plan_tokenset(**plan_kwargs)
    campaign = start_campaign(plan, user=user)
    report = push_tokenset(
        campaign, user=user, plan=plan, overwrite=overwrite, batch_size=batch_size, progress=progress
    )
    return campaign, report
