"""Secrets and files: the CouchDB password stays out of every output, production settings pass
Django's deployment checks, uploads stay in a temporary directory, archive names are safe.
"""

import io
import logging
import os
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

import pytest
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.management.base import CommandError
from django.urls import reverse

from devtools.localcouch import free_port
from hardening_support import run_command, srm_list, yaml_config
from hardening_urls import routes
from tokens_app.couch import CouchError, Gateway, get_gateway
from tokens_app.services import archive_tokens, attach_file

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def password(couch_server):
    return couch_server.password


@pytest.fixture
def all_logs(caplog):
    """Every log record of every logger, down to DEBUG (urllib3 and cloudant included)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def leaked(password: str, *texts) -> list[str]:
    return [text for text in texts if password in text]


def log_text(caplog) -> str:
    return "\n".join(
        record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        for record in caplog.records
    )


def every_page_path(campaign) -> list[str]:
    """Every route, with the campaign's pk and one of its token ids where the route takes them."""
    token_id = next(get_gateway().iter_view(campaign.database, campaign.token_type, "todo"))["id"]
    return [route.path for route in routes({"pk": str(campaign.pk), "token_id": token_id})]


# -- the CouchDB password ----------------------------------------------------------------------

def test_the_password_is_in_no_page_and_no_log_line(admin_client, campaign, password, all_logs):
    for path in every_page_path(campaign):
        response = admin_client.get(path, follow=True)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert password.encode() not in body, path
    assert not leaked(password, log_text(all_logs))


@pytest.mark.parametrize("fault", ["unreachable", "wrong password", "password in the URL"])
def test_the_password_is_in_no_error_page_healthz_or_log_line(admin_client, settings, password, all_logs, fault):
    if fault == "unreachable":
        settings.COUCHDB = {**settings.COUCHDB, "URL": f"http://127.0.0.1:{free_port()}"}
    elif fault == "wrong password":
        password = "wrong-but-still-secret-71"
        settings.COUCHDB = {**settings.COUCHDB, "PASSWORD": password}
    else:
        port = free_port()
        settings.COUCHDB = {**settings.COUCHDB, "URL": f"http://{settings.COUCHDB['USER']}:{password}@127.0.0.1:{port}"}
    health = admin_client.get("/healthz")
    page = admin_client.get(reverse("tokens:dashboard"))
    assert health.status_code == 503
    assert not leaked(password, health.content.decode(), page.content.decode(), log_text(all_logs))


def test_gateway_errors_name_the_server_never_the_password(couch_server):
    secret = "pw-in-url-3141"
    for url in (f"http://user:{secret}@127.0.0.1:{free_port()}", couch_server.url):
        gateway = Gateway(url, "nobody" if url == couch_server.url else "user", secret, timeout=5)
        with pytest.raises(CouchError) as caught:
            gateway.list_databases()
        assert secret not in str(caught.value)
        assert "127.0.0.1" in str(caught.value)


def test_a_gateway_repr_hides_credentials_in_its_url():
    """A repr lands in tracebacks with locals, debug pages and log lines."""
    gateway = Gateway("http://user:pw-in-url-3141@127.0.0.1:5984", "user", "pw-in-url-3141")
    assert "pw-in-url-3141" not in repr(gateway)


def test_the_password_is_in_no_command_output(campaign, password, all_logs, tmp_path):
    target = ["--type", campaign.token_type, "--database", campaign.database]
    outputs = [
        run_command("token_status", *target),
        run_command("token_status", *target, "--json"),
        run_command("reset_tokens", *target, "--yes", "--user", "operator"),
        run_command("archive_tokens", *target, "--output", str(tmp_path / "a.tar.gz"), "--user", "operator"),
    ]
    assert not leaked(password, *outputs, log_text(all_logs))


def test_the_password_is_in_no_command_error(settings, campaign, password, all_logs):
    settings.COUCHDB = {**settings.COUCHDB, "URL": f"http://portal-admin:{password}@127.0.0.1:{free_port()}"}
    with pytest.raises(CommandError) as caught:
        run_command("token_status", "--type", campaign.token_type, "--database", campaign.database)
    assert not leaked(password, str(caught.value), log_text(all_logs))


