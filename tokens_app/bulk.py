"""Bodies of ``_bulk_docs`` requests: documents encoded once, batches cut by count and by bytes.

A batch capped by document count alone can be any size: a few hundred tokens carrying a large
file make a request pouchdb-server cannot even hold as a string (docs/benchmarks.md, "Figures
behind design choices"). So every bulk writer encodes
its documents first (:func:`encode`), cuts them into batches of at most ``COUCHDB_BATCH_SIZE``
documents and ``COUCHDB_BATCH_BYTES`` bytes as sent (:func:`batches`), and the gateway sends a
batch's parts as they are (:class:`Body`) without joining them into one string.

Files attached to every document of a write (a set's parset) are encoded once
(:class:`SharedAttachments`): each document's encoding refers to the same bytes, so a batch of
tokens holds the file once, not once per token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings

_OPEN = b'{"docs":['
_CLOSE = b"]}"
# Parts smaller than this are joined before they are handed to the socket (one send each would
# cost a system call per small document); larger ones are sent as they are, never copied.
_SEND_SIZE = 256 * 1024


@dataclass(frozen=True)
class EncodedDoc:
    """A document's JSON as bytes parts (parts shared between documents are one object)."""

    id: str
    parts: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts)


class SharedAttachments:
    """Inline attachments (``{name: {"content_type", "data"}}``) that many documents carry,
    encoded once."""

    def __init__(self, attachments: dict[str, dict]):
        self.names = frozenset(attachments)
        self.fragment = json.dumps(attachments).encode()[1:-1]


def encode(doc: dict, shared: SharedAttachments | None = None) -> EncodedDoc:
    """``doc`` as ``_bulk_docs`` takes it, with ``shared``'s attachments added to its own."""
    if shared is None or not shared.names:
        return EncodedDoc(doc["_id"], (json.dumps(doc).encode(),))
    own = doc.get("_attachments", {})
    if shared.names & own.keys():
        raise ValueError(f"'{doc['_id']}' has attachments of the same names as the shared ones")
    head = json.dumps({name: value for name, value in doc.items() if name != "_attachments"})
    tail = json.dumps(own)[1:-1]
    return EncodedDoc(
        doc["_id"],
        (f'{head[:-1]}, "_attachments": {{'.encode(), shared.fragment, f"{', ' if tail else ''}{tail}}}}}".encode()),
    )


def body_size(docs: list[EncodedDoc]) -> int:
    """Bytes of the request body that sends ``docs``."""
    return len(_OPEN) + sum(doc.size for doc in docs) + max(len(docs) - 1, 0) + len(_CLOSE)


def max_batch_bytes() -> int:
    """The largest ``_bulk_docs`` body a write may send (``COUCHDB_BATCH_BYTES``)."""
    return settings.COUCHDB["BATCH_BYTES"]


def batches(docs: Iterable[EncodedDoc], *, max_docs: int, max_bytes: int) -> Iterator[list[EncodedDoc]]:
    """Consecutive batches of ``docs`` (consumed lazily) whose bodies stay within both bounds.

    A document too large for any batch goes alone: the caller decides beforehand whether such a
    document may be sent at all.
    """
    empty = len(_OPEN) + len(_CLOSE)
    batch: list[EncodedDoc] = []
    size = empty
    for doc in docs:
        if batch and size + 1 + doc.size > max_bytes:
            yield batch
            batch, size = [], empty
        size += doc.size + (1 if batch else 0)
        batch.append(doc)
        if len(batch) == max_docs:
            yield batch
            batch, size = [], empty
    if batch:
        yield batch


class Body:
    """The body of one ``_bulk_docs`` request, sent part by part with a Content-Length
    (``requests`` streams an iterable that has a length); it can be sent again (a retry after
    logging in anew)."""

    def __init__(self, docs: list[EncodedDoc]):
        self.docs = docs

    def __len__(self) -> int:
        return body_size(self.docs)

    def __iter__(self) -> Iterator[bytes]:
        pending: list[bytes] = [_OPEN]
        pending_size = len(_OPEN)
        for index, doc in enumerate(self.docs):
            for part in ((b",",) if index else ()) + doc.parts:
                if len(part) >= _SEND_SIZE:
                    if pending:
                        yield b"".join(pending)
                    yield part
                    pending, pending_size = [], 0
                else:
                    pending.append(part)
                    pending_size += len(part)
                    if pending_size >= _SEND_SIZE:
                        yield b"".join(pending)
                        pending, pending_size = [], 0
        pending.append(_CLOSE)
        yield b"".join(pending)
