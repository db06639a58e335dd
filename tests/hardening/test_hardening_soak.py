"""Soak: a 10,000-token campaign worked by ``simulate_pilots`` (several processes, 10 % failures)
while the dashboard's JSON endpoint is polled and an operator resets errors.

Everything is a real process on the session's CouchDB: the portal (``manage.py runserver``)
with its own SQLite database, its task worker and changes follower, the pilots, the operator's
commands. The follower is killed with SIGKILL half-way and started again. At the end the counts
are exact, the serving process's memory (RSS from /proc) has stayed flat, and after writes
straight to CouchDB (a GRID_LRT-style reset, deletes, a token whose type changes) the read
model equals a full scan of CouchDB.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devtools.localcouch import free_port
from tokens_app.couch import get_gateway
from tokens_app.design import state_of

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TOKENS = 10_000
MAX_RSS_GROWTH_MB = 25
# pouchdb-server (one node thread) re-reduces the whole view for each grouped count: seconds at
# 10,000 tokens. Polled as often as one open dashboard does, the counting would take most of the
# server and the soak would measure the poller, not the pilots.
POLL_SECONDS = 10
RESET_EVERY_POLLS = 3
# The pilots take a few minutes; far beyond that they are stuck, and the soak says so.
PILOTS_DEADLINE_SECONDS = 1800
SETTLE_SECONDS = 300
# The follower's first round reaches the campaign's database within this.
FIRST_COUNTS_SECONDS = 120
KILL_FOLLOWER_AT_POLL = 4


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def counts_of_campaign(session: requests.Session, base: str) -> dict | None:
    """The soak campaign's counts as the dashboard polls them (null: never counted)."""
    return session.get(base + "/api/counts/?ids=1", timeout=60).json()["campaigns"]["1"]


def follower(env, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "follow_changes", "--interval", "0.5"], cwd=ROOT,
                            env={**env, "PYTHONUNBUFFERED": "1"}, stdout=log.open("a"), stderr=subprocess.STDOUT)


def scanned(database: str) -> dict[str, str]:
    """Every token of CouchDB with its state, from a full read: the reference."""
    return {row["id"]: state_of(row["doc"]) for row in get_gateway().iter_all_docs(database, include_docs=True)
            if not row["id"].startswith("_design/") and row["doc"].get("type") == "soak"}


def held(manage, database: str) -> dict[str, str]:
    """What the portal's read model holds of the database (read in the portal's own ORM database)."""
    printed = manage("shell", "-c", (
        "import json; from tokens_app.read_models import TokenRow; print(json.dumps(dict(TokenRow.objects"
        f".filter(database={database!r}, token_type='soak').values_list('doc_id', 'state'))))")).stdout
    # (The shell says first what it imported by itself.)
    return json.loads(printed.strip().splitlines()[-1])


def caught_up(manage, database: str, follower_log: Path) -> None:
    """Wait until the read model equals a full scan (the follower reads within its lag)."""
    settle = time.monotonic() + SETTLE_SECONDS
    while held(manage, database) != scanned(database):
        assert time.monotonic() < settle, "the read model never caught up: " + follower_log.read_text()[-3000:]
        time.sleep(POLL_SECONDS / 2)


def straight_to_couchdb(database: str) -> None:
    """What other tools do beside the portal: a GRID_LRT-style reset of error tokens, deletes,
    and a token whose type changes."""
    gateway = get_gateway()
    docs = [row["doc"] for row in gateway.iter_all_docs(database, include_docs=True)
            if not row["id"].startswith("_design/")]
    errors = [doc for doc in docs if state_of(doc) == "error"][:20]
    done = [doc for doc in docs if state_of(doc) == "done"]
    gateway.bulk_docs(database, [{**doc, "lock": 0, "done": 0, "status": "todo"} for doc in errors]
                      + [{"_id": doc["_id"], "_rev": doc["_rev"], "_deleted": True} for doc in done[:10]]
                      + [{**done[10], "type": "elsewhere"}])


@pytest.fixture
def portal_env(couch_server, tmp_path):
    from hardening_support import new_type

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'soak.sqlite3'}",
           "COUCHDB_DATABASE": f"soak_{new_type()}", "LOG_LEVEL": "WARNING",
           # The deployed backend (the test session's default runs tasks inside the request).
           "TASKS_BACKEND": "django_tasks_db.DatabaseBackend"}
    manage = lambda *args, **kw: subprocess.run(  # noqa: E731
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        timeout=kw.get("timeout", 600))
    manage("migrate", "-v0")
    manage("shell", "-c", "from django.contrib.auth.models import User; "
                          "User.objects.create_superuser('soak', '', 'soak-pw-1')")
    return env, manage


