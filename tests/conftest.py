"""Test session set-up: a throw-away CouchDB server on a free port in a temp dir: pouchdb-server,
or Apache CouchDB 3.5 from ``../shared/couchdb/`` with ``TEST_COUCHDB=apache`` (CI's Apache stage).

The session never touches ``var/``: settings come from pyproject's ``env`` (pytest-env) and the
CouchDB settings are pointed at the server started here. Child processes started by tests
(pilots, lock contenders) inherit the same settings through the environment.

The server starts lazily, when the first test that needs it asks for ``couch_server`` (directly
or through ``gateway``, ``couch_db`` or a campaign fixture): a run of tests that need none of it
(``-m unit``, the parsers, design rules, forms and durations) starts no pouchdb-server. A test that
does not ask for it finds the settings pointing at an address where nothing listens, so a test
that talks to CouchDB without saying so fails at once instead of passing by the order of tests.

Every suite's users (``make_user``; alice and bob, operators; victor, who may change nothing) and
its campaigns (``make_campaign``, ``campaign``) come from here; a suite that needs other ones says
why where it defines them.
"""

import functools
import os
import secrets
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission, User

from devtools import apachecouch
from devtools.localcouch import LocalCouchError
from tokens_app import services
from tokens_app.bulk import EncodedDoc
from tokens_app.couch import get_gateway

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "test-output"
EXAMPLES = ROOT / "examples"
EXAMPLE_CONFIG = (EXAMPLES / "pref_cal1.yaml").read_bytes()
EXAMPLE_SRMLIST = (EXAMPLES / "L229507.srmlist").read_bytes()


# Which server the session starts: pouchdb-server (the default, what `make test` runs) or
# Apache CouchDB ("apache").
TEST_COUCHDB = apachecouch.tested_engine()
ON_APACHE = TEST_COUCHDB == "apache"


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs DATABASE_URL pointing to PostgreSQL (CI sets it)")
    not_apache = pytest.mark.skip(
        reason="needs Apache CouchDB (TEST_COUCHDB=apache): pouchdb-server has no per-database security"
    )
    not_pouchdb = pytest.mark.skip(reason="tests pouchdb-server itself (its preloads), which Apache CouchDB does not run")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)
        if "apache" in item.keywords and not ON_APACHE:
            item.add_marker(not_apache)
        if "pouchdb" in item.keywords and ON_APACHE:
            item.add_marker(not_pouchdb)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """A SQLite test database in a file, not in memory: the task workers tests start (processes
    of their own) open the same database as the test and its live server."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("orm") / "test.sqlite3")


# Where CouchDB settings point for tests that did not ask for the server: the discard port on
# loopback, where nothing listens (a request is refused at once, never answered by some other
# server of the machine).
NOWHERE = "http://127.0.0.1:9"


def pytest_configure(config):
    if TEST_COUCHDB not in ("pouchdb", "apache"):
        pytest.exit(f"TEST_COUCHDB is {TEST_COUCHDB!r}: it is 'apache' or 'pouchdb' (the default)", returncode=4)
    if ON_APACHE and not apachecouch.tarball().is_file():
        pytest.exit(f"TEST_COUCHDB=apache, but the Apache CouchDB release is missing: no {apachecouch.tarball()} "
                    "(set APACHE_COUCHDB_TARBALL to it)", returncode=4)
    settings.COUCHDB = {**settings.COUCHDB, "URL": NOWHERE}
    os.environ["COUCHDB_URL"] = NOWHERE


def start_session_server(workdir: Path):
    """The session's server, started: Apache CouchDB or pouchdb-server (``TEST_COUCHDB``)."""
    server = apachecouch.local_server(TEST_COUCHDB, workdir, user="portal-admin", password=secrets.token_urlsafe(16))
    try:
        server.start()
    except LocalCouchError as error:
        pytest.exit(str(error), returncode=4)
    return server


@pytest.fixture(scope="session")
def couch_server(tmp_path_factory):
    """The session's CouchDB server, started the first time a test needs it; from then on the
    settings and the environment point at it (but for the tests that do not ask for it)."""
    server = start_session_server(tmp_path_factory.mktemp("couchdb"))
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
    os.environ["COUCHDB_URL"] = NOWHERE
    server.destroy()


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """Django's cache is a table of the test database that its flush leaves alone, and campaign
    ids come back after a flush: a test that uses the database starts with an empty cache, or
    it would be shown another test's campaign's shared reads."""
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_django_db_helper")
        from django.core.cache import cache

        cache.clear()


@pytest.fixture(autouse=True)
def _couchdb_only_where_asked_for(request):
    """The session's server for a test that asks for it (restarted first if an earlier test
    crashed it); nowhere, in the settings and the environment, for every other test."""
    if request.node.get_closest_marker("unit") and (
        {"couch_server", "django_db_setup"} & set(request.fixturenames) or request.node.get_closest_marker("django_db")
    ):
        pytest.fail("a test marked unit must need neither CouchDB nor the ORM database")
    if "couch_server" in request.fixturenames:
        server = request.getfixturevalue("couch_server")
        if not server.running():
            server.ensure_running()
        yield
        return
    previous = settings.COUCHDB, os.environ["COUCHDB_URL"]
    settings.COUCHDB = {**settings.COUCHDB, "URL": NOWHERE}
    os.environ["COUCHDB_URL"] = NOWHERE
    yield
    settings.COUCHDB, os.environ["COUCHDB_URL"] = previous


