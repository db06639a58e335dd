"""Archiving a campaign: a ``.tar.gz`` stream of its design document, every token as JSON and
every attachment as a file, produced a page of tokens at a time.

Layout (every name made safe for any file system: letters, digits, ``.``, ``_``, ``-``, at most
120 characters, a long name ending in a hash of the original so that names stay distinct)::

    <type>/design.json
    <type>/tokens/<token id>.json          the document; attachments as stubs with their length
    <type>/attachments/<token id>/<name>   the attachment's bytes

With ``delete``, the archived revisions are deleted once the whole archive has been handed
over. A token a pilot changed after it was archived is kept: the archive holds an older copy.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import time
from collections.abc import Iterator
from datetime import datetime

from tokens_app.couch import Undecodable, get_gateway
from tokens_app.models import Campaign
from tokens_app.rendering import exact_json, loads_shown

from . import targets
from .common import OperationResult, ServiceError, check_can_change, chunked

# Tokens per request: each page arrives with its attachments inline.
ARCHIVE_PAGE_SIZE = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# Longest member name component: file systems take 255 bytes, and ``.json`` or ``~N`` is added.
MAX_MEMBER_NAME_LENGTH = 120
_HASH_LENGTH = 12


def archive_tokens(campaign: Campaign, *, user, delete: bool = False) -> Iterator[bytes]:
    """The archive of the campaign as chunks of bytes.

    The checks and the first read (the design document) happen now, so a refusal or a CouchDB
    that is down fails the call, not a download already under way; the tokens are read while
    the chunks are iterated.
    """
    if delete:
        check_can_change(campaign, user, "archive and delete the tokens of")
    elif campaign.tokens_gone:
        raise ServiceError(f"cannot archive {campaign}: the campaign is {campaign.status}")
    design = get_gateway().get_design(campaign.database, campaign.token_type)
    return _archive_stream(campaign, design, delete)


def archive_file_name(campaign: Campaign, when: datetime) -> str:
    """A safe default file name for the campaign's archive (database names may hold '/')."""
    return safe_member_name(f"{campaign.token_type}-{campaign.database}-{when:%Y%m%d-%H%M%S}") + ".tar.gz"


class _Sink(io.RawIOBase):
    """A write-only file that keeps what was written until it is drained."""

    def __init__(self):
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class _UniqueNames:
    """Safe member names, made distinct when two originals fold to the same safe name."""

    def __init__(self):
        self._used: set[str] = set()

    def __call__(self, original: str) -> str:
        name = safe_member_name(original)
        candidate, number = name, 1
        while candidate in self._used:
            number += 1
            candidate = f"{name}~{number}"
        self._used.add(candidate)
        return candidate


def safe_member_name(original: str) -> str:
    """One path component: letters, digits, '.', '_' and '-' only, never '.'/'..' or hidden, and
    at most MAX_MEMBER_NAME_LENGTH characters (a longer one is cut and ends in a hash of the
    original, so two long ids that share their start keep distinct names)."""
    name = _UNSAFE.sub("_", original)
    if name.startswith("."):
        name = "_" + name[1:]
    if len(name) > MAX_MEMBER_NAME_LENGTH:
        digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]
        name = f"{name[:MAX_MEMBER_NAME_LENGTH - _HASH_LENGTH - 1]}-{digest}"
    return name or "_"


def _archive_stream(campaign: Campaign, design: dict | None, delete: bool) -> Iterator[bytes]:
    root = safe_member_name(campaign.token_type)
    sink = _Sink()
    archived: list[tuple[str, str]] = []
    token_names = _UniqueNames()
    with tarfile.open(fileobj=sink, mode="w|gz") as tar:
        if design is not None:
            _add(tar, f"{root}/design.json", _json_bytes(design))
        for page in _token_pages(campaign):
            for doc in page:
                body, doc = (doc, loads_shown(doc.decode("utf-8"))) if isinstance(doc, bytes) else (None, doc)
                if doc is None or doc.get("type") != campaign.token_type:
                    continue
                name = token_names(doc["_id"])
                if body is None:
                    try:
                        _add_token(tar, root, name, doc)
                    except ValueError:
                        # A number beyond a float (1e400) decodes as inf, which JSON cannot hold.
                        body = get_gateway().get_doc_json(campaign.database, doc["_id"])
                if body is not None:
                    _add_raw_token(tar, root, name, campaign, doc, body)
                archived.append((doc["_id"], doc["_rev"]))
            yield sink.drain()
    yield sink.drain()
    if delete:
        _delete_archived(campaign, archived, design)


