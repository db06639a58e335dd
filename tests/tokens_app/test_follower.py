"""The read model's follower on a real CouchDB: after catching up, the rows equal a full scan."""

import io
import json

import pytest
import requests
from django.core.management import CommandError, call_command

from devtools.apachecouch import tested_engine
from tokens_app.couch import couch_url, database_path
from tokens_app.design import state_of
from tokens_app.follower import Follower, LeaseLost
from tokens_app.read_models import ChangesCheckpoint, TokenRow
from tokens_app.token_rows import is_token, row_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def follower():
    """The test's follower, holding the lease (as ``run`` takes it before every round)."""
    follower = Follower(batch=5)
    assert follower.take_lease()
    return follower


def scan(gateway, database) -> dict[str, tuple]:
    """What the rows must hold: every token of ``database`` read whole from CouchDB."""
    rows = {}
    for row in gateway.iter_all_docs(database, include_docs=True):
        doc = row["doc"]
        if is_token(doc):
            expected = row_of(database, doc)
            rows[expected.id_hash] = (expected.token_type, expected.state, expected.hostname, expected.exit_code, expected.rev)
    return rows


def held(database) -> dict[str, tuple]:
    return {
        row.id_hash: (row.token_type, row.state, row.hostname, row.exit_code, row.rev)
        for row in TokenRow.objects.filter(database=database)
    }


def post_raw(couch_server, database, body: str) -> bool:
    """A document as another tool sends it: raw JSON text, escapes and all. False where Apache
    CouchDB refuses to store it (lone surrogates are invalid UTF-8 JSON to it, and it takes no
    number beyond a double); pouchdb-server stores them all."""
    response = requests.post(
        couch_url(couch_server.url, database_path(database)), data=body.encode(),
        headers={"Content-Type": "application/json"}, auth=(couch_server.user, couch_server.password), timeout=30,
    )
    if response.status_code in (400, 500) and tested_engine() == "apache":
        return False
    assert response.status_code in (201, 202), response.text
    return True


def test_backfill_equals_a_full_scan(gateway, campaign, follower):
    read = follower.catch_up(campaign.database)
    assert read >= 12
    assert held(campaign.database) == scan(gateway, campaign.database)
    assert TokenRow.objects.filter(database=campaign.database, token_type=campaign.token_type, state="todo").count() == 12


def test_pilot_writes_deletes_and_type_changes_follow(gateway, campaign, follower):
    follower.catch_up(campaign.database)
    docs = [row["doc"] for row in gateway.iter_all_docs(campaign.database, include_docs=True)
            if row["doc"].get("type") == campaign.token_type]
    locked, failed, finished, deleted, retyped = docs[:5]
    gateway.bulk_docs(campaign.database, [
        {**locked, "lock": 1700000000, "hostname": "vm-pilot3"},
        {**failed, "lock": 1700000000, "done": 1700000100, "exit_code": 2, "hostname": "vm-pilot1"},
        {**finished, "lock": 1700000000, "done": 1700000100, "exit_code": 0},
        {**deleted, "_deleted": True},
        {**retyped, "type": "other_type"},
    ])
    follower.catch_up(campaign.database)
    assert held(campaign.database) == scan(gateway, campaign.database)
    states = dict(TokenRow.objects.filter(database=campaign.database).values_list("doc_id", "state"))
    assert states[locked["_id"]] == "locked"
    assert states[failed["_id"]] == "error"
    assert states[finished["_id"]] == "done"
    assert deleted["_id"] not in states
    assert TokenRow.objects.get(doc_id=retyped["_id"]).token_type == "other_type"


def test_a_token_that_stops_being_a_token_leaves_the_rows(gateway, campaign, follower):
    follower.catch_up(campaign.database)
    doc = next(row["doc"] for row in gateway.iter_all_docs(campaign.database, include_docs=True)
               if row["doc"].get("type") == campaign.token_type)
    gateway.bulk_docs(campaign.database, [{**doc, "type": {"not": "a type"}}])
    follower.catch_up(campaign.database)
    assert not TokenRow.objects.filter(doc_id=doc["_id"]).exists()
    assert held(campaign.database) == scan(gateway, campaign.database)


