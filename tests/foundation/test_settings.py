"""Settings come from the environment and an optional .env file (django-environ)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'debug': settings.DEBUG, 'hosts': settings.ALLOWED_HOSTS,"
    " 'secret': settings.SECRET_KEY, 'engine': settings.DATABASES['default']['ENGINE'],"
    " 'db': str(settings.DATABASES['default']['NAME']), 'couch': settings.COUCHDB,"
    " 'tz': settings.TIME_ZONE, 'use_tz': settings.USE_TZ}))"
)


def load_settings(tmp_path, env_file_text=None, probe=PROBE, **env):
    """Import the settings in a fresh interpreter with exactly this environment; run ``probe``."""
    env_file = tmp_path / "test.env"
    if env_file_text is not None:
        env_file.write_text(env_file_text)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COUCHDB_", "DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="tokenportal.settings",
        TOKENPORTAL_ENV_FILE=str(env_file),
        TOKENPORTAL_VAR_DIR=str(tmp_path / "var"),
        **env,
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=clean, capture_output=True, text=True)
    return result


def test_settings_are_read_from_the_environment(tmp_path):
    result = load_settings(
        tmp_path, SECRET_KEY="k" * 50, DEBUG="false", ALLOWED_HOSTS="portal.example.org,localhost",
        DATABASE_URL="postgres://u:p@db.example.org:5432/portal", COUCHDB_URL="https://couch.example.org:6984",
        COUCHDB_USER="picas", COUCHDB_PASSWORD="pw", COUCHDB_DATABASE="lofar", COUCHDB_TIMEOUT="7.5",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is False
    assert loaded["hosts"] == ["portal.example.org", "localhost"]
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["couch"]["URL"] == "https://couch.example.org:6984"
    assert loaded["couch"]["USER"] == "picas"
    assert loaded["couch"]["DATABASE"] == "lofar"
    assert loaded["couch"]["TIMEOUT"] == 7.5
    assert loaded["tz"] == "UTC" and loaded["use_tz"] is True


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    result = load_settings(
        tmp_path,
        env_file_text="SECRET_KEY=from-file-" + "x" * 40 + "\nCOUCHDB_DATABASE=from_file\nCOUCHDB_USER=file_user\nCOUCHDB_PASSWORD=pw\n",
        COUCHDB_USER="env_user",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["secret"].startswith("from-file-")
    assert loaded["couch"]["DATABASE"] == "from_file"
    assert loaded["couch"]["USER"] == "env_user"


def test_defaults_are_local_sqlite_and_local_couchdb(tmp_path):
    result = load_settings(tmp_path, SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["db"] == str(tmp_path / "var" / "db.sqlite3")
    assert loaded["couch"]["URL"] == "http://127.0.0.1:5984"
    assert loaded["debug"] is False


def test_missing_secret_key_without_debug_is_a_clear_startup_error(tmp_path):
    result = load_settings(tmp_path, DEBUG="false", COUCHDB_PASSWORD="pw")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize("name", ["COUCHDB_PASSWORD"])
def test_missing_couchdb_password_without_debug_is_a_clear_error(tmp_path, name):
    result = load_settings(tmp_path, DEBUG="false", SECRET_KEY="k" * 50)
    assert result.returncode != 0
    assert f"{name} is not set" in result.stderr


def test_debug_generates_secrets_once_and_keeps_them_under_var(tmp_path):
    first = load_settings(tmp_path, DEBUG="true")
    second = load_settings(tmp_path, DEBUG="true")
    assert first.returncode == 0, first.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert len(one["secret"]) >= 40
    assert one["secret"] == two["secret"]
    assert one["couch"]["PASSWORD"] == two["couch"]["PASSWORD"] != ""
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.read_text().strip() == one["secret"]
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_garbage_in_typed_settings_is_refused(tmp_path):
    result = load_settings(tmp_path, SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw", COUCHDB_TIMEOUT="soon")
    assert result.returncode != 0
    assert "soon" in result.stderr


@pytest.mark.parametrize(("value", "message"), [
    ("many", "COUCHDB_WRITES_IN_FLIGHT='many' is not a valid value for COUCHDB_WRITES_IN_FLIGHT"),
    ("0", "COUCHDB_WRITES_IN_FLIGHT=0 is not a valid value for COUCHDB_WRITES_IN_FLIGHT: give at least 1"),
    ("-2", "COUCHDB_WRITES_IN_FLIGHT=-2 is not a valid value for COUCHDB_WRITES_IN_FLIGHT: give at least 1"),
])
def test_writes_in_flight_must_be_a_positive_whole_number(tmp_path, value, message):
    result = load_settings(tmp_path, SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw", COUCHDB_WRITES_IN_FLIGHT=value)
    assert result.returncode != 0
    assert message in result.stderr


def test_writes_in_flight_defaults_to_three_and_is_read(tmp_path):
    default = load_settings(tmp_path, SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw")
    chosen = load_settings(tmp_path, SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw", COUCHDB_WRITES_IN_FLIGHT="5")
    assert json.loads(default.stdout)["couch"]["WRITES_IN_FLIGHT"] == 3
    assert json.loads(chosen.stdout)["couch"]["WRITES_IN_FLIGHT"] == 5


@pytest.mark.parametrize(("value", "message"), [
    ("lots", "COUCHDB_BATCH_BYTES='lots' is not a valid value for COUCHDB_BATCH_BYTES"),
    ("32MB", "COUCHDB_BATCH_BYTES='32MB' is not a valid value for COUCHDB_BATCH_BYTES"),
    ("0", "COUCHDB_BATCH_BYTES=0 is not a valid value for COUCHDB_BATCH_BYTES: give at least 1048576"),
    ("65536", "COUCHDB_BATCH_BYTES=65536 is not a valid value for COUCHDB_BATCH_BYTES: give at least 1048576"),
])
def test_batch_bytes_must_be_a_whole_number_of_at_least_a_mebibyte(tmp_path, value, message):
    result = load_settings(tmp_path, SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw", COUCHDB_BATCH_BYTES=value)
    assert result.returncode != 0
    assert message in result.stderr


def test_batch_bytes_defaults_to_32_mib_and_is_read(tmp_path):
    default = load_settings(tmp_path, SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw")
    chosen = load_settings(tmp_path, SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw", COUCHDB_BATCH_BYTES="8388608")
    assert json.loads(default.stdout)["couch"]["BATCH_BYTES"] == 32 * 2**20
    assert json.loads(chosen.stdout)["couch"]["BATCH_BYTES"] == 8 * 2**20


@pytest.mark.parametrize("debug", ["true", "false"])
def test_each_server_log_line_is_written_once(tmp_path, debug):
    """Django's ``django`` logger has a console handler of its own under DEBUG and passed its
    lines on to the root's too: every 404 and request line of ``make run`` came out twice."""
    probe = (
        "import logging, django; django.setup();"
        "logging.getLogger('django.request').warning('Not Found: /favicon.ico');"
        "logging.getLogger('django.server').info('\"GET / HTTP/1.1\" 200 512');"
        "logging.getLogger('tokens_app.views').warning('one of ours')"
    )
    result = load_settings(tmp_path, probe=probe, DEBUG=debug, SECRET_KEY="s" * 50, COUCHDB_PASSWORD="pw")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    for text in ("Not Found: /favicon.ico", '"GET / HTTP/1.1" 200 512', "one of ours"):
        assert sum(text in line for line in lines) == 1, lines