def _token_pages(campaign: Campaign) -> Iterator[list]:
    """Every document of the tokens view, a page at a time, attachments inline. A page holding a
    document Python cannot decode (nested too deep, too long a number) is read again a document
    at a time; that document comes as CouchDB's JSON bytes (archived exactly as they are)."""
    gateway = get_gateway()
    rows = targets.iter_rows(campaign, None, page_size=ARCHIVE_PAGE_SIZE)
    for page in chunked(rows, ARCHIVE_PAGE_SIZE):
        ids = [row["id"] for row in page]
        try:
            docs = gateway.fetch_docs(campaign.database, ids, attachments=True)
        except Undecodable:
            docs = {token_id: _one_document(campaign, token_id) for token_id in ids}
        yield [docs.get(token_id) for token_id in ids]


def _one_document(campaign: Campaign, token_id: str) -> dict | bytes | None:
    gateway = get_gateway()
    try:
        return gateway.fetch_docs(campaign.database, [token_id], attachments=True).get(token_id)
    except Undecodable:
        return gateway.get_doc_json(campaign.database, token_id)


def _add_raw_token(tar: tarfile.TarFile, root: str, name: str, campaign: Campaign, doc: dict, body: bytes) -> None:
    """A token whose JSON Python cannot decode: its bytes as CouchDB holds them, its
    attachments read one by one (their stubs sit near the top of ``doc``, the part decoded)."""
    _add(tar, f"{root}/tokens/{name}.json", body)
    attachment_names = _UniqueNames()
    for attachment in doc.get("_attachments") or {}:
        data = get_gateway().get_attachment(campaign.database, doc["_id"], attachment)[0]
        _add(tar, f"{root}/attachments/{name}/{attachment_names(attachment)}", data)


def _add_token(tar: tarfile.TarFile, root: str, name: str, doc: dict) -> None:
    attachments = doc.get("_attachments", {})
    contents = {attachment: base64.b64decode(stub.get("data", "")) for attachment, stub in attachments.items()}
    stubs = {
        attachment: {**{key: value for key, value in stub.items() if key != "data"}, "length": len(contents[attachment])}
        for attachment, stub in attachments.items()
    }
    _add(tar, f"{root}/tokens/{name}.json", _json_bytes({**doc, "_attachments": stubs} if stubs else doc))
    attachment_names = _UniqueNames()
    for attachment, data in contents.items():
        _add(tar, f"{root}/attachments/{name}/{attachment_names(attachment)}", data)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _json_bytes(doc: dict) -> bytes:
    # Exact: the archive restores the pilots' values, lone surrogates included.
    return exact_json(doc, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")


def _delete_archived(campaign: Campaign, archived: list[tuple[str, str]], design: dict | None) -> None:
    """Delete exactly the archived revisions; a conflict means a newer token, which stays."""
    gateway = get_gateway()
    result = OperationResult()
    for batch in chunked(archived, targets.page_size()):
        docs = [{"_id": token_id, "_rev": rev, "_deleted": True} for token_id, rev in batch]
        result.conflicted += len(targets.write(campaign.database, docs, result))
    if result.conflicted or result.failed:
        campaign.last_error = f"archive: {result.message()}; tokens changed after archiving were kept"
        campaign.save(update_fields=["last_error", "updated_at"])
        return
    if design is not None:
        gateway.bulk_docs(campaign.database, [{"_id": design["_id"], "_rev": design["_rev"], "_deleted": True}])
    campaign.status = Campaign.Status.ARCHIVED
    campaign.written_count = 0
    campaign.last_error = ""
    campaign.save(update_fields=["status", "written_count", "last_error", "updated_at"])
