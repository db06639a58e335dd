"""Creating a token set: plan (validate everything, write nothing), record, push in batches.

A set is made the way GRID_LRT's ``TokenSet.create_dict_tokens`` made it: one token per chunk
of subbands, with the config's ``Token`` fields, the chunk's first subband under ``key_name``
(``%03d``), the PiCaS bookkeeping fields, the chunk's links as ``srm.txt`` and the set's files as
attachments, and the id ``t_<type>_<OBSID>[_<PIPELINE_STEP>]_<id_prefix><key>``. Where the portal
departs from GRID_LRT on purpose, docs/interop.md says so; what an operator should know about a
plan before confirming it is in ``TokenSetPlan.notes``.

Pushing is idempotent: the campaign row holds everything the plan was made from, so a push cut
short (server gone, process killed) is completed by pushing again; tokens already there are
counted and left alone unless ``overwrite`` is asked for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from django.db import transaction

from tokens_app.bulk import EncodedDoc, SharedAttachments, batches, body_size, encode, max_batch_bytes
from tokens_app import campaign_selectors, token_rows
from tokens_app.configs import ConfigError, parse_config
from tokens_app.couch import CouchError, bulk_error, get_gateway
from tokens_app.design import validate_token_type
from tokens_app.models import Campaign, CampaignFile, CampaignInputs
from tokens_app.pools import in_flight
from tokens_app.tokensets import TokenSet
from tokens_app.srm import (
    AS_GIVEN,
    LINK_FLAVORS,
    SrmListError,
    convert_link,
    gaps_of,
    parse_srmlist,
    slice_subbands,
)

from . import layout
from .common import (
    ServiceError,
    batch_size_or_default,
    check_can_change,
    chunked,
    content_type_of,
    default_database,
    inline_attachment,
    max_config_bytes,
    max_token_fields_bytes,
    max_upload_bytes,
    validate_attachment_name,
    validate_database_name,
    validate_field_name,
    writes_in_flight,
)

# GRID_LRT's ``id_append`` default: the OBSID part of the ids when a list mixes observations.
NO_OBSID = "L000000"
MAX_SRM_LINES = 100_000
# Room for the ``"_rev"`` member an overwriting push adds to a token (a revision is "N-<32 hex>").
REVISION_BYTES = 64
_ID_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,20}")


def bookkeeping_fields(token_type: str) -> dict:
    """The PiCaS fields every new token starts with; they win over the config's values, except
    ``status``, which the config may set (GRID_LRT keeps it)."""
    return {
        "type": token_type,
        "lock": 0,
        "done": 0,
        "hostname": "",
        "scrub_count": 0,
        "output": "",
        "status": "todo",
    }


BOOKKEEPING_NAMES = frozenset(bookkeeping_fields("")) | {"created"}


@dataclass
class TokenSetPlan:
    """Everything a token set will be, checked, before anything is written."""

    token_type: str
    database: str
    obsid: str
    location: str
    slice_size: int
    id_prefix: str
    key_name: str
    srm_attachment: str
    link_flavor: str
    allow_mixed: bool
    fields: dict
    kept_sections: dict
    config_name: str
    config_text: str
    config_format: str
    srmlist_name: str
    srmlist_text: str
    subbands: list[int]
    gaps: list[tuple[int, int]]
    slices: dict[str, list[str]]
    files: dict[str, tuple[str, bytes]]
    notes: list[str] = field(default_factory=list)
    token_ids: list[str] = field(init=False)

    def __post_init__(self):
        self.token_ids = [self.token_id(key) for key in self.slices]

    @property
    def token_count(self) -> int:
        return len(self.token_ids)

    @property
    def attachments(self) -> list[str]:
        """Names of the files attached to every token of the set."""
        return list(self.files)

    @cached_property
    def shared_attachments(self) -> SharedAttachments:
        """The set's files as every token carries them, encoded once for the whole push."""
        return SharedAttachments(
            {name: inline_attachment(data, content_type) for name, (content_type, data) in self.files.items()}
        )

    def largest_token_bytes(self) -> int:
        """Bytes of the request that writes the set's largest token alone (with a revision)."""
        key, links = max(self.slices.items(), key=lambda item: sum(len(link) + 1 for link in item[1]))
        doc = encode(_token_doc(self, key, links, self.token_id(key), int(time.time()), None), self.shared_attachments)
        return body_size([doc]) + REVISION_BYTES

    def token_id(self, key: str) -> str:
        # GRID_LRT adds "_" + PIPELINE_STEP whenever the field is there, empty or not; a null
        # (which GRID_LRT cannot add to a string) counts as no step.
        step = self.fields.get("PIPELINE_STEP")
        step_part = f"_{step}" if step is not None else ""
        return f"t_{self.token_type}_{self.obsid or NO_OBSID}{step_part}_{self.id_prefix}{key}"


