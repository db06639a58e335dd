"""Campaign operations against the real server, with pilots writing tokens at the worst moments."""

import io
import json
import tarfile
import time
from datetime import timedelta

import pytest

from locks_app.tokens import ExclusiveLock, Freeze
from locks_app.utility import TokenUtility
from tokens_app import selectors, services
from tokens_app.couch import CouchRequestError, get_gateway
from tokens_app.design import USER_VIEWS_FIELD, design_id
from tokens_app.models import Campaign
from tokens_app.services import Refused, ServiceError, archive, targets

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
CONFIG = b"Token:\n  type: cal\n"
NOW = int(time.time())

pytestmark = pytest.mark.django_db


def token_id(subband: int) -> str:
    return f"t_cal_L229507_SB{subband:03d}"


@pytest.fixture
def user(alice):
    """The operator of these tests: the shared alice."""
    return alice


@pytest.fixture
def campaign(make_campaign):
    """Eight tokens of type ``cal`` (ids ``token_id(n)``) with a file attached to every one."""
    srmlist = "".join(f"{SARA}L229507_SB{subband:03d}_x.tar\n" for subband in range(8)).encode()
    return make_campaign(config_data=CONFIG, srmlist_data=srmlist, attachments={"run.parset": b"steps=[]\n"})


def pilot_write(database: str, doc_id: str, attachments: dict | None = None, **fields) -> dict:
    """What a pilot does: read the token, change it, write it back with its revision."""
    gateway = get_gateway()
    doc = gateway.get_doc(database, doc_id)
    doc.update(fields)
    if attachments:
        doc.setdefault("_attachments", {}).update(attachments)
    doc["_rev"] = gateway.put_doc(database, doc)
    return doc


def doc(database: str, subband: int) -> dict:
    return get_gateway().get_doc(database, token_id(subband))


@pytest.fixture
def states(campaign):
    """Tokens 0-1 todo, 2-3 running, 4-5 done, 6 error (GRID_LRT output), 7 error (PiCaS exit code)."""
    db = campaign.database
    for subband in (2, 3):
        pilot_write(db, token_id(subband), lock=NOW - 60, hostname="wn1", status="running")
    for subband in (4, 5):
        pilot_write(db, token_id(subband), lock=NOW - 600, done=NOW - 60, output=0, status="done")
    pilot_write(db, token_id(6), lock=NOW - 600, done=NOW - 60, output=1, hostname="wn2")
    pilot_write(
        db, token_id(7), lock=NOW - 600, done=NOW - 60, exit_code=3, status="error",
        attachments={"log.txt": {"content_type": "text/plain", "data": "bG9n"}},
    )
    return campaign


@pytest.fixture
def pilot_between_read_and_write(monkeypatch, gateway):
    """Make ``pilot(doc_id, **fields)`` write a token just before the service's next bulk write,
    after the service has read it: the real server then answers that write with a conflict."""
    pending = []
    bulk_docs = gateway.bulk_docs

    def bulk_docs_after_pilots(db, docs):
        while pending:
            doc_id, fields, repeat = pending.pop(0)
            pilot_write(db, doc_id, **fields)
            if repeat:
                pending.append((doc_id, fields, repeat))
                break
        return bulk_docs(db, docs)

    monkeypatch.setattr(gateway, "bulk_docs", bulk_docs_after_pilots)

    def pilot(doc_id, *, repeat=False, **fields):
        pending.append((doc_id, fields, repeat))

    return pilot


def test_reset_of_the_error_view_resets_both_conventions(states):
    result = services.reset_tokens(states, user=states.created_by, view="error")
    assert (result.changed, result.conflicted, result.skipped) == (2, 0, 0)
    for subband in (6, 7):
        token = doc(states.database, subband)
        assert {name: token[name] for name in ("lock", "done", "hostname", "output", "status", "scrub_count")} == {
            "lock": 0, "done": 0, "hostname": "", "output": "", "status": "todo", "scrub_count": 1,
        }
        assert "exit_code" not in token
    assert "log.txt" in doc(states.database, 7)["_attachments"]
    assert selectors.overview_counts(states) == {"todo": 4, "locked": 2, "done": 2, "error": 0, "total": 8}


def test_reset_can_drop_every_attachment_but_the_sets_own(states):
    services.reset_tokens(states, user=states.created_by, ids=[token_id(7)], drop_attachments=True)
    assert set(doc(states.database, 7)["_attachments"]) == {"srm.txt", "run.parset"}


