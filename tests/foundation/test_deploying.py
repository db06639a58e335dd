"""docs/deploying.md (where the README sends a deployer), pasted block by block on a clean
machine, gives a working portal.

The blocks marked ``<!-- deploy:... -->`` in docs/deploying.md are run exactly as written, in order, by
bash in a copy of the checkout with nothing installed: ``run`` and ``configure`` blocks to their
end, ``serve`` blocks in the background. Only what the document tells the reader to edit is edited:
the values in ``.env`` that name the servers (a fresh PostgreSQL database, the session's CouchDB)
and the port gunicorn binds. Then a page and a static file are fetched from that gunicorn.
"""

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

from devtools.localcouch import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOYING = ROOT / "docs" / "deploying.md"
BLOCK = re.compile(r"^( *)<!-- deploy:(\w+) -->\n\1```sh\n(.*?)^\1```$", re.M | re.S)
EXAMPLE_BIND = "127.0.0.1:8000"

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def readme_blocks() -> list[tuple[str, str]]:
    """(kind, script) of every marked block of docs/deploying.md, in order, dedented as a reader copies it."""
    blocks = []
    for indent, kind, body in BLOCK.findall(DEPLOYING.read_text()):
        lines = [line.removeprefix(indent) for line in body.splitlines()]
        blocks.append((kind, "\n".join(lines) + "\n"))
    return blocks


def test_the_readme_sends_a_deployer_to_the_deploying_blocks():
    assert "(docs/deploying.md)" in (ROOT / "README.md").read_text()


def test_the_deploying_document_has_its_blocks_in_order():
    assert [kind for kind, _ in readme_blocks()] == ["run", "configure", "run", "serve", "serve", "serve", "run"]


def copy_checkout(target: Path) -> None:
    """The project's files as a release has them: tracked and new files, nothing ignored (no .venv, no var/)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
        capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture
def fresh_database():
    """A new, empty PostgreSQL database on the server the tests use; its URL."""
    import psycopg

    conf = settings.DATABASES["default"]
    name = f"deploy_{uuid.uuid4().hex[:10]}"
    server = dict(host=conf["HOST"] or "127.0.0.1", port=conf["PORT"] or 5432, user=conf["USER"], password=conf["PASSWORD"])
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{server['user']}:{server['password']}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def edit_env_file(path: Path, values: dict[str, str]) -> None:
    lines = path.read_text().splitlines()
    edited = [f"{line.partition('=')[0]}={values[line.partition('=')[0]]}" if line.partition("=")[0] in values else line
              for line in lines]
    assert {line.partition("=")[0] for line in lines} >= set(values), "docs/deploying.md's .env lacks a setting the reader edits"
    path.write_text("\n".join(edited) + "\n")


def test_pasting_the_deploying_section_gives_a_working_portal(tmp_path, fresh_database, couch_server):
    """It is one long test because it is one reader's session: the document's blocks run in order in
    one copy of the checkout, and the checks at the end are of the portal those blocks started."""
    portal = tmp_path / "portal"
    copy_checkout(portal)
    # A clean login shell: nothing of the test's settings or virtual environment.
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)), "LANG": "C.UTF-8"}
    python_dir = Path(shutil.which("python3", path=os.environ["PATH"].replace(str(ROOT / ".venv" / "bin"), ""))).parent
    env["PATH"] = f"{python_dir}:{env['PATH']}"
    port = free_port()
    servers: list[subprocess.Popen] = []
    try:
        for number, (kind, script) in enumerate(readme_blocks(), 1):
            log = tmp_path / f"block{number}.log"
            if kind == "serve":
                servers.append(subprocess.Popen(
                    ["bash", "-euo", "pipefail", "-c", script.replace(EXAMPLE_BIND, f"127.0.0.1:{port}")],
                    cwd=portal, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,
                ))
                continue
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=portal, env=env,
                                  stdout=open(log, "wb"), stderr=subprocess.STDOUT, timeout=600)
            assert done.returncode == 0, f"block {number} failed:\n{script}\n{log.read_text()}"
            if kind == "configure":
                edit_env_file(portal / ".env", {
                    "ALLOWED_HOSTS": "127.0.0.1", "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
                    "DATABASE_URL": fresh_database, "COUCHDB_URL": couch_server.url, "COUCHDB_USER": couch_server.user,
                    "COUCHDB_PASSWORD": couch_server.password,
                })
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                health = requests.get(url + "/healthz", timeout=10)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, (tmp_path / "block4.log").read_text()
                time.sleep(0.5)
        assert health.status_code == 200, health.text
        # SECURE_SSL_REDIRECT is on as docs/deploying.md configures it: plain HTTP is redirected, and what
        # a TLS proxy forwards is served.
        assert requests.get(url + "/accounts/login/", allow_redirects=False, timeout=10).status_code == 301
        https = {"X-Forwarded-Proto": "https"}
        page = requests.get(url + "/accounts/login/", headers=https, timeout=30)
        assert page.status_code == 200
        css = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', page.text)
        assert css, page.text
        static = requests.get(url + css.group(1), headers=https, timeout=30)
        assert static.status_code == 200
        assert "immutable" in static.headers["Cache-Control"]
        # The administrator the document created can sign in.
        with requests.Session() as session:
            form = session.get(url + "/accounts/login/", headers=https, timeout=30)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
            signed_in = session.post(
                url + "/accounts/login/", headers={**https, "Referer": f"https://127.0.0.1:{port}/accounts/login/"},
                data={"username": "admin", "password": "choose-a-long-one", "csrfmiddlewaretoken": token},
                cookies={"csrftoken": form.cookies.get("csrftoken") or session.cookies.get("csrftoken")},
                allow_redirects=False, timeout=30,
            )
            assert signed_in.status_code == 302, signed_in.text[:2000]
        for server in servers:
            assert server.poll() is None, "a served process stopped"
    finally:
        for server in servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=60)
