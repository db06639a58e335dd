"""Documents: read, write one, write many (``_bulk_docs``), attachments.

Attachments are written inline through ``_bulk_docs``: pouchdb-server ignores cloudant's
``If-Match`` revision header.
"""

from __future__ import annotations

from typing import Any

from tokens_app.bulk import Body, EncodedDoc, encode

from .errors import CouchRequestError, shown
from .paths import attachment_path, database_path, document_path
from .transport import _MISSING_DB_REASONS, MISSING, Transport

# Per-document refusals a stale session earns where a server does not answer 401 outright.
_AUTH_ERRORS = frozenset({"unauthorized", "forbidden"})


class Documents(Transport):
    """Reads and writes of documents; a write with a stale ``_rev`` is a Conflict."""

    def get_doc(self, db: str, doc_id: str, *, attachments: bool = False, default: Any = MISSING) -> Any:
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
            if default is MISSING:
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

    def get_attachment(self, db: str, doc_id: str, name: str) -> tuple[bytes, str]:
        """The attachment's bytes and content type."""
        response = self.request(
            "GET", attachment_path(db, doc_id, name),
            what=f"read attachment {shown(name)} of {shown(doc_id)}", db=db,
        )
        return response.content, response.headers.get("Content-Type", "application/octet-stream")
