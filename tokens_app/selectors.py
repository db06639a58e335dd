"""Reads of CouchDB itself: exact counts, pages of a user view, token detail, design documents.

The pages show the tokens from the read model (:mod:`tokens_app.token_reads`); what only CouchDB
can answer is read here, through the gateway, asking for exactly what the caller needs: the
exact counts of operations and commands (one grouped query of the portal's ``states`` view), a
page of another tool's view (only CouchDB runs its map function), a token's document and
attachments, the design documents (:data:`PAGE_TIMEOUT` bounds a page's read).
Selectors of tokens take a :class:`~tokens_app.tokensets.TokenSet`, the ``(database, token
type)`` pair, or a :class:`~tokens_app.models.Campaign` (which offers its own as ``token_set``).
The reads of the portal's own rows (campaigns, their locks) are in
:mod:`tokens_app.campaign_selectors`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice

from tokens_app.campaign_selectors import discoverable_databases, unadopted
from tokens_app.couch import (
    ABSENT,
    CouchAuthFailed,
    addressable,
    InvalidName,
    NotFound,
    design_name,
    get_gateway,
    shown,
)
from tokens_app.design import (
    PORTAL_DESIGN,
    STATE_NAMES,
    STATES_VIEW,
    TOKENS_VIEW,
    counted_type,
    design_id,
    discovered_type,
    listed_views,
    restored_record,
    state_of,
)
from tokens_app.pools import concurrently
from tokens_app.rendering import loads_shown, readable
from tokens_app.token_reads import TokenPage
from tokens_app.tokensets import TokenSet

# Rows read per request while walking a view to the first row of a later page.
WALK_PAGE_SIZE = 1000
# How long a page waits on CouchDB for one read (a view being indexed answers later).
PAGE_TIMEOUT = 1.0
PAGE_READ = {"timeout": PAGE_TIMEOUT}
# The highest JSON value in CouchDB's collation: ``[type, {}]`` ends the rows of a type.
_LAST = {}


class TokenNotFound(LookupError):
    """No token (or attachment) of that id in the campaign; the message names what is missing."""


def overview_counts(campaign) -> dict:
    """``{"todo", "locked", "done", "error", "total"}`` of one campaign, now: one grouped query
    of the portal's ``states`` view (waits for the index; for operations and commands)."""
    result = get_gateway().view(
        campaign.database, PORTAL_DESIGN, STATES_VIEW, group_level=2,
        startkey=[campaign.token_type], endkey=[campaign.token_type, _LAST],
    )
    counts = {**dict.fromkeys(STATE_NAMES, 0), "total": 0}
    for row in result["rows"]:
        state = row["key"][1]
        if state in STATE_NAMES:
            counts[state] = row["value"]
            counts["total"] += row["value"]
    return counts


def type_design(campaign) -> dict | None:
    """The campaign's ``_design/<type>`` (None when missing)."""
    return get_gateway().get_design(campaign.database, campaign.token_type)


def views_restored(campaign, design: dict | None = None) -> dict | None:
    """``{"views", "at"}`` when the portal put back views of the campaign's ``_design/<type>``
    (``design``, read when not given) that another tool had replaced (GRID_LRT's
    ``add_status_views``), else None."""
    return restored_record(design or type_design(campaign))


def _view_rows(campaign, view: str) -> tuple[str, str, dict]:
    """Where the rows of a token view are: ``(design, view, params)``. The four states and
    every token come from the portal's views (range of the type), user views from
    ``_design/<type>``."""
    token_type = campaign.token_type
    if view in STATE_NAMES:
        return PORTAL_DESIGN, STATES_VIEW, {"startkey": [token_type, view], "endkey": [token_type, view, _LAST]}
    if view == TOKENS_VIEW:
        return PORTAL_DESIGN, TOKENS_VIEW, {"startkey": [token_type], "endkey": [token_type, _LAST]}
    return token_type, view, {}


