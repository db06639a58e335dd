"""Creating token sets against the real server: plan, push in batches, idempotent re-runs,
a server that dies mid-run, and every refusal of bad input."""

import base64
from pathlib import Path

import pytest

from locks_app.tokens import ExclusiveLock
from locks_app.utility import TokenUtility
from tokens_app import services
from tokens_app.couch import CouchUnreachable, get_gateway
from tokens_app.design import STATE_NAMES, design_id
from tokens_app.models import Campaign
from tokens_app.services import Refused, ServiceError, creation_plan, push

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
CONFIG = b"Token:\n  type: pref_cal1\n  PIPELINE_STEP: pref_cal1\n  OBSID: ''\n  SBXloc: sandbox.tar\n"

pytestmark = pytest.mark.django_db


def srmlist(subbands=range(12), obsid="L229507", prefix=SARA) -> bytes:
    return "".join(f"{prefix}{obsid}_SB{subband:03d}_uv.dppp.MS_{subband:04x}.tar\n" for subband in subbands).encode()


@pytest.fixture
def user(alice):
    """The operator of these tests: the shared alice."""
    return alice


@pytest.fixture
def calls(monkeypatch, gateway):
    """Counts of the gateway's write and lookup requests, to hold the bulk-only promise."""
    counted = {"bulk_docs": 0, "existing_ids": 0, "put_doc": 0}
    for name in counted:
        original = getattr(gateway, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            counted[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(gateway, name, counting)
    return counted


def tokens_of(database, token_type="pref_cal1"):
    rows = get_gateway().view(database, token_type, "overview_total", reduce=False, include_docs=True)["rows"]
    return {row["id"]: row["doc"] for row in rows}


def test_creates_the_example_campaign_in_batches(couch_db, user, calls):
    seen = []
    campaign, report = services.create_tokenset(
        user=user,
        config_data=(EXAMPLES / "pref_cal1.yaml").read_bytes(),
        srmlist_data=(EXAMPLES / "L229507.srmlist").read_bytes(),
        database=couch_db,
        slice_size=10,
        attachments={"Pre-Facet-Calibrator-1.parset": b"msin=input.MS\n"},
        config_name="pref_cal1.yaml",
        srmlist_name="L229507.srmlist",
        batch_size=10,
        progress=lambda done, total: seen.append((done, total)),
    )
    # Subbands 000-243 without 120-123: chunks of 10 from 000, the chunk of 120 holds 124-129.
    assert report.total == 25 and report.written == 25 and report.failed == 0
    assert seen == [(10, 25), (20, 25), (25, 25)]
    assert calls["bulk_docs"] == 3 and calls["existing_ids"] == 0
    campaign.refresh_from_db()
    assert (campaign.status, campaign.token_count, campaign.written_count) == ("ready", 25, 25)
    assert (campaign.obsid, campaign.location, campaign.created_by) == ("L229507", "sara", user)
    assert campaign.attachment_names == ["Pre-Facet-Calibrator-1.parset"]
    assert "Sandbox" in campaign.kept_sections and campaign.config_format == "yaml"

    tokens = tokens_of(couch_db)
    assert len(tokens) == 25
    token = tokens["t_pref_cal1_L229507_pref_cal1_SB000"]
    assert token["STARTSB"] == "000" and token["OBSID"] == "L229507" and token["type"] == "pref_cal1"
    assert {name: token[name] for name in ("lock", "done", "hostname", "scrub_count", "output", "status")} == {
        "lock": 0, "done": 0, "hostname": "", "scrub_count": 0, "output": "", "status": "queued",
    }
    assert token["created"] > 0 and token["SBXloc"] == "SKSP/prefactor/pref_cal1.tar"
    assert set(token["_attachments"]) == {"srm.txt", "Pre-Facet-Calibrator-1.parset"}
    srm_txt = get_gateway().get_attachment(couch_db, token["_id"], "srm.txt")[0].decode()
    assert srm_txt.splitlines()[0].endswith("L229507_SB000_uv.dppp.MS_af47bc35.tar")
    assert len(srm_txt.splitlines()) == 10
    gap_chunk = get_gateway().get_attachment(couch_db, "t_pref_cal1_L229507_pref_cal1_SB120", "srm.txt")[0]
    assert [line.split("_SB")[1][:3] for line in gap_chunk.decode().splitlines()] == [str(n) for n in range(124, 130)]
    assert services.refresh_counts(campaign) == {**dict.fromkeys(STATE_NAMES, 0), "todo": 25, "total": 25}


def test_links_are_converted_to_the_chosen_flavour(couch_db, user):
    services.create_tokenset(
        user=user, config_data=CONFIG, srmlist_data=srmlist(range(2)), database=couch_db, link_flavor="gsiftp",
    )
    data, content_type = get_gateway().get_attachment(couch_db, "t_pref_cal1_L229507_pref_cal1_SB001", "srm.txt")
    assert data.decode() == f"gsiftp://gridftp.grid.sara.nl:2811{SARA[len('srm://srm.grid.sara.nl:8443'):]}" \
        "L229507_SB001_uv.dppp.MS_0001.tar\n"
    assert content_type.startswith("text/plain")


def test_options_shape_ids_keys_and_attachment_names(couch_db, user):
    campaign, _ = services.create_tokenset(
        user=user, config_data=b"Token:\n  type: cal\n", srmlist_data=srmlist(range(4)), database=couch_db,
        token_type="calib", slice_size=2, id_prefix="S", key_name="FIRST", srm_attachment="inputs.txt",
    )
    tokens = tokens_of(couch_db, "calib")
    assert sorted(tokens) == ["t_calib_L229507_S000", "t_calib_L229507_S002"]
    assert tokens["t_calib_L229507_S002"]["FIRST"] == "002" and tokens["t_calib_L229507_S002"]["type"] == "calib"
    assert set(tokens["t_calib_L229507_S002"]["_attachments"]) == {"inputs.txt"}
    assert campaign.token_type == "calib"


def test_no_srm_attachment_when_it_is_unnamed(couch_db, user):
    services.create_tokenset(
        user=user, config_data=CONFIG, srmlist_data=srmlist(range(2)), database=couch_db, srm_attachment="",
    )
    assert all("_attachments" not in doc for doc in tokens_of(couch_db).values())


def test_rerunning_completes_without_duplicates_and_overwrite_rewrites(couch_db, user, calls):
    kwargs = dict(config_data=CONFIG, srmlist_data=srmlist(), database=couch_db, batch_size=5)
    campaign, first = services.create_tokenset(user=user, **kwargs)
    revisions = {token_id: doc["_rev"] for token_id, doc in tokens_of(couch_db).items()}
    again_campaign, again = services.create_tokenset(user=user, **kwargs)
    assert again_campaign.pk == campaign.pk
    assert (again.written, again.existing, again.changed) == (0, 12, 0)
    assert {token_id: doc["_rev"] for token_id, doc in tokens_of(couch_db).items()} == revisions
    _, rewritten = services.create_tokenset(user=user, overwrite=True, **kwargs)
    assert (rewritten.written, rewritten.existing, rewritten.changed) == (0, 0, 12)
    assert all(doc["_rev"].startswith("2-") for doc in tokens_of(couch_db).values())
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize("writes_in_flight", [1, 3])
def test_a_dead_server_mid_run_leaves_incomplete_and_a_rerun_completes(
    couch_db, couch_server, user, settings, writes_in_flight, stop_couch_after
):
    settings.COUCHDB = {**settings.COUCHDB, "WRITES_IN_FLIGHT": writes_in_flight}
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(range(40)), database=couch_db)
    campaign = services.start_campaign(plan, user=user)
    assert campaign.status == "creating"

    # The server stops once the first two batches are written; the batches after them find it
    # gone, however many of them are in flight.
    with pytest.raises(CouchUnreachable):
        services.push_tokenset(campaign, user=user, batch_size=5, progress=stop_couch_after(plan.token_ids[:10]))
    couch_server.start()
    campaign.refresh_from_db()
    # The server went before the design document (written last) could go in: count by id.
    there = sum(1 for row in get_gateway().iter_all_docs(couch_db) if row["id"].startswith("t_"))
    assert campaign.status == "incomplete"
    assert campaign.written_count == there == 10
    assert "unreachable" in campaign.last_error

    report = services.push_tokenset(campaign, user=user, batch_size=5)
    assert (report.written, report.existing) == (30, 10)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count, campaign.last_error) == ("ready", 40, "")
    assert len(tokens_of(couch_db)) == 40


