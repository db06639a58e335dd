"""The task settings (TASKS_BACKEND, TASKS_LEASE_SECONDS) refuse garbage at startup, and
``runportal`` runs one task worker next to the web server and stops it with the server."""

import json
import os
import signal
import subprocess
import sys

import pytest
from operation_support import DATABASE_BACKEND, ROOT, wait_until

from devtools.localcouch import free_port

PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'tasks': settings.TASKS, 'lease': settings.TASKS_LEASE_SECONDS}))"
)


def load_settings(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKS_")}
    clean.update(SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw", TOKENPORTAL_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_the_task_backend_defaults_to_the_database_and_can_be_named(tmp_path):
    default = json.loads(load_settings(tmp_path).stdout)
    assert default["tasks"]["default"]["BACKEND"] == DATABASE_BACKEND and default["lease"] == 60
    chosen = json.loads(load_settings(
        tmp_path, TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend", TASKS_LEASE_SECONDS="5"
    ).stdout)
    assert chosen["tasks"]["default"]["BACKEND"] == "django_tasks.backends.immediate.ImmediateBackend"
    assert chosen["lease"] == 5


@pytest.mark.parametrize(("env", "message"), [
    ({"TASKS_BACKEND": "not a class path"}, "TASKS_BACKEND='not a class path' is not a valid value for TASKS_BACKEND"),
    ({"TASKS_BACKEND": "redis://x"}, "give the dotted path of a task backend class"),
    ({"TASKS_BACKEND": "no_such_module.Backend"},
     "TASKS_BACKEND='no_such_module.Backend' is not a valid value for TASKS_BACKEND: Could not find backend"),
    ({"TASKS_LEASE_SECONDS": "soon"}, "TASKS_LEASE_SECONDS='soon' is not a valid value for TASKS_LEASE_SECONDS"),
    ({"TASKS_LEASE_SECONDS": "0"}, "TASKS_LEASE_SECONDS=0 is not a valid value for TASKS_LEASE_SECONDS: give at least 1"),
])
def test_garbage_task_settings_are_refused_in_one_line(tmp_path, env, message):
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0 and message in result.stderr


def workers_of(pid: int) -> list[int]:
    """The process ids of the ``db_worker`` children of ``pid``."""
    ps = subprocess.run(["ps", "-ww", "--ppid", str(pid), "-o", "pid=,args="], capture_output=True, text=True)
    return [int(line.split()[0]) for line in ps.stdout.splitlines() if "db_worker --no-reload" in line]


def test_runportal_runs_a_worker_and_stops_it_on_ctrl_c(tmp_path, couch_server):
    env = {
        **os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}", "TASKS_BACKEND": DATABASE_BACKEND,
        "TOKENPORTAL_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT),
    }
    portal = subprocess.Popen(
        [sys.executable, "manage.py", "runportal", f"127.0.0.1:{free_port()}", "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert "Starting a task worker" in wait_until(
            lambda: next((line for line in portal.stdout if "task worker" in line), None), "runportal's worker"
        )
        [worker] = wait_until(lambda: workers_of(portal.pid), "the db_worker process")
        portal.send_signal(signal.SIGINT)
        portal.wait(60)
        assert not os.path.exists(f"/proc/{worker}")  # stopped and reaped by runportal
    finally:
        if portal.poll() is None:
            portal.kill()
            portal.wait()
