"""The portal as deployed, for tests: gunicorn worker processes on a migrated ORM database in a
temporary folder, pointed at the session's CouchDB through the environment."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from devtools.localcouch import free_port

ROOT = Path(__file__).resolve().parents[2]


class Portal:
    """gunicorn serving the portal from ``ROOT`` with ``env`` on top of the test's environment."""

    def __init__(self, tmp_path: Path, *, workers: int = 2, **env: str):
        self.tmp_path = tmp_path
        self.workers = workers
        self.env = {key: value for key, value in os.environ.items() if key not in ("CACHE_URL", "DATABASE_URL")}
        self.env.update(
            DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}", TOKENPORTAL_VAR_DIR=str(tmp_path / "var"),
            PYTHONPATH=str(ROOT),
        )
        self.env.update(env)
        self.env = {key: value for key, value in self.env.items() if value is not None}
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300,
        )

    def prepare(self) -> None:
        migrated = self.manage("migrate", "--verbosity=0")
        assert migrated.returncode == 0, migrated.stderr

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind", self.url.removeprefix("http://"),
             "--timeout", "120", "tokenportal.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.tmp_path / "gunicorn.err", "wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while True:
            assert self.process.poll() is None, self.log()
            try:
                requests.get(self.url + "/healthz", timeout=5)
                return
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or a worker still booting on a busy machine: ask again.
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.2)

    def log(self) -> str:
        return (self.tmp_path / "gunicorn.err").read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
