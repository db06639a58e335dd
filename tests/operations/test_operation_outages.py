"""An outage of CouchDB is a wait, not a failure: a worker that takes or runs an operation while
CouchDB is down waits for it (the row says since when) and completes the operation once it
answers again."""

import http.server
import os
import signal
import threading
import time

import pytest
from django.urls import reverse
from operation_support import CONFIG, finished, srm_list, wait_until

from tokens_app import services
from tokens_app.couch import CouchRequestError, CouchUnavailable, configured_gateway
from tokens_app.models import Campaign, Operation
from tokens_app.services import runs
from tokens_app.services import runner

pytestmark = pytest.mark.django_db(transaction=True)
OPERATIONS = 10
OUTAGE_SECONDS = 8


# Slow: the outage lasts its seconds whatever the machine.
@pytest.mark.slow
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


# Slow: the outage lasts its seconds whatever the machine.
@pytest.mark.slow
def test_two_campaigns_operations_outlive_an_outage_and_a_worker_killed_in_it(
    campaign, make_campaign, couch_server, gateway, workers
):
    """Each campaign's operations set one token of five apiece, in turn, so the tokens end as
    the last operation on each says only if every operation ran, and in order. A worker is
    killed while its operation waits for CouchDB, and a replacement started (a supervisor's
    job); the killed worker's operation must be taken again, not left interrupted."""
    other = make_campaign(token_type="other")
    alice = campaign.created_by
    lease = {"TASKS_LEASE_SECONDS": 3}  # the killed worker's lease lapses soon after its last renewal
    expected, numbers = {}, []
    for target in (campaign, other):
        ids = sorted(row["id"] for row in gateway.iter_view(target.database, target.token_type, "todo"))
        for number in range(OPERATIONS):
            token_id, status = ids[number % 5], f"{target.token_type}-{number}"
            numbers.append(runs.queue_operation(Operation.Action.SET_STATUS, target, alice, source="browser",
                                                selection={"ids": [token_id]}, options={"status": status}).pk)
            expected[token_id] = status
    couch_server.stop()
    stopped = time.monotonic()
    try:
        doomed = workers.start(**lease)
        workers.start(**lease)
        waiting = wait_until(
            lambda: Operation.objects.filter(runner__contains=f":{doomed.pid}:", waiting_since__isnull=False).first(),
            "the first worker's operation waiting for CouchDB", workers,
        )
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        workers.start(**lease)
        time.sleep(max(0.0, stopped + OUTAGE_SECONDS + 2 - time.monotonic()))
        assert not Operation.objects.filter(pk__in=numbers).exclude(state__in=["queued", "running"]).exists()
    finally:
        couch_server.start()

    rows = [wait_until(lambda number=number: finished(number), f"operation #{number}", workers) for number in numbers]
    assert [(row.pk, row.state, row.error) for row in rows] == [(number, "done", "") for number in numbers]
    assert Operation.objects.get(pk=waiting.pk).attempts == 2
    docs = gateway.fetch_docs(campaign.database, list(expected))
    assert {token_id: docs[token_id]["status"] for token_id in expected} == expected


class _Unavailable(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"error": "nodedown", "reason": "progress not possible"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_a_server_answering_503_is_unavailable_not_a_bad_request(settings):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.COUCHDB = {**settings.COUCHDB, "URL": f"http://127.0.0.1:{server.server_port}"}
        with pytest.raises(CouchUnavailable, match="answered 503"):
            configured_gateway().database_exists("tokens")
    finally:
        server.shutdown()
        server.server_close()


def failing_first(monkeypatch, gateway, error):
    """The first bulk write raises ``error`` (a fault the session's server cannot produce on
    demand); the others go through."""
    write, failed = gateway.bulk_docs, []

    def bulk_docs(db, docs):
        if not failed:
            failed.append(db)
            raise error
        return write(db, docs)

    monkeypatch.setattr(gateway, "bulk_docs", bulk_docs)


def test_a_worker_waits_out_an_unavailable_answer_and_completes(campaign, gateway, monkeypatch, database_tasks):
    operation = runs.queue_operation(Operation.Action.SET_STATUS, campaign, campaign.created_by, source="browser",
                                     options={"status": "after-503"})
    failing_first(monkeypatch, gateway, CouchUnavailable("CouchDB answered 503 to write: nodedown"))
    assert runner.run_operation(operation.pk, waits_for_couchdb=True) == "done"
    operation.refresh_from_db()
    assert (operation.changed, operation.error, operation.waiting_since) == (12, "", None)


def test_a_bad_request_fails_the_operation_at_once_even_in_a_worker(campaign, gateway, monkeypatch, database_tasks):
    operation = runs.queue_operation(Operation.Action.SET_STATUS, campaign, campaign.created_by, source="browser",
                                     options={"status": "refused"})
    failing_first(monkeypatch, gateway, CouchRequestError("CouchDB answered 400 to write: bad_request"))
    assert runner.run_operation(operation.pk, waits_for_couchdb=True) == "failed"
    operation.refresh_from_db()
    assert "answered 400" in operation.error and operation.changed == 0


def test_a_push_cut_by_an_outage_waits_and_completes_without_duplicates(
    couch_server, couch_db, alice, gateway, monkeypatch, settings, database_tasks
):
    settings.COUCHDB = {**settings.COUCHDB, "BATCH_SIZE": 5, "WRITES_IN_FLIGHT": 1}
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=srm_list(20), database=couch_db)
    campaign = services.start_campaign(plan, user=alice)
    push = runs.queue_operation(Operation.Action.PUSH, campaign, alice, source="browser")
    write, calls = gateway.bulk_docs, []

    def bulk_docs(db, docs):
        # The server stops for real after the first batch and starts again 2 s later.
        calls.append(db)
        if len(calls) == 2:
            couch_server.stop()
            threading.Timer(2, couch_server.start).start()
        return write(db, docs)

    monkeypatch.setattr(gateway, "bulk_docs", bulk_docs)
    assert runner.run_operation(push.pk, waits_for_couchdb=True) == "done"
    push.refresh_from_db()
    campaign.refresh_from_db()
    assert push.written + push.existing == 20 and push.waiting_since is None
    assert (campaign.status, campaign.written_count, campaign.last_error) == (Campaign.Status.READY, 20, "")
    assert len(gateway.existing_ids(couch_db, plan.token_ids)) == 20
