"""Selectors for the health of the two stores the portal depends on.

``/healthz`` answers anyone, so what it says names no internal address (tokenportal.disclosure).
"""

from django.db import DatabaseError, connection

from tokenportal.disclosure import shown_to

from .couch import CouchError, CouchTimeout, CouchUnreachable, Gateway, configured_gateway, design_name, get_gateway
from .design import is_view, views_of


def database_health() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except DatabaseError as exc:
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)}


def couchdb_health() -> dict:
    """Reachable, authenticated and version of the configured CouchDB (never its address or password).

    A CouchDB restart forgets the session, and pouchdb-server then answers as if to an anonymous
    user instead of refusing: the check logs in again before it says "not authenticated", so the
    answer follows the server, not the last write of this process.
    """
    gateway = get_gateway()
    state = {"ok": False, "reachable": False, "authenticated": False, "version": None}
    try:
        state["version"] = gateway.server_info().get("version")
        state["reachable"] = True
        state["authenticated"] = gateway.authenticated_user() == gateway.user
        state["ok"] = state["authenticated"]
    except CouchError as exc:
        state["reachable"] = not isinstance(exc, (CouchUnreachable, CouchTimeout))
        state["error"] = shown_to(str(exc))
    return state


def design_views(gateway: Gateway, db: str) -> list[tuple[str, list[tuple[str, bool]]]]:
    """The design documents of ``db`` that have views: (design name, [(view, reduces), ...]).

    Apache CouchDB builds all views of a design document together, so on it the first query of a
    design document builds the rest; pouchdb-server (PouchDB) keeps one index per view and builds
    each on its own first query. Querying every view is right on both, and costs CouchDB nothing
    more, whatever the layout of the design documents.
    """
    found = []
    for doc in gateway.design_docs(db):
        # A view CouchDB cannot build (another tool's of an odd shape) is no view to build.
        views = {name: view for name, view in views_of(doc).items() if is_view(view)}
        if views:
            found.append((design_name(doc["_id"]), [(name, "reduce" in views[name]) for name in sorted(views)]))
    return found


def build_view(gateway: Gateway, db: str, ddoc: str, view: str, reduces: bool) -> None:
    """Query ``ddoc/view`` for no rows: CouchDB answers once the view is built (or the gateway
    raises CouchTimeout after its timeout, the build going on)."""
    gateway.view(db, ddoc, view, limit=0, **({"reduce": False} if reduces else {}))


def gateway_with_timeout(seconds: float) -> Gateway:
    """A gateway to the configured CouchDB that waits ``seconds`` for an answer."""
    return configured_gateway(seconds)
