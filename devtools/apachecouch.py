"""Apache CouchDB 3.5 from the prebuilt release in ``../shared/couchdb/`` (beside every checkout
and every CI run), for the test session (``TEST_COUCHDB=apache``) and the benchmarks.

The release is unpacked once per tarball into ``~/.cache/tokenportal/`` (keyed by its sha256)
and never written: each server keeps its ini files, data and log in its own folder. The release's
``start.sh`` writes the server admin into that folder's ``local.ini`` before the server starts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from devtools.localcouch import BASE_DIR, CouchServerProcess, LocalCouchError

TARBALL_NAME = "apache-couchdb-3.5.0-debian12-x86_64.tar.gz"
RELEASE_DIR = "apache-couchdb-3.5.0"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tokenportal"
# Many short-lived databases: one shard each is cheaper than the default two.
SINGLE_SHARD_INI = "[cluster]\nq = 1\n"


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
                 extra_ini: str = SINGLE_SHARD_INI, node_name: str | None = None):
        super().__init__(workdir, port=port, user=user, password=password, host=host)
        self.extra_ini = extra_ini
        self.node_name = node_name
        self.home = release()

    @property
    def log_file(self) -> Path:
        return self.workdir / "stderr.txt"

    def _command(self) -> list[str]:
        (self.workdir / "node").mkdir(parents=True, exist_ok=True)
        (self.workdir / "extra.ini").write_text(self.extra_ini)
        return [str(self.home / "start.sh"), str(self.port), str(self.workdir / "node")]

    def _environment(self) -> dict[str, str]:
        environment = {
            **os.environ,
            "COUCHDB_JS_ENGINE": "quickjs",
            "COUCHDB_ADMIN_USER": self.user,
            "COUCHDB_ADMIN_PASSWORD": self.password,
            "COUCHDB_BIND": self.host,
            "COUCHDB_EXTRA_INI": str(self.workdir / "extra.ini"),
        }
        if self.node_name:
            environment["COUCHDB_NODE_NAME"] = self.node_name
        return environment