def test_soak_ten_thousand_tokens(portal_env, tmp_path):
    """It is one long test because it is one soak told in order: the same portal, task worker and
    pilots run from start to end, and the last checks (exact counts, flat memory) are about
    everything that happened before them."""
    env, manage = portal_env
    (tmp_path / "c.yaml").write_text("Token:\n    type: soak\n")
    (tmp_path / "l.txt").write_text("".join(
        f"srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/L229507/L229507_SB{n:05d}_uv.MS.tar\n"
        for n in range(TOKENS)))
    manage("create_tokenset", "--config", str(tmp_path / "c.yaml"), "--srmlist", str(tmp_path / "l.txt"),
           "--user", "soak")
    port = free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # As deployed (and as `make run` does): a task worker and the changes follower beside the web process.
    worker_log, follower_log = tmp_path / "worker.log", tmp_path / "follower.log"
    worker = subprocess.Popen([sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.5"],
                              cwd=ROOT, env=env, stdout=worker_log.open("w"), stderr=subprocess.STDOUT)
    following = follower(env, follower_log)
    pilots = None
    try:
        base = f"http://127.0.0.1:{port}"
        session = requests.Session()
        for _ in range(100):
            try:
                session.get(base + "/accounts/login/", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(POLL_SECONDS)
        session.post(base + "/accounts/login/", data={
            "username": "soak", "password": "soak-pw-1", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": base + "/accounts/login/"}, timeout=30, allow_redirects=False)
        # Start-up: the counts are null until the follower first read the database; from then on
        # every poll must have them.
        first_counts = time.monotonic() + FIRST_COUNTS_SECONDS
        while counts_of_campaign(session, base) is None:
            assert time.monotonic() < first_counts, "no counts yet: " + follower_log.read_text()[-3000:]
            time.sleep(POLL_SECONDS / 2)
        # The pilots' output goes to a file: a pipe nobody reads while they run would fill with
        # their progress bar and stop them.
        pilots_log = tmp_path / "pilots.log"
        pilots = subprocess.Popen(
            [sys.executable, "manage.py", "simulate_pilots", "--type", "soak", "--workers", "4",
             "--failure-rate", "0.1", "--job-seconds", "0"],
            cwd=ROOT, env=env, stdout=pilots_log.open("w"), stderr=subprocess.STDOUT)
        samples, polls, resets = [], 0, 0
        deadline = time.monotonic() + PILOTS_DEADLINE_SECONDS
        while pilots.poll() is None:
            assert time.monotonic() < deadline, "pilots still running: " + pilots_log.read_text()[-3000:]
            counts = counts_of_campaign(session, base)
            assert counts is not None and counts["total"] == TOKENS, counts
            polls += 1
            samples.append(rss_mb(server.pid))
            if polls % RESET_EVERY_POLLS == 0:
                manage("reset_tokens", "--type", "soak", "--view", "error", "--yes", "--user", "soak")
                resets += 1
            if polls == KILL_FOLLOWER_AT_POLL:
                following.send_signal(signal.SIGKILL)
                following.wait(timeout=60)
                following = follower(env, follower_log)
            time.sleep(POLL_SECONDS)
        assert pilots.returncode == 0, pilots_log.read_text()[-3000:]
        # A reset that came after the pilots had found nothing left to claim put tokens back in
        # todo with nobody to work them: as an operator would, send one more pilot round.
        manage("simulate_pilots", "--type", "soak", "--workers", "2", "--failure-rate", "0.1", "--job-seconds", "0")
        # The counts follow CouchDB within the follower's lag.
        settle = time.monotonic() + SETTLE_SECONDS
        while True:
            final = counts_of_campaign(session, base)
            if final["todo"] == final["locked"] == 0 or time.monotonic() > settle:
                break
            time.sleep(POLL_SECONDS / 2)
        assert worker.poll() is None, "the task worker stopped: " + worker_log.read_text()[-3000:]
        assert final["todo"] == final["locked"] == 0
        assert final["done"] + final["error"] == final["total"] == TOKENS
        errors = manage("token_status", "--type", "soak", "--json").stdout
        assert f'"error": {final["error"]}' in errors
        assert polls > 6 and resets > 0
        warm = samples[len(samples) // 5]
        assert max(samples[len(samples) // 5:]) - warm < MAX_RSS_GROWTH_MB, (warm, max(samples))
        database = env["COUCHDB_DATABASE"]
        caught_up(manage, database, follower_log)
        straight_to_couchdb(database)
        caught_up(manage, database, follower_log)
        assert following.poll() is None, "the follower stopped: " + follower_log.read_text()[-3000:]
    finally:
        if pilots is not None and pilots.poll() is None:
            pilots.terminate()
        for process in (following, worker, server):
            process.terminate()
            process.wait(timeout=60)
