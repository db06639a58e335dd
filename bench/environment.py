"""Where the benchmarks run: Django configured for a throw-away setup, a pouchdb-server of their
own, and child processes (memory, one per ORM engine) that set themselves up the same way.

Nothing here touches ``var/``: settings read no ``.env``, ``TOKENPORTAL_VAR_DIR`` is a temp
directory, and the ORM database is ``DATABASE_URL`` or a temporary SQLite file that is migrated.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
COUCH_USER = "bench-admin"
RESULT_PREFIX = "BENCH-RESULT "


def configure_django(workdir: Path) -> None:
    """Set up Django on ``DATABASE_URL`` (default: a SQLite file in ``workdir``) and migrate it."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tokenportal.settings",
        TOKENPORTAL_ENV_FILE="/dev/null",
        TOKENPORTAL_VAR_DIR=str(workdir / "var"),
        DEBUG="false",
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    # Pages render in-process (bench.pages) without a collectstatic run.
    os.environ.setdefault("STATIC_MANIFEST", "false")
    (workdir / "var" / "static").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("COUCHDB_PASSWORD", "set-when-the-benchmark-starts-its-server")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def orm_engine() -> str:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]


def bench_user():
    """The user the benchmarks act as (a superuser: the guard lets it change everything)."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    return user


def couch_engine() -> str:
    """The engine the benchmarks run on: ``apache`` (``make bench COUCHDB=apache``) or ``pouchdb``."""
    return os.environ.get("COUCHDB_ENGINE") or "pouchdb"


@contextlib.contextmanager
def couch_server(workdir: Path, *, validation: bool = True):
    """A fresh server in ``workdir`` (pouchdb-server, or Apache CouchDB with ``COUCHDB=apache``);
    settings.COUCHDB points at it while it runs."""
    from django.conf import settings

    from devtools.apachecouch import local_server

    server = local_server(couch_engine(), workdir / "couchdb", user=COUCH_USER,
                          password=secrets.token_urlsafe(16), validation=validation)
    server.start()
    previous = settings.COUCHDB
    settings.COUCHDB = {**previous, "URL": server.url, "USER": server.user, "PASSWORD": server.password,
                        "TIMEOUT": 600.0}
    try:
        yield server
    finally:
        settings.COUCHDB = previous
        server.destroy()


def raw_session(server):
    """A plain ``requests.Session`` logged in with the portal's credentials (the scripts' client)."""
    import requests

    from tokens_app.couch import couch_url

    session = requests.Session()
    session.post(couch_url(server.url, ("_session",)), json={"name": server.user, "password": server.password},
                 timeout=30).raise_for_status()
    return session


def run_child(function: str, *, env: dict[str, str] | None = None, **kwargs):
    """Run ``function`` ("module:name", called with ``kwargs``) in a fresh Python process that
    sets Django up by itself; answer what it returned (JSON)."""
    spec = json.dumps({"function": function, "kwargs": kwargs})
    completed = subprocess.run(
        [sys.executable, "-m", "bench.environment", spec],
        cwd=BASE_DIR, env={**os.environ, **(env or {})}, capture_output=True, text=True,
    )
    results = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not results:
        raise RuntimeError(f"the child running {function} failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return json.loads(results[-1][len(RESULT_PREFIX):])


def _child_main(spec: str) -> None:
    import importlib

    request = json.loads(spec)
    module, name = request["function"].split(":")
    with tempfile.TemporaryDirectory(prefix="tokenportal-bench-child-") as workdir:
        configure_django(Path(workdir))
        result = getattr(importlib.import_module(module), name)(**request["kwargs"])
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    _child_main(sys.argv[1])