def test_reset_does_not_undo_a_pilot_that_finished_meanwhile(states, pilot_between_read_and_write):
    # Token 6 is in the error view when read; a pilot re-runs it and finishes fine before the write.
    pilot_between_read_and_write(token_id(6), output=0, done=NOW, status="done")
    result = services.reset_tokens(states, user=states.created_by, view="error")
    assert (result.changed, result.conflicted, result.skipped) == (1, 0, 1)
    assert doc(states.database, 6)["status"] == "done" and doc(states.database, 6)["scrub_count"] == 0
    assert doc(states.database, 7)["status"] == "todo"


def test_a_conflicted_token_still_in_the_view_is_reset_from_its_new_revision(states, pilot_between_read_and_write):
    pilot_between_read_and_write(token_id(6), hostname="wn9", note="retried")
    result = services.reset_tokens(states, user=states.created_by, ids=[token_id(6)])
    assert (result.changed, result.conflicted, result.skipped) == (1, 0, 0)
    token = doc(states.database, 6)
    assert token["note"] == "retried" and token["hostname"] == "" and token["_rev"].startswith("4-")


def test_a_token_a_pilot_keeps_changing_is_reported_as_conflicted(states, pilot_between_read_and_write):
    pilot_between_read_and_write(token_id(6), repeat=True, hostname="busy")
    result = services.set_status(states, "checked", user=states.created_by, view="error")
    assert (result.changed, result.conflicted) == (1, 1)
    assert "1 conflicted" in result.message()
    assert doc(states.database, 6).get("status") != "checked"


def test_scrub_resets_only_tokens_locked_longer_than_the_age(states):
    pilot_write(states.database, token_id(3), lock=NOW - 10 * 3600)
    result = services.scrub_stale(states, user=states.created_by, older_than=timedelta(hours=6))
    assert result.changed == 1
    assert doc(states.database, 3)["status"] == "todo" and doc(states.database, 3)["scrub_count"] == 1
    assert doc(states.database, 2)["status"] == "running"
    with pytest.raises(ServiceError, match="positive duration"):
        services.scrub_stale(states, user=states.created_by, older_than=timedelta(0))


def test_set_status_and_set_field_skip_tokens_that_have_the_value(states):
    result = services.set_status(states, "verified", user=states.created_by, view="done")
    assert result.changed == 2
    assert services.set_status(states, "verified", user=states.created_by, view="done").skipped == 2
    result = services.set_field(states, "priority", 5, user=states.created_by, where={"hostname": "wn1"})
    assert (result.changed, result.skipped) == (2, 6)
    assert doc(states.database, 2)["priority"] == 5
    assert services.count_targets(states, where={"priority": "5"}) == 2


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda c, u: services.set_field(c, "_id", 1, user=u), "starts with '_'"),
        (lambda c, u: services.set_field(c, "type", "x", user=u), "decides which campaign"),
        (lambda c, u: services.set_field(c, "x", object(), user=u), "not a JSON value"),
        (lambda c, u: services.set_status(c, "", user=u), "status must be a word"),
        (lambda c, u: services.set_status(c, "x", user=u, view="slow", ids=["a"]), "not both"),
        (lambda c, u: services.set_status(c, "x", user=u, view="overview_total"), "counts tokens"),
        (lambda c, u: services.set_status(c, "x", user=u, view="nope"), "has no view 'nope'"),
        (lambda c, u: services.set_status(c, "x", user=u, view="bad-name"), "view name"),
        (lambda c, u: services.set_status(c, "x", user=u, ids="t_cal"), "list of non-empty strings"),
        (lambda c, u: services.set_status(c, "x", user=u, where={"_id": "a"}), "filter field name"),
        (lambda c, u: services.attach_file(c, "_a", b"x", user=u), "starts with '_'"),
        (lambda c, u: services.attach_file(c, "a", "text", user=u), "not a file's bytes"),
        (lambda c, u: services.add_view(c, "todo", "doc.x", user=u), "built-in"),
        (lambda c, u: services.add_view(c, "mine", "1) { emit(1) }", user=u), "at column 2: this '\\)' closes no"),
    ],
)
def test_bad_arguments_are_refused(campaign, user, call, message):
    with pytest.raises(ServiceError, match=message):
        call(campaign, user)


