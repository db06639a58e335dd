"""Simulated pilots (devtools.pilots) on the session's CouchDB server.

The pilots are real processes racing for the same tokens; whatever the interleaving, every token
must end done or error exactly once, and the counts must add up.
"""

import random

import pytest

from devtools import pilots
from tokens_app.couch import Conflict
from tokens_app.design import state_of
from tokens_app.tokensets import TokenSet
from tokens_app.selectors import overview_counts
from tokens_app.services import ensure_design_doc

# Writing a design document records its row in the read model (the portal's own writes do).
pytestmark = pytest.mark.django_db

TYPE = "sim"


@pytest.fixture
def campaign(gateway, couch_db):
    """Thirty bare tokens as pilots find them (no config fields, no attachments), named as a bare
    token set: the pilots need only the type, the database and the views, not the shared
    factory's campaign."""
    ensure_design_doc(couch_db, TYPE)
    gateway.bulk_docs(couch_db, [
        {"_id": f"{TYPE}_SB{n:03d}", "type": TYPE, "lock": 0, "done": 0, "status": "queued", "output": ""}
        for n in range(30)
    ])
    return TokenSet(database=couch_db, token_type=TYPE)


def test_pilot_processes_finish_every_token_exactly_once(gateway, campaign):
    reports = pilots.simulate(
        pilots.CouchAccess.of(gateway), campaign.database, TYPE, workers=3, failure_rate=0.3, job_seconds=0.01
    )
    assert len(reports) == 3 and len({report.pilot for report in reports}) == 3
    done, failed = sum(r.done for r in reports), sum(r.failed for r in reports)
    assert done + failed == 30 and sum(r.lost for r in reports) == 0

    counts = overview_counts(campaign)
    assert counts == {"todo": 0, "locked": 0, "done": done, "error": failed, "total": 30}
    docs = [row["doc"] for row in gateway.iter_all_docs(campaign.database, include_docs=True)
            if not row["id"].startswith("_design/")]
    for doc in docs:
        assert doc["hostname"] in {report.pilot for report in reports}
        assert (doc["status"], doc["exit_code"], doc["output"]) in {("done", 0, 0), ("error", 1, 1)}
        assert doc["status"] == state_of(doc)


def test_max_tokens_is_shared_by_all_pilots(gateway, campaign):
    reports = pilots.simulate(
        pilots.CouchAccess.of(gateway), campaign.database, TYPE, workers=3, failure_rate=0, job_seconds=0,
        max_tokens=7,
    )
    assert sum(r.done for r in reports) == 7
    assert overview_counts(campaign) == {"todo": 23, "locked": 0, "done": 7, "error": 0, "total": 30}


def test_a_claim_is_revision_checked(gateway, campaign):
    """Two pilots that read the same todo token: the second write is a conflict, not a double claim."""
    token_id = f"{TYPE}_SB000"
    first, second = gateway.get_doc(campaign.database, token_id), gateway.get_doc(campaign.database, token_id)
    first.update(lock=1, hostname="a")
    gateway.put_doc(campaign.database, first)
    second.update(lock=1, hostname="b")
    with pytest.raises(Conflict):
        gateway.put_doc(campaign.database, second)


def test_claim_takes_todo_tokens_and_reports_an_empty_view(gateway, campaign):
    rng = random.Random(1)
    claimed = pilots.claim_token(gateway, campaign.database, TYPE, "wn1", rng)
    assert claimed["lock"] > 0 and claimed["hostname"] == "wn1" and claimed["status"] == "running"
    assert state_of(gateway.get_doc(campaign.database, claimed["_id"])) == "locked"

    pilots.finish_token(gateway, campaign.database, claimed, failed=True)
    assert state_of(gateway.get_doc(campaign.database, claimed["_id"])) == "error"

    gateway.bulk_docs(campaign.database, [
        {**row["doc"], "lock": 5, "done": 6}
        for row in gateway.iter_view(campaign.database, TYPE, "todo", include_docs=True)
    ])
    assert pilots.claim_token(gateway, campaign.database, TYPE, "wn1", rng) is None


def test_finishing_a_token_reset_meanwhile_leaves_the_reset(gateway, campaign):
    claimed = pilots.claim_token(gateway, campaign.database, TYPE, "wn1", random.Random(2))
    operator_view = gateway.get_doc(campaign.database, claimed["_id"])
    gateway.put_doc(campaign.database, {**operator_view, "lock": 0, "status": "todo"})
    with pytest.raises(Conflict):
        pilots.finish_token(gateway, campaign.database, claimed, failed=False)
    assert state_of(gateway.get_doc(campaign.database, claimed["_id"])) == "todo"