@dataclass
class CreationReport:
    """What a push did: tokens written now, found already there, overwritten, refused."""

    total: int
    written: int = 0
    existing: int = 0
    overwritten: int = 0
    failed: int = 0
    error: str = ""

    @property
    def present(self) -> int:
        """Tokens of the set known to be in the database."""
        return self.written + self.existing + self.overwritten

    @property
    def processed(self) -> int:
        return self.present + self.failed

    @property
    def complete(self) -> bool:
        """Every token of the set is in the database."""
        return self.present == self.total and not self.failed

    def message(self) -> str:
        text = (
            f"{self.written} written, {self.existing} already there, {self.overwritten} overwritten"
            f" of {self.total}"
        )
        if self.failed:
            text += f"; {self.failed} failed ({self.error})"
        return text


def plan_tokenset(
    *,
    config_data: bytes | str,
    srmlist_data: bytes | str,
    token_type: str | None = None,
    database: str | None = None,
    slice_size: int = 1,
    id_prefix: str = "SB",
    key_name: str = "STARTSB",
    srm_attachment: str = "srm.txt",
    link_flavor: str = AS_GIVEN,
    attachments: dict[str, bytes] | None = None,
    allow_mixed: bool = False,
    config_name: str = "",
    srmlist_name: str = "",
) -> TokenSetPlan:
    """Check every input and return the plan of the set; raises ServiceError, writes nothing.

    Only the default database may be missing (the push creates it): any other database must
    exist already, since a typo should not leave a new database behind. Links stay as the list
    gives them unless ``link_flavor`` names one of LINK_FLAVORS.
    """
    database = validate_database_name(default_database() if database is None else database)
    _check_options(slice_size, id_prefix, key_name, srm_attachment, link_flavor)
    files = _checked_files(attachments or {}, srm_attachment)
    config, token_type = _checked_config(config_data, config_name, token_type)
    obsid, location, unknown_hosts, by_subband = _grouped_srmlist(srmlist_data, srmlist_name, allow_mixed)
    subbands = list(by_subband)
    notes = _notes(unknown_hosts, slice_size, subbands)
    fields = _token_fields(config.token_fields, token_type, obsid)
    _require_database(database)
    slices = _sliced_links(by_subband, slice_size, link_flavor)
    # The links grouped by subband are in the slices now: let them go before the plan is made.
    del by_subband
    plan = TokenSetPlan(
        token_type=token_type,
        database=database,
        obsid=obsid,
        location=location,
        slice_size=slice_size,
        id_prefix=id_prefix,
        key_name=key_name,
        srm_attachment=srm_attachment,
        link_flavor=link_flavor,
        allow_mixed=allow_mixed,
        fields=fields,
        kept_sections=config.kept,
        config_name=config_name,
        config_text=_text(config_data),
        config_format=config.format,
        srmlist_name=srmlist_name,
        srmlist_text=_text(srmlist_data),
        subbands=subbands,
        gaps=gaps_of(subbands),
        slices=slices,
        files=files,
        notes=notes,
    )
    _check_fits_one_request(plan)
    return plan


def _checked_config(config_data: bytes | str, config_name: str, token_type: str | None):
    """The parsed config and the set's token type (the one given, else the config's)."""
    try:
        config = parse_config(config_data, max_bytes=max_config_bytes(), max_token_bytes=max_token_fields_bytes())
    except ConfigError as exc:
        raise ServiceError(f"{_upload('config', config_name)}: {exc}") from None
    for name in config.token_fields:
        validate_field_name(name, "config field name")
    try:
        token_type = validate_token_type(token_type if token_type is not None else config.token_type)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    return config, token_type


def _grouped_srmlist(srmlist_data: bytes | str, srmlist_name: str, allow_mixed: bool):
    """``(obsid, location, unknown_hosts, links by subband)`` of the SRM list.

    The parsed list (a Link per line) is not needed once its links are grouped: it goes when this
    returns, before the slices are made, so a big list is not held twice.
    """
    try:
        srmlist = parse_srmlist(srmlist_data, allow_mixed=allow_mixed, max_lines=MAX_SRM_LINES)
    except SrmListError as exc:
        raise ServiceError(f"{_upload('SRM list', srmlist_name)}: {exc}") from None
    return srmlist.obsid or "", srmlist.location or "", srmlist.unknown_hosts, srmlist.subbands()


