"""The 409 storm: pilots claim and finish tokens while an operator resets the error view and
sets fields. No claimed or finished token may be reset or written over with stale data, and
what every party reports must add up.

The pilots are threads with clients of their own: three through the CouchDB HTTP API (the
simulated pilots' claim/finish, revision-checked PUTs) and one with the ``picas`` client, the
way worker nodes run. The verdict comes from CouchDB's revision history of every token: each
step from one revision to the next must be one of the four legal writes.
"""

import random
import threading
import time

import pytest

from devtools.pilots import claim_token, finish_token
from tokens_app.couch import Conflict, Gateway, document_path
from tokens_app.design import state_of
from tokens_app.selectors import iter_token_rows, overview_counts
from tokens_app.services import reset_tokens, set_field
from tokens_app.services.operations import reset_doc

pytestmark = pytest.mark.django_db

TOKENS = 40
FAILURE_RATE = 0.3
RESET_ROUNDS = 6
BOOKKEEPING = ("lock", "done", "status", "exit_code", "output", "hostname", "scrub_count")


def api_pilot(access, database, token_type, number, finished_event, tally):
    gateway = Gateway(*access)
    rng = random.Random(number)
    while True:
        try:
            doc = claim_token(gateway, database, token_type, f"api-pilot{number}", rng)
        except Conflict:
            tally["claims lost"] += 1
            continue
        if doc is None:
            if finished_event.is_set():
                break
            time.sleep(0.05)
            continue
        tally["claimed"] += 1
        time.sleep(rng.uniform(0, 0.02))
        try:
            finish_token(gateway, database, doc, failed=rng.random() < FAILURE_RATE)
            tally["finished"] += 1
        except Conflict:
            tally["lost"] += 1


def picas_pilot(access, database, token_type, finished_event, tally):
    from picas.clients import CouchDB
    from picas.iterators import TaskViewIterator

    url, user, password, _ = access
    client = CouchDB(url=url, db=database, username=user, password=password)
    rng = random.Random(99)
    while True:
        for task in TaskViewIterator(client, "todo", design_doc=token_type):
            tally["claimed"] += 1
            task["exit_code"] = 1 if rng.random() < FAILURE_RATE else 0
            task.done()
            # picas raises ResourceConflict here if anyone changed the claimed token meanwhile.
            client.save(task)
            tally["finished"] += 1
        if finished_event.is_set():
            break
        time.sleep(0.05)


def revisions(gateway, database, token_id) -> list[dict]:
    """Every revision of a token, oldest first (pouchdb-server keeps them: no compaction)."""
    doc = gateway.request("GET", document_path(database, token_id), what="history", params={"revs": "true"}).json()
    history = doc["_revisions"]
    revs = [f"{history['start'] - i}-{rev}" for i, rev in enumerate(history["ids"])]
    return [
        gateway.request("GET", document_path(database, token_id), what="revision", params={"rev": rev}).json()
        for rev in reversed(revs)
    ]


def bare(doc: dict) -> dict:
    return {name: value for name, value in doc.items() if name not in ("_rev", "_revisions", "_attachments")}


def classify(before: dict, after: dict) -> str:
    """Which kind of write turned ``before`` into ``after``; "illegal" for a stale overwrite.

    The operator writes only ``note`` (set field) or resets an error token. Pilots never touch
    ``note`` and leave a token claimed and never un-finish it. (The picas client can claim a
    token another pilot claimed a moment earlier — its view row lags the document — so pilot
    writes are not told apart further: that race is between pilots, not the portal's.)
    """
    if bare(after) == {**bare(before), "note": after.get("note")} and after.get("note") != before.get("note"):
        return "set field"
    if state_of(before) == "error" and bare(after) == bare(reset_doc(dict(before))):
        return "reset"
    if after.get("note") == before.get("note") and after["lock"] and after["done"] >= before["done"]:
        return "pilot"
    return "illegal"


def test_the_409_storm_loses_no_pilot_work_and_the_counts_add_up(settings, make_campaign, operator, gateway):
    # Small pages, so the operator's walks interleave with many pilot writes.
    settings.COUCHDB = {**settings.COUCHDB, "BATCH_SIZE": 7}
    campaign = make_campaign(TOKENS)
    access = (gateway.url, gateway.user, gateway.password, gateway.timeout)
    operator_done = threading.Event()
    tallies = [{"claimed": 0, "finished": 0, "lost": 0, "claims lost": 0} for _ in range(4)]
    pilots = [
        threading.Thread(target=api_pilot, args=(access, campaign.database, campaign.token_type, n, operator_done,
                                                 tallies[n]))
        for n in range(3)
    ] + [threading.Thread(target=picas_pilot, args=(access, campaign.database, campaign.token_type, operator_done,
                                                    tallies[3]))]
    for pilot in pilots:
        pilot.start()
    resets, field_sets = [], []
    for round_number in range(RESET_ROUNDS):
        resets.append(reset_tokens(campaign, user=operator, view="error"))
        field_sets.append(set_field(campaign, "note", f"round {round_number}", user=operator, view="todo"))
        time.sleep(0.1)
    operator_done.set()
    for pilot in pilots:
        pilot.join(timeout=120)
        assert not pilot.is_alive()

    steps = {"set field": 0, "reset": 0, "pilot": 0, "illegal": 0}
    illegal = []
    final = []
    for row in iter_token_rows(campaign, "tokens"):
        history = revisions(gateway, campaign.database, row["id"])
        final.append(history[-1])
        for before, after in zip(history, history[1:]):
            kind = classify(before, after)
            steps[kind] += 1
            if kind == "illegal":
                illegal.append((before, after))
    assert illegal == []
    # It was a storm: pilots lost claims to each other and the operator's writes met moving tokens.
    assert sum(t["claims lost"] for t in tallies) > 0
    assert sum(result.conflicted + result.skipped for result in resets + field_sets) > 0
    assert sum(result.changed for result in resets) == steps["reset"] > 0
    assert sum(result.changed for result in field_sets) == steps["set field"] > 0
    assert all(result.failed == 0 for result in resets + field_sets)
    assert steps["pilot"] >= sum(t["claimed"] for t in tallies) > TOKENS
    counts = overview_counts(campaign)
    assert counts["total"] == len(final) == TOKENS
    assert counts["todo"] == counts["locked"] == 0
    assert counts["done"] == sum(state_of(doc) == "done" for doc in final)
    assert counts["error"] == sum(state_of(doc) == "error" for doc in final)