def test_a_token_created_meanwhile_by_someone_else_is_left_alone(couch_db, user, monkeypatch, gateway):
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(range(3)), database=couch_db)
    campaign = services.start_campaign(plan, user=user)
    write = gateway.bulk_docs

    def someone_creates_then_write(db, docs):
        gateway.put_doc(db, {"_id": plan.token_ids[1], "type": "pref_cal1", "lock": 0, "done": 0, "by": "other"})
        return write(db, docs)

    monkeypatch.setattr(gateway, "bulk_docs", someone_creates_then_write)
    report = services.push_tokenset(campaign, user=user)
    assert (report.written, report.existing, report.failed) == (2, 1, 0)
    assert tokens_of(couch_db)[plan.token_ids[1]]["by"] == "other"
    campaign.refresh_from_db()
    assert campaign.status == "ready"


def test_the_design_document_keeps_views_of_other_tools(couch_db, user, gateway):
    gateway.put_doc(couch_db, {"_id": design_id("pref_cal1"), "views": {"mine": {"map": "function (doc) {}"}}})
    services.create_tokenset(user=user, config_data=CONFIG, srmlist_data=srmlist(range(2)), database=couch_db)
    views = gateway.get_doc(couch_db, design_id("pref_cal1"))["views"]
    assert "mine" in views and "todo" in views and "overview_total" in views