def test_attach_file_to_every_token_makes_it_one_of_the_sets_files(campaign, user):
    result = services.attach_file(campaign, "extra.parset", b"a=1\n", user=user)
    assert result.changed == 8
    assert services.attach_file(campaign, "extra.parset", b"a=1\n", user=user).skipped == 8
    assert services.attach_file(campaign, "extra.parset", b"a=2\n", user=user, ids=[token_id(0)]).changed == 1
    assert get_gateway().get_attachment(campaign.database, token_id(0), "extra.parset") == (b"a=2\n", "text/plain")
    campaign.refresh_from_db()
    assert campaign.attachment_names == ["run.parset", "extra.parset"]


def test_a_large_text_file_attached_again_is_skipped(campaign, user):
    """Apache CouchDB compresses a text attachment and gives it the digest of its gzip stream."""
    data = "".join(f"step{n}.argument = {n * n}\n" for n in range(30_000)).encode()
    assert services.attach_file(campaign, "big.parset", data, user=user).changed == 8
    assert services.attach_file(campaign, "big.parset", data, user=user).skipped == 8


def test_delete_acts_on_the_targets_of_the_campaign_only(states, gateway):
    gateway.put_doc(states.database, {"_id": "foreign", "type": "other", "lock": 0, "done": 0})
    result = services.delete_tokens(states, user=states.created_by, ids=[token_id(0), "foreign", "missing"])
    assert (result.changed, result.skipped) == (1, 2)
    assert gateway.get_doc(states.database, "foreign")["type"] == "other"
    assert services.delete_tokens(states, user=states.created_by, view="done").changed == 2
    assert selectors.overview_counts(states)["total"] == 5


def test_a_user_view_can_be_added_queried_and_used_as_targets(states, gateway):
    services.add_view(states, "on_wn1", 'doc.hostname == "wn1"', user=states.created_by)
    rows = gateway.view(states.database, "cal", "on_wn1")["rows"]
    assert sorted(row["id"] for row in rows) == [token_id(2), token_id(3)]
    assert services.count_targets(states, view="on_wn1") == 2
    assert services.set_status(states, "flagged", user=states.created_by, view="on_wn1").changed == 2
    services.create_tokenset(
        user=states.created_by, config_data=CONFIG, database=states.database,
        srmlist_data=states.inputs.srmlist_text.encode(), attachments={"run.parset": b"steps=[]\n"},
    )
    assert "on_wn1" in gateway.get_doc(states.database, design_id("cal"))["views"]


def test_a_condition_outside_the_language_is_refused_with_its_place_and_nothing_is_saved(campaign, gateway):
    before = gateway.get_doc(campaign.database, design_id(campaign.token_type), default=None)
    with pytest.raises(ServiceError, match="not valid at column 9: the condition ends where a value should follow"):
        services.add_view(campaign, "broken", "doc.x ==", user=campaign.created_by)
    assert gateway.get_doc(campaign.database, design_id(campaign.token_type), default=None) == before


def test_views_other_tools_wrote_are_read_but_never_changed(couch_db, gateway, user):
    grid_lrt = {"map": 'function(doc) { if(doc.type == "legacy") { if(doc.status == "done" ) { emit(doc._id, doc._id); } } }'}
    gateway.put_doc(couch_db, {"_id": "_design/legacy", "views": {"by_status": grid_lrt}})
    gateway.bulk_docs(couch_db, [
        {"_id": "t_legacy_1", "type": "legacy", "lock": 0, "done": 0, "status": "todo"},
        {"_id": "t_legacy_2", "type": "legacy", "lock": 5, "done": 6, "output": 0, "status": "done"},
    ])
    campaign = services.adopt_design(couch_db, "legacy", user=user)
    with pytest.raises(ServiceError, match="'by_status' was not written by the portal"):
        services.add_view(campaign, "by_status", 'doc.status == "todo"', user=user)
    services.add_view(campaign, "mine", 'doc.status == "todo"', user=user)
    services.add_view(campaign, "mine", 'doc.status == "done"', user=user)
    design = gateway.get_doc(couch_db, "_design/legacy")
    assert design["views"]["by_status"] == grid_lrt
    assert design[USER_VIEWS_FIELD] == {"mine": 'doc.status == "done"'}
    assert [row["id"] for row in selectors.list_tokens(campaign, "by_status").rows] == ["t_legacy_2"]
    assert [row["id"] for row in selectors.list_tokens(campaign, "mine").rows] == ["t_legacy_2"]


