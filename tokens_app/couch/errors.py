"""The gateway's exceptions.

``str()`` of every one is a one-line message fit for an operator: it names the server and the
database, never the password.
"""

from __future__ import annotations

__all__ = [
    "Conflict", "CouchAuthFailed", "CouchError", "CouchRequestError", "CouchTimeout", "CouchUnreachable",
    "DatabaseMissing", "InvalidName", "shown",
]

# How much of a name an error message repeats.
_SHOWN_LENGTH = 80


def shown(name: object) -> str:
    """A name quoted for a one-line message: escapes for control characters, long ones cut."""
    text = repr(name)
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 2] + "…" + text[-1]


class CouchError(Exception):
    """Base of every gateway error; ``str()`` is a one-line message fit for an operator."""

    status: int | None = None


class CouchUnreachable(CouchError):
    """Nothing answers at the configured URL (refused, DNS, TLS)."""


class CouchAuthFailed(CouchError):
    """CouchDB refused the configured credentials, or this user may not do that."""


class DatabaseMissing(CouchError):
    """The database does not exist."""


class Conflict(CouchError):
    """A document changed meanwhile (HTTP 409): re-read it and decide again."""


class CouchTimeout(CouchError):
    """CouchDB did not answer within COUCHDB_TIMEOUT seconds."""


class CouchRequestError(CouchError):
    """CouchDB answered with another error (a bad view function, a bad request)."""


class InvalidName(CouchError):
    """A name that cannot be the CouchDB path segment it was given as; nothing was sent."""

    status = 404
