"""LOCKABLE_MODELS and LOCK_MAX_DURATION: read from the environment, checked when the portal starts
(garbage stops it with one line naming the setting), and the checks themselves."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from locks_app import limits, lockables

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import django; from django.conf import settings; django.setup(); "
         "from locks_app import limits; print(settings.LOCKABLE_MODELS, limits.max_duration())")


def start(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LOCK", "DATABASE_URL"))}
    clean.update(DJANGO_SETTINGS_MODULE="tokenportal.settings", TOKENPORTAL_ENV_FILE=os.devnull,
                 TOKENPORTAL_VAR_DIR=str(tmp_path / "var"), SECRET_KEY="k" * 50, COUCHDB_PASSWORD="pw", **env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def test_defaults_are_campaigns_and_a_week(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['tokens_app.campaign'] 7 days, 0:00:00"


def test_values_are_read(tmp_path):
    result = start(tmp_path, LOCKABLE_MODELS="tokens_app.campaign,auth.group", LOCK_MAX_DURATION="12h")
    assert result.stdout.strip() == "['tokens_app.campaign', 'auth.group'] 12:00:00", result.stderr


@pytest.mark.parametrize(("name", "value", "message"), [
    ("LOCK_MAX_DURATION", "soon", "LOCK_MAX_DURATION='soon' is not a valid value for LOCK_MAX_DURATION"),
    ("LOCK_MAX_DURATION", "0h", "LOCK_MAX_DURATION='0h' is not a valid value"),
    ("LOCK_MAX_DURATION", "-1d", "LOCK_MAX_DURATION='-1d' is not a valid value"),
    ("LOCK_MAX_DURATION", "until-ended", "LOCK_MAX_DURATION='until-ended' is not a valid value"),
    ("LOCK_MAX_DURATION", "99999999d", "LOCK_MAX_DURATION='99999999d' is not a valid value"),
    ("LOCKABLE_MODELS", "auth.nothing", "LOCKABLE_MODELS names 'auth.nothing', which is no installed model"),
    ("LOCKABLE_MODELS", "campaign", "LOCKABLE_MODELS names 'campaign', which is no installed model"),
])
def test_garbage_stops_the_start_with_one_line(tmp_path, name, value, message):
    result = start(tmp_path, **{name: value})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: " + message), last


@pytest.mark.parametrize("value", [None, 3, datetime.timedelta(0), datetime.timedelta(hours=-1), "1x"])
def test_max_duration_refuses_garbage_given_in_python(settings, value):
    settings.LOCK_MAX_DURATION = value
    with pytest.raises(ImproperlyConfigured, match="LOCK_MAX_DURATION"):
        limits.max_duration()


@pytest.mark.parametrize("value", ["tokens_app.campaign", [3], None])
def test_lockable_models_refuses_garbage_given_in_python(settings, value):
    settings.LOCKABLE_MODELS = value
    with pytest.raises(ImproperlyConfigured, match="LOCKABLE_MODELS"):
        lockables.configured()


def test_max_duration_takes_a_timedelta(settings):
    settings.LOCK_MAX_DURATION = datetime.timedelta(hours=3)
    assert limits.max_duration() == datetime.timedelta(hours=3)
