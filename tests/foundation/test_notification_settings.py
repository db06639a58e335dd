"""The notifications' settings: the mail URL (django-environ), the portal's address for links, the
thresholds, the webhook hosts; garbage stops the start with one line naming the setting (and
never a mail password)."""

import json

import pytest
from test_settings import load_settings
from test_settings_garbage import REQUIRED, refused

PROBE = (
    "import json, django; from django.conf import settings as s; django.setup(); print(json.dumps({"
    "'backend': s.EMAIL_BACKEND, 'host': s.EMAIL_HOST, 'port': s.EMAIL_PORT, 'user': s.EMAIL_HOST_USER,"
    " 'ssl': s.EMAIL_USE_SSL, 'tls': s.EMAIL_USE_TLS, 'sender': s.DEFAULT_FROM_EMAIL, 'portal': s.PORTAL_URL,"
    " 'hosts': s.NOTIFY_WEBHOOK_ALLOWED_HOSTS, 'rate': s.NOTIFY_ERROR_RATE, 'interval': s.NOTIFY_INTERVAL_SECONDS}))"
)


def loaded(tmp_path, **env) -> dict:
    result = load_settings(tmp_path, probe=PROBE, **REQUIRED, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_defaults_print_mail_in_development_and_send_it_to_localhost_in_production(tmp_path):
    development = loaded(tmp_path, DEBUG="true")
    assert development["backend"] == "django.core.mail.backends.console.EmailBackend"
    production = loaded(tmp_path)
    assert production["backend"] == "django.core.mail.backends.smtp.EmailBackend" and production["host"] == "localhost"
    assert (production["port"], production["hosts"], production["rate"], production["interval"]) == (25, [], 0.1, 60.0)
    assert production["portal"] == "" and production["sender"] == "tokenportal@localhost"


def test_the_mail_url_and_the_other_settings_are_read(tmp_path):
    settings = loaded(tmp_path, EMAIL_URL="smtp+ssl://portal:s3cret@mail.example.org:465", DEFAULT_FROM_EMAIL="grid@example.org",
                      PORTAL_URL="https://portal.example.org/", NOTIFY_WEBHOOK_ALLOWED_HOSTS="Hooks.Example.org, .chat.example.org,",
                      NOTIFY_ERROR_RATE="0.25")
    assert (settings["host"], settings["port"], settings["user"], settings["ssl"]) == ("mail.example.org", 465, "portal", True)
    assert settings["sender"] == "grid@example.org" and settings["portal"] == "https://portal.example.org"
    assert settings["hosts"] == ["hooks.example.org", ".chat.example.org"] and settings["rate"] == 0.25


@pytest.mark.parametrize(("env", "message"), [
    ({"EMAIL_URL": "garbage"}, "EMAIL_URL (without a scheme) is not a valid value for EMAIL_URL"),
    ({"EMAIL_URL": "pigeon://coop"}, "EMAIL_URL (pigeon://...) is not a valid value for EMAIL_URL"),
    ({"EMAIL_URL": "smtp://portal:s3cret@mail.example.org:port"}, "EMAIL_URL (smtp://...) is not a valid value for EMAIL_URL"),
    ({"PORTAL_URL": "javascript:alert(1)"}, "PORTAL_URL='javascript:alert(1)' is not a valid value for PORTAL_URL"),
    ({"PORTAL_URL": "portal.example.org"}, "PORTAL_URL='portal.example.org' is not a valid value for PORTAL_URL"),
    ({"NOTIFY_ERROR_RATE": "1.5"}, "NOTIFY_ERROR_RATE=1.5 is not a valid value for NOTIFY_ERROR_RATE"),
    ({"NOTIFY_ERROR_RATE": "0"}, "NOTIFY_ERROR_RATE=0.0 is not a valid value for NOTIFY_ERROR_RATE"),
    ({"NOTIFY_ERROR_RATE": "ten percent"}, "NOTIFY_ERROR_RATE='ten percent' is not a valid value for NOTIFY_ERROR_RATE"),
    ({"NOTIFY_INTERVAL_SECONDS": "0"}, "NOTIFY_INTERVAL_SECONDS=0 is not a valid value for NOTIFY_INTERVAL_SECONDS"),
    ({"NOTIFY_ERROR_MIN_FINISHED": "some"}, "NOTIFY_ERROR_MIN_FINISHED='some' is not a valid value for NOTIFY_ERROR_MIN_FINISHED"),
    ({"NOTIFY_WEBHOOK_TIMEOUT": "nan"}, "NOTIFY_WEBHOOK_TIMEOUT='nan' is not a valid value for NOTIFY_WEBHOOK_TIMEOUT"),
    ({"NOTIFY_MAX_ATTEMPTS": "0"}, "NOTIFY_MAX_ATTEMPTS=0 is not a valid value for NOTIFY_MAX_ATTEMPTS"),
])
def test_garbage_stops_the_start_naming_the_setting(tmp_path, env, message):
    result = load_settings(tmp_path, **REQUIRED, **env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"django.core.exceptions.ImproperlyConfigured: {message}"), last
    assert "s3cret" not in result.stderr


def test_the_error_rate_says_what_to_give(tmp_path):
    refused(load_settings(tmp_path, **REQUIRED, NOTIFY_ERROR_RATE="2"),
            "NOTIFY_ERROR_RATE=2.0 is not a valid value for NOTIFY_ERROR_RATE: give a fraction between 0 and 1, e.g. 0.1")