def test_the_default_database_is_created_but_no_other(user, gateway, settings):
    default = "test_default_db_created"
    settings.COUCHDB = {**settings.COUCHDB, "DATABASE": default}
    if gateway.database_exists(default):
        gateway.delete_database(default)
    try:
        services.create_tokenset(user=user, config_data=CONFIG, srmlist_data=srmlist(range(2)))
        assert len(tokens_of(default)) == 2
    finally:
        gateway.delete_database(default)
    with pytest.raises(ServiceError, match="database 'no_such_db' does not exist; create it first"):
        services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(), database="no_such_db")


def test_a_locked_campaign_refuses_another_user(couch_db, user, bob):
    campaign, _ = services.create_tokenset(user=user, config_data=CONFIG, srmlist_data=srmlist(), database=couch_db)
    TokenUtility().register(ExclusiveLock(campaign, "alice"))
    with pytest.raises(Refused, match="locked by alice"):
        services.push_tokenset(campaign, user=bob)
    with pytest.raises(Refused, match="locked by alice"):
        services.create_tokenset(user=bob, config_data=CONFIG, srmlist_data=srmlist(), database=couch_db)
    assert services.push_tokenset(campaign, user=user).existing == 12


def test_pushing_an_archived_or_purged_campaign_is_refused(couch_db, user):
    campaign, _ = services.create_tokenset(user=user, config_data=CONFIG, srmlist_data=srmlist(), database=couch_db)
    services.purge_campaign(campaign, user=user)
    with pytest.raises(ServiceError, match="is purged"):
        services.push_tokenset(campaign, user=user)
    campaign, report = services.create_tokenset(
        user=user, config_data=CONFIG, srmlist_data=srmlist(), database=couch_db
    )
    assert (campaign.status, report.written) == ("ready", 12)


def test_the_plan_describes_the_set(couch_db):
    plan = services.plan_tokenset(
        config_data=CONFIG, srmlist_data=srmlist([0, 1, 2, 5, 6]), database=couch_db, slice_size=2,
        attachments={"run.sh": b"#!/bin/sh\n"},
    )
    assert plan.token_ids == [
        "t_pref_cal1_L229507_pref_cal1_SB000", "t_pref_cal1_L229507_pref_cal1_SB002",
        "t_pref_cal1_L229507_pref_cal1_SB004", "t_pref_cal1_L229507_pref_cal1_SB006",
    ]
    assert plan.token_count == 4 and plan.subbands == [0, 1, 2, 5, 6] and plan.gaps == [(3, 4)]
    assert list(plan.slices) == ["000", "002", "004", "006"] and len(plan.slices["000"]) == 2
    assert plan.attachments == ["run.sh"] and plan.files["run.sh"][0] == "text/plain"
    assert plan.fields["status"] == "todo" and plan.fields["OBSID"] == "L229507"