def iter_token_rows(campaign, view: str | None, **params) -> Iterator[dict]:
    """Rows ``{"id", ...}`` of the tokens in a view (every token for None), in key order."""
    design, name, bounds = _view_rows(campaign, view or TOKENS_VIEW)
    return get_gateway().iter_view(campaign.database, design, name, **bounds, **params)


def tokens_of(campaign, ids: list[str]) -> dict[str, dict]:
    """The documents of ``ids`` that are tokens of the campaign, in one request, as pages show
    them (:func:`~tokens_app.rendering.readable`, parts nested too deep for Python cut: never to
    be written back): an index (or a map) read a moment ago may still list a token another tool
    deleted or moved to another type."""
    docs = get_gateway().fetch_docs(campaign.database, ids, cut_deep=True)
    return {token_id: readable(doc) for token_id, doc in docs.items()
            if isinstance(doc, dict) and doc.get("type") == campaign.token_type}


def with_doc(row: dict, docs: dict[str, dict]) -> dict:
    """A row of a token page with its document from ``docs`` (see :func:`tokens_of`) and the
    state that document is in (None: no longer a token of the campaign)."""
    doc = docs.get(row["id"])
    return {**readable(row), "doc": doc, "state": state_of(doc) if doc else None, "linked": addressable(row["id"])}


def view_size(campaign, view: str) -> int | None:
    """How many rows a view of ``_design/<type>`` lists (its ``total_rows``)."""
    return get_gateway().view(campaign.database, campaign.token_type, view, limit=0, reduce=False,
                              **PAGE_READ).get("total_rows")


def list_tokens(campaign, view: str, *, page: int = 1, per_page: int = 50) -> TokenPage:
    """Page ``page`` of a view of the campaign, with each row's document and state.

    Pages are found by key (the gateway's paging, exact on every server): reaching page N walks
    the view's rows without documents, a thousand a request, then reads the page's documents in
    one request. Memory stays one page whatever the view's size; each row's state is its
    document's own.
    """
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    offset = (page - 1) * per_page
    walk = iter_token_rows(
        campaign, view, page_size=min(WALK_PAGE_SIZE, offset + per_page + 1), limit=offset + per_page + 1,
        **PAGE_READ,
    )
    rows = list(islice(walk, offset, None))
    docs = tokens_of(campaign, [row["id"] for row in rows[:per_page]])
    return TokenPage(
        rows=[
            with_doc(row, docs) for row in rows[:per_page]
        ],
        page=page,
        per_page=per_page,
        has_next=len(rows) > per_page,
    )


def token_detail(campaign, token_id: str, *, text_up_to: int = 0) -> dict:
    """``{"doc", "attachments": [{"name", "content_type", "length", "text"}], "state", "size"}``
    of one token of the campaign, as pages show it (``doc`` is ``rendering.readable``; ``size``
    the bytes of its JSON, see :func:`token_json`); ``text`` is the decoded content of a
    ``text/*`` attachment of at most ``text_up_to`` bytes, else None."""
    body, doc = _token_json(campaign, token_id)
    attachments = []
    stubs = doc.get("_attachments")
    for name, stub in sorted(stubs.items() if isinstance(stubs, dict) else []):
        stub = stub if isinstance(stub, dict) else {}
        content_type, length = readable(str(stub.get("content_type", ""))), stub.get("length", 0)
        text = None
        if content_type.startswith("text/") and isinstance(length, int) and length <= text_up_to and addressable(name):
            text = _read_attachment(campaign, token_id, name)[0].decode("utf-8", errors="replace")
        attachments.append({"name": readable(name), "content_type": content_type, "length": length, "text": text})
    return {"doc": readable(doc), "attachments": attachments, "state": state_of(doc), "size": len(body)}


def token_attachment(campaign, token_id: str, name: str) -> tuple[bytes, str]:
    """The bytes and content type of one attachment of a token of the campaign."""
    stubs = _token_json(campaign, token_id)[1].get("_attachments")
    if not isinstance(stubs, dict) or name not in stubs:
        raise _no_attachment(campaign, token_id, name)
    return _read_attachment(campaign, token_id, name)


