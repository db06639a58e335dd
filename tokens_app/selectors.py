"""Reads of token campaigns: counts, pages of tokens, token detail, summaries, discovery.

Every read goes through the gateway and asks CouchDB for exactly what the caller shows: counts
come from one grouped query of the campaign's ``overview_total`` view, pages of a view are
fetched by key (a page never needs the whole view in memory), summaries use the reduce views.
Selectors take a :class:`~tokens_app.models.Campaign` but only read its ``token_type`` and
``database``, so an unsaved Campaign describes a design document no row knows yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from tokens_app.couch import CouchAuthFailed, CouchError, InvalidName, get_gateway, shown
from tokens_app.design import BUILTIN_VIEWS, STATE_NAMES, TOKENS_VIEW, design_doc_id, state_of
from tokens_app.pools import concurrently

# Rows read per request while walking a view to the first row of a later page.
WALK_PAGE_SIZE = 1000


class TokenNotFound(LookupError):
    """No token (or attachment) of that id in the campaign; the message names what is missing."""


@dataclass
class TokenPage:
    """One page of a view: rows ``{"id", "key", "value", "doc", "state"}`` in view order."""

    rows: list[dict]
    page: int
    per_page: int
    has_next: bool
    has_previous: bool = field(init=False)

    def __post_init__(self):
        self.has_previous = self.page > 1

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.has_next else None

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.has_previous else None


def overview_counts(campaign) -> dict:
    """``{"todo", "locked", "done", "error", "total"}`` from one grouped ``overview_total`` query."""
    result = get_gateway().view(campaign.database, campaign.token_type, "overview_total", group=True)
    counts = dict.fromkeys(STATE_NAMES, 0)
    for row in result["rows"]:
        if row["key"] in counts:
            counts[row["key"]] = row["value"]
    counts["total"] = sum(counts[state] for state in STATE_NAMES)
    return counts


def overview_counts_many(campaigns: Iterable) -> dict[int, dict | None]:
    """Counts of many campaigns by primary key, one query each, run side by side.

    A campaign whose query fails (database gone, design document deleted by another tool) maps
    to None, so one broken campaign does not blank a whole dashboard.
    """
    campaigns = list(campaigns)

    def counts_or_none(campaign):
        try:
            return overview_counts(campaign)
        except CouchError:
            return None

    return {campaign.pk: counts for campaign, counts in zip(campaigns, concurrently(counts_or_none, campaigns))}


def list_tokens(campaign, view: str, *, page: int = 1, per_page: int = 50) -> TokenPage:
    """Page ``page`` of a view of the campaign, with each row's document and state.

    Pages are found by key (the gateway's paging, exact on every server): reaching page N walks
    the view's rows without documents, a thousand a request, then reads the page's documents in
    one request. Memory stays one page whatever the view's size.
    """
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    gateway = get_gateway()
    offset = (page - 1) * per_page
    walk = gateway.iter_view(
        campaign.database, campaign.token_type, view,
        page_size=min(WALK_PAGE_SIZE, offset + per_page + 1), limit=offset + per_page + 1,
    )
    rows = list(islice(walk, offset, None))
    docs = gateway.fetch_docs(campaign.database, [row["id"] for row in rows[:per_page]])
    return TokenPage(
        rows=[
            {**row, "doc": docs.get(row["id"]), "state": state_of(docs[row["id"]]) if docs.get(row["id"]) else None}
            for row in rows[:per_page]
        ],
        page=page,
        per_page=per_page,
        has_next=len(rows) > per_page,
    )


def token_detail(campaign, token_id: str, *, text_up_to: int = 0) -> dict:
    """``{"doc", "attachments": [{"name", "content_type", "length", "text"}], "state"}`` of one
    token of the campaign; ``text`` is the decoded content of a ``text/*`` attachment of at most
    ``text_up_to`` bytes, else None."""
    doc = _token_doc(campaign, token_id)
    attachments = []
    for name, stub in sorted(doc.get("_attachments", {}).items()):
        content_type, length = stub.get("content_type", ""), stub.get("length", 0)
        text = None
        if content_type.startswith("text/") and length <= text_up_to:
            text = _read_attachment(campaign, token_id, name)[0].decode("utf-8", errors="replace")
        attachments.append({"name": name, "content_type": content_type, "length": length, "text": text})
    return {"doc": doc, "attachments": attachments, "state": state_of(doc)}


def token_attachment(campaign, token_id: str, name: str) -> tuple[bytes, str]:
    """The bytes and content type of one attachment of a token of the campaign."""
    if name not in _token_doc(campaign, token_id).get("_attachments", {}):
        raise _no_attachment(campaign, token_id, name)
    return _read_attachment(campaign, token_id, name)


def _token_doc(campaign, token_id: str) -> dict:
    """The document ``token_id`` if it is a token of the campaign: a document (ids starting with
    ``_`` are design and local documents or CouchDB's endpoints) whose ``type`` is the campaign's.
    """
    missing = TokenNotFound(
        f"no token {shown(token_id)} of type {shown(campaign.token_type)} in database {shown(campaign.database)}"
    )
    if not isinstance(token_id, str) or token_id.startswith("_"):
        raise missing
    try:
        doc = get_gateway().get_doc(campaign.database, token_id, default=None)
    except InvalidName:
        raise missing from None
    if doc is None or doc.get("_id") != token_id or doc.get("type") != campaign.token_type:
        raise missing
    return doc


def _read_attachment(campaign, token_id: str, name: str) -> tuple[bytes, str]:
    try:
        return get_gateway().get_attachment(campaign.database, token_id, name)
    except CouchError as exc:
        if exc.status == 404:
            raise _no_attachment(campaign, token_id, name) from None
        raise


def _no_attachment(campaign, token_id: str, name: str) -> TokenNotFound:
    return TokenNotFound(
        f"token {shown(token_id)} in database {shown(campaign.database)} has no attachment {shown(name)}"
    )


def error_summary(campaign) -> list[dict]:
    """Error tokens grouped by ``(exit_code, output, status)``, the largest group first."""
    result = get_gateway().view(campaign.database, campaign.token_type, "error_summary", group=True)
    summary = [
        {"exit_code": exit_code, "output": output, "status": status, "count": row["value"]}
        for row in result["rows"]
        for exit_code, output, status in [row["key"]]
    ]
    return sorted(summary, key=lambda group: -group["count"])


def completions(campaign, *, group_level: int = 4) -> list[tuple[datetime, int]]:
    """Finished tokens per year (1), month (2), day (3) or hour (4), UTC, in time order."""
    if group_level not in (1, 2, 3, 4):
        raise ValueError(f"group_level is 1 (year) to 4 (hour), not {group_level}")
    result = get_gateway().view(campaign.database, campaign.token_type, "completions", group_level=group_level)
    # A grouped key stops at group_level; the parts below it are the start of the period.
    start_of_period = (None, 1, 1, 0)
    return [
        (datetime(*row["key"], *start_of_period[len(row["key"]):], tzinfo=UTC), row["value"])
        for row in result["rows"]
    ]


def discovered_designs(database: str | None = None) -> list[dict]:
    """Token design documents (they have a ``todo`` view) in the databases that no Campaign knows.

    These are campaigns made by other tools (GRID_LRT scripts, the PiCaS examples); the portal
    lists them so they can be watched and adopted. Databases this user may not read are skipped.
    """
    from tokens_app.models import Campaign

    gateway = get_gateway()
    databases = [database] if database else gateway.list_databases()

    def designs_in(db: str) -> list[dict]:
        try:
            docs = gateway.design_docs(db)
        except CouchAuthFailed:
            return []
        return [
            {"database": db, "token_type": doc["_id"][len("_design/"):]}
            for doc in docs
            if "todo" in doc.get("views", {})
        ]

    found = [design for designs in concurrently(designs_in, databases) for design in designs]
    known = set(
        Campaign.objects.filter(database__in={design["database"] for design in found})
        .exclude(status="purged")
        .values_list("database", "token_type")
    )
    return [design for design in found if (design["database"], design["token_type"]) not in known]


def token_views(campaign) -> list[str]:
    """The views of the campaign that list tokens: the four states, every token, then user views."""
    design = get_gateway().get_doc(campaign.database, design_doc_id(campaign.token_type), default=None) or {}
    added = sorted(name for name in design.get("views", {}) if name not in BUILTIN_VIEWS)
    return [*STATE_NAMES, TOKENS_VIEW, *added]
