"""Apache CouchDB 3.5 from the prebuilt release in ``../shared/couchdb/`` (beside every checkout
and every CI run), for the test session (``TEST_COUCHDB=apache``) and the benchmarks.

The release is unpacked once per tarball into ``~/.cache/tokenportal/`` (keyed by its sha256)
and never written: each server keeps its ini files, data and log in its own folder. The release's
``start.sh`` writes the server admin into that folder's ``local.ini`` before the server starts.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tarfile
import tempfile
from pathlib import Path

import requests

from devtools.localcouch import BASE_DIR, CouchServerProcess, LocalCouchError, LocalCouchServer, free_port
from tokens_app.couch import couch_url

TARBALL_NAME = "apache-couchdb-3.5.0-debian12-x86_64.tar.gz"
RELEASE_DIR = "apache-couchdb-3.5.0"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tokenportal"
# The tests send wrong passwords on purpose, many times: Apache CouchDB (3.4 on) would then lock
# the user out of this address, and refuse the right password too, for every later test.
NO_LOCKOUT_INI = "[chttpd_auth_lockout]\nmode = off\n"
# Many short-lived databases: one shard each is cheaper than the default two.
SINGLE_SHARD_INI = "[cluster]\nq = 1\n" + NO_LOCKOUT_INI
# Every shard of a database on each of three nodes, two shards a database.
CLUSTER_INI = "[couchdb]\nsingle_node = false\n[cluster]\nn = 3\nq = 2\n" + NO_LOCKOUT_INI


def tested_engine() -> str:
    """The engine the test session runs on: ``TEST_COUCHDB``, "apache" or "pouchdb" (the default)."""
    return os.environ.get("TEST_COUCHDB") or "pouchdb"


def tarball() -> Path:
    """The release tarball: ``APACHE_COUCHDB_TARBALL``, else ``../shared/couchdb/`` beside the repository."""
    configured = os.environ.get("APACHE_COUCHDB_TARBALL")
    return Path(configured) if configured else BASE_DIR.parent / "shared" / "couchdb" / TARBALL_NAME


def release() -> Path:
    """The unpacked release (the folder holding ``start.sh``), unpacked on first use."""
    source = tarball()
    if not source.is_file():
        raise LocalCouchError(
            f"the Apache CouchDB release is missing: no {source} (set APACHE_COUCHDB_TARBALL to it)"
        )
    digest = hashlib.sha256()
    with open(source, "rb") as packed:
        for block in iter(lambda: packed.read(1 << 20), b""):
            digest.update(block)
    target = CACHE_DIR / f"apache-couchdb-{digest.hexdigest()[:16]}"
    if not (target / RELEASE_DIR / "start.sh").exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        # Unpacked beside the target and renamed into place: a second session unpacking at the
        # same time, or an interrupted one, never leaves a half release behind the cache's name.
        staging = Path(tempfile.mkdtemp(dir=CACHE_DIR, prefix=".unpacking-"))
        with tarfile.open(source) as archive:
            archive.extractall(staging, filter="tar")
        try:
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return target / RELEASE_DIR


class ApacheCouchServer(CouchServerProcess):
    """One Apache CouchDB node (QuickJS, single node unless ``extra_ini`` says otherwise)."""

    name = "Apache CouchDB"

    def __init__(self, workdir: Path, *, port: int, user: str, password: str, host: str = "127.0.0.1",
                 extra_ini: str = SINGLE_SHARD_INI, cookie: str | None = None):
        super().__init__(workdir, port=port, user=user, password=password, host=host)
        self.extra_ini = extra_ini
        self.cookie = cookie
        self.home = release()

    @property
    def node_name(self) -> str:
        """The Erlang node's name, by which the cluster's nodes know each other."""
        return f"couchdb_{self.port}@{self.host}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "stderr.txt"

    def _command(self) -> list[str]:
        (self.workdir / "node").mkdir(parents=True, exist_ok=True)
        (self.workdir / "extra.ini").write_text(self.extra_ini)
        if self.cookie:
            # The nodes of a cluster share one Erlang cookie; start.sh keeps the one it finds.
            (self.workdir / "node" / "cookie").write_text(self.cookie)
        return [str(self.home / "start.sh"), str(self.port), str(self.workdir / "node")]

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "COUCHDB_JS_ENGINE": "quickjs",
            "COUCHDB_ADMIN_USER": self.user,
            "COUCHDB_ADMIN_PASSWORD": self.password,
            "COUCHDB_BIND": self.host,
            "COUCHDB_EXTRA_INI": str(self.workdir / "extra.ini"),
            "COUCHDB_NODE_NAME": self.node_name,
        }

    def kill(self) -> None:
        """Kill the node at once (SIGKILL), as a crash or a lost host would; ``start`` brings it back."""
        if self.running():
            self.process.kill()
            self.process.wait()
        self.process = None


def local_server(engine: str, workdir: Path, *, user: str, password: str, **pouchdb_options) -> CouchServerProcess:
    """A server on a free port for the tests or the benchmarks: Apache CouchDB (``engine``
    "apache") or pouchdb-server (anything else; ``pouchdb_options`` are its own)."""
    if engine == "apache":
        return ApacheCouchServer(workdir, port=free_port(), user=user, password=password)
    return LocalCouchServer(workdir, port=free_port(), user=user, password=password, **pouchdb_options)


class ApacheCouchCluster:
    """Three Apache CouchDB nodes on loopback joined into one cluster (n = 3, q = 2), each with
    the same server admin, as the release's README shows."""

    def __init__(self, workdir: Path, *, user: str, password: str, size: int = 3):
        cookie = secrets.token_hex(16)
        self.nodes = [
            ApacheCouchServer(Path(workdir) / f"node{index}", port=free_port(), user=user, password=password,
                              extra_ini=CLUSTER_INI, cookie=cookie)
            for index in range(size)
        ]
        self.user, self.password = user, password

    def start(self) -> None:
        """Start every node, join them to the first, and create the system databases."""
        for node in self.nodes:
            node.start()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self._admin(first, "PUT", "_node", "_local", "_nodes", node.node_name, body={})
        for database in ("_users", "_replicator"):
            self._admin(first, "PUT", database, ok=(412,))
        members = self._admin(first, "GET", "_membership")["cluster_nodes"]
        if sorted(members) != sorted(node.node_name for node in self.nodes):
            raise LocalCouchError(f"the cluster has nodes {members}, not all {len(self.nodes)}")

    def _admin(self, node: ApacheCouchServer, method: str, *path: str, body=None, ok=()) -> dict:
        answer = requests.request(method, couch_url(node.url, path), json=body, auth=(self.user, self.password),
                                  timeout=30)
        if not answer.ok and answer.status_code not in ok:
            raise LocalCouchError(f"{method} {'/'.join(path)} on {node.url} answered {answer.status_code}: {answer.text}")
        return answer.json()

    def destroy(self) -> None:
        for node in self.nodes:
            node.destroy()