def test_a_view_refused_when_the_design_document_is_saved(campaign, gateway, monkeypatch):
    # Apache CouchDB compiles map functions on save (a 400 compilation_error, as here it is
    # injected: pouchdb-server saves anything and leaves the compiling to the check above).
    error = CouchRequestError("CouchDB at test answered 400 to write '_design/cal': compilation_error")
    error.status = 400

    def refuse(db, doc):
        raise error

    monkeypatch.setattr(gateway, "put_doc", refuse)
    with pytest.raises(ServiceError, match="CouchDB refused the view 'broken': .*compilation_error"):
        services.add_view(campaign, "broken", "doc.x == 1", user=campaign.created_by)


def test_count_targets(states):
    assert services.count_targets(states) == 8
    assert services.count_targets(states, view="error") == 2
    assert services.count_targets(states, ids=[token_id(0), token_id(0), "missing"]) == 1
    assert services.count_targets(states, view="locked", where={"hostname": "wn1"}) == 2


def read_archive(stream) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r:gz") as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers()}


def test_archive_streams_tokens_attachments_and_the_design_document(states, monkeypatch, gateway):
    monkeypatch.setattr(archive, "ARCHIVE_PAGE_SIZE", 3)
    gateway.put_doc(states.database, {"_id": "../weird id/..", "type": "cal", "lock": 0, "done": 0})
    stream = services.archive_tokens(states, user=states.created_by)
    chunks = list(stream)
    assert len(chunks) >= 4
    members = read_archive(chunks)
    assert json.loads(members["cal/design.json"])["_id"] == "_design/cal"
    token = json.loads(members[f"cal/tokens/{token_id(7)}.json"])
    assert token["exit_code"] == 3 and token["_attachments"]["log.txt"]["length"] == 3
    assert "data" not in token["_attachments"]["log.txt"]
    assert members[f"cal/attachments/{token_id(7)}/log.txt"] == b"log"
    assert members[f"cal/attachments/{token_id(0)}/run.parset"] == b"steps=[]\n"
    assert members[f"cal/attachments/{token_id(0)}/srm.txt"].startswith(b"srm://")
    assert "cal/tokens/_._weird_id_...json" in members
    assert all(".." not in name.split("/") for name in members)
    assert len([name for name in members if name.startswith("cal/tokens/")]) == 9
    assert Campaign.objects.get(pk=states.pk).status == "ready"


def test_archive_with_delete_removes_what_it_archived(states, gateway):
    members = read_archive(services.archive_tokens(states, user=states.created_by, delete=True))
    assert len([name for name in members if name.startswith("cal/tokens/")]) == 8
    assert gateway.get_doc(states.database, design_id("cal"), default=None) is None
    assert gateway.get_doc(states.database, token_id(0), default=None) is None
    states.refresh_from_db()
    assert states.status == "archived"
    with pytest.raises(ServiceError, match="is archived"):
        services.reset_tokens(states, user=states.created_by)


def test_archive_with_delete_keeps_a_token_changed_after_it_was_archived(states, gateway):
    stream = services.archive_tokens(states, user=states.created_by, delete=True)
    chunks = [next(stream)]
    pilot_write(states.database, token_id(2), status="still running")
    chunks.extend(stream)
    assert json.loads(read_archive(chunks)[f"cal/tokens/{token_id(2)}.json"])["status"] == "running"
    assert gateway.get_doc(states.database, token_id(2))["status"] == "still running"
    assert gateway.get_doc(states.database, token_id(3), default=None) is None
    states.refresh_from_db()
    assert states.status == "ready" and "1 conflicted" in states.last_error


def test_purge_removes_every_token_and_the_design_document(states, gateway):
    gateway.put_doc(states.database, {"_id": "no_prefix", "type": "cal", "lock": 0, "done": 0})
    result = services.purge_campaign(states, user=states.created_by)
    assert result.changed == 9
    assert gateway.get_doc(states.database, design_id("cal"), default=None) is None
    states.refresh_from_db()
    assert (states.status, states.written_count) == ("purged", 0)
    assert selectors.overview_counts(states)["total"] == 0
    with pytest.raises(ServiceError, match="is purged"):
        services.purge_campaign(states, user=states.created_by)
    with pytest.raises(ServiceError, match="is purged"):
        services.archive_tokens(states, user=states.created_by)


