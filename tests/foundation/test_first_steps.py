"""A newcomer's first steps, as the README gives them, in a fresh copy of the project (issue 16,
items 1 and 2): ``make run PORT=… COUCHDB_PORT=…`` serves the portal and starts the bundled
CouchDB on those ports, and the README's commands work in a second shell that has nothing but
PATH, because ``make run`` wrote a development ``.env`` that every ``manage.py`` reads.

The copy shares this checkout's ``.venv`` and ``couchdb/node_modules``; its own stamp files tell
make that both are installed, so nothing is installed into them.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from devtools.localcouch import free_port

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 120


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory):
    """The project's files (tracked and new, not ignored ones) copied into an empty folder."""
    copy = tmp_path_factory.mktemp("fresh") / "tokenportal"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to((ROOT / ".venv").resolve())
    (copy / "couchdb" / "node_modules").symlink_to((ROOT / "couchdb" / "node_modules").resolve())
    stamps = copy.parent / "stamps"
    stamps.mkdir()
    for stamp in ("python", "node"):
        (stamps / stamp).touch()
    return copy


def new_shell() -> dict:
    """The environment of a new terminal: no setting of the portal's, no test session's."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}


def make(copy: Path, *args) -> list[str]:
    stamps = copy.parent / "stamps"
    return ["make", "--no-print-directory", "-C", str(copy), *args,
            f"STAMP={stamps / 'python'}", f"NODE_STAMP={stamps / 'node'}"]


def run_make(copy: Path, *args) -> tuple[int, str, str]:
    """``make`` to the end, in a session of its own: on a timeout every process it started goes."""
    process = subprocess.Popen(make(copy, *args), env=new_shell(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=START_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    return process.returncode, out, err


def manage(copy: Path, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [".venv/bin/python", "manage.py", *args], cwd=copy, env=env or new_shell(),
        capture_output=True, text=True, timeout=180,
    )


def answers(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None


def wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while answers(url) != 200:
        assert process.poll() is None, f"make run exited with {process.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"{url} did not answer 200:\n{log.read_text()}"
        time.sleep(0.2)


def test_make_run_on_other_ports_and_the_readme_commands_in_a_second_shell(fresh_copy):
    copy = fresh_copy
    assert not (copy / ".env").exists()
    port, couch_port = free_port(), free_port()
    log = copy.parent / "make-run.log"
    with open(log, "w") as output:
        # A session of its own, as a terminal's: Ctrl-C reaches make, runportal and its children.
        portal = subprocess.Popen(
            make(copy, "run", f"PORT={port}", f"COUCHDB_PORT={couch_port}"),
            env=new_shell(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", portal, log)
        assert answers(f"http://127.0.0.1:{couch_port}/") == 200  # the bundled CouchDB, on its port
        env_file = (copy / ".env").read_text()
        assert "\nDEBUG=true\n" in env_file and env_file == (copy / ".env.example").read_text()

        # The second shell: the README's commands, copied, with nothing set: make run kept the
        # address of the CouchDB it started in var/, and every command of the folder reads it.
        assert (copy / "var" / "couchdb_url").read_text() == f"http://127.0.0.1:{couch_port}\n"
        second = new_shell()
        helped = manage(copy, "--help", env=second)
        assert helped.returncode == 0 and "seed_demo" in helped.stdout and "simulate_pilots" in helped.stdout
        assert "SECRET_KEY" not in helped.stderr
        seeded = manage(copy, "seed_demo", env=second)
        assert seeded.returncode == 0, seeded.stderr
        # The line it suggests is one to paste as it stands.
        assert "Watch it move: .venv/bin/python manage.py simulate_pilots --type pref_cal1 --database tokens" in seeded.stdout
        piloted = manage(copy, "simulate_pilots", "--type", "pref_cal1", "--workers", "2", "--failure-rate", "0.1",
                         "--job-seconds", "0.2", "--max-tokens", "6", env=second)
        assert piloted.returncode == 0, piloted.stderr
        assert "/6 tokens" in piloted.stderr and "2 pilots processed 6 tokens" in piloted.stdout
        table = manage(copy, "token_status", env=second)
        assert table.returncode == 0 and table.stdout.splitlines()[1].split()[:3] == ["pref_cal1", "tokens", "ready"]

        # Or the address in .env: then a bare new shell reaches it too.
        with open(copy / ".env", "a") as env_file:
            env_file.write(f"COUCHDB_URL=http://127.0.0.1:{couch_port}\n")
        [report] = json.loads(manage(copy, "token_status", "--json").stdout)
        assert report["counts"]["done"] + report["counts"]["error"] == 6

        # What the portal shows is what the second shell wrote.
        assert answers(f"http://127.0.0.1:{port}/healthz") == 200
    finally:
        os.killpg(portal.pid, signal.SIGINT)
        try:
            portal.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(portal.pid, signal.SIGKILL)
            portal.wait()
    assert answers(f"http://127.0.0.1:{couch_port}/") is None  # Ctrl-C stopped the bundled CouchDB too
    assert answers(f"http://127.0.0.1:{port}/healthz") is None
    # Read once it stopped: runportal's output to a file is flushed when it exits.
    said = log.read_text()
    assert f"Starting the local CouchDB at http://127.0.0.1:{couch_port}" in said
    assert f"Commands in other shells of this folder reach this CouchDB at http://127.0.0.1:{couch_port} too" in said
    assert "Created the superuser 'admin' with password:" in said and "Stopping the local CouchDB." in said


def test_without_env_every_command_says_in_one_line_what_is_missing(tmp_path):
    """Before the first make run (or in production without a setting): one line, no traceback,
    for --help too (which otherwise lists only Django's own commands)."""
    env = {**new_shell(), "TOKENPORTAL_ENV_FILE": os.devnull, "TOKENPORTAL_VAR_DIR": str(tmp_path / "var")}
    for args in (["--help"], ["seed_demo"], ["check", "--deploy"]):
        done = manage(ROOT, *args, env=env)
        assert done.returncode == 1, args
        assert done.stderr.splitlines() == [
            "Error: SECRET_KEY is not set. Set it in the environment or in .env (only a DEBUG installation "
            "generates one by itself; for development, make run writes a .env with DEBUG=true, or copy "
            ".env.example to .env)."
        ], args
    garbage = manage(ROOT, "--help", env={**env, "DEBUG": "maybe"})
    assert garbage.returncode == 1
    assert garbage.stderr == "Error: DEBUG='maybe' is not a valid value for DEBUG: give true or false\n"
    assert not (tmp_path / "var").exists()


def test_make_run_never_overwrites_an_existing_env(fresh_copy):
    env_file = fresh_copy / ".env"
    env_file.write_text("DEBUG=true\nCOUCHDB_DATABASE=mine\n")
    code, out, _ = run_make(fresh_copy, ".env")
    assert code == 0 and "up to date" in out
    assert env_file.read_text() == "DEBUG=true\nCOUCHDB_DATABASE=mine\n"


@pytest.mark.parametrize("couch_port", ["abc", "0", "99999"])
def test_a_couchdb_port_that_is_no_port_is_one_line(fresh_copy, couch_port):
    code, _, err = run_make(fresh_copy, "run", f"PORT={free_port()}", f"COUCHDB_PORT={couch_port}")
    assert code != 0
    assert (f"CommandError: COUCHDB_URL='http://127.0.0.1:{couch_port}' has no valid port: "
            "give a number from 1 to 65535") in err.splitlines()


@pytest.mark.parametrize(("url", "port"), [
    ("http://127.0.0.1:5984", 5984), ("http://localhost:5990/", 5990), (" http://127.0.0.1:7000 ", 7000),
    # A server of its own: nothing to start there.
    ("https://127.0.0.1:5990", None), ("http://admin:pw@127.0.0.1:5990", None), ("http://10.1.2.3:5984", None),
    ("http://couch.example.org:5984", None), ("http://127.0.0.1:5984/prefix", None), ("http://127.0.0.1", None),
])
def test_which_couchdb_url_gets_the_bundled_server(url, port):
    from devtools.management.commands.runportal import bundled_port

    assert bundled_port(url) == port