@pytest.fixture(autouse=True)
def _read_model_follows(request, monkeypatch):
    """Deployment runs ``manage.py follow_changes`` beside the portal; in tests the same
    follower catches up before every request the test process serves (the test client and the
    live server alike), so a page shows what the test wrote straight to CouchDB, as it would a
    follower's round later. Tests of the lag itself read the rows without a request; the path
    tests (``recorded``) see the portal's own requests only, and their pages its own writes."""
    if "couch_server" not in request.fixturenames or "recorded" in request.fixturenames or not (
        request.node.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    ):
        yield
        return
    from django.core.handlers.base import BaseHandler

    from tokens_app.follower import Follower

    follower = Follower()
    serve = BaseHandler.get_response

    def caught_up_first(handler, http_request):
        if follower.take_lease():
            follower.round()
        return serve(handler, http_request)

    monkeypatch.setattr(BaseHandler, "get_response", caught_up_first)
    yield


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


# -- users and campaigns every suite shares ---------------------------------------------------------

@functools.cache
def _password_hash(password: str, hasher: str) -> str:
    """Each test password hashed once a session by the first of the ``PASSWORD_HASHERS`` (named in
    the key): PBKDF2 takes a good part of a second by design."""
    return make_password(password)


@pytest.fixture
def make_user(db):
    """``make_user(name, *codenames, superuser=False, staff=False)``: a user whose password is
    ``pw-<name>`` (what ``browser_support.sign_in`` types), with the permissions of those codenames
    (``change_campaign``, ``break_lock``, …), read back so that its permission cache is fresh."""

    def make(name: str, *codenames: str, superuser: bool = False, staff: bool = False) -> User:
        user = User(username=name, is_superuser=superuser, is_staff=staff or superuser,
                    password=_password_hash(f"pw-{name}", settings.PASSWORD_HASHERS[0]))
        user.save()
        user.user_permissions.add(*(Permission.objects.get(codename=codename) for codename in codenames))
        return User.objects.get(pk=user.pk)

    return make


# What the shared operators may do: change (and so lock) campaigns, and groups where a test makes
# groups the lockable model (locks_app's tests).
OPERATOR_PERMISSIONS = ("change_campaign", "change_group")


@pytest.fixture
def alice(make_user):
    """An operator: may change and lock campaigns (and groups)."""
    return make_user("alice", *OPERATOR_PERMISSIONS)


@pytest.fixture
def bob(make_user):
    """Another operator with the same permissions as alice."""
    return make_user("bob", *OPERATOR_PERMISSIONS)


@pytest.fixture
def victor(make_user):
    """A signed-in user who may look at everything and change nothing."""
    return make_user("victor")


@pytest.fixture
def superuser(make_user):
    """The site's only active superuser (password ``pw-root``): the commands act for it when
    ``--user`` is left out, and it may change any campaign without a lock of its own."""
    return make_user("root", superuser=True)


@pytest.fixture
def make_campaign(couch_db, alice):
    """``make_campaign(subbands=12, *, user=alice, **plan)``: a campaign created through the
    services (the path every interface takes) in the test's database: the example config
    (pref_cal1.yaml) over the example SRM list's first ``subbands`` lines, unless ``plan`` gives
    other ``config_data``/``srmlist_data``; ``plan`` passes any other argument of
    ``create_tokenset`` (database, token_type, slice_size, attachments, …)."""

    def make(subbands: int = 12, *, user=None, **plan):
        if "config_data" not in plan:
            plan.update(config_data=EXAMPLE_CONFIG, config_name="pref_cal1.yaml")
        if "srmlist_data" not in plan:
            lines = EXAMPLE_SRMLIST.splitlines(keepends=True)[:subbands]
            plan.update(srmlist_data=b"".join(lines), srmlist_name="L229507.srmlist")
        campaign, report = services.create_tokenset(user=user or alice, **{"database": couch_db, **plan})
        assert report.complete and report.failed == 0, report
        return campaign

    return make


@pytest.fixture
def campaign(make_campaign):
    """Twelve tokens (subbands 0-11 of the example observation) by alice in the test's database."""
    return make_campaign()


@pytest.fixture
def stop_couch_after(couch_server, gateway, monkeypatch):
    """``progress = stop_couch_after(token_ids)``: a push's progress callback that stops the
    session's server (a real stop; it starts again on the same data) once exactly the tokens
    ``token_ids``, the push's first batches, are written.

    A push keeps ``COUCHDB_WRITES_IN_FLIGHT`` bulk writes in flight, so batches after those may
    be sent, and land, before the callback runs. Here the write of a batch holding any other
    token waits until the server is gone and then finds it gone: the test knows exactly which
    tokens are there. The server is started again after the test if the test did not.
    """

    def arm(token_ids) -> callable:
        first = set(token_ids)
        stopped = threading.Event()
        write = gateway.bulk_docs

        def bulk_docs(db, docs):
            ids = {doc.id if isinstance(doc, EncodedDoc) else doc["_id"] for doc in docs}
            if not ids <= first and not stopped.wait(timeout=120):
                raise AssertionError("the push never reported the first tokens written")
            return write(db, docs)

        def progress(processed, total):
            if processed == len(first) and not stopped.is_set():
                couch_server.stop()
                stopped.set()

        monkeypatch.setattr(gateway, "bulk_docs", bulk_docs)
        return progress

    yield arm
    if not couch_server.running():
        couch_server.start()


@pytest.fixture(scope="session")
def output_dir():
    """Where a test run leaves screenshots and other artefacts for people to look at."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
