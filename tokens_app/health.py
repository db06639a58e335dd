"""Selectors for the health of the two stores the portal depends on.

``/healthz`` answers anyone, so what it says names no internal address (tokenportal.disclosure).
"""

from django.db import DatabaseError, connection

from tokenportal.disclosure import shown_to

from .couch import CouchError, CouchTimeout, CouchUnreachable, get_gateway


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
