"""GRID_LRT from PyPI beside the portal, on the session's CouchDB server.

GRID_LRT 0.5.1 (the last release with ``TokenHandler``/``TokenSet``, on couchdb-python) and 1.0.7
(``TokenList``, on cloudant) share a package name, so each gets a virtual environment of its own,
made with ``python -m venv`` and pip from PyPI under ``~/.cache/tokenportal-interop/`` (or
``$TOKENPORTAL_INTEROP_CACHE``) and reused by later sessions. The driver scripts beside this file
(lrt051.py, lrt107.py) run in those environments as subprocesses, the way pilots run, and do what
operators do with each version.
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

HERE = Path(__file__).resolve().parent
DRIVERS = {"0.5.1": HERE / "lrt051.py", "1.0.7": HERE / "lrt107.py"}
READY = ".ready"


def cache_root() -> Path:
    configured = os.environ.get("TOKENPORTAL_INTEROP_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tokenportal-interop"


def grid_lrt_python(version: str) -> Path:
    """The Python of a venv holding ``grid-lrt==version``, made once and reused while complete.

    A lock file keeps two sessions from building the same venv at once; a venv without its
    ``.ready`` stamp (an install cut short) is built again from scratch.
    """
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"grid-lrt-{version}"
    python = venv / "bin" / "python"
    with open(root / f"grid-lrt-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / READY).exists():
            shutil.rmtree(venv, ignore_errors=True)
            for command in (
                [sys.executable, "-m", "venv", str(venv)],
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"grid-lrt=={version}"],
                [str(python), "-c", f"import GRID_LRT.token, GRID_LRT; assert GRID_LRT.__version__ == {version!r}"],
            ):
                done = subprocess.run(command, capture_output=True, text=True, timeout=600)
                if done.returncode != 0:
                    pytest.fail(f"setting up GRID_LRT {version} failed: {' '.join(command)}\n{done.stderr[-2000:]}")
            (venv / READY).touch()
    return python


@dataclass
class GridLrt:
    """One GRID_LRT version's driver, pointed at a database and token type of the session's server."""

    version: str
    python: Path
    workdir: Path

    def __call__(self, database: str, token_type: str, step: str, *arguments) -> object:
        """Run one step of the driver; its JSON answer. Fails the test when the step fails."""
        done = self.run(database, token_type, step, *arguments)
        assert done.returncode == 0, f"GRID_LRT {self.version} {step} failed:\n{done.stderr[-3000:]}"
        return json.loads(done.stdout.splitlines()[-1])

    def run(self, database: str, token_type: str, step: str, *arguments) -> subprocess.CompletedProcess:
        """Run one step of the driver as it comes, failing or not."""
        couch = settings.COUCHDB
        connection = json.dumps({
            "url": couch["URL"], "user": couch["USER"], "password": couch["PASSWORD"],
            "database": database, "type": token_type,
        })
        # GRID_LRT writes a temporary file into its working directory for every srm.txt.
        return subprocess.run(
            [str(self.python), str(DRIVERS[self.version]), connection, step, *map(str, arguments)],
            capture_output=True, text=True, timeout=600, cwd=self.workdir,
        )


@pytest.fixture(scope="session")
def grid_lrt_051(tmp_path_factory) -> GridLrt:
    return GridLrt("0.5.1", grid_lrt_python("0.5.1"), tmp_path_factory.mktemp("grid-lrt-0.5.1"))


@pytest.fixture(scope="session")
def grid_lrt_107(tmp_path_factory) -> GridLrt:
    return GridLrt("1.0.7", grid_lrt_python("1.0.7"), tmp_path_factory.mktemp("grid-lrt-1.0.7"))
