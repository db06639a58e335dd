"""``manage.py check --deploy`` fails on what breaks a deployment silently, and ``warm_views``
builds the views the first page would otherwise wait for. Real CouchDB, real ORM database."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from devtools.localcouch import free_port
from tokenportal import checks
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db

# A map function that takes 30 ms per document, so that building its view (30 documents, about 1 s) outlasts the
# check's wait. (pouchdb-server runs map functions in its own event loop: longer would stall it.)
SLOW_MAP = "function (doc) { var until = Date.now() + 30; while (Date.now() < until) {} emit(doc._id, null); }"


def ids(messages):
    return [message.id for message in messages]


def test_a_working_cache_passes_and_a_missing_cache_table_is_an_error(settings):
    assert checks.check_cache() == []
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "no_such_table"}}
    errors = checks.check_cache()
    assert ids(errors) == ["tokenportal.E001"]
    assert "no_such_table" in errors[0].msg


def test_couchdb_reachable_unreachable_and_refusing_the_credentials(settings, couch_server):
    assert checks.check_couchdb() == []
    settings.COUCHDB = {**settings.COUCHDB, "PASSWORD": "not-the-password-42"}
    assert ids(checks.check_couchdb()) == ["tokenportal.E003"]
    settings.COUCHDB = {**settings.COUCHDB, "URL": f"http://127.0.0.1:{free_port()}"}
    errors = checks.check_couchdb()
    assert ids(errors) == ["tokenportal.E002"]
    assert "127.0.0.1" not in errors[0].msg


@pytest.mark.parametrize("environ", [{"WEB_CONCURRENCY": "4"}, {"GUNICORN_CMD_ARGS": "--bind :8000 --workers 3"},
                                     {"GUNICORN_CMD_ARGS": "-w=2"}])
def test_sqlite_with_several_workers_is_an_error(monkeypatch, environ):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    # The test database is the one DATABASE_URL names: SQLite by default, PostgreSQL on CI.
    assert ids(checks.check_sqlite_workers()) == (["tokenportal.E004"] if connection.vendor == "sqlite" else [])


@pytest.mark.parametrize("environ", [{}, {"WEB_CONCURRENCY": "1"}, {"WEB_CONCURRENCY": "many"}, {"GUNICORN_CMD_ARGS": "--workers"}])
def test_one_worker_or_garbage_counts_pass(monkeypatch, environ):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert checks.check_sqlite_workers() == []


def test_a_task_nobody_picked_up_for_a_minute_means_no_worker_runs(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    task = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}}, task_path="tokens_app.tasks.run_operation", backend_name="default",
        run_after=timezone.now(),
    )
    assert checks.check_task_workers() == []  # just queued: a worker may be about to take it
    DBTaskResult.objects.filter(pk=task.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    assert ids(checks.check_task_workers()) == ["tokenportal.E005"]
    DBTaskResult.objects.filter(pk=task.pk).update(status="RUNNING")
    assert checks.check_task_workers() == []


def test_views_not_built_are_an_error_until_warm_views_built_them(gateway, couch_db, monkeypatch):
    Campaign.objects.create(token_type="slow", database=couch_db)
    gateway.bulk_docs(couch_db, [{"_id": f"t{n}"} for n in range(30)])
    # Two slow views: pouchdb-server builds each on its own first query (CouchDB both at once).
    gateway.put_doc(couch_db, {"_id": "_design/slow", "views": {"all": {"map": SLOW_MAP},
                                                                "counted": {"map": SLOW_MAP, "reduce": "_count"}}})
    monkeypatch.setattr(checks, "VIEW_WAIT_SECONDS", 0.2)
    errors = checks.check_views_built()
    assert ids(errors) == ["tokenportal.E006"]
    assert f"{couch_db}/_design/slow" in errors[0].msg
    out = StringIO()
    call_command("warm_views", stdout=out)
    assert f"{couch_db} _design/slow (1/1): 2 view(s) built in" in out.getvalue()
    assert checks.check_views_built() == []


def test_warm_views_without_campaigns_and_with_garbage_timeout():
    out = StringIO()
    call_command("warm_views", stdout=out)
    assert out.getvalue() == "No campaigns yet: nothing to build.\n"
    for garbage in ("0", "-1", "nan"):
        with pytest.raises(CommandError, match="--timeout must be a positive number"):
            call_command("warm_views", "--timeout", garbage)
    with pytest.raises(CommandError, match="invalid float value"):
        call_command("warm_views", "--timeout", "soon")


def test_warm_views_names_a_campaign_database_that_is_gone(couch_server):
    Campaign.objects.create(token_type="gone", database="no_such_database_here")
    err = StringIO()
    with pytest.raises(CommandError, match="1 design document"):
        call_command("warm_views", stderr=err, stdout=StringIO())
    assert "no_such_database_here" in err.getvalue()


def test_static_files_not_collected_are_an_error_with_the_manifest(settings, tmp_path):
    settings.STATIC_MANIFEST = True
    settings.STATIC_ROOT = tmp_path
    assert ids(checks.check_static_manifest()) == ["tokenportal.E007"]
    (tmp_path / "staticfiles.json").write_text("{}")
    assert checks.check_static_manifest() == []
    settings.STATIC_MANIFEST = False
    assert checks.check_static_manifest() == []


def test_check_deploy_runs_the_checks_and_fails_on_an_error(settings, couch_server):
    settings.COUCHDB = {**settings.COUCHDB, "PASSWORD": "not-the-password-42"}
    with pytest.raises(SystemCheckError, match="tokenportal.E003"):
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())
    # Without --deploy no server is asked.
    call_command("check", stdout=StringIO())
