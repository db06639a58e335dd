"""The connection to CouchDB: the session, its renewal, one request, and the translation of
every failure into the gateway's exceptions.

:class:`Transport` wraps cloudant's cookie-session client (session authentication that
re-authenticates once when the session expires, one pooled HTTP connection per thread, a timeout
on every request). Every request is authenticated: an anonymous database creation crashes a
pouchdb-server that has an admin. The other parts of the gateway send everything through
:meth:`Transport.request`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from cloudant.client import CouchDB

from .errors import (
    Conflict,
    CouchAuthFailed,
    CouchError,
    CouchRequestError,
    CouchTimeout,
    CouchUnavailable,
    CouchUnreachable,
    DatabaseMissing,
    NotFound,
    Undecodable,
    shown,
)
from tokens_app.rendering import loads_shown

from .paths import couch_url, safe_url

# "No default given" (``None`` is a default a caller may give).
MISSING = object()
# The 404 reasons of a missing database (CouchDB's, then pouchdb-server's), not a missing document.
_MISSING_DB_REASONS = ("no_db_file", "Database does not exist.")
# Apache CouchDB's 500 for a database deleted a moment ago, whose shards it no longer finds.
_DELETED_DB_REASON = "No DB shards could be opened."
# Apache CouchDB's 401 to a signed-in user who is not a server admin (``_all_dbs``, database
# creation, ``_active_tasks``, ``_config``): a refusal of what, not of who.
_NOT_SERVER_ADMIN = "You are not a server admin."
# Apache CouchDB's 400 to a session cookie it cannot read.
_MALFORMED_COOKIE = "Malformed AuthSession cookie"
# Answers of a server (or a proxy before it) that cannot serve now but may soon.
_UNAVAILABLE_STATUSES = (502, 503, 504)
# View parameters that CouchDB expects JSON-encoded in the query string.
_JSON_PARAMS = frozenset({"key", "keys", "startkey", "endkey", "start_key", "end_key"})


def decoded(response: requests.Response, what: str, *, cut_deep: bool = False) -> Any:
    """The JSON body of a CouchDB answer. One Python cannot decode (nested too deep, a number
    too long) is Undecodable, or with ``cut_deep`` (reads only shown, never written back) has
    those parts replaced by a note (``rendering.loads_shown``)."""
    try:
        return response.json()
    except (RecursionError, ValueError) as exc:
        if cut_deep:
            return loads_shown(response.content.decode("utf-8"))
        reason = "nested too deep" if isinstance(exc, RecursionError) else "not JSON Python reads"
        raise Undecodable(f"cannot {what}: a document is {reason} ({shown(str(exc))})") from None


def _reason(response: requests.Response) -> str:
    """CouchDB's reason for an error answer (its JSON ``reason``, else ``error``, else HTTP's)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return body.get("reason") or body.get("error") or response.reason


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
class Transport:
    """A CouchDB server reached with one set of credentials: the session of each thread."""

    url: str = field(repr=False)
    user: str
    password: str = field(repr=False)
    timeout: float = 30.0
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)

    def __repr__(self) -> str:
        # The URL may carry credentials (https://user:secret@host); a repr lands in tracebacks.
        return f"{type(self).__name__}(server={self.server!r}, user={self.user!r}, timeout={self.timeout:g})"

    @property
    def server(self) -> str:
        return safe_url(self.url)

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

    # -- errors -----------------------------------------------------------------------------

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

    def database_missing(self, db: str) -> DatabaseMissing:
        """The error that says ``db`` does not exist."""
        return DatabaseMissing(f"database {shown(db)} does not exist on CouchDB at {self.server}")

    def _missing_database(self, response: requests.Response, db: str | None) -> DatabaseMissing | None:
        """DatabaseMissing when ``response`` is CouchDB's 404 for ``db`` itself, not for a
        document, view or attachment in it (or Apache CouchDB's 500 for a database it deleted a
        moment ago); None otherwise."""
        if db is None:
            return None
        reason = _reason(response)
        if (response.status_code == 404 and reason in _MISSING_DB_REASONS) or (
                response.status_code == 500 and reason == _DELETED_DB_REASON):
            return self.database_missing(db)
        return None

    def _http_error(self, response: requests.Response, *, what: str, db: str | None) -> CouchError:
        status, reason = response.status_code, _reason(response)
        if status == 401 and reason == _NOT_SERVER_ADMIN:
            return CouchAuthFailed(
                f"user '{self.user}' may not {what} on CouchDB at {self.server}: only a server admin may"
            )
        if status == 401 or (status == 403 and what == "log in"):
            return CouchAuthFailed(f"CouchDB at {self.server} refused the credentials of user '{self.user}' ({what})")
        if status == 403:
            return CouchAuthFailed(f"user '{self.user}' may not {what} on CouchDB at {self.server}: {reason}")
        if status == 409:
            return Conflict(f"conflict: {what} changed meanwhile ({reason})")
        if status == 404:
            return self._missing_database(response, db) or NotFound(
                f"CouchDB at {self.server} answered 404 to {what}: {reason}"
            )
        if status == 500 and (missing := self._missing_database(response, db)):
            return missing
        if status in _UNAVAILABLE_STATUSES:
            return CouchUnavailable(f"CouchDB at {self.server} answered {status} to {what}: {reason}")
        return CouchRequestError(f"CouchDB at {self.server} answered {status} to {what}: {reason}")

    # -- one request ------------------------------------------------------------------------

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

        def send_once() -> requests.Response:
            # cloudant's session sends its own timeout with every request; the session is this
            # thread's alone, so a shorter one is set for this request and put back after it.
            session = client.r_session
            default_timeout = session._timeout
            if timeout is not None:
                session._timeout = timeout
            try:
                return session.request(
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

        def send() -> requests.Response:
            response = send_once()
            if response.status_code == 400 and _reason(response).startswith(_MALFORMED_COOKIE):
                # Apache CouchDB refuses a session cookie it cannot read, even to a login (where
                # pouchdb-server ignores it): drop it, log in again, once, and send the request again.
                client.r_session.cookies.clear()
                client.r_session.login()
                response = send_once()
            if response.status_code >= 400 and response.status_code not in ok_statuses:
                response.raise_for_status()
            return response

        return self._translate(send, what=what, db=db, timeout=timeout)

    # -- the session ------------------------------------------------------------------------

    def session_user(self) -> dict:
        """The ``userCtx`` of the current session (``name`` and ``roles``)."""
        return self.request("GET", ("_session",), what="read the session").json()["userCtx"]

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
