"""Documents: read, write one, write many (``_bulk_docs``), attachments, design documents.

Attachments are written inline through ``_bulk_docs``: pouchdb-server ignores cloudant's
``If-Match`` revision header.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

from tokens_app.bulk import Body, EncodedDoc, encode

from .errors import Conflict, NotFound, shown
from .paths import attachment_path, database_path, design_id, document_path
from .transport import MISSING, Transport, decoded

# Per-document refusals a stale session earns where a server does not answer 401 outright.
_AUTH_ERRORS = frozenset({"unauthorized", "forbidden"})
# How often a design document is read and written again when someone else wrote it meanwhile.
DESIGN_WRITE_ATTEMPTS = 3


def attachment_digests(data: bytes) -> frozenset[str]:
    """The ``digest`` a server may give an attachment of these bytes: the MD5 of the bytes, or
    Apache CouchDB's for a type it compresses (``text/*``, JSON…), the MD5 of its gzip stream at
    its default level (8): deflate's output is fixed by the bytes, the level and the window."""
    deflate = zlib.compressobj(8, zlib.DEFLATED, 31)
    gzipped = deflate.compress(data) + deflate.flush()
    return frozenset("md5-" + base64.b64encode(hashlib.md5(both).digest()).decode("ascii") for both in (data, gzipped))


def bulk_error(result: dict) -> str:
    """One refused document of a ``_bulk_docs`` answer as an operator reads it: ``id: error reason``."""
    return f"{result['id']}: {result['error']} {result.get('reason', '')}".strip()


class Documents(Transport):
    """Reads and writes of documents; a write with a stale ``_rev`` is a Conflict."""

    def get_doc(self, db: str, doc_id: str, *, attachments: bool = False, default: Any = MISSING) -> Any:
        """The document, or ``default`` when it does not exist (NotFound without one;
        DatabaseMissing if ``db`` doesn't exist)."""
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
            missing = self._missing_database(response, db)
            if missing is not None:
                raise missing
            if default is MISSING:
                raise NotFound(f"document {shown(doc_id)} does not exist in database {shown(db)}")
            return default
        return decoded(response, f"read {shown(doc_id)}")

    def get_doc_json(self, db: str, doc_id: str) -> bytes | None:
        """The document exactly as CouchDB sends it (JSON bytes), or None when it does not exist."""
        response = self.request(
            "GET", document_path(db, doc_id), what=f"read {shown(doc_id)}", db=db,
            headers={"Accept": "application/json"}, ok_statuses=(404,),
        )
        if response.status_code == 404:
            missing = self._missing_database(response, db)
            if missing is not None:
                raise missing
            return None
        return response.content

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

        A result is ``{"id", "rev"}`` or ``{"id", "error", "reason"}`` (:func:`bulk_error` words
        it); ``error == "conflict"`` marks a document someone else changed meanwhile. Documents
        refused as unauthorized because the session went stale are sent once more after logging
        in again.
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

    def fetch_docs(
        self, db: str, ids: list[str], *, attachments: bool = False, cut_deep: bool = False,
    ) -> dict[str, dict | None]:
        """The current documents for ``ids`` in one request (with ``attachments``, their data
        inline; ``cut_deep`` as in ``decoded``); None for missing or deleted ones."""
        if not ids:
            return {}
        response = self.request(
            "POST", (*database_path(db), "_all_docs"), what=f"read {len(ids)} documents", db=db,
            params={"include_docs": True, "attachments": attachments or None}, json_body={"keys": list(ids)},
        )
        rows = decoded(response, f"read {len(ids)} documents", cut_deep=cut_deep)["rows"]
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

    # -- design documents -------------------------------------------------------------------

    def get_design(self, db: str, name: str) -> dict | None:
        """The design document ``_design/<name>`` of ``db``, None when there is none
        (DatabaseMissing when ``db`` is missing)."""
        return self.get_doc(db, design_id(name), default=None)

    def design_exists(self, db: str, name: str) -> bool:
        return self.get_design(db, name) is not None

    def update_design(
        self, db: str, name: str, change: Callable[[dict | None], dict | None], *, current: dict | None = None,
    ) -> dict | None:
        """Write ``_design/<name>`` as ``change`` makes it from the document as it is (None when
        there is none); nothing when ``change`` answers None. Answers what was written (with its
        new ``_rev``), or None.

        When someone else wrote the document meanwhile (Conflict), it is read again and ``change``
        asked again, up to DESIGN_WRITE_ATTEMPTS writes; the last conflict is raised. ``current``
        is the document when the caller has read it already (for the first attempt).
        """
        for attempt in range(DESIGN_WRITE_ATTEMPTS):
            if current is None or attempt:
                current = self.get_design(db, name)
            wanted = change(current)
            if wanted is None:
                return None
            try:
                return {**wanted, "_rev": self.put_doc(db, wanted)}
            except Conflict:
                if attempt == DESIGN_WRITE_ATTEMPTS - 1:
                    raise
        return None
