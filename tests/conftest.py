"""Test session set-up: a throw-away CouchDB server (pouchdb-server) on a free port in a temp dir.

The session never touches ``var/``: settings come from pyproject's ``env`` (pytest-env) and the
CouchDB settings are pointed at the server started here. Child processes started by tests
(pilots, lock contenders) inherit the same settings through the environment.
"""

import os
import secrets
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from devtools.localcouch import LocalCouchServer, free_port
from tokens_app.couch import get_gateway

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs DATABASE_URL pointing to PostgreSQL (CI sets it)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """A SQLite test database in a file, not in memory: the task workers tests start (processes
    of their own) open the same database as the test and its live server."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("orm") / "test.sqlite3")


@pytest.fixture(scope="session")
def couch_server(tmp_path_factory):
    """The session's CouchDB server; the settings and the environment point at it."""
    server = LocalCouchServer(
        tmp_path_factory.mktemp("couchdb"),
        port=free_port(),
        user="portal-admin",
        password=secrets.token_urlsafe(16),
    )
    server.start()
    couch = {**settings.COUCHDB, "URL": server.url, "USER": server.user, "PASSWORD": server.password,
             "TIMEOUT": 30.0}
    previous = settings.COUCHDB
    settings.COUCHDB = couch
    os.environ.update(
        COUCHDB_URL=server.url, COUCHDB_USER=server.user, COUCHDB_PASSWORD=server.password,
        COUCHDB_DATABASE=couch["DATABASE"],
    )
    yield server
    settings.COUCHDB = previous
    server.destroy()


@pytest.fixture(autouse=True)
def _couch_alive(couch_server):
    """Restart the session's server if an earlier test crashed it."""
    if not couch_server.running():
        couch_server.ensure_running()


@pytest.fixture
def gateway(couch_server):
    return get_gateway()


@pytest.fixture
def couch_db(gateway):
    """A fresh, empty CouchDB database for one test, deleted afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    gateway.create_database(name)
    yield name
    if gateway.database_exists(name):
        gateway.delete_database(name)


@pytest.fixture(scope="session")
def output_dir():
    """Where a test run leaves screenshots and other artefacts for people to look at."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
