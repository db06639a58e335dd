"""Views and ``_all_docs``: one query, or every row a page at a time (key paging)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .paths import DESIGN_PREFIX, database_path, view_path
from .transport import MISSING, Transport, decoded


class Views(Transport):
    """Queries of views and of ``_all_docs`` (CouchDB's view of every document by id)."""

    def view(
        self, db: str, ddoc: str, view: str, *, timeout: float | None = None, cut_deep: bool = False, **params: Any
    ) -> dict:
        """One view query; ``params`` as in CouchDB (``group``, ``reduce``, ``limit``, ``key``,
        ``stale``…); ``cut_deep`` as in ``decoded``."""
        keys = params.pop("keys", None)
        path = view_path(db, ddoc, view)
        what = f"query view {ddoc}/{view}"
        if keys is not None:
            return decoded(self.request(
                "POST", path, what=what, db=db, params=params, json_body={"keys": keys}, timeout=timeout,
            ), what, cut_deep=cut_deep)
        return decoded(self.request("GET", path, what=what, db=db, params=params, timeout=timeout), what,
                       cut_deep=cut_deep)

    def iter_view(
        self, db: str, ddoc: str, view: str, *, page_size: int = 1000, timeout: float | None = None,
        cut_deep: bool = False, **params: Any,
    ) -> Iterator[dict]:
        """Rows of a map view, fetched a page at a time so a view is never held in memory whole
        (``cut_deep`` as in ``decoded``: for documents read with the rows, never for keys)."""
        params.setdefault("reduce", False)
        yield from self._paged(
            view_path(db, ddoc, view), db=db, page_size=page_size, params=params, what=f"query view {ddoc}/{view}",
            timeout=timeout, cut_deep=cut_deep,
        )

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
        # "0" follows "/": the range holds exactly the ids starting with "_design/".
        rows = self.iter_all_docs(db, include_docs=True, startkey=DESIGN_PREFIX, endkey="_design0")
        return [row["doc"] for row in rows]

    def _paged(
        self, path: tuple[str, ...], *, db: str, page_size: int, params: dict, what: str, timeout: float | None = None,
        cut_deep: bool = False,
    ) -> Iterator[dict]:
        """Key-based paging: each page starts at the last key seen.

        Rows that share that key and were already yielded are passed over with ``skip``, which
        only ever counts rows of one key. (``startkey_docid`` would do the same on CouchDB, but
        pouchdb-server ignores it.)
        """
        params = dict(params)
        limit = params.pop("limit", None)
        sent = 0
        last_key: Any = MISSING
        seen_with_last_key = 0
        while limit is None or sent < limit:
            page = page_size if limit is None else min(page_size, limit - sent)
            if last_key is not MISSING:
                params.update(startkey=last_key, skip=seen_with_last_key or None)
            rows = decoded(self.request(
                "GET", path, what=what, db=db, params={**params, "limit": page}, timeout=timeout
            ), what, cut_deep=cut_deep)["rows"]
            for row in rows:
                yield row
                if last_key is not MISSING and row["key"] == last_key:
                    seen_with_last_key += 1
                else:
                    last_key, seen_with_last_key = row["key"], 1
            sent += len(rows)
            if len(rows) < page:
                return
