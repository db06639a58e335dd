"""An outage of CouchDB is a wait, not a failure: a worker that takes or runs an operation while
CouchDB is down waits for it (the row says since when) and completes the operation once it
answers again."""

import time

import pytest
from django.urls import reverse
from operation_support import finished, wait_until

from tokens_app.models import Operation
from tokens_app.services import runs

# Slow: the outage lasts its seconds whatever the machine.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
OPERATIONS = 10
OUTAGE_SECONDS = 8


def test_one_token_operations_wait_out_a_couchdb_outage_and_all_complete(
    client, campaign, couch_server, gateway, workers
):
    alice = campaign.created_by
    ids = sorted(row["id"] for row in gateway.iter_view(campaign.database, campaign.token_type, "todo"))
    numbers = [
        runs.queue_operation(Operation.Action.SET_STATUS, campaign, alice, source="browser",
                             selection={"ids": [token_id]}, options={"status": "after-outage"}).pk
        for token_id in ids[:OPERATIONS]
    ]
    couch_server.stop()
    try:
        workers.start()
        workers.start()
        wait_until(lambda: Operation.objects.filter(pk__in=numbers, waiting_since__isnull=False).exists(),
                   "an operation waiting for CouchDB", workers)
        time.sleep(OUTAGE_SECONDS)
        assert not Operation.objects.filter(pk__in=numbers).exclude(state__in=["queued", "running"]).exists()
        client.force_login(alice)
        assert "waiting for CouchDB since" in client.get(reverse("tokens:operations")).content.decode()
    finally:
        couch_server.start()

    rows = [wait_until(lambda number=number: finished(number), f"operation #{number}", workers) for number in numbers]
    outcomes = [(row.state, row.changed, row.error, row.waiting_since) for row in rows]
    assert outcomes == [("done", 1, "", None)] * OPERATIONS
    docs = gateway.fetch_docs(campaign.database, ids)
    assert [docs[token_id]["status"] == "after-outage" for token_id in ids] == [True] * OPERATIONS + [False] * (
        len(ids) - OPERATIONS)