def test_a_mixed_list_uses_the_placeholder_obsid(couch_db):
    mixed = srmlist([0]) + srmlist([1], obsid="L229587", prefix=SARA.replace("229507", "229587"))
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=mixed, database=couch_db, allow_mixed=True)
    assert plan.obsid == "" and plan.token_ids[0] == "t_pref_cal1_L000000_pref_cal1_SB000"
    assert "OBSID" not in plan.fields or plan.fields["OBSID"] == ""


GOOD = dict(config_data=CONFIG, srmlist_data=srmlist())


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"config_data": b"Token: [1, 2"}, r"^config: line \d+"),
        ({"config_data": b"- a list\n", "config_name": "steps.yaml"}, r"^config 'steps.yaml': "),
        ({"config_data": b"\xff\xfe"}, r"^config: .*not UTF-8"),
        ({"config_data": b"Token:\n  _id: fixed\n  type: x\n"}, r"^config: .*_id"),
        ({"config_data": b"Token:\n  _private: 1\n  type: x\n"}, r"^config: line 2, column 3: the token field _private is not allowed"),
        ({"config_data": b"Token:\n  lock: 0\n"}, r"token type is missing"),
        ({"token_type": "bad/type"}, r"contains '/'"),
        ({"token_type": "_design"}, r"starts with '_'"),
        ({"token_type": "two words"}, r"spaces"),
        ({"srmlist_data": b""}, r"^SRM list: the SRM list is empty"),
        ({"srmlist_data": b"ftp://example.org/L1_SB000_x\n", "srmlist_name": "in.txt"}, r"^SRM list 'in.txt': line 1"),
        ({"srmlist_data": srmlist([0]) + srmlist([1], obsid="L229587")}, r"^SRM list: line 2: mixed OBSID L229587"),
        ({"slice_size": 0}, r"slice size must be a whole number of at least 1"),
        ({"slice_size": "3"}, r"slice size must be a whole number"),
        ({"slice_size": True}, r"slice size must be a whole number"),
        ({"id_prefix": "S B"}, r"id prefix 'S B' is not valid"),
        ({"id_prefix": "x" * 21}, r"id prefix .* is not valid"),
        ({"key_name": "_key"}, r"key name '_key' starts with '_'"),
        ({"key_name": ""}, r"key name is empty"),
        ({"key_name": "lock"}, r"key name 'lock' is a PiCaS bookkeeping field"),
        ({"srm_attachment": "_srm.txt"}, r"SRM attachment '_srm.txt' starts with '_'"),
        ({"link_flavor": "ftp"}, r"unknown link flavour 'ftp'; choose one of srm, gsiftp, https \(or none"),
        ({"link_flavor": None}, r"unknown link flavour None"),
        (
            {"srmlist_data": srmlist(range(2), prefix="srm://srm.example.org/data/"), "link_flavor": "gsiftp"},
            r"^the links cannot be converted to gsiftp: 'srm.example.org' is on no storage site the portal knows; "
            r"keep them as given \(no link flavour\)$",
        ),
        ({"config_data": b"Token:\n  type: x\n  status: [a]\n"}, r"the config's status must be text .* not \['a'\]"),
        ({"config_data": b"Token:\n  type: x\n  status: 3\n"}, r"the config's status must be text"),
        ({"config_data": b"Token:\n  type: x\n  status:\n"}, r"the config's status must be text .* not None"),
        ({"attachments": {"_x": b"1"}}, r"attachment name '_x' starts with '_'"),
        ({"attachments": {"": b"1"}}, r"attachment name is empty"),
        ({"attachments": {"srm.txt": b"1"}}, r"has the name of the SRM attachment"),
        ({"attachments": {"a.txt": "text"}}, r"is not a file's bytes"),
        ({"attachments": {"a\x00b": b"1"}}, r"control characters"),
        ({"database": "Tokens"}, r"database name 'Tokens' is not valid"),
        ({"database": "1db"}, r"database name '1db' is not valid"),
        ({"database": "a" * 239}, r"longer than 238"),
        ({"config_data": b"Token:\n  type: x\n  OBSID: L1\n"}, r"config sets OBSID 'L1' but the SRM list is of L229507"),
        ({"config_data": b"Token:\n  type: x\n  PIPELINE_STEP: [a]\n"}, r"PIPELINE_STEP .* cannot be part of a token id"),
    ],
)
def test_plan_refuses_garbage_with_a_clear_message(changes, message, couch_db):
    with pytest.raises(ServiceError, match=message):
        services.plan_tokenset(**{**GOOD, "database": couch_db, **changes})


