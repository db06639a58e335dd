"""Deployment checks (``manage.py check --deploy``): what breaks a deployment silently.

Each one talks to a server, so they run only with ``--deploy`` (Django's ``deploy`` tag), never at
every ``migrate`` or ``runserver``. Errors make ``check --deploy`` exit non-zero.
"""

import os
import re
import shlex
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.db import DatabaseError

# A task still waiting this long was never picked up: no worker runs.
TASK_WAIT = timedelta(seconds=60)
# A design document whose views do not answer within this long is still being built.
VIEW_WAIT_SECONDS = 5.0


@checks.register(checks.Tags.caches, deploy=True)
def check_cache(app_configs=None, **kwargs):
    from django.core.cache import cache

    key = "tokenportal-deploy-check"
    try:
        cache.set(key, "ok", 30)
        value = cache.get(key)
        cache.delete(key)
    except Exception as exc:  # every client raises its own errors: any of them means no cache
        return [checks.Error(
            f"the cache (CACHE_URL) does not work: {type(exc).__name__}: {exc}",
            hint="Sign-ins answer 500 without it. Start the cache server, fix CACHE_URL, or run "
                 "`manage.py createcachetable` for the database cache.",
            id="tokenportal.E001",
        )]
    if value != "ok":
        return [checks.Error(
            "the cache (CACHE_URL) does not keep what is written to it",
            hint="The sign-in limit needs a cache shared by every portal process (database, redis or memcached).",
            id="tokenportal.E001",
        )]
    return []


@checks.register(deploy=True)
def check_couchdb(app_configs=None, **kwargs):
    from tokens_app.health import couchdb_health

    state = couchdb_health()
    if not state["reachable"]:
        return [checks.Error(
            f"CouchDB does not answer: {state.get('error')}",
            hint="Start CouchDB or fix COUCHDB_URL.", id="tokenportal.E002",
        )]
    if not state["ok"]:
        return [checks.Error(
            f"CouchDB refuses the credentials of COUCHDB_USER: {state.get('error') or 'not authenticated'}",
            hint="Fix COUCHDB_USER and COUCHDB_PASSWORD.", id="tokenportal.E003",
        )]
    return []


def _configured_workers() -> int:
    """gunicorn's worker count as its environment sets it (WEB_CONCURRENCY or GUNICORN_CMD_ARGS)."""
    workers = 1
    try:
        workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
    except ValueError:
        pass
    args = shlex.split(os.environ.get("GUNICORN_CMD_ARGS", ""))
    for index, arg in enumerate(args):
        match = re.fullmatch(r"(?:--workers|-w)(?:=?(\d+))?", arg)
        if match:
            value = match.group(1) or (args[index + 1] if index + 1 < len(args) else "")
            if value.isdigit():
                workers = int(value)
    return workers


@checks.register(checks.Tags.database, deploy=True)
def check_sqlite_workers(app_configs=None, **kwargs):
    if not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return []
    workers = _configured_workers()
    if workers > 1:
        return [checks.Error(
            f"the ORM database is SQLite and {workers} worker processes are configured",
            hint="Several processes writing one SQLite file wait on each other and time out under "
                 "load: set DATABASE_URL to PostgreSQL.",
            id="tokenportal.E004",
        )]
    return []


@checks.register(deploy=True)
def check_task_workers(app_configs=None, **kwargs):
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return []
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    try:
        waiting = DBTaskResult.objects.ready().filter(enqueued_at__lt=timezone.now() - TASK_WAIT)
        oldest = waiting.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    except DatabaseError:
        return []  # not migrated yet: Django's own checks and migrate say so
    if oldest is None:
        return []
    return [checks.Error(
        f"{waiting.count()} task(s) waiting since {oldest:%Y-%m-%d %H:%M:%S} UTC: no task worker runs",
        hint="Pushes and bulk operations wait until one does: run `manage.py db_worker` (see README, Deploying).",
        id="tokenportal.E005",
    )]


@checks.register(deploy=True)
def check_views_built(app_configs=None, **kwargs):
    from tokens_app.couch import CouchError, CouchTimeout
    from tokens_app.campaign_selectors import campaign_databases
    from tokens_app.services.layout import build_views, designs_with_views

    try:
        databases = campaign_databases()
    except DatabaseError:
        return []
    unbuilt = []
    for db in databases:
        try:
            for ddoc, views in designs_with_views(db, timeout=VIEW_WAIT_SECONDS):
                try:
                    build_views(db, ddoc, views, timeout=VIEW_WAIT_SECONDS)
                except CouchTimeout:
                    unbuilt.append(f"{db}/_design/{ddoc}")
        except CouchError:
            continue  # CouchDB itself failing is tokenportal.E002/E003
    if unbuilt:
        return [checks.Error(
            f"views not built yet: {', '.join(unbuilt)}",
            hint="The first page needing them would wait for the build: run `manage.py warm_views`.",
            id="tokenportal.E006",
        )]
    return []


@checks.register(checks.Tags.staticfiles, deploy=True)
def check_static_manifest(app_configs=None, **kwargs):
    if not settings.STATIC_MANIFEST:
        return []
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").is_file():
        return [checks.Error(
            f"the static files are not collected into STATIC_ROOT ({settings.STATIC_ROOT})",
            hint="Every page would answer 500: run `manage.py collectstatic --noinput` after every install or upgrade.",
            id="tokenportal.E007",
        )]
    return []
