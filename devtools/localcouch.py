"""A local CouchDB-compatible server (pouchdb-server from ``couchdb/``) for development, tests
and benchmarks, and the process handling it shares with Apache CouchDB (``devtools.apachecouch``).

``make run``, the test session and ``make bench`` start pouchdb-server on loopback with its own
data directory and config file, and give it a server admin before anything else talks to it (no
admin party once it is up).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from tokens_app.couch import couch_url

BASE_DIR = Path(__file__).resolve().parent.parent
POUCHDB_SERVER = BASE_DIR / "couchdb" / "node_modules" / ".bin" / "pouchdb-server"
# Preloaded to run the server without its validation part (see the file, and docs/benchmarks.md).
WITHOUT_VALIDATION = BASE_DIR / "couchdb" / "without-validation.js"
# Preloaded always: map functions compiled once instead of once per document, and attachments
# shared by many documents without a list of every revision that uses them (see the files).
COMPILED_VIEWS = BASE_DIR / "couchdb" / "compiled-views.js"
SMALL_ATTACHMENT_REFS = BASE_DIR / "couchdb" / "small-attachment-refs.js"


class LocalCouchError(RuntimeError):
    """The local server could not be installed, started or given its admin."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CouchServerProcess:
    """One CouchDB-like server process keeping its data, config and log under ``workdir``; the
    subclasses say how to start it (``_command``, ``_environment``) and how its admin comes to be."""

    name = "CouchDB"

    def __init__(self, workdir: Path, *, port: int, user: str, password: str, host: str = "127.0.0.1"):
        if not password:
            raise LocalCouchError("the local CouchDB needs a server-admin password (COUCHDB_PASSWORD)")
        self.workdir = Path(workdir)
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "log.txt"

    def answers(self) -> bool:
        """Whether a CouchDB-like server answers at this address."""
        try:
            return requests.get(couch_url(self.url, ()), timeout=2).ok
        except requests.RequestException:
            return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _environment(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self, *, wait: float = 60.0) -> None:
        """Start the server, wait until it answers and make sure the admin exists."""
        command = self._command()
        # The child keeps its own descriptor of the log; the parent's copy is closed at once.
        with open(self.workdir / "stderr.txt", "ab") as stderr:
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=self._environment(),
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
            )
        deadline = time.monotonic() + wait
        while not self.answers():
            if self.process.poll() is not None:
                raise LocalCouchError(f"{self.name} exited with {self.process.returncode}; see {self.workdir}")
            if time.monotonic() > deadline:
                self.stop()
                raise LocalCouchError(f"{self.name} did not answer on {self.url} within {wait:g} s")
            time.sleep(0.1)
        self.ensure_admin()

    def signs_in(self, password: str) -> bool:
        """Whether the server admin signs in with ``password``."""
        return requests.post(
            couch_url(self.url, ("_session",)), json={"name": self.user, "password": password}, timeout=10
        ).ok

    def ensure_admin(self) -> None:
        """Check that the server admin can sign in."""
        if not self.signs_in(self.password):
            raise LocalCouchError(
                f"the local CouchDB in {self.workdir} has an admin, and it is not '{self.user}' with "
                "the configured password (delete that folder to start afresh)"
            )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def ensure_running(self) -> None:
        """Restart the server if its process died (pouchdb-server can crash on odd requests)."""
        if not self.running() or not self.answers():
            self.stop()
            self.start()

    def destroy(self) -> None:
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class LocalCouchServer(CouchServerProcess):
    """pouchdb-server from ``couchdb/``."""

    name = "pouchdb-server"

    def __init__(self, workdir: Path, *, port: int, user: str, password: str, host: str = "127.0.0.1",
                 validation: bool = False):
        super().__init__(workdir, port=port, user=user, password=password, host=host)
        # pouchdb-server reads every design document of a database for each document written,
        # to run validate_doc_update functions, which neither the portal nor GRID_LRT nor PiCaS
        # write: off by default, so that writes do not slow down with the number of campaigns
        # (design documents) of a database. Measured both ways in docs/benchmarks.md (Scale).
        self.validation = validation

    def _command(self) -> list[str]:
        if not POUCHDB_SERVER.exists():
            raise LocalCouchError(f"{POUCHDB_SERVER} is missing: run 'npm ci' in couchdb/ (make does)")
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.json"
        if not config.exists():
            # pouchdb-server writes its log and config next to its working directory unless told.
            config.write_text(json.dumps({"log": {"file": str(self.log_file), "level": "warning"}}))
        return [
            str(POUCHDB_SERVER),
            "--host", self.host,
            "--port", str(self.port),
            "--dir", str(self.workdir / "data"),
            "--config", str(config),
        ]

    def _environment(self) -> dict[str, str]:
        preloads = [COMPILED_VIEWS, SMALL_ATTACHMENT_REFS] + ([] if self.validation else [WITHOUT_VALIDATION])
        options = " ".join([os.environ.get("NODE_OPTIONS", ""), *(f"--require={path}" for path in preloads)])
        return {**os.environ, "NODE_OPTIONS": options.strip()}

    def ensure_admin(self) -> None:
        """Create the server admin on a fresh server (an admin party); check it on an existing one."""
        admin_party = requests.get(couch_url(self.url, ("_config", "admins")), timeout=10)
        if admin_party.status_code != 200:
            return super().ensure_admin()
        created = requests.put(
            couch_url(self.url, ("_config", "admins", self.user)), data=json.dumps(self.password), timeout=10
        )
        if not created.ok:
            raise LocalCouchError(f"could not create the CouchDB admin '{self.user}': {created.status_code}")
