"""The ``_changes`` feed: what happened in a database since a sequence."""

from __future__ import annotations

from typing import Any

from .paths import database_path
from .transport import Transport, decoded


class Changes(Transport):
    """Reads of a database's ``_changes`` feed, a batch at a time."""

    def changes(
        self, db: str, *, since: Any = 0, limit: int = 1000, include_docs: bool = True, timeout: float | None = None,
    ) -> dict:
        """Up to ``limit`` changes after ``since``, each with its document unless not ``include_docs``.

        ``since`` is handed back exactly as CouchDB gave it as ``last_seq``: Apache CouchDB's
        sequences are opaque strings (a cluster's shards each have their own), pouchdb-server's
        are numbers; neither is ever compared or computed on. A document nested deeper than
        Python parses comes with those parts cut (the read model only shows them).
        """
        response = self.request(
            "GET", (*database_path(db), "_changes"), what="read the changes", db=db,
            params={"since": since, "limit": limit, "include_docs": include_docs}, timeout=timeout,
        )
        return decoded(response, "read the changes", cut_deep=True)
