"""CouchDB paths: tuples of segments, and the one place they become a URL.

Every URL is built by :func:`couch_url` from a tuple of path segments (database, document id,
design document, view, attachment name, or one of CouchDB's fixed ``_`` endpoints), each
percent-encoded whole. Names that no encoding keeps in their segment are refused with
:class:`InvalidName` before anything is sent: requests turns ``%2E`` back into ``.`` and urllib3
then folds ``.``/``..`` segments into the parent path, so ``..`` would climb out of the database.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import InvalidName, shown

__all__ = [
    "DATABASE_NAME", "addressable", "attachment_path", "couch_url", "database_path", "design_id", "design_name",
    "document_path", "safe_url", "view_path",
]

# CouchDB's rule for database names; anything else would address a server endpoint (``_config``).
DATABASE_NAME = re.compile(r"[a-z][a-z0-9_$()+/-]*")
# Path segments every HTTP client and server may fold into the parent path (RFC 3986 5.2.4).
_DOT_SEGMENTS = frozenset({".", ".."})
_SURROGATE = re.compile("[\ud800-\udfff]")
DESIGN_PREFIX = "_design/"
# Documents whose id is a prefix and a name: they live one path segment deeper.
_PREFIXED_IDS = (DESIGN_PREFIX, "_local/")


def _segment(name: object, what: str) -> str:
    if not isinstance(name, str) or not name or name in _DOT_SEGMENTS:
        raise InvalidName(
            f"{shown(name)} cannot be {what}: a CouchDB path never carries an empty name, '.' or '..'"
        )
    if not name.isascii() and _SURROGATE.search(name):
        # A URL carries UTF-8, and a lone UTF-16 surrogate (which any tool may write in an id) has none.
        raise InvalidName(f"{shown(name)} cannot be {what}: a CouchDB path carries no lone UTF-16 surrogate")
    return name


def database_path(db: str) -> tuple[str, ...]:
    """The path of a database; only names CouchDB itself allows (never ``_config``, ``..``)."""
    if not isinstance(db, str) or not DATABASE_NAME.fullmatch(db):
        raise InvalidName(f"{shown(db)} is not a CouchDB database name")
    return (db,)


def _document_segments(doc_id: str) -> tuple[str, ...]:
    for prefix in _PREFIXED_IDS:
        if isinstance(doc_id, str) and doc_id.startswith(prefix):
            return prefix[:-1], _segment(doc_id[len(prefix):], f"the name of a {prefix[:-1]} document")
    if isinstance(doc_id, str) and doc_id.startswith("_"):
        raise InvalidName(f"{shown(doc_id)} is not a document id: ids starting with '_' are CouchDB's")
    return (_segment(doc_id, "a document id"),)


def document_path(db: str, doc_id: str) -> tuple[str, ...]:
    """The path of a document: ``_design/<name>`` and ``_local/<name>`` keep their prefix as a
    segment of its own; any other id starting with ``_`` would name an endpoint of the database
    (``_changes``, ``_security``), which no document can be."""
    return (*database_path(db), *_document_segments(doc_id))


def design_id(name: str) -> str:
    """The id of the design document ``name`` (``_design/<name>``)."""
    return f"{DESIGN_PREFIX}{name}"


def design_name(doc_id: str) -> str:
    """The name of the design document whose id is ``doc_id``."""
    return doc_id.removeprefix(DESIGN_PREFIX)


def view_path(db: str, ddoc: str, view: str) -> tuple[str, ...]:
    """The path of the view ``view`` of the design document ``_design/<ddoc>``."""
    return (*document_path(db, design_id(ddoc)), "_view", _segment(view, "a view name"))


def attachment_path(db: str, doc_id: str, name: str) -> tuple[str, ...]:
    """The path of an attachment; names starting with ``_`` are refused, as CouchDB refuses to
    store them (on a design document they would name ``_view``, ``_show``, ``_rewrite``)."""
    if isinstance(name, str) and name.startswith("_"):
        raise InvalidName(f"{shown(name)} is not an attachment name: names starting with '_' are CouchDB's")
    return (*document_path(db, doc_id), _segment(name, "an attachment name"))


def couch_url(base: str, path: tuple[str, ...]) -> str:
    """The URL of ``path`` on the server at ``base``: the one place a CouchDB URL is built.

    Each segment is percent-encoded whole (``/``, ``%``, ``?``, ``#`` and every non-ASCII byte
    included), so requests and urllib3 pass it untouched and the server decodes exactly the
    name; ``.``, ``..`` and empty segments are refused.
    """
    if not isinstance(path, tuple):
        raise TypeError("a CouchDB path is a tuple of segments, built by the *_path functions")
    return base.rstrip("/") + "/" + "/".join(quote(_segment(segment, "a path segment"), safe="") for segment in path)


def addressable(doc_id: str) -> bool:
    """Whether the document ``doc_id`` has a path: not ``.``, ``..``, empty, or an id starting
    with ``_`` other than a design or local document's."""
    try:
        _document_segments(doc_id)
    except InvalidName:
        return False
    return True


def safe_url(url: str) -> str:
    """The URL without any ``user:password@`` part, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
