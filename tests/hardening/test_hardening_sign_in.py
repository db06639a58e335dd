"""The sign-in limit: counted on the name as Django authenticates it, per client address, in a
cache every worker process shares (the database cache ``migrate`` creates).

The last test runs the portal under gunicorn with three worker processes on a SQLite file and
sends the attempts over real HTTP, spread over the workers.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from devtools.localcouch import free_port
from hardening_support import PASSWORD
from tokenportal.login import slot_keys

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Each of these is "op2" once the sign-in form has cleaned it (stripped, NFKC) and case is ignored.
VARIANTS = [" op2", "op2 ", "ｏp2", "ｏｐ２", "OP2", "\top2\n"]


@pytest.fixture
def login_limit(settings):
    settings.LOGIN_RATE_LIMIT = 3
    cache.clear()
    yield 3
    cache.clear()


@pytest.fixture
def op2(django_user_model):
    return django_user_model.objects.create_user("op2", password=PASSWORD)


def sign_in(client, username, password, address="10.0.0.1", **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def test_migrate_creates_the_table_of_the_default_cache(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert settings.CACHES["default"]["LOCATION"] in connection.introspection.table_names()


def test_sign_in_is_refused_with_429_after_the_limit_even_with_the_right_password(client, operator, login_limit):
    for _ in range(login_limit):
        assert sign_in(client, "operator", "wrong").status_code == 200
    response = sign_in(client, "operator", PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert b"Try again in 15 minutes" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_spelling_of_a_name_shares_its_budget(client, op2, login_limit, variant):
    for failed in [*VARIANTS, "op2"][:login_limit]:
        assert sign_in(client, failed, "wrong").status_code == 200
    assert sign_in(client, variant, "wrong").status_code == 429
    # Django would sign in with the right password typed that way, were it not refused.
    assert sign_in(client, variant, PASSWORD).status_code == 429
    assert sign_in(client, "op2", PASSWORD).status_code == 429


@pytest.mark.parametrize("variant", [" op2", "op2 ", "ｏp2", "ｏｐ２"])
def test_django_signs_in_with_these_spellings_when_not_limited(client, op2, login_limit, variant):
    assert sign_in(client, variant, PASSWORD).status_code == 302


def test_the_limit_counts_per_user_name_and_address(client, operator, viewer, login_limit):
    for _ in range(login_limit):
        sign_in(client, "operator", "wrong")
    assert sign_in(client, "OPERATOR", PASSWORD).status_code == 429
    assert sign_in(client, "operator", PASSWORD, address="10.0.0.2").status_code == 302
    assert sign_in(Client(), "viewer", PASSWORD).status_code == 302


def test_x_forwarded_for_is_ignored_without_trusted_proxies(client, operator, login_limit):
    for hop in range(login_limit):
        sign_in(client, "operator", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{hop}")
    assert sign_in(client, "operator", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_with_a_trusted_proxy_the_address_it_saw_counts(client, operator, login_limit, settings):
    settings.TRUSTED_PROXIES = 1
    # The proxy (10.0.0.1) appends the client it saw; what the client wrote before that is not believed.
    for forged in range(login_limit):
        sign_in(client, "operator", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{forged}, 203.0.113.7")
    assert sign_in(client, "operator", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert sign_in(client, "operator", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302


def test_more_trusted_proxies_than_hops_counts_the_first_address(client, operator, login_limit, settings):
    settings.TRUSTED_PROXIES = 3
    for _ in range(login_limit):
        sign_in(client, "operator", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert sign_in(client, "operator", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429


def test_a_successful_sign_in_clears_the_count(client, operator, login_limit):
    for _ in range(login_limit - 1):
        sign_in(client, "operator", "wrong")
    assert sign_in(client, "operator", PASSWORD).status_code == 302
    client.logout()
    for _ in range(login_limit - 1):
        sign_in(client, "operator", "wrong")
    assert sign_in(client, "operator", PASSWORD).status_code == 302


def test_an_attempt_is_allowed_again_when_its_slot_expires(client, operator, login_limit):
    for _ in range(login_limit):
        sign_in(client, "operator", "wrong")
    assert sign_in(client, "operator", PASSWORD).status_code == 429
    # Fifteen minutes cannot be waited for in a test: expire the oldest attempt's slot now.
    assert cache.touch(slot_keys("operator", "10.0.0.1")[0], 0)
    assert sign_in(client, "operator", PASSWORD).status_code == 302


# -- several worker processes --------------------------------------------------------------------

@pytest.fixture
def gunicorn(tmp_path):
    """The portal under gunicorn, 3 workers, on a migrated SQLite file, limit 4, default cache."""
    env = {key: value for key, value in os.environ.items() if key != "CACHE_URL"}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}", LOGIN_RATE_LIMIT="4", PYTHONPATH=str(ROOT))
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--verbosity=0"], cwd=ROOT, env=env, check=True, timeout=300)
    subprocess.run(
        [*manage, "shell", "-c", f"from django.contrib.auth.models import User; User.objects.create_user('op2', password={PASSWORD!r})"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )
    port = free_port()
    access_log = tmp_path / "access.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}", "--access-logfile",
         str(access_log), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "tokenportal.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.err", "wb"),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, (tmp_path / "gunicorn.err").read_text()
        try:
            if requests.get(url + "/accounts/login/", timeout=5).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or a worker still starting on a busy machine
        assert time.monotonic() < deadline, "gunicorn did not answer"
        time.sleep(0.2)

    def stop() -> list[str]:
        """Stop gunicorn and return its access log (workers write it buffered, complete on exit)."""
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        return access_log.read_text().splitlines()

    yield url, stop
    stop()


def attempt(url: str, username: str, password: str, start: threading.Barrier) -> int:
    """One browser-like sign-in on its own connection: fetch the form, then post when all may."""
    with requests.Session() as session:
        session.get(url + "/accounts/login/", timeout=60)
        start.wait(timeout=120)
        response = session.post(
            url + "/accounts/login/", timeout=120, allow_redirects=False,
            data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        )
        return response.status_code


def attempts_at_once(url: str, credentials: list[tuple[str, str]]) -> Counter:
    start = threading.Barrier(len(credentials))
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda name=name, pw=pw: statuses.append(attempt(url, name, pw, start)))
        for name, pw in credentials
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(statuses)


def test_the_limit_holds_across_gunicorn_workers(gunicorn):
    url, stop = gunicorn
    limit = 4
    # Twice the limit of wrong passwords at once, every spelling of the name: the workers share
    # one count, so exactly the limit reach the password check (200) and the rest are refused.
    failures = [(VARIANTS[index % len(VARIANTS)], "wrong") for index in range(2 * limit)]
    assert attempts_at_once(url, failures) == Counter({200: limit, 429: limit})
    # The right password, typed any way Django would accept, is refused while the limit holds.
    right = [(variant, PASSWORD) for variant in [*VARIANTS, "op2"]]
    assert attempts_at_once(url, right) == Counter({429: len(right)})
    posts = [line.split() for line in stop() if " POST /accounts/login/ " in line]
    assert len(posts) == 2 * limit + len(right)
    workers = Counter(pid for pid, *_ in posts)
    assert len(workers) >= 2, workers
    assert all(re.fullmatch(r"<\d+>", pid) for pid in workers)
