"""Which tokens an operation acts on, and the one loop every bulk operation runs.

Targets are a view of the campaign, an explicit id list (which a state may narrow), or (neither)
every token of the type, optionally narrowed by a ``{field: value}`` filter. Ids come a page at a time (a view is walked
by key, never held whole), documents are read a page at a time, and every change of a page is
one ``_bulk_docs`` write.

The walk must not lose its place while the operation changes what it walks. Every state (and
"every token") is therefore found in the portal's ``tokens`` view, keyed by ``[type, token id]``
with the state as value: a token stays in it whatever its state, so only a deletion takes a row out. And each page
is handed out only after the next page has been requested, so the walk always starts from a row
the operation has not touched yet.

Pilots write tokens while an operation runs. Two rules keep an operation from undoing their
work: a document is re-checked against the selection after it is read (the view row may be
older than the document), and a document CouchDB refuses with a conflict is read again and
decided again, a bounded number of times, never written over with the stale copy.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

from django.conf import settings

from tokens_app import bulk, token_reads, token_rows
from tokens_app.couch import bulk_error, get_gateway
from tokens_app.design import (
    STATE_NAMES,
    TOKENS_VIEW,
    TYPE_VIEWS,
    is_token_list_view,
    is_view,
    state_of,
    user_views_of,
    validate_view_name,
    views_of,
)
from tokens_app.models import Campaign
from tokens_app.selectors import iter_token_rows, overview_counts

from . import layout
from .common import OperationResult, ServiceError, chunked, validate_field_name

# Reads and writes after a conflict before the token is reported as conflicted.
WRITE_ATTEMPTS = 4
Decision = Callable[[dict], dict | None]


@dataclass(frozen=True)
class Selection:
    """A checked choice of targets; see :func:`select`."""

    view: str | None = None
    ids: tuple[str, ...] | None = None
    where: tuple[tuple[str, object], ...] = ()

    def holds_for(self, campaign: Campaign, doc: dict | None) -> bool:
        """Whether the current ``doc`` is still a target (the view row may be older than it)."""
        if doc is None or doc.get("type") != campaign.token_type:
            return False
        if self.view in STATE_NAMES and state_of(doc) != self.view:
            return False
        return all(_matches(doc.get(name), value) for name, value in self.where)


def select(campaign: Campaign, *, view=None, ids=None, where=None) -> Selection:
    """Check a view name, an id list and a filter; raise ServiceError for what cannot be used."""
    # A state narrows ids (re-decided on each document); another view's rule is not the portal's to apply.
    if view is not None and ids is not None and view not in (*STATE_NAMES, TOKENS_VIEW):
        raise ServiceError("choose tokens by a view or by ids, not both (a state may narrow ids)")
    if view is not None:
        validate_view(campaign, view)
    if ids is not None:
        if isinstance(ids, str) or not all(isinstance(token_id, str) and token_id for token_id in ids):
            raise ServiceError("the token ids must be a list of non-empty strings")
        ids = tuple(dict.fromkeys(ids))
    where = where or {}
    if not isinstance(where, dict):
        raise ServiceError("the filter must be a mapping of field names to values")
    for name in where:
        validate_field_name(name, "filter field name")
    return Selection(view=view, ids=ids, where=tuple(where.items()))


def validate_view(campaign: Campaign, view: str) -> None:
    """``view`` must be a map view of the campaign's design document."""
    try:
        validate_view_name(view)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    if view in STATE_NAMES or view == TOKENS_VIEW:
        return
    lists = f"choose one of {', '.join(STATE_NAMES)}, {TOKENS_VIEW} or a view that lists tokens"
    if view in TYPE_VIEWS:
        raise ServiceError(f"'{view}' counts tokens (a reduce view), it does not list them; {lists}")
    design = get_gateway().get_design(campaign.database, campaign.token_type)
    views = views_of(design)
    if view not in views:
        raise ServiceError(f"campaign {campaign} has no view '{view}'")
    if not is_view(views[view]):
        raise ServiceError(
            f"'{view}' is not a view CouchDB can build (another tool wrote it with no map function of "
            f"text): it lists no tokens; {lists}"
        )
    if not is_token_list_view(views[view]):
        raise ServiceError(
            f"'{view}' is a reduce view (its rows count tokens, they are not tokens): acting on it "
            f"would act on every token it saw; {lists}"
        )
    if view not in user_views_of(design):
        _check_keyed_by_id(campaign, view, lists)


# Rows of another tool's map view read to see that it lists tokens by id.
KEY_SAMPLE = 20


def _check_keyed_by_id(campaign: Campaign, view: str, lists: str) -> None:
    """A map view the portal did not write must list documents by id (as GRID_LRT's and PiCaS's
    do): one keyed otherwise may emit a row per token per value, or rows of other documents."""
    rows = get_gateway().view(campaign.database, campaign.token_type, view, reduce=False, limit=KEY_SAMPLE)["rows"]
    if any(row.get("key") != row.get("id") for row in rows):
        raise ServiceError(
            f"'{view}' was not written by the portal and is not keyed by document id (its rows are not "
            f"one per token); {lists}"
        )


