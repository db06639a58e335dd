"""The gateway's exceptions, and how the portal answers each.

``str()`` of every one is a one-line message fit for an operator: it names the server and the
database, never the password. Each class also declares how a page answers it, so the answer is
read from the error in one place (:mod:`tokens_app.middleware`) instead of being decided by
class in every view:

- ``status``: the HTTP status of the error page the portal answers with;
- ``title`` and ``template``: the heading of that page, and the page;
- ``problem`` and ``explanation``: what the campaign page says when the error keeps it from
  showing the tokens (``problem`` is ``server``, ``database`` or ``views``: only ``views`` is
  repaired by re-creating them; ``{database}`` in the explanation is the campaign's database).
"""

from __future__ import annotations

__all__ = [
    "ABSENT", "Conflict", "CouchAuthFailed", "CouchError", "CouchRequestError", "CouchTimeout", "CouchUnavailable",
    "CouchUnreachable", "DatabaseMissing", "InvalidName", "NotFound", "Undecodable", "shown",
]

# How much of a name an error message repeats.
_SHOWN_LENGTH = 80


def shown(name: object) -> str:
    """A name quoted for a one-line message: escapes for control characters, long ones cut."""
    text = repr(name)
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 2] + "…" + text[-1]


class CouchError(Exception):
    """Base of every gateway error: CouchDB cannot serve the request now."""

    status = 503
    title = "CouchDB cannot serve this page right now"
    template = "couch_error.html"
    problem = "server"
    explanation = (
        "CouchDB cannot show this campaign's tokens right now (the server is down or refused the "
        "request); below is what the portal last knew."
    )


class CouchUnreachable(CouchError):
    """Nothing answers at the configured URL (refused, DNS, TLS)."""


class CouchAuthFailed(CouchError):
    """CouchDB refused the configured credentials, or this user may not do that."""


class DatabaseMissing(CouchError):
    """The database does not exist."""

    status = 404
    problem = "database"
    explanation = (
        "The database '{database}' does not exist on CouchDB: it was deleted, or the tokens were "
        "never written. Create the campaign again to write them anew."
    )


class Conflict(CouchError):
    """A document changed meanwhile (HTTP 409): re-read it and decide again."""

    status = 409


class CouchTimeout(CouchError):
    """CouchDB did not answer within COUCHDB_TIMEOUT seconds."""


class CouchRequestError(CouchError):
    """CouchDB answered with another error (a bad view function, a bad request)."""


class CouchUnavailable(CouchRequestError):
    """CouchDB answered that it cannot serve now (HTTP 502, 503, 504: starting, a node down, a
    proxy without its server): the request may succeed later, unlike other errors."""


_VIEWS_MISSING = (
    "The views of this campaign are missing (a push that stopped before writing them, or a design "
    "document deleted by hand): its tokens cannot be counted or listed until the views are re-created."
)


class NotFound(CouchRequestError):
    """CouchDB has no such document, design document, view or attachment (HTTP 404 in a database
    that exists). A page that needed it is a CouchDB problem (503), not a wrong address; on the
    campaign page it means the views are missing."""

    problem = "views"
    explanation = _VIEWS_MISSING


class Undecodable(CouchRequestError):
    """CouchDB sent a document Python's JSON decoder refuses (any tool may write one): nested
    deeper than it goes, or a number of more digits than Python converts. The request's answer
    cannot be read whole; pages read such documents with the deep or long parts cut."""


class InvalidName(CouchError):
    """A name that cannot be the CouchDB path segment it was given as; nothing was sent."""

    status = 404
    problem = "views"
    explanation = _VIEWS_MISSING


# The errors that say the thing asked for is not there (or cannot be: no path names it).
ABSENT = (NotFound, DatabaseMissing, InvalidName)