def test_oversized_attachments_are_refused(couch_db, settings):
    settings.MAX_UPLOAD_MB = 1
    with pytest.raises(ServiceError, match="larger than 1 MB"):
        services.plan_tokenset(**GOOD, database=couch_db, attachments={"big.bin": b"x" * (2**20 + 1)})


def test_bad_batch_sizes_are_refused_before_anything_is_written(couch_db, user):
    with pytest.raises(ServiceError, match="batch size"):
        services.create_tokenset(user=user, batch_size=0, database=couch_db, **GOOD)
    assert Campaign.objects.count() == 0


def test_attachment_bytes_survive_the_inline_write(couch_db, user):
    blob = bytes(range(256)) * 4
    services.create_tokenset(user=user, database=couch_db, attachments={"blob.bin": blob}, **GOOD)
    data, content_type = get_gateway().get_attachment(couch_db, "t_pref_cal1_L229507_pref_cal1_SB000", "blob.bin")
    assert data == blob and content_type == "application/octet-stream"
    assert base64.b64encode(data)


def test_a_push_that_cannot_start_leaves_incomplete_with_the_reason(couch_db, user, gateway):
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(range(2)), database=couch_db)
    campaign = services.start_campaign(plan, user=user)
    gateway.delete_database(couch_db)
    with pytest.raises(ServiceError, match=f"database '{couch_db}' does not exist"):
        services.push_tokenset(campaign, user=user)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == ("incomplete", 0)
    assert "does not exist" in campaign.last_error


# -- one plan per creation, no id lookup unless overwriting, documents built batch by batch ------


@pytest.fixture
def requests_sent(monkeypatch, gateway):
    """(method, path) of every request the gateway sends."""
    sent = []
    original = gateway.request

    def recording(method, path, **kwargs):
        sent.append((method, path))
        return original(method, path, **kwargs)

    monkeypatch.setattr(gateway, "request", recording)
    return sent


@pytest.fixture
def plans_made(monkeypatch):
    made = []
    original = creation_plan.plan_tokenset

    def counting(**kwargs):
        made.append(kwargs.get("database"))
        return original(**kwargs)

    # create_tokenset plans in push, a resumed push in creation_plan.plan_of: both are counted.
    for module in (creation_plan, push):
        monkeypatch.setattr(module, "plan_tokenset", counting)
    return made


def lookups(sent):
    return [path for _, path in sent if path[-1] == "_all_docs"]


def writes(sent):
    return [path for _, path in sent if path[-1] == "_bulk_docs"]


def test_create_tokenset_plans_once(couch_db, user, plans_made):
    _, report = services.create_tokenset(user=user, config_data=CONFIG, srmlist_data=srmlist(), database=couch_db)
    assert report.written == 12
    assert plans_made == [couch_db]


def test_a_push_without_a_plan_replans_from_the_campaign(couch_db, user, plans_made):
    plan = creation_plan.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(), database=couch_db)
    campaign = services.start_campaign(plan, user=user)
    assert services.push_tokenset(campaign, user=user, plan=plan).written == 12
    assert len(plans_made) == 1
    assert services.push_tokenset(campaign, user=user).existing == 12
    assert len(plans_made) == 2


def test_a_plan_of_another_set_is_refused(couch_db, user):
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(), database=couch_db)
    campaign = services.start_campaign(plan, user=user)
    other = services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(range(3)), database=couch_db)
    with pytest.raises(ServiceError, match="not the plan of"):
        services.push_tokenset(campaign, user=user, plan=other)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == ("incomplete", 0)


