"""``/metrics``: Prometheus' text format from the official client, scraped and parsed by that
client's own parser; its values are the pages' counts, its queries as few for many campaigns as
for one, and nobody reads it without the bearer token or a staff login."""

import ipaddress
import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tokens_app.metrics import REGISTRY, THROUGHPUT_WINDOW_SECONDS
from tokens_app.models import Operation
from tokens_app.read_models import ChangesCheckpoint, TokenRow

pytestmark = pytest.mark.django_db

TOKEN = "t" * 40
ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict:
    """``{(metric name, frozenset of labels): value}`` of an exposition, as Prometheus reads it."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scraped(client, **headers) -> dict:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


def of(found: dict, name: str, **labels) -> float:
    return found[(f"tokenportal_{name}", frozenset(labels.items()))]


@pytest.fixture
def staff(client, make_user):
    client.force_login(make_user("sam", staff=True))
    return client


def finish(gateway, campaign, states: dict[str, int], *, at: float) -> None:
    """Write straight to CouchDB, as pilots do: the first tokens of the campaign locked, done or
    failed, ``states`` saying how many of each."""
    ids = sorted(TokenRow.objects.filter(database=campaign.database, token_type=campaign.token_type)
                 .values_list("doc_id", flat=True))
    docs, first = [], 0
    for state, number in states.items():
        for token_id in ids[first:first + number]:
            doc = gateway.get_doc(campaign.database, token_id)
            doc["lock"] = at - 100
            if state in ("done", "error"):
                doc["done"] = at
            if state == "error":
                doc["exit_code"] = 3
            docs.append(doc)
        first += number
    gateway.bulk_docs(campaign.database, docs)


def test_tokens_per_campaign_and_state_equal_the_dashboards_counts(staff, make_campaign, gateway):
    first = make_campaign(12)
    second = make_campaign(5, token_type="pref_targ1")
    finish(gateway, first, {"locked": 2, "done": 3, "error": 1}, at=time.time() - 30)
    found = scraped(staff)
    rows = {row["campaign"].pk: row["counts"] for row in staff.get("/").context["rows"]}
    assert rows[first.pk] == {"todo": 6, "locked": 2, "done": 3, "error": 1, "total": 12}
    for campaign in (first, second):
        for state in ("todo", "locked", "done", "error"):
            labels = {"campaign": str(campaign.pk), "database": campaign.database,
                      "token_type": campaign.token_type, "state": state}
            assert of(found, "tokens", **labels) == rows[campaign.pk][state]


def test_throughput_is_the_tokens_done_in_the_window_and_the_last_one_is_dated(staff, make_campaign, gateway):
    campaign = make_campaign(12)
    moment = float(int(time.time()) - 60)
    finish(gateway, campaign, {"done": 4}, at=moment)
    found = scraped(staff)
    labels = {"campaign": str(campaign.pk), "database": campaign.database, "token_type": campaign.token_type}
    assert of(found, "throughput_tokens_per_second", **labels) == 4 / THROUGHPUT_WINDOW_SECONDS
    assert of(found, "last_done_timestamp_seconds", **labels) == moment


def test_tokens_done_before_the_window_are_no_throughput(staff, make_campaign, gateway):
    campaign = make_campaign(12)
    finish(gateway, campaign, {"done": 4}, at=time.time() - THROUGHPUT_WINDOW_SECONDS - 60)
    labels = {"campaign": str(campaign.pk), "database": campaign.database, "token_type": campaign.token_type}
    assert of(scraped(staff), "throughput_tokens_per_second", **labels) == 0


def test_the_read_models_lag_per_database(make_campaign, couch_db):
    make_campaign(3)
    # Read without a request (a request lets the test follower catch up first).
    ChangesCheckpoint.objects.update_or_create(database=couch_db, defaults={"seq": "9", "pending": 7})
    ChangesCheckpoint.objects.filter(database=couch_db).update(updated_at=timezone.now() - timedelta(seconds=300))
    found = samples(generate_latest(REGISTRY).decode())
    assert of(found, "read_model_pending_changes", database=couch_db) == 7
    assert 300 <= of(found, "read_model_age_seconds", database=couch_db) < 330


def test_a_database_the_follower_has_not_read_has_no_token_counts(make_campaign, couch_db):
    campaign = make_campaign(3)
    ChangesCheckpoint.objects.filter(database=couch_db).delete()
    found = samples(generate_latest(REGISTRY).decode())
    assert not [key for key in found if key[0] == "tokenportal_tokens" and ("campaign", str(campaign.pk)) in key[1]]


def operation(state, action=Operation.Action.RESET, **values) -> Operation:
    return Operation.objects.create(target="t in db", action=action, source=Operation.Source.COMMAND, state=state, **values)


def test_operations_by_state_and_action_the_oldest_queued_and_the_waiting(staff):
    now = timezone.now()
    old = operation(Operation.State.QUEUED)
    Operation.objects.filter(pk=old.pk).update(created_at=now - timedelta(seconds=600))
    operation(Operation.State.QUEUED)
    operation(Operation.State.QUEUED, Operation.Action.SCRUB)
    operation(Operation.State.RUNNING, waiting_since=now - timedelta(seconds=120), lease_until=now + timedelta(seconds=60))
    operation(Operation.State.RUNNING, lease_until=now - timedelta(seconds=5))
    found = scraped(staff)
    assert of(found, "operations", state="queued", action="reset") == 2
    assert of(found, "operations", state="queued", action="scrub") == 1
    assert of(found, "operations", state="running", action="reset") == 2
    assert of(found, "operations", state="done", action="purge") == 0
    assert 600 <= of(found, "oldest_queued_operation_age_seconds") < 630
    assert of(found, "operations_waiting_for_couchdb") == 1
    assert 120 <= of(found, "longest_wait_for_couchdb_seconds") < 150
    assert of(found, "operations_lease_lapsed") == 1


def test_an_empty_queue_reads_as_zeros_not_as_missing_series(staff):
    found = scraped(staff)
    assert of(found, "oldest_queued_operation_age_seconds") == 0
    assert of(found, "operations_waiting_for_couchdb") == 0
    assert of(found, "operations", state="queued", action="push") == 0


def test_the_followers_heartbeat(staff, couch_db):
    # The test follower takes the lease before the request is served.
    found = scraped(staff)
    assert of(found, "follower_up") == 1 and of(found, "follower_lease_seconds_left") > 0


def test_no_follower_reads_as_down():
    found = samples(generate_latest(REGISTRY).decode())
    assert of(found, "follower_up") == 0 and of(found, "follower_lease_seconds_left") == 0


def test_the_queries_do_not_grow_with_the_campaigns(make_campaign):
    make_campaign(2)

    def scrape_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            generate_latest(REGISTRY)
        return len(queries.captured_queries)

    one = scrape_queries()
    for number in range(4):
        make_campaign(2, token_type=f"more{number}")
    assert scrape_queries() == one


@pytest.mark.parametrize("header", [None, "Bearer " + TOKEN, "Bearer ", "Basic dXNlcjpwYXNz", "garbage"])
def test_without_the_setting_anonymous_scrapers_are_refused(client, settings, header):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", **({"HTTP_AUTHORIZATION": header} if header else {}))
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert b"tokenportal_" not in response.content


@pytest.mark.parametrize("header", ["Bearer " + "x" * 40, "Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "t", "Bearer"])
def test_a_wrong_token_is_refused(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and b"tokenportal_" not in response.content


def test_the_configured_token_lets_a_scraper_in(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert "tokenportal_follower_up" in {name for name, _ in scraped(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")}


def test_a_signed_in_user_who_is_not_staff_is_forbidden(client, victor):
    client.force_login(victor)
    response = client.get("/metrics")
    assert response.status_code == 403 and b"tokenportal_" not in response.content


def test_a_short_token_is_a_startup_error(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "METRICS_TOKEN"}
    env.update(DJANGO_SETTINGS_MODULE="tokenportal.settings", TOKENPORTAL_ENV_FILE=str(tmp_path / "none.env"),
               TOKENPORTAL_VAR_DIR=str(tmp_path / "var"), METRICS_TOKEN="short")
    probe = "import django; from django.conf import settings; django.setup(); print(settings.METRICS_TOKEN)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "METRICS_TOKEN is not a valid value for METRICS_TOKEN: give at least 32" in result.stderr


def test_the_sample_grafana_dashboard_asks_only_for_metrics_the_portal_exposes(staff, make_campaign, gateway):
    campaign = make_campaign(3)
    finish(gateway, campaign, {"done": 1}, at=time.time())
    exposed = {name for name, _ in scraped(staff)}
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    asked = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"tokenportal_\w+", target["expr"])}
    assert len(asked) >= 10 and asked <= exposed, asked - exposed


def test_an_allowed_address_reads_the_metrics_without_a_token(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = [ipaddress.ip_network("10.0.0.0/24")]
    settings.TRUSTED_PROXIES = 0
    assert "tokenportal_follower_up" in {name for name, _ in scraped(client, REMOTE_ADDR="10.0.0.7")}
    # Another address, or one only a header claims (no proxy is trusted), is refused.
    assert client.get("/metrics", REMOTE_ADDR="10.0.1.7").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.7").status_code == 401
    settings.TRUSTED_PROXIES = 1
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="not an address").status_code == 401


@pytest.mark.parametrize("value", ["10.0.0.300", "localhost", "10.0.0.0/33", "10.0.0.1,::g"])
def test_a_garbage_allowed_address_is_a_startup_error(tmp_path, value):
    env = {key: value for key, value in os.environ.items() if key != "METRICS_ALLOWED_ADDRESSES"}
    env.update(DJANGO_SETTINGS_MODULE="tokenportal.settings", TOKENPORTAL_ENV_FILE=str(tmp_path / "none.env"),
               TOKENPORTAL_VAR_DIR=str(tmp_path / "var"), METRICS_ALLOWED_ADDRESSES=value)
    probe = "import django; django.setup()"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "METRICS_ALLOWED_ADDRESSES has" in result.stderr