def _token_json(campaign, token_id: str) -> tuple[bytes, dict]:
    """The token's JSON as CouchDB sent it and its document as far as Python decodes it (parts
    nested too deep for Python replaced by a note, see ``rendering.loads_shown``)."""
    missing = TokenNotFound(
        f"no token {shown(token_id)} of type {shown(campaign.token_type)} in database {shown(campaign.database)}"
    )
    if not isinstance(token_id, str) or token_id.startswith("_"):
        raise missing
    try:
        body = get_gateway().get_doc_json(campaign.database, token_id)
    except InvalidName:
        raise missing from None
    doc = None if body is None else _decoded(body)
    if not isinstance(doc, dict) or doc.get("_id") != token_id or doc.get("type") != campaign.token_type:
        raise missing
    return body, doc


def _decoded(body: bytes):
    try:
        return json.loads(body)
    except (RecursionError, ValueError):
        return loads_shown(body.decode("utf-8"))


def token_json(campaign, token_id: str) -> bytes:
    """The token's document exactly as CouchDB holds it (JSON bytes), for download."""
    return _token_json(campaign, token_id)[0]


def _read_attachment(campaign, token_id: str, name: str) -> tuple[bytes, str]:
    try:
        return get_gateway().get_attachment(campaign.database, token_id, name)
    except ABSENT:
        raise _no_attachment(campaign, token_id, name) from None


def _no_attachment(campaign, token_id: str, name: str) -> TokenNotFound:
    return TokenNotFound(
        f"token {shown(token_id)} in database {shown(campaign.database)} has no attachment {shown(name)}"
    )


def discovered_designs(database: str | None = None) -> list[dict]:
    """Token design documents (they have a ``todo`` view) in the databases that no Campaign knows.

    These are campaigns made by other tools (GRID_LRT scripts, the PiCaS examples); the portal
    lists them so they can be watched and adopted. Databases this user may not read are skipped.
    """
    gateway = get_gateway()
    databases = [database] if database else discoverable_databases()

    def designs_in(db: str) -> list[dict]:
        try:
            docs = gateway.design_docs(db)
        except CouchAuthFailed:
            return []
        return [
            {"database": db, "token_type": name, "counted_type": counted}
            for doc in docs
            for name in [design_name(doc["_id"])]
            if (counted := discovered_type(name, doc)) is not None
        ]

    return unadopted([design for designs in concurrently(designs_in, databases) for design in designs])


def design_exists(token_set) -> bool:
    """Whether the set's ``_design/<type>`` is in its database (DatabaseMissing when the
    database is not): pilots find no work without it."""
    return get_gateway().design_exists(token_set.database, token_set.token_type)


def listed_token_set(database: str, name: str) -> TokenSet | None:
    """The tokens ``_design/<name>`` of ``database`` lists (:func:`counted_type`), None when
    there is no such design document."""
    design = get_gateway().get_design(database, name)
    return None if design is None else TokenSet(database=database, token_type=counted_type(name, design))


def design_counted_type(database: str, name: str) -> str:
    """:func:`counted_type` of ``_design/<name>`` as it is in ``database`` now (``name`` when
    there is no such design document)."""
    return counted_type(name, get_gateway().get_design(database, name))


def token_views(campaign, design: dict | None = None) -> list[str]:
    """The views of the campaign that list tokens: the four states, every token, then the map
    views of ``_design/<type>`` (``design``, read when not given: user views, another tool's
    lists); reduce views are no lists.

    Raises NotFound when ``_design/<type>`` is missing: pilots find no work without it, and the
    page offers to re-create it.
    """
    design = design or type_design(campaign)
    if design is None:
        raise NotFound(f"the design document {design_id(campaign.token_type)} of {campaign} is missing")
    return [*STATE_NAMES, TOKENS_VIEW, *listed_views(design)]