def test_a_push_makes_no_id_lookup_unless_overwriting(couch_db, user, requests_sent):
    kwargs = dict(config_data=CONFIG, srmlist_data=srmlist(), database=couch_db, batch_size=5)
    _, first = services.create_tokenset(user=user, **kwargs)
    assert (first.written, first.existing) == (12, 0)
    assert lookups(requests_sent) == [] and len(writes(requests_sent)) == 3

    requests_sent.clear()
    _, again = services.create_tokenset(user=user, **kwargs)
    assert (again.written, again.existing, again.changed, again.failed) == (0, 12, 0, 0)
    assert lookups(requests_sent) == [] and len(writes(requests_sent)) == 3

    requests_sent.clear()
    _, rewritten = services.create_tokenset(user=user, overwrite=True, **kwargs)
    assert (rewritten.written, rewritten.existing, rewritten.changed) == (0, 0, 12)
    assert len(lookups(requests_sent)) == 3 and len(writes(requests_sent)) == 3


def test_a_partly_written_set_is_completed_without_lookups(couch_db, user, gateway, requests_sent):
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(), database=couch_db)
    campaign = services.start_campaign(plan, user=user)
    gateway.bulk_docs(couch_db, [{"_id": token_id, "by": "earlier"} for token_id in plan.token_ids[3:8]])
    requests_sent.clear()
    report = services.push_tokenset(campaign, user=user, plan=plan, batch_size=4)
    assert (report.written, report.existing, report.failed) == (7, 5, 0)
    assert lookups(requests_sent) == []
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == ("ready", 12)
    assert gateway.get_doc(couch_db, plan.token_ids[3])["by"] == "earlier"


def test_documents_are_built_batch_by_batch(couch_db, user, monkeypatch, settings):
    settings.COUCHDB = {**settings.COUCHDB, "WRITES_IN_FLIGHT": 1}
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(), database=couch_db)
    campaign = services.start_campaign(plan, user=user)
    built = []
    original = creation_plan.TokenSetPlan.token_doc

    def recording(*args):
        built.append("doc")
        return original(*args)

    monkeypatch.setattr(creation_plan.TokenSetPlan, "token_doc", recording)
    services.push_tokenset(
        campaign, user=user, plan=plan, batch_size=5, progress=lambda done, total: built.append(("progress", done))
    )
    assert built == ["doc"] * 5 + [("progress", 5)] + ["doc"] * 5 + [("progress", 10)] + ["doc"] * 2 + [("progress", 12)]


def test_the_design_document_goes_in_after_the_tokens(couch_db, user, monkeypatch, gateway):
    # pouchdb-server reads every design document for each document written: writing the views
    # last keeps that read cheap while the tokens go in.
    write = gateway.bulk_docs
    seen = []

    def checking(db, docs):
        seen.append(gateway.get_doc(db, design_id("pref_cal1"), default=None))
        return write(db, docs)

    monkeypatch.setattr(gateway, "bulk_docs", checking)
    campaign, report = services.create_tokenset(
        user=user, config_data=CONFIG, srmlist_data=srmlist(range(12)), database=couch_db, batch_size=5
    )
    assert seen == [None, None, None]
    assert report.written == 12 and campaign.status == "ready"
    assert "overview_total" in gateway.get_doc(couch_db, design_id("pref_cal1"))["views"]


def test_a_refused_batch_still_gets_the_design_document(couch_db, user, monkeypatch, gateway):
    write = gateway.bulk_docs

    def refusing_the_second(db, docs):
        if docs[0].id == plan.token_ids[5]:
            raise CouchUnreachable("the server went away")
        return write(db, docs)

    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srmlist(range(12)), database=couch_db)
    campaign = services.start_campaign(plan, user=user)
    monkeypatch.setattr(gateway, "bulk_docs", refusing_the_second)
    with pytest.raises(CouchUnreachable):
        services.push_tokenset(campaign, user=user, plan=plan, batch_size=5)
    campaign.refresh_from_db()
    assert campaign.status == "incomplete" and "went away" in campaign.last_error
    assert 5 <= campaign.written_count <= 7
    assert campaign.written_count == len(tokens_of(couch_db))
