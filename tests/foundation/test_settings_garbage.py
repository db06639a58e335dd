"""Every typed setting refuses garbage at startup with one line naming the setting and the value.

django-environ alone reads any word that is not a "true" word as false (``DEBUG=maybe`` meant
no) and takes any whole number (``COUCHDB_BATCH_SIZE=0`` made every operation change nothing).
"""

import json

import pytest
from test_settings import load_settings

REQUIRED = {"SECRET_KEY": "k" * 50, "COUCHDB_PASSWORD": "pw"}
BOOLEANS = ["DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"]
NUMBERS = {
    "COUCHDB_TIMEOUT": ["soon", "nan", "inf", "0", "-1"],
    "COUCHDB_BATCH_SIZE": ["many", "0", "-5", "1.5"],
    "COUCHDB_WRITES_IN_FLIGHT": ["many", "0"],
    "MAX_UPLOAD_MB": ["big", "0", "-1"],
    "MAX_TOKEN_FIELDS_KB": ["lots", "0", "-1", "1.5"],
    "LOGIN_RATE_LIMIT": ["ten", "0"],
    "SECURE_HSTS_SECONDS": ["a year", "-1"],
    "TRUSTED_PROXIES": ["one", "-1"],
}
VALUES = (
    "import json, django; from django.conf import settings; django.setup(); print(json.dumps({"
    "'debug': settings.DEBUG, 'ssl': settings.SECURE_SSL_REDIRECT, 'session': settings.SESSION_COOKIE_SECURE,"
    " 'csrf': settings.CSRF_COOKIE_SECURE, 'proxies': settings.TRUSTED_PROXIES, 'limit': settings.LOGIN_RATE_LIMIT,"
    " 'cache': settings.CACHES['default']['BACKEND'], 'batch': settings.COUCHDB['BATCH_SIZE'],"
    " 'timeout': settings.COUCHDB['TIMEOUT'], 'exempt': settings.SECURE_REDIRECT_EXEMPT,"
    " 'databases': settings.COUCHDB['DATABASES']}))"
)


def refused(result, message: str) -> None:
    """Startup failed and the error's one line is ``message`` (the traceback above it aside)."""
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == f"django.core.exceptions.ImproperlyConfigured: {message}"


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("value", ["maybe", "", "2"])
def test_a_boolean_setting_takes_only_yes_or_no_words(tmp_path, name, value):
    result = load_settings(tmp_path, **REQUIRED, **{name: value})
    refused(result, f"{name}={value!r} is not a valid value for {name}: give true or false")


def loaded_values(tmp_path, **env) -> dict:
    result = load_settings(tmp_path, probe=VALUES, **REQUIRED, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_boolean_words_are_read(tmp_path):
    loaded = loaded_values(tmp_path, DEBUG="No", SECURE_SSL_REDIRECT="on", SESSION_COOKIE_SECURE="1", CSRF_COOKIE_SECURE="YES")
    assert (loaded["debug"], loaded["ssl"], loaded["session"], loaded["csrf"]) == (False, True, True, True)


@pytest.mark.parametrize(("name", "value"), [(name, value) for name, values in NUMBERS.items() for value in values])
def test_a_number_setting_refuses_garbage_and_values_out_of_range(tmp_path, name, value):
    result = load_settings(tmp_path, **REQUIRED, **{name: value})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"django.core.exceptions.ImproperlyConfigured: {name}=")
    assert f"is not a valid value for {name}" in last


@pytest.mark.parametrize(("name", "value", "message"), [
    ("COUCHDB_BATCH_SIZE", "0", "COUCHDB_BATCH_SIZE=0 is not a valid value for COUCHDB_BATCH_SIZE: give at least 1"),
    ("COUCHDB_TIMEOUT", "0", "COUCHDB_TIMEOUT=0 is not a valid value for COUCHDB_TIMEOUT: give at least 0.1"),
    ("COUCHDB_TIMEOUT", "nan", "COUCHDB_TIMEOUT='nan' is not a valid value for COUCHDB_TIMEOUT"),
    ("LOGIN_RATE_LIMIT", "ten", "LOGIN_RATE_LIMIT='ten' is not a valid value for LOGIN_RATE_LIMIT"),
    ("LOG_LEVEL", "loud", "LOG_LEVEL='LOUD' is not a valid value for LOG_LEVEL: give one of DEBUG, INFO, WARNING, "
     "ERROR, CRITICAL"),
    ("COUCHDB_DATABASES", "picas, Tokens", "COUCHDB_DATABASES='picas, Tokens' is not a valid value for "
     "COUCHDB_DATABASES: 'Tokens' is not a CouchDB database name"),
    ("COUCHDB_DATABASES", "_users", "COUCHDB_DATABASES='_users' is not a valid value for COUCHDB_DATABASES: "
     "'_users' is not a CouchDB database name"),
])
def test_the_error_says_what_to_give(tmp_path, name, value, message):
    refused(load_settings(tmp_path, **REQUIRED, **{name: value}), message)


def test_defaults_of_the_sign_in_and_proxy_settings(tmp_path):
    loaded = loaded_values(tmp_path)
    assert loaded["proxies"] == 0 and loaded["limit"] == 10
    assert loaded["cache"] == "django.core.cache.backends.db.DatabaseCache"
    assert loaded["batch"] == 500 and loaded["timeout"] == 30.0
    assert loaded["exempt"] == ["^healthz$"]
    assert loaded["databases"] == []


def test_the_databases_named_for_a_user_who_may_not_list_them_are_read(tmp_path):
    assert loaded_values(tmp_path, COUCHDB_DATABASES="picas, lofar_2,")["databases"] == ["picas", "lofar_2"]


def test_numbers_in_range_are_read(tmp_path):
    loaded = loaded_values(tmp_path, TRUSTED_PROXIES="2", LOGIN_RATE_LIMIT="1", COUCHDB_BATCH_SIZE="1", COUCHDB_TIMEOUT="0.5")
    assert (loaded["proxies"], loaded["limit"], loaded["batch"], loaded["timeout"]) == (2, 1, 1, 0.5)