def test_the_checkpoint_is_kept_as_couchdb_gave_it(gateway, campaign, follower):
    follower.catch_up(campaign.database)
    checkpoint = ChangesCheckpoint.objects.get(database=campaign.database)
    assert checkpoint.seq == str(gateway.changes(campaign.database, since=checkpoint.seq, limit=1)["last_seq"])
    assert follower.catch_up(campaign.database) == 0


def test_hostile_documents_are_stored_safely(couch_server, gateway, couch_db, follower):
    deep = '{"a":' * 3000 + "1" + "}" * 3000
    lone = post_raw(couch_server, couch_db, '{"_id": "lone\\udfff", "type": "t", "hostname": "\\ud800x", "status": "nul\\u0000"}')
    post_raw(couch_server, couch_db, '{"_id": "big", "type": "t", "output": "%s", "exit_code": [1, {"a": null}]}' % ("x" * 1_000_000))
    post_raw(couch_server, couch_db, '{"_id": "deep", "type": "t", "lock": 5, "nested": %s}' % deep)
    post_raw(couch_server, couch_db, '{"_id": "after", "type": "t", "lock": 1e400}')
    post_raw(couch_server, couch_db, '{"_id": "last", "type": "t", "status": "nul\\u0000"}')
    follower.catch_up(couch_db)
    rows = {row.token_id: row for row in TokenRow.objects.filter(database=couch_db)}
    if lone:
        assert rows["lone\udfff"].doc_id == "lone\ufffd"
        assert rows["lone\udfff"].hostname == "\ufffdx"
    assert rows["last"].status == "nul\ufffd"
    assert len(rows["big"].output) == 500
    assert json.loads(rows["big"].exit_code) == [1, {"a": None}]
    # Nested deeper than Python parses: kept with those parts cut, and the follower went on.
    assert rows["deep"].state == "locked"
    assert "last" in rows


def test_a_follower_that_lost_its_lease_writes_nothing(campaign):
    first, second = Follower(lease_seconds=60), Follower(lease_seconds=60)
    assert first.take_lease()
    assert not second.take_lease()
    first.release_lease()
    assert second.take_lease()
    # (The push recorded the rows it wrote; the follower would write them again, and its checkpoint.)
    TokenRow.objects.filter(database=campaign.database).update(state="error")
    with pytest.raises(LeaseLost):
        first.step(campaign.database)
    assert set(TokenRow.objects.filter(database=campaign.database).values_list("state", flat=True)) == {"error"}
    assert not ChangesCheckpoint.objects.filter(database=campaign.database).exists()


def test_resync_reads_a_database_again_from_the_start(gateway, campaign, follower):
    follower.catch_up(campaign.database)
    TokenRow.objects.filter(database=campaign.database).update(state="done")
    follower.resync(campaign.database)
    assert held(campaign.database) == scan(gateway, campaign.database)


def test_a_database_that_is_gone_holds_no_rows(gateway, campaign, follower):
    follower.round()
    assert TokenRow.objects.filter(database=campaign.database).exists()
    gateway.delete_database(campaign.database)
    follower.round()
    assert not TokenRow.objects.filter(database=campaign.database).exists()
    assert not ChangesCheckpoint.objects.filter(database=campaign.database).exists()


@pytest.mark.parametrize("args, says", [
    (["--batch", "0"], "at least 1"),
    (["--batch", "many"], "not a whole number"),
    (["--interval", "-1"], "zero or more seconds"),
    (["--interval", "nan"], "zero or more seconds"),
    (["--lease", "0"], "at least 1"),
    (["--resync", "bad\nname"], "control character"),
])
def test_follow_changes_refuses_garbage_options(args, says):
    with pytest.raises(CommandError, match=says):
        call_command("follow_changes", *args)


@pytest.mark.parametrize("name", ["../_config", "_users", "Upper", ".."])
def test_resync_of_a_name_couchdb_cannot_hold_is_refused_in_one_line(couch_server, name):
    with pytest.raises(CommandError, match="is not a CouchDB database name"):
        call_command("follow_changes", "--resync", name)


def test_follow_changes_once_fills_the_rows(gateway, campaign):
    call_command("follow_changes", "--once")
    assert held(campaign.database) == scan(gateway, campaign.database)
    out = io.StringIO()
    call_command("follow_changes", "--resync", campaign.database, stdout=out)
    assert f"{campaign.database}: " in out.getvalue()
    assert held(campaign.database) == scan(gateway, campaign.database)
