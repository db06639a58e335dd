"""What the operations tests share: real task workers (``manage.py db_worker`` processes) on the
test's own database, the inputs of a campaign of any size, waiting for a row to get somewhere."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from tokens_app.models import Operation

ROOT = Path(settings.BASE_DIR)
CONFIG = (ROOT / "examples" / "pref_cal1.yaml").read_bytes()
DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507"
# How long a test waits for a worker to get somewhere before it fails (a bound, not a pause).
WAIT_SECONDS = 120


def srm_list(count: int) -> bytes:
    return "".join(f"{SARA}/L229507_SB{subband:03d}_uv.dppp.MS_{subband:08x}.tar\n" for subband in range(count)).encode()


def database_url() -> str:
    """The test's database (the test copy, named once the session set it up) as a URL."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(**extra) -> dict:
    """The environment of a process on the test's ORM database and CouchDB, with the database
    task backend."""
    return {
        **os.environ, "DATABASE_URL": database_url(), "TASKS_BACKEND": DATABASE_BACKEND,
        "PYTHONPATH": str(ROOT), **{name: str(value) for name, value in extra.items()},
    }


class Workers:
    """Starts ``db_worker`` processes and stops whatever is left of them at the end of a test."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self, **env) -> subprocess.Popen:
        with (self.log_dir / f"worker-{len(self.processes)}.log").open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1",
                 "--worker-id", f"test-worker-{len(self.processes)}"],
                cwd=ROOT, env=worker_env(**env), stdout=log, stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.log_dir.glob("worker-*.log")))


def wait_until(condition, what: str, workers: Workers | None = None, timeout: float = WAIT_SECONDS):
    """Poll ``condition()`` until it answers something true and answer that; fail after ``timeout``
    naming ``what`` (and with the workers' logs)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{workers.logs() if workers else ''}")
        time.sleep(0.05)


def finished(operation_id: int):
    """The operation once it has finished (or been interrupted), else None."""
    operation = Operation.objects.get(pk=operation_id)
    return operation if operation.is_final or operation.state == Operation.State.INTERRUPTED else None