URL_PROBE = "import django; from django.conf import settings; django.setup(); print(settings.COUCHDB['URL'])"


@pytest.mark.parametrize("kept, env, expected", [
    # make run COUCHDB_PORT=5990 kept its address: a second shell with nothing set reaches it.
    ("http://127.0.0.1:5990\n", {}, "http://127.0.0.1:5990"),
    ("http://localhost:6001/", {}, "http://localhost:6001/"),
    # The environment (or .env) wins over what was kept.
    ("http://127.0.0.1:5990\n", {"COUCHDB_URL": "http://127.0.0.1:7000"}, "http://127.0.0.1:7000"),
    # Nothing kept, or something no make run writes: the default.
    (None, {}, "http://127.0.0.1:5984"),
    ("https://elsewhere.example.org:6984", {}, "http://127.0.0.1:5984"),
    ("http://127.0.0.1:5990\nhttp://evil:1", {}, "http://127.0.0.1:5984"),
    ("", {}, "http://127.0.0.1:5984"),
])
def test_a_development_shell_reads_the_couchdb_address_make_run_kept(tmp_path, kept, env, expected):
    if kept is not None:
        (tmp_path / "var").mkdir()
        (tmp_path / "var" / "couchdb_url").write_text(kept)
    result = load_settings(tmp_path, probe=URL_PROBE, DEBUG="true", **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_production_never_reads_a_kept_couchdb_address(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "couchdb_url").write_text("http://127.0.0.1:5990\n")
    result = load_settings(tmp_path, probe=URL_PROBE, DEBUG="false", SECRET_KEY="s" * 50, COUCHDB_PASSWORD="pw")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:5984"