def test_adopt_a_design_document_made_by_another_tool(couch_db, gateway, user):
    old_todo = 'function(doc) { if(doc.type == "legacy") { if(doc.lock == 0 && doc.done == 0) { emit(doc._id, doc._id); } } }'
    other = "function(doc) { emit(doc.type, 1); }"
    gateway.put_doc(couch_db, {"_id": "_design/legacy", "views": {"todo": {"map": old_todo}, "overview_view": {"map": other}}})
    gateway.bulk_docs(couch_db, [
        {"_id": "t_legacy_1", "type": "legacy", "lock": 0, "done": 0, "OBSID": "L1"},
        {"_id": "t_legacy_2", "type": "legacy", "lock": 5, "done": 6, "output": 0},
    ])
    campaign = services.adopt_design(couch_db, "legacy", user=user)
    assert (campaign.status, campaign.token_count, campaign.obsid, campaign.created_by) == ("ready", 2, "L1", user)
    assert selectors.overview_counts(campaign) == {"todo": 1, "locked": 0, "done": 1, "error": 0, "total": 2}
    assert "overview_view" in gateway.get_doc(couch_db, "_design/legacy")["views"]
    with pytest.raises(ServiceError, match="already a campaign"):
        services.adopt_design(couch_db, "legacy", user=user)
    with pytest.raises(ServiceError, match="has no design document '_design/ghost'"):
        services.adopt_design(couch_db, "ghost", user=user)
    with pytest.raises(ServiceError, match="contains '/'"):
        services.adopt_design(couch_db, "a/b", user=user)


MUTATIONS = {
    "reset": lambda c, u: services.reset_tokens(c, user=u),
    "scrub": lambda c, u: services.scrub_stale(c, user=u, older_than=timedelta(hours=1)),
    "set_status": lambda c, u: services.set_status(c, "x", user=u),
    "set_field": lambda c, u: services.set_field(c, "x", 1, user=u),
    "attach": lambda c, u: services.attach_file(c, "a.txt", b"a", user=u),
    "delete": lambda c, u: services.delete_tokens(c, user=u),
    "add_view": lambda c, u: services.add_view(c, "v", "doc.x", user=u),
    "archive_delete": lambda c, u: services.archive_tokens(c, user=u, delete=True),
    "purge": lambda c, u: services.purge_campaign(c, user=u),
    "push": lambda c, u: services.push_tokenset(c, user=u),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_every_change_asks_the_guard_first(campaign, bob, gateway, name):
    TokenUtility().register(ExclusiveLock(campaign, "alice"))
    revisions = {row["id"]: row["value"]["rev"] for row in gateway.iter_all_docs(campaign.database)}
    with pytest.raises(Refused, match="locked by alice"):
        MUTATIONS[name](campaign, bob)
    assert {row["id"]: row["value"]["rev"] for row in gateway.iter_all_docs(campaign.database)} == revisions


def test_a_frozen_campaign_refuses_even_its_creator(campaign, user):
    TokenUtility().register(Freeze(campaign))
    with pytest.raises(Refused, match="frozen"):
        services.reset_tokens(campaign, user=user)


def test_pages_of_targets_follow_the_batch_size(states, settings):
    settings.COUCHDB = {**settings.COUCHDB, "BATCH_SIZE": 3}
    selection = targets.select(states)
    assert [len(ids) for ids in targets.id_pages(states, selection)] == [3, 3, 2]
    assert services.set_field(states, "batch", "b", user=states.created_by).changed == 8


@pytest.mark.parametrize("size", [1, 2, 3])
def test_operations_that_empty_their_view_page_after_page_miss_nothing(campaign, settings, size):
    settings.COUCHDB = {**settings.COUCHDB, "BATCH_SIZE": size}
    for subband in range(1, 8):
        pilot_write(campaign.database, token_id(subband), lock=NOW - 60, done=NOW, output=subband % 2)
    assert services.reset_tokens(campaign, user=campaign.created_by, view="error").changed == 4
    assert services.delete_tokens(campaign, user=campaign.created_by, view="done").changed == 3
    assert services.delete_tokens(campaign, user=campaign.created_by).changed == 5
    assert selectors.overview_counts(campaign)["total"] == 0
