"""The follower as deployment runs it: ``manage.py follow_changes`` processes on the test's
database, killed with SIGKILL half-way, and two of them started at once."""

import signal
import subprocess
import sys
import time

import pytest
from operation_support import ROOT, wait_until, worker_env

from tokens_app.design import state_of
from tokens_app.read_models import ChangesCheckpoint, FollowerLease, TokenRow

pytestmark = pytest.mark.django_db(transaction=True)


def follower(log_path, *args) -> subprocess.Popen:
    with open(log_path, "a") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "follow_changes", *args], cwd=ROOT,
            env={**worker_env(), "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT,
        )


def add_tokens(gateway, campaign, count: int, start: int = 0) -> None:
    docs = [{"_id": f"extra_{number:05d}", "type": campaign.token_type, "lock": 0, "done": 0}
            for number in range(start, start + count)]
    for first in range(0, len(docs), 500):
        gateway.bulk_docs(campaign.database, docs[first:first + 500])


def scanned(gateway, database) -> dict[str, str]:
    return {row["id"]: state_of(row["doc"]) for row in gateway.iter_all_docs(database, include_docs=True)
            if not row["id"].startswith("_design/")}


def held(database) -> dict[str, str]:
    return dict(TokenRow.objects.filter(database=database).values_list("doc_id", "state"))


def test_a_follower_killed_mid_backfill_resumes_from_its_checkpoint(tmp_path, gateway, campaign):
    add_tokens(gateway, campaign, 1000)
    process = follower(tmp_path / "follower.log", "--batch", "10", "--interval", "0.1", "--lease", "2")
    try:
        wait_until(lambda: TokenRow.objects.filter(database=campaign.database).count() >= 100, "a part of the backfill")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    partial = TokenRow.objects.filter(database=campaign.database).count()
    assert partial < 1012, "killed after the backfill ended: the test proves nothing"
    checkpoint = ChangesCheckpoint.objects.get(database=campaign.database).seq

    # The lease of the killed process lapses; a new follower takes over from the checkpoint.
    resumed = subprocess.run(
        [sys.executable, "manage.py", "follow_changes", "--once", "--lease", "2"], cwd=ROOT, env=worker_env(),
        capture_output=True, text=True, timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert held(campaign.database) == scanned(gateway, campaign.database)
    assert ChangesCheckpoint.objects.get(database=campaign.database).seq != checkpoint


def test_two_followers_started_at_once_one_writes(tmp_path, gateway, campaign):
    logs = [tmp_path / f"follower-{n}.log" for n in range(2)]
    processes = [follower(log, "--interval", "0.1") for log in logs]
    owners = set()

    def caught_up() -> bool:
        owners.update(FollowerLease.objects.values_list("owner", flat=True))
        return held(campaign.database) == scanned(gateway, campaign.database)

    try:
        # Both started (their signal handlers set) before anything is asked of them.
        wait_until(lambda: all("Following changes as" in log.read_text() for log in logs), "both followers to start")
        add_tokens(gateway, campaign, 500)
        wait_until(caught_up, "the rows to equal a scan")
        docs = [row["doc"] for row in gateway.iter_all_docs(campaign.database, include_docs=True)][:50]
        gateway.bulk_docs(campaign.database, [{**doc, "lock": time.time(), "done": time.time()} for doc in docs])
        wait_until(caught_up, "the pilots' writes")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    logs = [log.read_text() for log in logs]
    assert all(process.returncode == 0 for process in processes), logs
    # One follower held the lease throughout; the other waited.
    assert len(owners - {""}) == 1, owners
    assert sum("lost the lease" in log for log in logs) == 0, logs


def test_the_follower_marks_an_operation_whose_runner_died(tmp_path, campaign, alice):
    """No page writes: a lapsed lease is written as interrupted (or queued again) by the
    follower's upkeep, the one portal process always running."""
    from datetime import timedelta

    from django.utils import timezone

    from tokens_app.models import Operation
    from tokens_app.services import runs

    gone = timezone.now() - timedelta(seconds=1)
    dead = runs.queue_operation(Operation.Action.RESET, campaign, alice, source="browser")
    Operation.objects.filter(pk=dead.pk).update(state="running", runner="gone", lease_until=gone)
    process = follower(tmp_path / "follower.log", "--interval", "0.1")
    try:
        wait_until(lambda: Operation.objects.get(pk=dead.pk).state == "interrupted", "the follower's upkeep")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
