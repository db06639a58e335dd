"""The portal as the README deploys it: gunicorn worker processes, DEBUG off.

- every worker's ``/healthz`` follows CouchDB through a restart (no worker stays 503);
- static files come from the application server under hashed names, compressed and cached long;
- a setting that needs a client package which is missing stops the start, naming the package.
"""

import os
import re
import subprocess
import sys
import time

import pytest
import requests

from production_support import ROOT, Portal

from tokens_app.couch import get_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(tmp_path):
    portal = Portal(tmp_path, workers=3)
    portal.prepare()
    portal.start()
    yield portal
    portal.stop()


@pytest.fixture
def renewed_session(couch_server):
    """Log this process in again after a test restarted CouchDB (the next tests expect a live session)."""
    yield
    get_gateway().authenticated_user()


def test_every_worker_answers_healthz_200_again_right_after_couchdb_restarts(portal, couch_server, renewed_session):
    # Many requests, so every worker has served (and kept a CouchDB session and connection).
    assert {requests.get(portal.url + "/healthz", timeout=30).status_code for _ in range(30)} == {200}
    couch_server.stop()
    couch_server.start()
    statuses = [requests.get(portal.url + "/healthz", timeout=30).status_code for _ in range(30)]
    assert statuses == [200] * 30, portal.log()


def test_every_worker_recovers_when_couchdb_was_down_for_a_while(portal, couch_server, renewed_session):
    assert {requests.get(portal.url + "/healthz", timeout=30).status_code for _ in range(30)} == {200}
    couch_server.stop()
    assert {requests.get(portal.url + "/healthz", timeout=30).status_code for _ in range(30)} == {503}
    couch_server.start()
    statuses = [requests.get(portal.url + "/healthz", timeout=30).status_code for _ in range(30)]
    assert statuses == [200] * 30, portal.log()


def test_static_files_are_served_by_gunicorn_hashed_compressed_and_cached_long(tmp_path, couch_server):
    # The settings a deployment has: DEBUG off and the manifest on by default (not the tests' plain storage).
    portal = Portal(tmp_path, workers=1, STATIC_MANIFEST=None)
    portal.prepare()
    collected = portal.manage("collectstatic", "--noinput", "--verbosity=0")
    assert collected.returncode == 0, collected.stderr
    portal.start()
    try:
        page = requests.get(portal.url + "/accounts/login/", timeout=30)
        assert page.status_code == 200, portal.log()
        css = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', page.text)
        assert css, page.text
        response = requests.get(portal.url + css.group(1), headers={"Accept-Encoding": "gzip"}, timeout=30)
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "max-age=315360000" in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]
        assert "body" in response.text
        # The plain name still answers (bookmarks, old pages), but is not cached for long.
        plain = requests.get(portal.url + "/static/css/portal.css", timeout=30)
        assert plain.status_code == 200
        assert "immutable" not in plain.headers.get("Cache-Control", "")
        assert requests.get(portal.url + "/static/css/nothing.css", timeout=30).status_code == 404
    finally:
        portal.stop()


