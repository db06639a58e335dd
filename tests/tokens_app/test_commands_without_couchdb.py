"""Every token command when CouchDB cannot serve it (nothing listens at the address, the
credentials are refused, the campaign's database is gone): one line saying why, a non-zero exit,
and the campaign's row exactly as it was."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tokens_app.models import Campaign, Operation

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# A port on the loopback where nothing listens: a request is refused at once.
NOWHERE = "http://127.0.0.1:9"

pytestmark = pytest.mark.django_db


def arguments(campaign) -> dict[str, list[str]]:
    """Each token command with what it needs to act on ``campaign``."""
    on = ["--type", campaign.token_type, "--database", campaign.database]
    by = [*on, "--user", "alice"]
    example = ["--config", str(EXAMPLES / "pref_cal1.yaml"), "--srmlist", str(EXAMPLES / "L229507.srmlist")]
    return {
        "token_status": on,
        "token_status (every campaign)": ["--database", campaign.database],
        "reset_tokens": [*by, "--yes"],
        "scrub_tokens": [*by, "--older-than", "1h"],
        "set_token_status": [*by, "queued", "--yes"],
        "set_token_field": [*by, "note", "1"],
        "attach_to_tokens": [*by, __file__],
        "delete_tokens": [*by, "--yes"],
        "add_token_view": [*by, "mine", "doc.note == 1"],
        "archive_tokens": [*by, "--output", "archive.tar.gz"],
        "purge_tokens": [*by, "--yes"],
        "create_tokenset": [*example, "--database", campaign.database, "--user", "alice"],
        "seed_demo": ["--database", campaign.database, "--user", "alice"],
        "simulate_pilots": [*on, "--workers", "1", "--max-tokens", "1", "--job-seconds", "0"],
        "warm_views": [],
    }


COMMANDS = list(arguments(Campaign(token_type="t", database="d")))


# The campaign's database is made the default one where the server is at fault: the portal
# checks that any other database exists before it records a creation, but not its own.
def unreachable(settings_, gateway, campaign):
    settings_.COUCHDB = {**settings_.COUCHDB, "URL": NOWHERE, "DATABASE": campaign.database}
    return "is unreachable"


def refused_credentials(settings_, gateway, campaign):
    settings_.COUCHDB = {**settings_.COUCHDB, "PASSWORD": "not-the-password", "DATABASE": campaign.database}
    return "refused the credentials"


def database_gone(settings_, gateway, campaign):
    gateway.delete_database(campaign.database)
    return "does not exist"


@pytest.mark.parametrize("fault", [unreachable, refused_credentials, database_gone])
@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_couchdb_cannot_serve_says_why_in_one_line_and_changes_no_campaign(
    name, fault, campaign, alice, gateway, settings, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    args = arguments(campaign)[name]
    before = Campaign.objects.values().get(pk=campaign.pk)
    reason = fault(settings, gateway, campaign)
    with pytest.raises(CommandError) as error:
        call_command(name.split()[0], *args, stdout=io.StringIO(), stderr=io.StringIO())
    message = str(error.value)
    assert reason in message and "\n" not in message
    assert Campaign.objects.values().get(pk=campaign.pk) == before


# -- the same as real processes: the exit code, one line on stderr, the demo campaign kept -------

@pytest.fixture
def shell(tmp_path, couch_db):
    """``manage.py`` as a real process on its own migrated SQLite database, with the test's
    CouchDB database as the portal's default one (where the demo campaign goes)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_SUPERUSER_PASSWORD": "pw",
           "COUCHDB_DATABASE": couch_db}

    def manage(*args, **extra_env):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**env, **extra_env},
                              capture_output=True, text=True, timeout=120)

    for step in (("migrate", "--verbosity", "0"), ("createsuperuser", "--noinput", "--username", "op", "--email", "")):
        assert manage(*step).returncode == 0
    return manage


def test_seed_demo_in_a_second_shell_pointed_nowhere_leaves_the_demo_campaign_as_it_was(shell):
    assert shell("seed_demo").returncode == 0
    before = shell("token_status").stdout
    assert "ready" in before

    again = shell("seed_demo", COUCHDB_URL=NOWHERE)
    assert again.returncode == 1
    assert len(again.stderr.strip().splitlines()) == 1 and "is unreachable" in again.stderr
    assert shell("token_status").stdout == before

    status = shell("token_status", COUCHDB_URL=NOWHERE)
    assert status.returncode == 1 and "?" not in status.stdout
    assert len(status.stderr.strip().splitlines()) == 1 and "is unreachable" in status.stderr


def test_a_queued_push_couchdb_cannot_serve_leaves_the_campaign_as_it_was(campaign, alice, settings):
    """A resumed push of a campaign that CouchDB cannot serve: the operation fails with the
    reason; the campaign keeps its status and counts."""
    from tokens_app.services import runs

    before = Campaign.objects.values().get(pk=campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.INCOMPLETE)
    before["status"] = Campaign.Status.INCOMPLETE
    settings.COUCHDB = {**settings.COUCHDB, "URL": NOWHERE}
    operation = runs.queue_operation(Operation.Action.PUSH, campaign, alice, source="browser")
    assert operation.state == "failed" and "is unreachable" in operation.error
    after = Campaign.objects.values().get(pk=campaign.pk)
    assert {key: after[key] for key in ("status", "written_count", "last_error", "token_count")} == {
        key: before[key] for key in ("status", "written_count", "last_error", "token_count")
    }


def test_a_resumed_push_cut_short_keeps_the_count_the_campaign_had(campaign, alice, stop_couch_after):
    """The campaign had its 12 tokens; a push that re-counts them and loses the server after its
    first batch still knows of 12, not of the 4 it confirmed again."""
    from tokens_app.couch import CouchUnreachable
    from tokens_app import services

    plan = services.plan_of(campaign)
    with pytest.raises(CouchUnreachable):
        services.push_tokenset(campaign, user=alice, batch_size=4, progress=stop_couch_after(plan.token_ids[:4]))
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == ("incomplete", 12)
    assert "is unreachable" in campaign.last_error
