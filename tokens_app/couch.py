"""The one gateway to CouchDB.

Every request the portal sends to CouchDB goes through :class:`Gateway`. It wraps cloudant's
cookie-session client (session authentication that re-authenticates once when the session
expires, one pooled HTTP connection per thread, a timeout on every request) and turns every
failure into one of a few exceptions whose messages are safe to show to an operator: they name
the server and the database, never the password.

The methods speak the CouchDB HTTP API (``_bulk_docs``, ``_all_docs``, views, attachments) so
that the portal behaves the same on Apache CouchDB and on the pouchdb-server used locally.
Two pouchdb-server quirks shape it: attachments are written inline through ``_bulk_docs``
(pouchdb-server ignores cloudant's ``If-Match`` revision header), and every request is
authenticated (an anonymous database creation crashes a pouchdb-server that has an admin).

Every URL is built by :func:`couch_url` from a tuple of path segments (database, document id,
design document, view, attachment name, or one of CouchDB's fixed ``_`` endpoints), each
percent-encoded whole. Names that no encoding keeps in their segment are refused with
:class:`InvalidName` before anything is sent: requests turns ``%2E`` back into ``.`` and urllib3
then folds ``.``/``..`` segments into the parent path, so ``..`` would climb out of the database.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from cloudant.client import CouchDB

from tokens_app.bulk import Body, EncodedDoc, encode

_MISSING = object()
# View parameters that CouchDB expects JSON-encoded in the query string.
# The 404 reasons of a missing database (CouchDB's, then pouchdb-server's), not a missing document.
_MISSING_DB_REASONS = ("no_db_file", "Database does not exist.")
# Per-document refusals a stale session earns where a server does not answer 401 outright.
_AUTH_ERRORS = frozenset({"unauthorized", "forbidden"})
_JSON_PARAMS = frozenset({"key", "keys", "startkey", "endkey", "start_key", "end_key"})
# CouchDB's rule for database names; anything else would address a server endpoint (``_config``).
DATABASE_NAME = re.compile(r"[a-z][a-z0-9_$()+/-]*")
# Path segments every HTTP client and server may fold into the parent path (RFC 3986 5.2.4).
_DOT_SEGMENTS = frozenset({".", ".."})
# Documents whose id is a prefix and a name: they live one path segment deeper.
_PREFIXED_IDS = ("_design/", "_local/")
# How much of a name an error message repeats.
_SHOWN_LENGTH = 80


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


def shown(name: object) -> str:
    """A name quoted for a one-line message: escapes for control characters, long ones cut."""
    text = repr(name)
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 2] + "…" + text[-1]


def _segment(name: object, what: str) -> str:
    if not isinstance(name, str) or not name or name in _DOT_SEGMENTS:
        raise InvalidName(
            f"{shown(name)} cannot be {what}: a CouchDB path never carries an empty name, '.' or '..'"
        )
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


def view_path(db: str, ddoc: str, view: str) -> tuple[str, ...]:
    """The path of the view ``view`` of the design document ``_design/<ddoc>``."""
    return (*document_path(db, f"_design/{ddoc}"), "_view", _segment(view, "a view name"))


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


def _encode_params(params: dict[str, Any]) -> dict[str, str]:
    encoded = {}
    for name, value in params.items():
        if value is None:
            continue
        if name in _JSON_PARAMS or isinstance(value, bool):
            encoded[name] = json.dumps(value)
        else:
            encoded[name] = str(value)
    return encoded


@dataclass
class Gateway:
    """A CouchDB server reached with one set of credentials."""

    url: str = field(repr=False)
    user: str
    password: str = field(repr=False)
    timeout: float = 30.0
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)

    def __repr__(self) -> str:
        # The URL may carry credentials (https://user:secret@host); a repr lands in tracebacks.
        return f"Gateway(server={self.server!r}, user={self.user!r}, timeout={self.timeout:g})"

    @property
    def server(self) -> str:
        return safe_url(self.url)

    # -- connection -------------------------------------------------------------------------

    def _client(self) -> CouchDB:
        client = getattr(self._local, "client", None)
        if client is None:
            client = CouchDB(
                self.user,
                self.password,
                url=self.url.rstrip("/"),
                connect=False,
                auto_renew=True,
                timeout=self.timeout,
            )
            self._translate(client.connect, what="log in")
            self._local.client = client
        return client

    def close(self) -> None:
        """Log out and drop this thread's connection."""
        client = getattr(self._local, "client", None)
        if client is not None:
            self._local.client = None
            try:
                client.disconnect()
            except requests.RequestException:
                pass

    def _translate(self, call, *, what: str, db: str | None = None, timeout: float | None = None):
        """Run ``call`` and map transport and HTTP failures onto the gateway's exceptions."""
        try:
            return call()
        except requests.Timeout:
            raise CouchTimeout(
                f"CouchDB at {self.server} did not answer within {timeout or self.timeout:g} s ({what})"
            ) from None
        except requests.ConnectionError:
            raise CouchUnreachable(
                f"CouchDB at {self.server} is unreachable ({what}): is the server running?"
            ) from None
        except requests.HTTPError as exc:
            raise self._http_error(exc.response, what=what, db=db) from None

    def _database_missing(self, db: str) -> DatabaseMissing:
        return DatabaseMissing(f"database {shown(db)} does not exist on CouchDB at {self.server}")

    def _http_error(self, response: requests.Response, *, what: str, db: str | None) -> CouchError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        reason = body.get("reason") or body.get("error") or response.reason
        if status == 401 or (status == 403 and what == "log in"):
            error: CouchError = CouchAuthFailed(
                f"CouchDB at {self.server} refused the credentials of user '{self.user}' ({what})"
            )
        elif status == 403:
            error = CouchAuthFailed(
                f"user '{self.user}' may not {what} on CouchDB at {self.server}: {reason}"
            )
        elif status == 404 and db is not None and reason in _MISSING_DB_REASONS:
            error = self._database_missing(db)
        elif status == 409:
            error = Conflict(f"conflict: {what} changed meanwhile ({reason})")
        else:
            error = CouchRequestError(f"CouchDB at {self.server} answered {status} to {what}: {reason}")
        error.status = status
        return error

    def request(
        self,
        method: str,
        path: tuple[str, ...],
        *,
        what: str,
        db: str | None = None,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        ok_statuses: Iterable[int] = (),
        timeout: float | None = None,
    ) -> requests.Response:
        """Send one authenticated request to ``path`` (segments, see :func:`couch_url`);
        statuses in ``ok_statuses`` are returned, not raised. ``timeout`` shortens the gateway's
        for this request (a page read that must not wait on an index build)."""
        url = couch_url(self.url, path)
        client = self._client()

        def send() -> requests.Response:
            # cloudant's session sends its own timeout with every request; the session is this
            # thread's alone, so a shorter one is set for this request and put back after it.
            session = client.r_session
            default_timeout = session._timeout
            if timeout is not None:
                session._timeout = timeout
            try:
                response = session.request(
                    method,
                    url,
                    params=_encode_params(params or {}),
                    data=json.dumps(json_body) if json_body is not None else data,
                    headers={"Content-Type": "application/json", **(headers or {})}
                    if json_body is not None
                    else headers,
                    stream=stream,
                )
            finally:
                session._timeout = default_timeout
            if response.status_code >= 400 and response.status_code not in ok_statuses:
                response.raise_for_status()
            return response

        return self._translate(send, what=what, db=db, timeout=timeout)

    # -- server -----------------------------------------------------------------------------

    def server_info(self) -> dict:
        """The server's welcome document (has ``version``)."""
        return self.request("GET", (), what="read the server version").json()

    def session_user(self) -> dict:
        """The ``userCtx`` of the current session (``name`` and ``roles``)."""
        return self.request("GET", ("_session",), what="read the session").json()["userCtx"]

    def list_databases(self) -> list[str]:
        return [
            name
            for name in self.request("GET", ("_all_dbs",), what="list the databases").json()
            if not name.startswith("_")
        ]

    def database_exists(self, db: str) -> bool:
        response = self.request("HEAD", database_path(db), what=f"look up database {shown(db)}", ok_statuses=(404,))
        return response.status_code == 200

    def _renew_stale_session(self) -> bool:
        """Log in again if the session cookie no longer names our user; True if it did.

        A server restart or an expired session invalidates the cookie, and some servers
        (pouchdb-server) then treat requests as anonymous instead of answering 401, so
        cloudant's own renewal never fires; an anonymous database creation even crashes
        pouchdb-server. Admin operations and refused writes therefore check.
        """
        if self.session_user().get("name") == self.user:
            return False
        self._translate(self._client().r_session.login, what="log in")
        return True

    def authenticated_user(self) -> str | None:
        """The user CouchDB sees on this session, after logging in again if it went stale."""
        if self._renew_stale_session():
            return self.session_user().get("name")
        return self.user

    def create_database(self, db: str, *, exist_ok: bool = True) -> bool:
        """Create ``db``; returns False when it existed already (and ``exist_ok``)."""
        self._renew_stale_session()
        response = self.request(
            "PUT", database_path(db), what=f"create database {shown(db)}", ok_statuses=(412,) if exist_ok else ()
        )
        return response.status_code != 412

    def delete_database(self, db: str) -> None:
        self._renew_stale_session()
        self.request("DELETE", database_path(db), what=f"delete database {shown(db)}", db=db)

    def database_info(self, db: str, *, timeout: float | None = None) -> dict:
        """The database's info document (``doc_count``, ``update_seq``)."""
        return self.request(
            "GET", database_path(db), what=f"read database {shown(db)}", db=db, timeout=timeout
        ).json()

    def active_tasks(self) -> list[dict]:
        """CouchDB's running tasks (index builds among them); [] where the server keeps none
        (pouchdb-server answers a stub) or this user may not see them (server admins only)."""
        response = self.request("GET", ("_active_tasks",), what="read the active tasks", ok_statuses=(401, 403))
        return response.json() if response.status_code == 200 else []

    def require_database(self, db: str) -> None:
        """Raise DatabaseMissing unless ``db`` exists."""
        if not self.database_exists(db):
            raise self._database_missing(db)

    # -- documents --------------------------------------------------------------------------

    def get_doc(self, db: str, doc_id: str, *, attachments: bool = False, default: Any = _MISSING) -> Any:
        """The document, or ``default`` when it does not exist (DatabaseMissing if ``db`` doesn't)."""
        response = self.request(
            "GET",
            document_path(db, doc_id),
            what=f"read {shown(doc_id)}",
            db=db,
            params={"attachments": "true"} if attachments else None,
            headers={"Accept": "application/json"},
            ok_statuses=(404,),
        )
        if response.status_code == 404:
            reason = response.json().get("reason")
            if reason in _MISSING_DB_REASONS:
                raise self._database_missing(db)
            if default is _MISSING:
                raise CouchRequestError(f"document {shown(doc_id)} does not exist in database {shown(db)}")
            return default
        return response.json()

    def put_doc(self, db: str, doc: dict) -> str:
        """Write one document (Conflict when its ``_rev`` is stale); returns the new revision."""
        response = self.request(
            "PUT", document_path(db, doc["_id"]), what=f"write {shown(doc['_id'])}", db=db, json_body=doc
        )
        return response.json()["rev"]

    def bulk_docs(self, db: str, docs: list[dict | EncodedDoc]) -> list[dict]:
        """Write many documents in one request; per-document results, conflicts included.

        Documents come as dicts or already encoded (``tokens_app.bulk``); bounding the size of
        the request is the caller's job (``bulk.batches``).

        A result is ``{"id", "rev"}`` or ``{"id", "error", "reason"}``; ``error == "conflict"``
        marks a document someone else changed meanwhile. Documents refused as unauthorized
        because the session went stale are sent once more after logging in again.
        """
        if not docs:
            return []
        results = self._post_bulk(db, docs)
        refused = [index for index, result in enumerate(results) if result.get("error") in _AUTH_ERRORS]
        if refused and self._renew_stale_session():
            for index, result in zip(refused, self._post_bulk(db, [docs[index] for index in refused])):
                results[index] = result
        return results

    def _post_bulk(self, db: str, docs: list[dict | EncodedDoc]) -> list[dict]:
        body = Body([doc if isinstance(doc, EncodedDoc) else encode(doc) for doc in docs])
        return self.request(
            "POST", (*database_path(db), "_bulk_docs"), what=f"write {len(docs)} documents", db=db,
            data=body, headers={"Content-Type": "application/json"},
        ).json()

    def fetch_docs(self, db: str, ids: list[str]) -> dict[str, dict | None]:
        """The current documents for ``ids`` in one request; None for missing or deleted ones."""
        if not ids:
            return {}
        rows = self.request(
            "POST", (*database_path(db), "_all_docs"), what=f"read {len(ids)} documents", db=db,
            params={"include_docs": True}, json_body={"keys": list(ids)},
        ).json()["rows"]
        return {row["key"]: row.get("doc") for row in rows}

    def existing_ids(self, db: str, ids: list[str]) -> dict[str, str]:
        """Which of ``ids`` exist (not deleted), with their revisions, in one request."""
        if not ids:
            return {}
        rows = self.request(
            "POST", (*database_path(db), "_all_docs"), what=f"look up {len(ids)} documents", db=db,
            json_body={"keys": list(ids)},
        ).json()["rows"]
        return {
            row["id"]: row["value"]["rev"]
            for row in rows
            if "value" in row and not row["value"].get("deleted")
        }

    def iter_all_docs(
        self, db: str, *, page_size: int = 1000, include_docs: bool = False, attachments: bool = False,
        startkey: str | None = None, endkey: str | None = None,
    ) -> Iterator[dict]:
        """Rows of ``_all_docs`` between the keys, fetched a page at a time."""
        yield from self._paged(
            (*database_path(db), "_all_docs"), db=db, page_size=page_size,
            params={"include_docs": include_docs, "attachments": attachments or None,
                    "startkey": startkey, "endkey": endkey},
            what="list documents",
        )

    def design_docs(self, db: str) -> list[dict]:
        """Every design document of ``db``."""
        return [
            row["doc"]
            for row in self.iter_all_docs(db, include_docs=True, startkey="_design/", endkey="_design0")
        ]

    # -- views ------------------------------------------------------------------------------

    def view(self, db: str, ddoc: str, view: str, *, timeout: float | None = None, **params: Any) -> dict:
        """One view query; ``params`` as in CouchDB (``group``, ``reduce``, ``limit``, ``key``,
        ``stale``…)."""
        keys = params.pop("keys", None)
        path = view_path(db, ddoc, view)
        if keys is not None:
            return self.request(
                "POST", path, what=f"query view {ddoc}/{view}", db=db,
                params=params, json_body={"keys": keys}, timeout=timeout,
            ).json()
        return self.request(
            "GET", path, what=f"query view {ddoc}/{view}", db=db, params=params, timeout=timeout
        ).json()

    def iter_view(
        self, db: str, ddoc: str, view: str, *, page_size: int = 1000, timeout: float | None = None, **params: Any
    ) -> Iterator[dict]:
        """Rows of a map view, fetched a page at a time so a view is never held in memory whole."""
        params.setdefault("reduce", False)
        yield from self._paged(
            view_path(db, ddoc, view), db=db, page_size=page_size, params=params, what=f"query view {ddoc}/{view}",
            timeout=timeout,
        )

    def _paged(
        self, path: tuple[str, ...], *, db: str, page_size: int, params: dict, what: str, timeout: float | None = None,
    ) -> Iterator[dict]:
        """Key-based paging: each page starts at the last key seen.

        Rows that share that key and were already yielded are passed over with ``skip``, which
        only ever counts rows of one key. (``startkey_docid`` would do the same on CouchDB, but
        pouchdb-server ignores it.)
        """
        params = dict(params)
        limit = params.pop("limit", None)
        sent = 0
        last_key: Any = _MISSING
        seen_with_last_key = 0
        while limit is None or sent < limit:
            page = page_size if limit is None else min(page_size, limit - sent)
            if last_key is not _MISSING:
                params.update(startkey=last_key, skip=seen_with_last_key or None)
            rows = self.request(
                "GET", path, what=what, db=db, params={**params, "limit": page}, timeout=timeout
            ).json()["rows"]
            for row in rows:
                yield row
                if last_key is not _MISSING and row["key"] == last_key:
                    seen_with_last_key += 1
                else:
                    last_key, seen_with_last_key = row["key"], 1
            sent += len(rows)
            if len(rows) < page:
                return

    # -- attachments ------------------------------------------------------------------------

    def get_attachment(self, db: str, doc_id: str, name: str) -> tuple[bytes, str]:
        """The attachment's bytes and content type."""
        response = self.request(
            "GET", attachment_path(db, doc_id, name),
            what=f"read attachment {shown(name)} of {shown(doc_id)}", db=db,
        )
        return response.content, response.headers.get("Content-Type", "application/octet-stream")


_gateways: dict[tuple, Gateway] = {}
_gateways_lock = threading.Lock()


def get_gateway() -> Gateway:
    """The gateway for the configured server (``settings.COUCHDB``), shared by the process."""
    from django.conf import settings

    conf = settings.COUCHDB
    key = (conf["URL"], conf["USER"], conf["PASSWORD"], float(conf["TIMEOUT"]))
    with _gateways_lock:
        gateway = _gateways.get(key)
        if gateway is None:
            gateway = _gateways[key] = Gateway(conf["URL"], conf["USER"], conf["PASSWORD"], float(conf["TIMEOUT"]))
        return gateway