def load_settings(env: dict, blocked: list[str]) -> subprocess.CompletedProcess:
    """Load the settings in a new interpreter where the ``blocked`` modules cannot be imported (as
    when their packages are not installed: None in sys.modules makes every import of one fail)."""
    code = f"import sys; sys.modules.update(dict.fromkeys({blocked!r})); import django; django.setup()"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**env, "DJANGO_SETTINGS_MODULE": "tokenportal.settings", "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.parametrize(("setting", "url", "blocked", "expected"), [
    ("CACHE_URL", "redis://:cache-secret@127.0.0.1:6379/1", ["redis"],
     "CACHE_URL (redis://...) needs the Python package redis, which cannot be imported (import of redis halted; "
     "None in sys.modules): pip install '.[redis]' in the portal's folder (or pip install redis)"),
    ("CACHE_URL", "memcache://127.0.0.1:11211", ["pymemcache"],
     "CACHE_URL (memcache://...) needs the Python package pymemcache, which cannot be imported (import of "
     "pymemcache halted; None in sys.modules): pip install '.[memcached]' in the portal's folder (or pip install pymemcache)"),
    # psycopg2 would do for PostgreSQL too: both blocked, as on a machine with neither.
    ("CACHE_URL", "pymemcache://127.0.0.1:11211", ["pymemcache"],
     "CACHE_URL (pymemcache://...) needs the Python package pymemcache, which cannot be imported (import of "
     "pymemcache halted; None in sys.modules): pip install '.[memcached]' in the portal's folder (or pip install pymemcache)"),
    ("DATABASE_URL", "postgres://portal:db-secret@127.0.0.1:5432/portal", ["psycopg", "psycopg2"],
     "DATABASE_URL (postgres://...) needs the Python package psycopg, which cannot be imported (import of psycopg "
     "halted; None in sys.modules): pip install '.[postgres]' in the portal's folder (or pip install 'psycopg[binary]')"),
])
def test_a_backend_whose_client_is_missing_stops_the_start_naming_the_package(setting, url, blocked, expected):
    env = {key: value for key, value in os.environ.items() if key not in ("CACHE_URL", "DATABASE_URL")}
    result = load_settings({**env, setting: url}, blocked)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == f"django.core.exceptions.ImproperlyConfigured: {expected}"
    assert "secret" not in result.stderr


@pytest.mark.parametrize("url", ["memcache://127.0.0.1:11211", "pymemcache://127.0.0.1:11211"])
def test_memcache_urls_use_the_maintained_pymemcache_client(url):
    """django-environ maps memcache:// to the MemcachedCache Django removed; the settings use
    PyMemcacheCache (pymemcache stands in as an empty module: only its presence is looked at)."""
    env = {key: value for key, value in os.environ.items() if key != "CACHE_URL"}
    code = ("import sys, types, importlib.machinery; module = types.ModuleType('pymemcache'); "
            "module.__spec__ = importlib.machinery.ModuleSpec('pymemcache', None); sys.modules['pymemcache'] = module; "
            "import django; "
            "django.setup(); from django.conf import settings; print(settings.CACHES['default']['BACKEND'])")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**env, "DJANGO_SETTINGS_MODULE": "tokenportal.settings", "PYTHONPATH": str(ROOT),
             "CACHE_URL": url},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.cache.backends.memcached.PyMemcacheCache"


@pytest.mark.parametrize(("url", "expected"), [
    ("dbcache://tokenportal_cache", 100_000),
    ("dbcache://tokenportal_cache?max_entries=500", 500),
    ("locmemcache://", 100_000),
])
def test_the_database_cache_keeps_the_shared_reads_of_many_campaigns(url, expected):
    """Django's default of 300 entries, culled a third at a time in key order, would drop the
    shared counts first once a few dozen campaigns are watched."""
    env = {key: value for key, value in os.environ.items() if key != "CACHE_URL"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default']['OPTIONS'])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**env, "DJANGO_SETTINGS_MODULE": "tokenportal.settings", "PYTHONPATH": str(ROOT), "CACHE_URL": url},
    )
    assert result.returncode == 0, result.stderr
    assert f"'MAX_ENTRIES': {expected}" in result.stdout


@pytest.mark.parametrize("garbage", ["abc", "0", "-5", "1.5", "%2e%2e", "１０"])
def test_a_cache_size_that_is_no_whole_number_stops_the_start(garbage):
    """Django would read it as 300 (or cull at every write): the start says what is wrong."""
    env = {key: value for key, value in os.environ.items() if key != "CACHE_URL"}
    result = load_settings({**env, "CACHE_URL": f"dbcache://tokenportal_cache?max_entries={garbage}"}, [])
    assert result.returncode != 0
    assert "CACHE_URL: max_entries=" in result.stderr and "is not a valid value" in result.stderr
