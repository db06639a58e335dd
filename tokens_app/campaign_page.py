"""The campaign page's read: what its tabs, token table, errors and chart show, and the tables it
exports, composed from the read model (``token_reads``, ``token_charts``) and, for another tool's
view, from CouchDB (``selectors``). The page and its status API both call :func:`live_context`."""

from collections.abc import Iterable
from datetime import datetime

from . import selectors, token_charts, token_reads
from .couch import CouchTimeout
from .design import STATE_NAMES, TOKENS_VIEW
from .models import Campaign

TOKENS_PER_PAGE = 25
# The columns of each table the page exports (``?format=csv|json&table=…``).
TOKEN_COLUMNS = ("id", "state", "status", "hostname", "exit_code", "output", "scrub_count", "lock", "done")
ERROR_COLUMNS = ("exit_code", "output", "status", "count")
HOST_COLUMNS = ("host", "count", "exit_codes")


class NotExportable(ValueError):
    """A table or view the page cannot export; the message says what can be."""


def campaign_views(campaign: Campaign) -> tuple[list[str], dict | None]:
    """The campaign's tabs and the portal's record of views it put back, from the read model;
    from CouchDB when it holds no row of ``_design/<type>`` (not read yet, or missing: then
    NotFound, as pilots find no work without it, and the page offers to re-create it)."""
    design = token_reads.design_of(campaign)
    if design is not None:
        return [*STATE_NAMES, TOKENS_VIEW, *design.listed_views], design.restored
    read = selectors.type_design(campaign)
    return selectors.token_views(campaign, read), selectors.views_restored(campaign, read)


def live_context(campaign: Campaign, choice: dict, *, now: datetime,
                 chart: tuple[datetime | None, datetime | None]) -> dict:
    """What the campaign page shows of the tokens for the page's ``choice`` (``TokenPageForm``'s
    cleaned data) and the chart's ``(start, end)``: counts, tab sizes, a page of a tab (or of a
    search), the error groups and the completions chart, all read from the read model at one
    moment (a user view's tab is CouchDB's: only CouchDB runs its map)."""
    views, restored = campaign_views(campaign)
    requested = choice.get("view")
    search = token_reads.Search.parse(choice.get("q") or "")
    page = choice.get("page") or 1
    chart_start, chart_end = chart
    with token_reads.one_snapshot():
        counts = token_reads.counts_of(campaign)
        known = counts or token_reads.zero_counts()
        sizes = {name: known[name] if name in STATE_NAMES else known["total"] if name == TOKENS_VIEW else None
                 for name in views}
        if search:
            # A search looks through every token, or the state whose tab is open.
            view = requested if requested in STATE_NAMES else TOKENS_VIEW
        elif requested in views:
            view = requested
        else:
            view = next((state for state in STATE_NAMES if known[state]), TOKENS_VIEW)
        tokens = None
        if view in STATE_NAMES or view == TOKENS_VIEW:
            tokens = token_reads.token_page(campaign, view if view in STATE_NAMES else None, page=page,
                                            per_page=TOKENS_PER_PAGE, search=search,
                                            after=choice.get("after"), before=choice.get("before"),
                                            order=choice.get("order") or "id")
        context = {
            "counts": counts,
            "lag": token_reads.lag_of(campaign.database),
            "signature": token_reads.signature_of(campaign, counts),
            "errors": token_reads.error_groups(campaign),
            "hosts": token_reads.errors_by_host(campaign),
            "chart": token_charts.completions(campaign, known, now=now, start=chart_start, end=chart_end),
        }
    indexing = False
    if tokens is None:
        # Another tool's view: its page and size from CouchDB, as GRID_LRT reads it.
        try:
            tokens = selectors.list_tokens(campaign, view, page=page, per_page=TOKENS_PER_PAGE)
            sizes[view] = selectors.view_size(campaign, view)
        except CouchTimeout:
            # The view's index is being built: the page does not wait for it.
            tokens, indexing = token_reads.TokenPage(rows=[], page=page, per_page=TOKENS_PER_PAGE, has_next=False), True
    listed = tokens.matched if search else sizes.get(view)
    return {
        **context,
        "views_restored": restored,
        "views": views,
        "view": view,
        "unknown_view": requested if requested and requested not in views else None,
        "search": search,
        "sizes": sizes,
        "tabs": [(name, sizes.get(name)) for name in views],
        "tokens": tokens,
        "pages": max(1, -(-listed // TOKENS_PER_PAGE)) if listed is not None else None,
        "indexing": indexing,
        "exportable": view in (*STATE_NAMES, TOKENS_VIEW),
        "order": choice.get("order") or "id",
        "chart_ranges": token_charts.RANGE_LINKS,
        "chart_range": {
            "name": None if choice.get("since") else (choice.get("range") or "").replace("all", ""),
            **{name: f"{choice[name]:%Y-%m-%dT%H:%M}" for name in ("since", "until") if choice.get(name)},
        },
    }


def export_table(campaign: Campaign, table: str, *, view: str | None = None,
                 q: str | None = None) -> tuple[str, tuple[str, ...], Iterable[dict]]:
    """The file name, columns and rows of one of the page's tables: ``tokens`` (the tab ``view``
    or the search ``q``, every page of it), ``errors`` (by exit code) or ``hosts`` (errors by host)."""
    name = f"{campaign.database}-{campaign.token_type}"
    if table == "errors":
        return f"{name}-errors", ERROR_COLUMNS, token_reads.error_groups(campaign)
    if table == "hosts":
        hosts = ({**group, "exit_codes": " ".join(group["exit_codes"])} for group in token_reads.errors_by_host(campaign))
        return f"{name}-hosts", HOST_COLUMNS, hosts
    if table != "tokens":
        raise NotExportable("table is tokens, errors or hosts")
    view, search = view or TOKENS_VIEW, token_reads.Search.parse(q)
    if view not in (*STATE_NAMES, TOKENS_VIEW):
        raise NotExportable("a state's tokens, every token or a search can be exported; another "
                            "tool's view is CouchDB's to list")
    return f"{name}-{view}", TOKEN_COLUMNS, token_reads.iter_tokens(
        campaign, view if view in STATE_NAMES else None, search=search)


def status_counts(campaign: Campaign) -> dict:
    """What the status API reads first, at one moment: the counts (None without a row yet), the
    page's signature and the read model's age for the campaign's database."""
    with token_reads.one_snapshot():
        counts = token_reads.counts_of(campaign)
        signature = token_reads.signature_of(campaign, counts)
    return {"counts": counts, "signature": signature, "read_age": token_reads.lag_of(campaign.database)["age"]}


def subband_map(campaign: Campaign) -> dict:
    """The cells of the page's subband map, from every token's state."""
    return token_charts.subband_map(token_reads.token_states(campaign))
