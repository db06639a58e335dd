"""Planning a token set: validate everything, write nothing.

A set is made the way GRID_LRT's ``TokenSet.create_dict_tokens`` made it: one token per chunk
of subbands, with the config's ``Token`` fields, the chunk's first subband under ``key_name``
(``%03d``), the PiCaS bookkeeping fields, the chunk's links as ``srm.txt`` and the set's files as
attachments, and the id ``t_<type>_<OBSID>[_<PIPELINE_STEP>]_<id_prefix><key>``. Where the portal
departs from GRID_LRT on purpose, docs/interop.md says so; what an operator should know about a
plan before confirming it is in ``TokenSetPlan.notes``. Recording and pushing a plan is
:mod:`tokens_app.services.push`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cached_property

from tokens_app.bulk import SharedAttachments, body_size, encode, max_batch_bytes
from tokens_app.configs import ConfigError, parse_config
from tokens_app.couch import get_gateway
from tokens_app.design import validate_token_type
from tokens_app.models import Campaign, CampaignInputs
from tokens_app.srm import (
    AS_GIVEN,
    LINK_FLAVORS,
    SrmListError,
    convert_link,
    gaps_of,
    parse_srmlist,
    slice_subbands,
)

from .common import (
    ServiceError,
    content_type_of,
    default_database,
    inline_attachment,
    max_config_bytes,
    max_token_fields_bytes,
    max_upload_bytes,
    validate_attachment_name,
    validate_database_name,
    validate_field_name,
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
        doc = encode(self.token_doc(key, links, self.token_id(key), int(time.time()), None), self.shared_attachments)
        return body_size([doc]) + REVISION_BYTES

    def token_id(self, key: str) -> str:
        # GRID_LRT adds "_" + PIPELINE_STEP whenever the field is there, empty or not; a null
        # (which GRID_LRT cannot add to a string) counts as no step.
        step = self.fields.get("PIPELINE_STEP")
        step_part = f"_{step}" if step is not None else ""
        return f"t_{self.token_type}_{self.obsid or NO_OBSID}{step_part}_{self.id_prefix}{key}"

    def token_doc(self, key: str, links: list[str], token_id: str, created: int, rev: str | None) -> dict:
        """One token with its SRM attachment (its links, one a line); the set's files are added when encoded."""
        doc = {**self.fields, "_id": token_id, self.key_name: key, "created": created}
        if rev is not None:
            doc["_rev"] = rev
        if self.srm_attachment:
            links_text = "".join(f"{link}\n" for link in links).encode()
            doc["_attachments"] = {self.srm_attachment: inline_attachment(links_text, "text/plain")}
        return doc




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

