"""A tiny run of every benchmark (``python -m bench --quick``): they run end to end and print a
table each. No timing is asserted; the figures of a quick run mean nothing.

It runs in every ``make test``: ``make install`` installs the ``bench`` extra (zope.locking and
ZODB for the locks baseline, psutil), so a missing package fails the test instead of skipping it."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
TITLES = (
    "Campaign creation", "Counting", "Locks", "Memory", "Large shared file", "Operations on a task worker",
    "Read model", "Pages",
)


def test_every_benchmark_runs_and_prints_its_table(tmp_path):
    env = {
        **os.environ,
        # A temporary SQLite database, never the test session's or var/; PostgreSQL is the full run's.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}",
        "BENCH_POSTGRES_URL": "none",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    for title in TITLES:
        assert title in completed.stdout
    assert "Wrote " not in completed.stdout  # a quick run leaves docs/benchmarks.md alone