def page_size() -> int:
    return settings.COUCHDB["BATCH_SIZE"]


def id_pages(campaign: Campaign, selection: Selection) -> Iterator[list]:
    """The target ids a page at a time, each page handed out once the next one is requested."""
    size = page_size()
    if selection.ids is not None:
        yield from chunked(selection.ids, size)
        return
    ids = (row["id"] for row in iter_rows(campaign, selection.view, page_size=size))
    page = list(islice(ids, size))
    while page:
        following = list(islice(ids, 1))
        yield page
        page = following + list(islice(ids, size - 1))


def iter_rows(campaign: Campaign, view: str | None, **params) -> Iterator[dict]:
    """The rows of a user view, or of the ``tokens`` view for a state (every token for None)."""
    if view is not None and view not in STATE_NAMES:
        return iter_token_rows(campaign, view, **params)
    rows = iter_token_rows(campaign, TOKENS_VIEW, **params)
    return rows if view is None else (row for row in rows if row["value"] == view)


def apply(
    campaign: Campaign, selection: Selection, decide: Decision, progress: Callable[[int], None] | None = None
) -> OperationResult:
    """Run ``decide`` on every target and write what it returns; count what happened.

    ``decide`` gets a copy of the current document and returns the document to write, or None
    to leave it alone. It is called again on the fresh document after a conflict.
    ``progress(processed)`` is told how many targets are dealt with after every page.
    """
    gateway = get_gateway()
    result = OperationResult()
    layout.restore_views(campaign)
    for ids in id_pages(campaign, selection):
        docs = gateway.fetch_docs(campaign.database, ids)
        for attempt in range(WRITE_ATTEMPTS):
            changes = []
            for doc in docs.values():
                change = decide(copy.deepcopy(doc)) if selection.holds_for(campaign, doc) else None
                if change is None:
                    result.skipped += 1
                else:
                    changes.append(change)
            changes = still_listed(campaign, selection, changes, result)
            conflicted = write(campaign.database, changes, result)
            if not conflicted:
                break
            if attempt == WRITE_ATTEMPTS - 1:
                result.conflicted += len(conflicted)
            else:
                docs = gateway.fetch_docs(campaign.database, conflicted)
        if progress is not None:
            progress(result.processed)
    return result


def still_listed(campaign: Campaign, selection: Selection, changes: list[dict], result: OperationResult) -> list[dict]:
    """The changes of the tokens a view the portal has no rule for (a user view, another tool's
    list) still lists, asked of the view just before they are written.

    A state is decided again on the document itself (:meth:`Selection.holds_for`); the condition
    of any other view is CouchDB's, so the view is queried for the documents just read: a token
    that left it since the walk read its row (a pilot finished it) is left alone. A pilot's
    write after this query makes the write a conflict, and the token is read and asked again.
    """
    if selection.view in STATE_NAMES or selection.view in (None, TOKENS_VIEW) or not changes:
        return changes
    rows = get_gateway().view(
        campaign.database, campaign.token_type, selection.view, reduce=False, keys=[change["_id"] for change in changes],
    )["rows"]
    listed = {row["id"] for row in rows}
    result.skipped += sum(change["_id"] not in listed for change in changes)
    return [change for change in changes if change["_id"] in listed]


def write(database: str, changes: list[dict], result: OperationResult) -> list[str]:
    """Write ``changes`` in one request, or in several where they exceed ``COUCHDB_BATCH_BYTES``
    (a file attached to a page of tokens); count successes and failures, return conflicted ids."""
    conflicted, written = [], []
    by_id = {change["_id"]: change for change in changes}
    for batch in bulk.batches(map(bulk.encode, changes), max_docs=len(changes), max_bytes=bulk.max_batch_bytes()):
        for outcome in get_gateway().bulk_docs(database, batch):
            if "error" not in outcome:
                result.changed += 1
                written.append({**by_id[outcome["id"]], "_rev": outcome["rev"]})
            elif outcome["error"] == "conflict":
                conflicted.append(outcome["id"])
            else:
                result.failed += 1
                result.error = result.error or bulk_error(outcome)
    # The operator sees their own change at once, not a follower's round later.
    token_rows.record(database, written)
    return conflicted


def count(campaign: Campaign, selection: Selection) -> int:
    """How many tokens the selection holds now (reads documents only when it has to)."""
    gateway = get_gateway()
    layout.restore_views(campaign)
    if selection.ids is None and not selection.where and (selection.view is None or selection.view in STATE_NAMES):
        counts = token_reads.counts_of(campaign) or overview_counts(campaign)
        return counts[selection.view or "total"]
    if selection.ids is None and not selection.where:
        return sum(len(ids) for ids in id_pages(campaign, selection))
    return sum(
        sum(selection.holds_for(campaign, doc) for doc in gateway.fetch_docs(campaign.database, ids).values())
        for ids in id_pages(campaign, selection)
    )


def _matches(actual, wanted) -> bool:
    """Filter values come typed (Python) or as text (a command line, a form): "5" matches 5."""
    if actual == wanted:
        return True
    return isinstance(wanted, str) and not isinstance(actual, str) and json.dumps(actual) == wanted