def _sliced_links(by_subband: dict, slice_size: int, link_flavor: str) -> dict[str, list[str]]:
    """The links of each token (by key), in ``link_flavor`` unless that is AS_GIVEN."""
    slices = slice_subbands(by_subband, slice_size)
    if link_flavor != AS_GIVEN:
        _convert_links(slices, link_flavor)
    return slices


def _check_fits_one_request(plan: TokenSetPlan) -> None:
    """Refuse a set whose tokens cannot be written: one token with its files must fit into one
    ``_bulk_docs`` request (a bigger request is what took a CouchDB server down)."""
    limit = max_batch_bytes()
    # The files' base64 alone may be over the limit: then there is no need to encode them to know.
    size = sum(4 * -(-len(data) // 3) for _, data in plan.files.values())
    if size <= limit:
        size = plan.largest_token_bytes()
    if size > limit:
        raise ServiceError(
            f"a token of this set with its attached files is {size / 2**20:.1f} MB as CouchDB receives it "
            f"(files travel base64-encoded, 4/3 of their size), more than the {limit / 2**20:.1f} MB one "
            "request may carry (COUCHDB_BATCH_BYTES): attach smaller files"
        )


def _notes(unknown_hosts: tuple[str, ...], slice_size: int, subbands: list[int]) -> list[str]:
    """What the operator should know before confirming: where the plan is not what they may expect."""
    notes = []
    if unknown_hosts:
        shown = ", ".join(unknown_hosts[:3]) + (f" and {len(unknown_hosts) - 3} more" if len(unknown_hosts) > 3 else "")
        notes.append(
            f"links on {shown}: no storage site the portal knows, so the links are written as given "
            "and cannot be converted to another flavour"
        )
    span = subbands[-1] - subbands[0] + 1
    if slice_size > span:
        notes.append(
            f"the slice size {slice_size} is larger than the {span} subbands the list spans "
            f"({subbands[0]:03d}-{subbands[-1]:03d}): one token holds them all"
        )
    return notes


def _convert_links(slices: dict[str, list[str]], link_flavor: str) -> None:
    """Rewrite every link into ``link_flavor`` in place, refusing links no site says how to."""
    try:
        for links in slices.values():
            links[:] = [convert_link(url, link_flavor) for url in links]
    except ValueError as exc:
        raise ServiceError(
            f"the links cannot be converted to {link_flavor}: {exc}; keep them as given (no link flavour)"
        ) from None


def _upload(kind: str, name: str) -> str:
    return f"{kind} '{name}'" if name else kind


def _check_options(slice_size, id_prefix, key_name, srm_attachment, link_flavor) -> None:
    if isinstance(slice_size, bool) or not isinstance(slice_size, int) or slice_size < 1:
        raise ServiceError(f"the slice size must be a whole number of at least 1 subband, not {slice_size!r}")
    if not isinstance(id_prefix, str) or not _ID_PREFIX.fullmatch(id_prefix):
        raise ServiceError(
            f"the id prefix {id_prefix!r} is not valid: up to 20 letters, digits, '_', '.' or '-' "
            "(it is part of every token id)"
        )
    validate_field_name(key_name, "key name")
    if key_name in BOOKKEEPING_NAMES:
        raise ServiceError(f"the key name {key_name!r} is a PiCaS bookkeeping field; choose another")
    if srm_attachment:
        validate_attachment_name(srm_attachment, "SRM attachment")
    if link_flavor != AS_GIVEN and link_flavor not in LINK_FLAVORS:
        raise ServiceError(
            f"unknown link flavour {link_flavor!r}; choose one of {', '.join(LINK_FLAVORS)} "
            "(or none to keep the links as given)"
        )


def _checked_files(attachments: dict[str, bytes], srm_attachment: str) -> dict[str, tuple[str, bytes]]:
    files = {}
    for name, data in attachments.items():
        validate_attachment_name(name)
        if name == srm_attachment:
            raise ServiceError(f"the attachment {name!r} has the name of the SRM attachment every token gets")
        if not isinstance(data, bytes):
            raise ServiceError(f"the attachment {name!r} is not a file's bytes")
        if len(data) > max_upload_bytes():
            raise ServiceError(f"the attachment {name!r} is larger than {max_upload_bytes() // 2**20} MB")
        files[name] = (content_type_of(name), data)
    return files


def _token_fields(config_fields: dict, token_type: str, obsid: str) -> dict:
    """The fields every token of the set shares: config, OBSID of the list, bookkeeping.

    The config's ``status`` is kept, as GRID_LRT keeps it, but it must be text: pilots and views
    compare it with words (``todo``, ``done``, ``error``).
    """
    configured_obsid = config_fields.get("OBSID")
    if obsid and configured_obsid not in (None, "", obsid):
        raise ServiceError(
            f"the config sets OBSID {configured_obsid!r} but the SRM list is of {obsid}: "
            "the tokens would name one observation in their ids and another in their fields"
        )
    step = config_fields.get("PIPELINE_STEP")
    if step is not None and (not isinstance(step, str | int) or isinstance(step, bool)):
        raise ServiceError(f"PIPELINE_STEP {step!r} cannot be part of a token id: give a word")
    if step is not None and "/" in str(step):
        raise ServiceError(
            f"PIPELINE_STEP {step!r} cannot be part of a token id: a '/' makes the id a path "
            "(GRID_LRT's archives, HTTP tools); give a word"
        )
    status = config_fields.get("status", "todo")
    if not isinstance(status, str):
        raise ServiceError(
            f"the config's status must be text (pilots and views compare it with words such as todo), not {status!r}"
        )
    fields = dict(config_fields)
    if obsid:
        fields["OBSID"] = obsid
    return {**fields, **bookkeeping_fields(token_type), "status": status}


def _text(data: bytes | str) -> str:
    """The upload as text for the campaign record (the parsers have accepted it as UTF-8)."""
    return data if isinstance(data, str) else data.decode("utf-8-sig")


def _require_database(database: str) -> None:
    if database != default_database() and not get_gateway().database_exists(database):
        raise ServiceError(
            f"database '{database}' does not exist; create it first "
            f"(the portal creates only its default database '{default_database()}')"
        )


def start_campaign(plan: TokenSetPlan, *, user) -> Campaign:
    """Record the plan as a campaign in status ``creating``.

    A campaign of the same type and database is re-planned in place (the new config and list
    win): that is how an operator completes or redoes a set by creating it again. CouchDB is
    asked first: a creation that cannot reach it leaves the row as it was (a healthy campaign
    must not become "0 written" because another shell pointed at the wrong server).
    """
    campaign = campaign_selectors.campaign_of(TokenSet(database=plan.database, token_type=plan.token_type))
    if campaign is not None:
        check_can_change(campaign, user, "re-create", refuse_statuses=())
    else:
        campaign = Campaign(created_by=user if getattr(user, "is_authenticated", False) else None)
    get_gateway().database_exists(plan.database)
    for name in (
        "token_type", "database", "obsid", "location", "slice_size", "id_prefix", "key_name",
        "link_flavor", "allow_mixed", "config_name", "config_format", "kept_sections", "srmlist_name",
    ):
        setattr(campaign, name, getattr(plan, name))
    campaign.srm_attachment = plan.srm_attachment
    campaign.token_fields = plan.fields
    campaign.attachment_names = plan.attachments
    campaign.token_count = plan.token_count
    campaign.written_count = 0
    campaign.status = Campaign.Status.CREATING
    campaign.last_error = ""
    with transaction.atomic():
        campaign.save()
        CampaignInputs.objects.update_or_create(
            campaign=campaign, defaults={"config_text": plan.config_text, "srmlist_text": plan.srmlist_text}
        )
        campaign.files.all().delete()
        CampaignFile.objects.bulk_create(
            CampaignFile(campaign=campaign, name=name, content_type=content_type, data=data)
            for name, (content_type, data) in plan.files.items()
        )
    return campaign


def plan_of(campaign: Campaign) -> TokenSetPlan:
    """The plan again, from what the campaign recorded: the same inputs give the same tokens."""
    inputs = CampaignInputs.objects.filter(campaign=campaign).first() or CampaignInputs(campaign=campaign)
    return plan_tokenset(
        config_data=inputs.config_text,
        srmlist_data=inputs.srmlist_text,
        token_type=campaign.token_type,
        database=campaign.database,
        slice_size=campaign.slice_size,
        id_prefix=campaign.id_prefix,
        key_name=campaign.key_name,
        srm_attachment=campaign.srm_attachment,
        link_flavor=campaign.link_flavor,
        attachments={file.name: bytes(file.data) for file in campaign.files.all()},
        allow_mixed=campaign.allow_mixed,
        config_name=campaign.config_name,
        srmlist_name=campaign.srmlist_name,
    )


# The states of a campaign whose push can be resumed: one that is writing (a push that died with
# its process before its first batch leaves "creating") or was cut short.
RESUMABLE = (Campaign.Status.CREATING, Campaign.Status.INCOMPLETE)


def check_can_resume(campaign: Campaign, user) -> None:
    """Raise Refused or ServiceError unless ``user`` may complete ``campaign``'s push now: the
    guard allows it and the campaign is still being created (a ``ready`` campaign has all its
    tokens; an archived or purged one must not get them back)."""
    check_can_change(
        campaign, user, "resume the creation of",
        refuse_statuses=[status for status in Campaign.Status if status not in RESUMABLE],
    )


def ensure_design_doc(database: str, token_type: str) -> list[str]:
    """Create the campaign's design documents (``_design/<type>`` and the database's
    ``_design/tokenportal``), or renew the portal's views keeping every other view."""
    return layout.ensure_design_docs(database, token_type)


def push_tokenset(
    campaign: Campaign,
    *,
    user,
    plan: TokenSetPlan | None = None,
    overwrite: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CreationReport:
    """Write the campaign's tokens through ``_bulk_docs`` in batches of at most ``batch_size``
    tokens and ``COUCHDB_BATCH_BYTES`` bytes.

    ``plan`` is the plan the campaign was started from (``create_tokenset`` passes the one it
    made); without it the plan is made again from the campaign row, as for a resumed push.
    Each batch's documents are encoded only when that batch is about to be sent and dropped
    after it; the set's files are encoded once for the whole push.

    Each batch is one bulk write, and ``COUCHDB_WRITES_IN_FLIGHT`` of them are sent at once; a
    token already in the database comes back as a conflict and is counted as there and left
    alone. With ``overwrite`` each batch first looks up the revisions of its tokens (one
    ``_all_docs`` request) so that they can be replaced. After each batch the campaign records
    how many tokens the server confirmed, so whatever stops a push leaves ``incomplete`` with
    that count (a batch whose answer was lost may have landed: the next push finds it there);
    ``progress(processed, total)`` is called after each batch. The campaign is
    ``ready`` once every token and the design document are in.

    The row never learns less than it knew: its count stays at least what it was when the push
    started (a resumed push re-counts from its first batch), and a push that CouchDB failed
    before confirming any token leaves a row that knew of tokens as it was (the operation
    records why); a new campaign's row is left ``incomplete`` with the reason.
    """
    check_can_change(campaign, user, "write the tokens of")
    batch_size = batch_size_or_default(batch_size)
    report = CreationReport(total=campaign.token_count)
    known = campaign.written_count
    try:
        if plan is None:
            plan = plan_of(campaign)
        elif (plan.database, plan.token_type, plan.token_count) != (
            campaign.database, campaign.token_type, campaign.token_count
        ):
            raise ServiceError(f"the plan given is not the plan of {campaign}")
        report.total = plan.token_count
        if plan.database == default_database():
            layout.create_default_database()
        failure = _write_tokens(campaign, plan, overwrite, batch_size, report, progress, known)
        # The design document goes in after the tokens: pouchdb-server reads every design
        # document of a database for each document written to it (looking for validation
        # functions), so a design document written first would slow every batch of the push
        # (see docs/benchmarks.md, "Figures behind design choices"). The views are wanted for a
        # part-written set too, but when the server is gone the batch's error is the one to
        # report.
        try:
            ensure_design_doc(plan.database, plan.token_type)
        except CouchError:
            if failure is None:
                raise
        if failure is not None:
            raise failure
        _record(campaign, report, Campaign.Status.READY if report.complete else Campaign.Status.INCOMPLETE,
                known=known)
    except CouchError as exc:
        # A row that knew of tokens keeps what it knew; one that knew of none (a new campaign)
        # has nothing to lose and says why it is not written.
        if report.processed or not known:
            _record(campaign, report, Campaign.Status.INCOMPLETE, str(exc), known=known)
        raise
    except ServiceError as exc:
        _record(campaign, report, Campaign.Status.INCOMPLETE, str(exc), known=known)
        raise
    return report


def _write_tokens(campaign, plan, overwrite, batch_size, report, progress, known) -> Exception | None:
    """Write the plan's tokens batch by batch, ``writes_in_flight()`` batches at a time, and count
    them into ``report``; answer the first batch's error, if any (no batch is started after it,
    but those already sent are counted).

    Batches are made only when there is room for one more in flight, so a push holds a few
    batches at a time; the campaign records its count after each batch while the next ones wait
    on the server.
    """
    writes = in_flight(
        lambda batch: get_gateway().bulk_docs(plan.database, batch.docs),
        _token_batches(plan, overwrite, batch_size),
        limit=writes_in_flight(),
    )
    failure = None
    for batch, write in writes:
        if write.exception() is not None:
            failure = failure or write.exception()
            continue
        _count_results(write.result(), batch.replaced, overwrite, report)
        # The pages show the tokens as they are written, not a follower's round later.
        token_rows.record(plan.database, [
            {**plan.fields, "_id": outcome["id"], "_rev": outcome["rev"]}
            for outcome in write.result() if "error" not in outcome
        ])
        _record(campaign, report, Campaign.Status.INCOMPLETE, known=known)
        if progress is not None:
            progress(report.processed, report.total)
    return failure


@dataclass
class _TokenBatch:
    """One ``_bulk_docs`` request of a push, and which of its tokens replace existing ones."""

    docs: list[EncodedDoc]
    replaced: set[str]


def _token_batches(plan: TokenSetPlan, overwrite: bool, batch_size: int) -> Iterator[_TokenBatch]:
    """The plan's tokens encoded, in batches of at most ``batch_size`` tokens and
    ``COUCHDB_BATCH_BYTES`` bytes, made as they are drawn.

    With ``overwrite`` the revisions of each ``batch_size`` tokens are looked up first (one
    ``_all_docs`` request) so that they can be replaced. Without it no lookup is needed:
    ``_bulk_docs`` refuses a document that exists (sent without a revision) with a conflict,
    which says "already there" just as well.
    """
    created = int(time.time())
    for chunk in chunked(plan.slices.items(), batch_size):
        ids = [plan.token_id(key) for key, _ in chunk]
        revisions = get_gateway().existing_ids(plan.database, ids) if overwrite else {}
        docs = (
            encode(_token_doc(plan, key, links, token_id, created, revisions.get(token_id)), plan.shared_attachments)
            for (key, links), token_id in zip(chunk, ids)
        )
        for docs_of_batch in batches(docs, max_docs=batch_size, max_bytes=max_batch_bytes()):
            yield _TokenBatch(docs_of_batch, {doc.id for doc in docs_of_batch if doc.id in revisions})


def _count_results(results: list[dict], replaced: set[str], overwrite: bool, report: CreationReport) -> None:
    for result in results:
        if "error" not in result:
            if result["id"] in replaced:
                report.overwritten += 1
            else:
                report.written += 1
        elif result["error"] == "conflict" and not overwrite:
            # Already there (an earlier push, or someone else): not ours to replace.
            report.existing += 1
        else:
            report.failed += 1
            report.error = report.error or bulk_error(result)


def _token_doc(plan: TokenSetPlan, key: str, links: list[str], token_id: str, created: int, rev: str | None) -> dict:
    """One token with its SRM attachment (its links, one a line); the set's files are added when encoded."""
    doc = {**plan.fields, "_id": token_id, plan.key_name: key, "created": created}
    if rev is not None:
        doc["_rev"] = rev
    if plan.srm_attachment:
        links_text = "".join(f"{link}\n" for link in links).encode()
        doc["_attachments"] = {plan.srm_attachment: inline_attachment(links_text, "text/plain")}
    return doc


def _record(
    campaign: Campaign, report: CreationReport, status: str, error: str | None = None, *, known: int
) -> None:
    campaign.written_count = max(known, report.present)
    campaign.status = status
    campaign.last_error = error if error is not None else report.error
    campaign.save(update_fields=["written_count", "status", "last_error", "updated_at"])


def create_tokenset(
    *,
    user,
    overwrite: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **plan_kwargs,
) -> tuple[Campaign, CreationReport]:
    """Plan, record and push a token set: what the dashboard and ``create_tokenset`` call."""
    batch_size_or_default(batch_size)
    plan = plan_tokenset(**plan_kwargs)
    campaign = start_campaign(plan, user=user)
    report = push_tokenset(
        campaign, user=user, plan=plan, overwrite=overwrite, batch_size=batch_size, progress=progress
    )
    return campaign, report