def test_the_password_is_in_no_output_of_a_failing_manage_py_process(tmp_path):
    """A real process: what an operator's terminal shows, tracebacks included, for a server down."""
    secret = "process-secret-pw-2718"
    env = {**os.environ, "COUCHDB_URL": f"http://127.0.0.1:{free_port()}", "COUCHDB_PASSWORD": secret,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "LOG_LEVEL": "DEBUG"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    done = subprocess.run(
        [sys.executable, "manage.py", "create_tokenset", "--config", "examples/pref_cal1.yaml",
         "--srmlist", "examples/L229507.srmlist", "--user", "nobody"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    assert secret not in done.stdout + done.stderr


# -- production settings -----------------------------------------------------------------------

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k8Jq2vX9pLm4Rt7Wz1Nc6Hb3Yf5Gd0Se8Ua2Io4Pw6Ql9Zx3Cv7Bn1Mk5Lj8Hg2Fd4Sa",
    "ALLOWED_HOSTS": "portal.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://portal.example.org",
    "COUCHDB_PASSWORD": "production-couch-pw",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
}


def manage(tmp_path, *args, **env_overrides):
    """``manage.py`` in a process of its own with only the given settings in its environment."""
    env = {"PATH": os.environ["PATH"], "TOKENPORTAL_ENV_FILE": "/dev/null",
           "TOKENPORTAL_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           **env_overrides}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    """Django's security checks of a deployment pass on these settings alone; the checks that
    need the running services (cache, CouchDB, workers, views, static files) are held by
    tests/foundation's deployment tests."""
    done = manage(tmp_path, "check", "--deploy", "--tag", "security", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    assert not (tmp_path / "var").exists(), "a production start generated secrets under var/"


@pytest.mark.parametrize("setting, warning", [
    ("SECURE_SSL_REDIRECT", "security.W008"), ("SECURE_HSTS_SECONDS", "security.W004"),
    ("SESSION_COOKIE_SECURE", "security.W012"), ("CSRF_COOKIE_SECURE", "security.W016"),
])
def test_each_security_setting_is_configurable_and_checked(tmp_path, setting, warning):
    done = manage(tmp_path, "check", "--deploy", **{**PRODUCTION, setting: "0" if "SECONDS" in setting else "false"})
    assert warning in done.stderr + done.stdout


def test_production_without_secrets_refuses_to_start(tmp_path):
    done = manage(tmp_path, "check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert done.returncode != 0 and "SECRET_KEY is not set" in done.stderr


# -- uploads -----------------------------------------------------------------------------------

def test_a_large_upload_is_spooled_inside_the_temp_dir_and_removed(client, operator, settings, tmp_path, monkeypatch):
    """Uploads over FILE_UPLOAD_MAX_MEMORY_SIZE go to disk: only ever in FILE_UPLOAD_TEMP_DIR,
    and gone when the request has been answered."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    os.mkdir(settings.FILE_UPLOAD_TEMP_DIR)
    spooled = []
    original_init = TemporaryUploadedFile.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        spooled.append(Path(self.temporary_file_path()))

    # A spy, not a fake: the real temporary file is made; the test only learns its path.
    monkeypatch.setattr(TemporaryUploadedFile, "__init__", recording_init)
    project_before = set(ROOT.iterdir())
    client.force_login(operator)
    big = io.BytesIO(srm_list(30_000))
    big.name = "big.srmlist"
    config = io.BytesIO(yaml_config("upload_test"))
    config.name = "config.yaml"
    response = client.post(reverse("tokens:campaign-new"), {
        "config": config, "srmlist_file": big, "slice_size": 1, "key_name": "STARTSB", "link_flavor": "srm",
    })
    # Accepted as a draft: on to the preview.
    assert response.status_code == 302 and response["Location"] == reverse("tokens:campaign-preview")
    assert spooled, "the upload was not large enough to be spooled to disk"
    for path in spooled:
        assert path.parent == Path(settings.FILE_UPLOAD_TEMP_DIR)
        assert not path.exists()
    assert set(ROOT.iterdir()) == project_before


# -- archive names -----------------------------------------------------------------------------

HOSTILE_NAMES = ["../../etc/passwd", "/abs/olute", ".hidden", "a\\b", "ünï cödé", "..", "x/../../y"]


def safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and all(
        part and not part.startswith(".") and "\\" not in part for part in path.parts
    )


def test_archive_member_names_are_sanitised(campaign, operator, gateway):
    template = {"type": campaign.token_type, "lock": 0, "done": 0, "status": "todo"}
    # Token ids are free-form in CouchDB: a pilot or another tool may write any of these.
    gateway.bulk_docs(campaign.database, [{**template, "_id": name} for name in HOSTILE_NAMES])
    for name in HOSTILE_NAMES:
        attach_file(campaign, f"{name}.log", b"log", user=operator, ids=[name])
    data = b"".join(archive_tokens(campaign, user=operator))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
    assert [name for name in names if not safe_member(name)] == []
    assert len(names) == len(set(names))
    assert len([name for name in names if "/tokens/" in name]) == campaign.token_count + len(HOSTILE_NAMES)


def test_the_archive_download_has_a_safe_file_name(admin_client, make_campaign, slash_database):
    campaign = make_campaign(database=slash_database)
    response = admin_client.get(reverse("tokens:campaign-archive", args=[campaign.pk]))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    filename = disposition.split("filename=", 1)[1].strip('"')
    assert safe_member(filename) and filename.endswith(".tar.gz")


def test_the_archive_command_default_file_name_stays_in_the_working_dir(make_campaign, slash_database, monkeypatch, tmp_path):
    campaign = make_campaign(database=slash_database)
    monkeypatch.chdir(tmp_path)
    run_command("archive_tokens", "--type", campaign.token_type, "--database", slash_database, "--user", "operator")
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) == 1 and written[0].parent == tmp_path and safe_member(written[0].name)
