"""Writing the design documents of a database: ``_design/tokenportal`` and each campaign's
``_design/<type>`` (see :mod:`tokens_app.design` for the layout).

Called when a campaign is created, adopted or repaired, and before every bulk operation and
exact count, which is how a design document an earlier version wrote is moved to this layout on
first use and how views another tool replaced are put back: a GRID_LRT script that runs
``add_status_views`` rewrites ``todo``/``locked``/``done``/``error`` with its own rule (its
``locked`` keyed by ``doc.lock``), which pilots and counts would then follow.
"""

from __future__ import annotations

from django.utils import timezone

from tokens_app import token_rows
from tokens_app.couch import addressable, configured_gateway, design_name, get_gateway
from tokens_app.design import (
    MARKER_FIELD,
    PORTAL_DESIGN,
    design_id,
    is_view,
    merged_design_doc,
    merged_portal_design_doc,
    replaced_views,
    views_of,
)

from .common import default_database

PORTAL_DESIGN_ID = design_id(PORTAL_DESIGN)


def create_default_database() -> None:
    """Create the portal's default database (``COUCHDB_DATABASE``) unless it exists: the only
    database the portal creates; any other must exist."""
    get_gateway().create_database(default_database())


def portal_design_current(design: dict | None) -> bool:
    """Whether ``_design/tokenportal`` is there exactly as this version of the portal writes it."""
    return design is not None and merged_portal_design_doc(design) == design


def ensure_portal_design(database: str, existing: dict | None = None) -> bool:
    """Write ``_design/tokenportal`` unless it is current; True if it was written.

    ``existing`` is the document when the caller has read it already (the count refresh reads
    every design document in one request).
    """
    def renewed(current: dict | None) -> dict | None:
        return None if portal_design_current(current) else merged_portal_design_doc(current)

    return get_gateway().update_design(database, PORTAL_DESIGN, renewed, current=existing) is not None


def ensure_type_design(database: str, token_type: str, existing: dict | None = None) -> list[str]:
    """Write ``_design/<type>`` as :func:`~tokens_app.design.merged_design_doc` makes it (the
    portal's members exactly as built, other tools' views kept), unless it is that already;
    answer the portal's views another tool had replaced (recorded in the marker as
    ``restored_views``/``restored_at`` so the campaign page can say so), [] otherwise.

    A design document without the marker (another tool's) or with an earlier version's is
    brought to the layout silently: that is adoption or migration, not a repair.
    """
    restored: list[str] = []

    def renewed(current: dict | None) -> dict | None:
        nonlocal restored
        wanted = merged_design_doc(token_type, current)
        if wanted == current:
            return None
        restored = replaced_views(token_type, current)
        if restored:
            wanted[MARKER_FIELD] = {
                **wanted[MARKER_FIELD], "restored_views": restored, "restored_at": timezone.now().isoformat(),
            }
        return wanted

    written = get_gateway().update_design(database, token_type, renewed, current=existing)
    if written is None:
        return []
    # The campaign page reads the views from the read model: it shows the new ones at once.
    token_rows.record(database, [written])
    return restored


def ensure_design_docs(database: str, token_type: str) -> list[str]:
    """Both design documents a campaign needs; answers the views restored (see above)."""
    ensure_portal_design(database)
    return ensure_type_design(database, token_type)


def ensure_layout(database: str, designs: list[dict], campaign_types: set[str]) -> dict[str, list[str]]:
    """Bring a database to the layout given its design documents (read by the caller): the
    portal's design document current, and the ``_design/<type>`` of every campaign the portal
    knows in it migrated or repaired. Design documents of types no campaign knows (another tool's,
    not adopted) are left alone. Answers ``{token type: views restored}`` for repaired ones."""
    by_id = {design["_id"]: design for design in designs}
    ensure_portal_design(database, by_id.get(PORTAL_DESIGN_ID))
    restored = {}
    for token_type in sorted(campaign_types):
        existing = by_id.get(design_id(token_type))
        if existing is None:
            continue  # never written (a push cut short) or deleted: "Re-create views" says so
        if merged_design_doc(token_type, existing) != existing:
            views = ensure_type_design(database, token_type, existing)
            if views:
                restored[token_type] = views
    return restored


def restore_views(token_set) -> list[str]:
    """Bring one campaign's database to the layout (:func:`ensure_layout` for its type alone)
    before the portal counts or changes its tokens: views another tool replaced (a GRID_LRT
    script's ``add_status_views``) are put back by every operation and counting command, not
    only by the pages' count refresh. Answers the views restored."""
    name = design_id(token_set.token_type)
    if not addressable(name):
        return []  # a type of an earlier version that names no design document has no views
    designs = get_gateway().fetch_docs(token_set.database, [PORTAL_DESIGN_ID, name]).values()
    restored = ensure_layout(token_set.database, [design for design in designs if design], {token_set.token_type})
    return restored.get(token_set.token_type, [])


def designs_with_views(database: str, *, timeout: float) -> list[tuple[str, list[tuple[str, bool]]]]:
    """The design documents of ``database`` that have views: ``(design name, [(view, reduces)])``,
    read waiting at most ``timeout`` seconds.

    Apache CouchDB builds all views of a design document together, so on it the first query of a
    design document builds the rest; pouchdb-server (PouchDB) keeps one index per view and builds
    each on its own first query. Querying every view is right on both, and costs CouchDB nothing
    more, whatever the layout of the design documents.
    """
    found = []
    for doc in configured_gateway(timeout).design_docs(database):
        # A view CouchDB cannot build (another tool's of an odd shape) is no view to build.
        views = {name: view for name, view in views_of(doc).items() if is_view(view)}
        if views:
            found.append((design_name(doc["_id"]), [(name, "reduce" in views[name]) for name in sorted(views)]))
    return found


def build_views(database: str, design: str, views: list[tuple[str, bool]], *, timeout: float) -> None:
    """Query each of ``views`` of ``_design/<design>`` for no rows, so that CouchDB builds its
    index now; each query waits at most ``timeout`` seconds (CouchTimeout, the build going on)."""
    gateway = configured_gateway(timeout)
    for view, reduces in views:
        gateway.view(database, design, view, limit=0, **({"reduce": False} if reduces else {}))
