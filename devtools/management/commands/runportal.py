"""``manage.py runportal``: the development server that ``make run`` starts.

Migrates, starts the local CouchDB (pouchdb-server under ``var/couchdb/``) when COUCHDB_URL is a
plain ``http://127.0.0.1:PORT`` or ``http://localhost:PORT`` address and nothing answers there,
creates a first superuser ``admin`` with a random password when there are no users, starts the
changes follower (``manage.py follow_changes``, which keeps the pages' read model) and one task
worker (``manage.py db_worker``) when the task backend is the database one, then serves the
portal. Ctrl-C stops the follower, the worker and both servers.
"""

import os
import secrets
import subprocess
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks import task_backends
from django_tasks_db import DatabaseBackend

from devtools.localcouch import LocalCouchError, LocalCouchServer
from tokens_app.management.base import PortalCommand
from tokens_app.couch import couch_connection
from tokens_app.services.layout import create_default_database

LOCAL_DEFAULT = "http://127.0.0.1:5984"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
# How often the idle worker looks for queued work, and how long it may take to stop.
WORKER_POLL_SECONDS = "0.5"
WORKER_STOP_SECONDS = 10


class Command(PortalCommand):
    help = "Run the portal for development: migrate, local CouchDB, first superuser, runserver."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="address:port to serve on")
        parser.add_argument("--noreload", action="store_true", help="do not restart on code changes")
        parser.add_argument("--noworker", action="store_true", help="do not start a task worker")

    def handle(self, *args, addrport, noreload, noworker, **options):
        server = worker = follower = None
        # With the autoreloader this command runs again in the child process (RUN_MAIN set):
        # only the outer process prepares and owns the local CouchDB and the worker.
        if os.environ.get("RUN_MAIN") != "true":
            call_command("migrate", interactive=False, verbosity=0)
            server = self._start_local_couchdb()
            self._create_first_superuser()
            follower = self._start_follower()
            worker = None if noworker else self._start_worker()
        try:
            call_command("runserver", addrport, use_reloader=not noreload)
        finally:
            for name, process in (("task worker", worker), ("changes follower", follower)):
                if process is not None:
                    self._stop(name, process)
            if server is not None:
                self.stdout.write("Stopping the local CouchDB.")
                server.stop()

    def _start_worker(self) -> subprocess.Popen | None:
        """One ``db_worker`` process for the operations the portal queues."""
        if not isinstance(task_backends["default"], DatabaseBackend):
            self.stdout.write(f"Tasks go to {settings.TASKS_BACKEND}: run that backend's workers yourself.")
            return None
        self.stdout.write("Starting a task worker (manage.py db_worker).")
        return subprocess.Popen([
            sys.executable, str(settings.BASE_DIR / "manage.py"), "db_worker", "--no-reload", "--no-startup-delay",
            "--interval", WORKER_POLL_SECONDS, "--verbosity", "0",
        ])

    def _start_follower(self) -> subprocess.Popen:
        """The ``_changes`` follower: without it the pages show the portal's own writes only."""
        self.stdout.write("Starting the changes follower (manage.py follow_changes).")
        return subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), "follow_changes"],
                                stdout=subprocess.DEVNULL)

    def _stop(self, name: str, process: subprocess.Popen) -> None:
        """Ctrl-C reached the process too (same terminal) and asked it to stop (the worker after
        its current operation); the SIGTERM sent here stops it at once. An operation the worker
        was running is recorded as interrupted, and resuming it completes the work."""
        self.stdout.write(f"Stopping the {name}.")
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _start_local_couchdb(self) -> LocalCouchServer | None:
        conf = settings.COUCHDB
        port = bundled_port(conf["URL"])
        if port is None:
            self.stdout.write(f"Using CouchDB at {couch_connection().server}.")
            return None
        # One data folder whatever the port: moving the server to another port keeps the tokens.
        server = LocalCouchServer(
            settings.VAR_DIR / "couchdb", port=port, user=conf["USER"], password=conf["PASSWORD"]
        )
        if conf["URL"].rstrip("/") != LOCAL_DEFAULT:
            # Other shells read only the environment and .env, not this process's make variables.
            self.stdout.write(
                f"Commands in other shells reach this CouchDB with COUCHDB_URL={conf['URL']} "
                "(export it there, or set it in .env)."
            )
        if server.answers():
            self.stdout.write(f"A CouchDB already answers at {server.url}; using it.")
            return None
        self.stdout.write(f"Starting the local CouchDB at {server.url} (data in {server.workdir}).")
        try:
            server.start()
        except LocalCouchError as exc:
            server.stop()
            raise SystemExit(f"Error: {exc}") from None
        create_default_database()
        return server

    def _create_first_superuser(self) -> None:
        users = get_user_model()
        if users.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser("admin", "", password)
        self.stdout.write(self.style.SUCCESS(f"Created the superuser 'admin' with password: {password}"))
        self.stdout.write("It is shown only this once; change it after signing in.")


def bundled_port(url: str) -> int | None:
    """The port to start the bundled CouchDB on for COUCHDB_URL: ``http://127.0.0.1:PORT`` or
    ``http://localhost:PORT`` (what ``make run COUCHDB_PORT=PORT`` sets). None for a server of its
    own: another host, https, a path, credentials, or no port (that is port 80, not ours to take).
    """
    parts = urlsplit(url.strip())
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or parts.username or parts.path not in ("", "/"):
        return None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise CommandError(f"COUCHDB_URL={url!r} has no valid port: give a number from 1 to 65535")
    return port
