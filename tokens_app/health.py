"""Selectors for the health of the two stores the portal depends on."""

from django.db import DatabaseError, connection

from .couch import CouchError, CouchTimeout, CouchUnreachable, get_gateway


def database_health() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except DatabaseError as exc:
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)}


def couchdb_health() -> dict:
    """Reachable, authenticated and version of the configured CouchDB (never its password)."""
    gateway = get_gateway()
    state = {"ok": False, "url": gateway.server, "reachable": False, "authenticated": False, "version": None}
    try:
        state["version"] = gateway.server_info().get("version")
        state["reachable"] = True
        state["authenticated"] = gateway.session_user().get("name") == gateway.user
        state["ok"] = state["authenticated"]
    except CouchError as exc:
        state["reachable"] = not isinstance(exc, (CouchUnreachable, CouchTimeout))
        state["error"] = str(exc)
    return state
