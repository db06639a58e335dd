"""Several processes registering on the same objects at once: the database decides.

The contenders are real processes (``lock_contender.py``) on a database of their own: a SQLite
file, or a temporary PostgreSQL database when the session runs on PostgreSQL.
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
CONTENDER = Path(__file__).with_name("lock_contender.py")


def run_python(database_url, *args, stdin=None):
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True,
        check=True, timeout=120,
    )


def migrate(database_url):
    run_python(database_url, "manage.py", "migrate", "--verbosity=0")


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("locks-db") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path):
    path = tmp_path / "locks.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url():
    import psycopg

    db = settings.DATABASES["default"]
    server = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                  password=db["PASSWORD"] or None, dbname="postgres", autocommit=True)
    name = f"tp_locks_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    url = f"postgres://{auth}@{server['host']}:{server['port']}/{name}"
    migrate(url)
    yield url
    with psycopg.connect(**server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def contend(database_url, argument_lists):
    """Start one contender per argument list, release them together, return their results."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen([sys.executable, str(CONTENDER), *map(str, args)], cwd=ROOT, env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for args in argument_lists
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def report(database_url):
    return json.loads(run_python(database_url, str(CONTENDER), "report").stdout)


def moment(text):
    return datetime.datetime.fromisoformat(text) if text else None


def assert_consistent(state):
    """The index tables agree with the token rows, and no object ever had two active tokens."""
    tokens = {row["id"]: row for row in state["tokens"]}
    indexed = {row["token"]: row for row in state["locked"]}
    assert set(indexed) == {pk for pk, row in tokens.items() if row["ended_at"] is None}
    for pk, row in indexed.items():
        assert (row["key"], row["expiration"]) == (tokens[pk]["key"], tokens[pk]["expiration"])
    assert sorted(map(tuple, state["principals"])) == sorted(
        (pid, pk) for pk in indexed for pid in tokens[pk]["principals"]
    )
    by_key = defaultdict(list)
    for row in tokens.values():
        by_key[row["key"]].append(row)
    for rows in by_key.values():
        rows.sort(key=lambda row: moment(row["started"]))
        for before, after in zip(rows, rows[1:]):
            end = moment(before["ended_at"] or before["expiration"])
            assert end is not None and end <= moment(after["started"]), (before, after)


def race(database_url, contenders=4, keys=8):
    names = [f"obj:{n}" for n in range(keys)]
    results = contend(database_url, [["race", f"p{n}", *names] for n in range(contenders)])
    winners = Counter(key for result in results for key in result["won"])
    assert winners == Counter(names)
    assert sum(result["refused"] for result in results) == (contenders - 1) * keys
    state = report(database_url)
    assert len(state["tokens"]) == keys
    assert_consistent(state)


def churn(database_url, contenders=8, registrations=500, keys=50):
    names = [f"obj:{n}" for n in range(keys)]
    results = contend(
        database_url, [["churn", f"p{n}", registrations, n, *names] for n in range(contenders)]
    )
    for result in results:
        assert result["won"] + result["refused"] == registrations
    state = report(database_url)
    assert len(state["tokens"]) == sum(result["won"] for result in results)
    assert sum(result["refused"] for result in results) > 0
    assert_consistent(state)


def test_race_on_sqlite(sqlite_url):
    race(sqlite_url)


@pytest.mark.postgres
def test_race_on_postgres(postgres_url):
    race(postgres_url)


@pytest.mark.slow
def test_churn_on_sqlite(sqlite_url):
    churn(sqlite_url)


@pytest.mark.slow
@pytest.mark.postgres
def test_churn_on_postgres(postgres_url):
    churn(postgres_url)


def truth_across_processes(database_url):
    """#15 item 4: a token object held by one process tells the truth after another process
    changed and then ended the same token."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, str(CONTENDER), "hold", "obj:1"], cwd=ROOT, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ask():
        holder.stdin.write("look\n")
        holder.stdin.flush()
        return json.loads(holder.stdout.readline())

    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        assert ask() == {"principals": ["alice", "bob"], "ended": False}
        run_python(database_url, str(CONTENDER), "change", "obj:1")
        assert ask() == {"principals": ["alice"], "ended": False}
        run_python(database_url, str(CONTENDER), "end", "obj:1")
        assert ask() == {"principals": ["alice"], "ended": True}
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert holder.returncode == 0, holder.stderr.read()


def test_token_objects_tell_the_truth_across_processes_on_sqlite(sqlite_url):
    truth_across_processes(sqlite_url)


@pytest.mark.postgres
def test_token_objects_tell_the_truth_across_processes_on_postgres(postgres_url):
    truth_across_processes(postgres_url)
