"""What every campaign service shares: its errors, its result, and the checks before a write."""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass

from django.conf import settings

from locks_app.guard import ChangeRefused, ensure_can_change
from tokens_app.couch import DATABASE_NAME
from tokens_app.models import Campaign

MAX_FIELD_NAME_LENGTH = 200
MAX_ATTACHMENT_NAME_LENGTH = 255
# CouchDB's length cap for database names (their characters are checked by couch.DATABASE_NAME).
MAX_DATABASE_NAME_LENGTH = 238
# Extensions mimetypes does not know but campaigns attach: LOFAR parsets are text.
_TEXT_EXTENSIONS = (".parset", ".cfg", ".txt", ".sh", ".py")


class ServiceError(Exception):
    """A one-line message for the operator: bad input, or an operation that cannot be done.

    Views show it as a message where they expect it; one that reaches no such view is answered
    with the page ``template``, headed ``title``, with HTTP ``status`` (tokens_app.middleware).
    """

    status = 400
    title = "The portal cannot do this"
    template = "service_error.html"


class Refused(ServiceError):
    """Someone else holds the campaign (lock or freeze); the message names them."""

    status = 409
    title = "Someone else holds this campaign"


@dataclass
class OperationResult:
    """What a service did to a campaign's tokens, in the columns the operations history keeps.

    A push counts tokens ``written`` now, found ``existing`` and ``changed`` (overwritten) of the
    set's ``total``; a bulk operation counts tokens ``changed``, lost to a concurrent writer
    (``conflicted``) or left alone (``skipped``). ``failed`` counts tokens CouchDB refused for
    another reason (``error`` is the first reason). ``campaign`` is the campaign the work made,
    when it made one (adopting a design document).
    """

    written: int = 0
    existing: int = 0
    changed: int = 0
    conflicted: int = 0
    skipped: int = 0
    failed: int = 0
    error: str = ""
    total: int | None = None
    campaign: Campaign | None = None

    @property
    def present(self) -> int:
        """Tokens of the set known to be in the database."""
        return self.written + self.existing + self.changed

    @property
    def processed(self) -> int:
        return self.present + self.conflicted + self.skipped + self.failed

    @property
    def complete(self) -> bool:
        """Every token of the set is in the database."""
        return self.present == self.total and not self.failed

    def columns(self) -> dict:
        """The result as the operation's row records it."""
        columns = {name: getattr(self, name) for name in ("written", "existing", "changed", "conflicted", "skipped",
                                                          "failed", "processed", "error")}
        if self.total is not None:
            columns["total"] = self.total
        if self.campaign is not None:
            columns.update(campaign=self.campaign, target=str(self.campaign))
        return columns

    def message(self) -> str:
        # A result that knows the size of its set tells how much of the set is in.
        if self.total is not None:
            text = f"{self.written} written, {self.existing} already there, {self.changed} overwritten of {self.total}"
            separator = ";"
        else:
            text = f"{self.changed} changed, {self.conflicted} conflicted, {self.skipped} skipped"
            separator = ","
        if self.failed:
            text += f"{separator} {self.failed} failed ({self.error})"
        return text


def check_can_change(campaign: Campaign, user, action: str, *, refuse_statuses=None) -> None:
    """Ask locks_app whether ``user`` may change ``campaign`` now, then whether ``action`` makes
    sense in the campaign's status (an archived or purged campaign has no tokens to act on)."""
    try:
        ensure_can_change(user, campaign)
    except ChangeRefused as exc:
        raise Refused(f"cannot {action} {campaign}: {exc}") from exc
    refused = Campaign.GONE_STATUSES if refuse_statuses is None else refuse_statuses
    if campaign.status in refused:
        raise ServiceError(f"cannot {action} {campaign}: the campaign is {campaign.status}")


def default_database() -> str:
    return settings.COUCHDB["DATABASE"]


def batch_size_or_default(batch_size: int | None) -> int:
    size = settings.COUCHDB["BATCH_SIZE"] if batch_size is None else batch_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ServiceError(f"the batch size must be a whole number of at least 1, not {size!r}")
    return size


def writes_in_flight() -> int:
    """Bulk writes a push keeps in flight at once (``COUCHDB_WRITES_IN_FLIGHT``)."""
    return settings.COUCHDB["WRITES_IN_FLIGHT"]


def validate_database_name(name) -> str:
    if not isinstance(name, str) or not DATABASE_NAME.fullmatch(name):
        raise ServiceError(
            f"the database name {name!r} is not valid in CouchDB: start with a lowercase letter, "
            "then lowercase letters, digits or _ $ ( ) + - /"
        )
    if len(name) > MAX_DATABASE_NAME_LENGTH:
        raise ServiceError(f"the database name is longer than {MAX_DATABASE_NAME_LENGTH} characters")
    return name


def validate_field_name(name, what: str = "field name") -> str:
    """A token field name: CouchDB reserves names starting with '_' for itself."""
    return _validate_name(name, what, MAX_FIELD_NAME_LENGTH, "CouchDB reserves those")


def validate_attachment_name(name, what: str = "attachment name") -> str:
    return _validate_name(name, what, MAX_ATTACHMENT_NAME_LENGTH, "CouchDB refuses those")


def _validate_name(name, what: str, max_length: int, underscore_reason: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(f"the {what} is empty")
    if name.startswith("_"):
        raise ServiceError(f"the {what} {name!r} starts with '_' ({underscore_reason})")
    if len(name) > max_length or not name.isprintable():
        raise ServiceError(f"the {what} {name!r} is too long or contains control characters")
    return name


def content_type_of(name: str) -> str:
    if name.lower().endswith(_TEXT_EXTENSIONS):
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def inline_attachment(data: bytes, content_type: str) -> dict:
    """An attachment as ``_bulk_docs`` takes it inline (the fast path, and the one pouchdb-server
    honours)."""
    return {"content_type": content_type, "data": base64.b64encode(data).decode("ascii")}


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def max_token_fields_bytes() -> int:
    """How large a config's Token section may be as JSON: every token carries a copy."""
    return settings.MAX_TOKEN_FIELDS_KB * 1024


def max_config_bytes() -> int:
    """How large a config may be: its Token section and a few small sections kept aside, so four
    times what the Token section may be, within the upload limit."""
    return min(max_upload_bytes(), 4 * max_token_fields_bytes())


def chunked(items, size: int):
    """Lists of up to ``size`` consecutive items of ``items`` (any iterable, consumed lazily)."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
