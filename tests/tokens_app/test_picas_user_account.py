"""The portal run by a PiCaS user: a CouchDB user who is admin of the databases it was given (in
their ``_security``) and nothing more: no ``_all_dbs``, no database creation, no ``_active_tasks``,
no ``_config``. Everything an operator does in those databases works; what needs a server admin is
refused in one sentence; the dashboard still shows the campaigns it knows.

Only Apache CouchDB has per-database security (pouchdb-server has none): these tests run in the
Apache CouchDB session (``TEST_COUCHDB=apache``, CI's Apache stage) and are skipped on pouchdb-server.
"""

import io
import secrets
import tarfile
import uuid
from datetime import timedelta

from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib import messages
from django.core.management import call_command
from django.urls import reverse

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import selectors, services
from tokens_app.couch import CouchAuthFailed, couch_url, get_gateway
from tokens_app.design import build_design_doc
from tokens_app.models import Campaign

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_CONFIG = (EXAMPLES / "pref_cal1.yaml").read_bytes()
EXAMPLE_SRMLIST = (EXAMPLES / "L229507.srmlist").read_bytes()

pytestmark = [pytest.mark.apache, pytest.mark.django_db]


@pytest.fixture
def picas_user(couch_server, monkeypatch):
    """A database and a user who is its admin (``_security``) and not a server admin; the portal
    (settings and environment) configured with that user, that database as its default and in
    ``COUCHDB_DATABASES``. Yields the database's name."""

    def as_admin(method, *path, params=None, **body):
        # The server admin's set-up: the gateway addresses no system database (``_users``).
        answer = requests.request(method, couch_url(couch_server.url, path), json=body or None, params=params,
                                  auth=(couch_server.user, couch_server.password), timeout=10)
        assert answer.ok, answer.text
        return answer.json()

    suffix = uuid.uuid4().hex[:10]
    database, name, password = f"picas_{suffix}", f"picas-{suffix}", secrets.token_urlsafe(12)
    user_id = f"org.couchdb.user:{name}"
    as_admin("PUT", database)
    as_admin("PUT", "_users", user_id, name=name, password=password, roles=[], type="user")
    as_admin("PUT", database, "_security", admins={"names": [name], "roles": []},
             members={"names": [name], "roles": []})
    monkeypatch.setattr(settings, "COUCHDB", {**settings.COUCHDB, "USER": name, "PASSWORD": password,
                                              "DATABASE": database, "DATABASES": [database]})
    monkeypatch.setenv("COUCHDB_USER", name)
    monkeypatch.setenv("COUCHDB_PASSWORD", password)
    monkeypatch.setenv("COUCHDB_DATABASE", database)
    yield database
    as_admin("DELETE", database)
    as_admin("DELETE", "_users", user_id, params={"rev": as_admin("GET", "_users", user_id)["_rev"]})


def create(database, *, user, subbands=6):
    lines = EXAMPLE_SRMLIST.splitlines(keepends=True)[:subbands]
    campaign, report = services.create_tokenset(
        user=user, database=database, config_data=EXAMPLE_CONFIG, config_name="pref_cal1.yaml",
        srmlist_data=b"".join(lines), srmlist_name="L229507.srmlist",
    )
    assert report.complete and report.failed == 0, report
    return campaign


def test_the_user_is_what_a_picas_user_is_and_nothing_more(picas_user):
    gateway = get_gateway()
    assert gateway.authenticated_user() == settings.COUCHDB["USER"]
    assert gateway.active_tasks() == []
    with pytest.raises(CouchAuthFailed) as refused:
        gateway.list_databases()
    assert str(refused.value) == (
        f"user '{gateway.user}' may not list the databases on CouchDB at {gateway.server}: only a server admin may"
    )


def test_an_operator_works_a_campaign_in_the_database_given(picas_user, alice):
    campaign = create(picas_user, user=alice)
    assert campaign.database == picas_user
    assert selectors.overview_counts(campaign)["todo"] == 6

    gateway = get_gateway()
    first = gateway.get_doc(picas_user, next(selectors.iter_token_rows(campaign, "todo"))["id"])
    gateway.put_doc(picas_user, {**first, "lock": 1, "done": 0, "hostname": "wn1"})
    assert services.scrub_stale(campaign, user=alice, older_than=timedelta(hours=1)).changed == 1
    assert services.set_status(campaign, "error", user=alice, ids=[first["_id"]]).changed == 1
    assert services.reset_tokens(campaign, user=alice, ids=[first["_id"]]).changed == 1

    design = gateway.get_doc(picas_user, f"_design/{campaign.token_type}")
    gateway.bulk_docs(picas_user, [{"_id": design["_id"], "_rev": design["_rev"], "_deleted": True}])
    services.recreate_views(campaign, user=alice)
    assert selectors.overview_counts(campaign)["todo"] == 6

    TokenUtility().register(tokens.ExclusiveLock(campaign, alice.username))
    archive = b"".join(services.archive_tokens(campaign, user=alice, delete=True))
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert len([name for name in tar.getnames() if "/tokens/" in name]) == 6
    assert Campaign.objects.get(pk=campaign.pk).status == "archived"


def test_a_design_document_another_tool_wrote_there_is_discovered_and_adopted(picas_user, alice):
    gateway = get_gateway()
    gateway.put_doc(picas_user, build_design_doc("legacy"))
    gateway.bulk_docs(picas_user, [{"_id": "t_legacy_1", "type": "legacy", "lock": 0, "done": 0}])
    assert [design["token_type"] for design in selectors.discovered_designs()] == ["legacy"]
    campaign = services.adopt_design(picas_user, "legacy", user=alice)
    assert selectors.overview_counts(campaign)["todo"] == 1


def test_the_dashboard_and_the_campaign_page_show_the_campaigns(picas_user, alice, client):
    campaign = create(picas_user, user=alice)
    client.force_login(alice)
    dashboard = client.get(reverse("tokens:dashboard"))
    assert dashboard.status_code == 200 and str(campaign.token_type) in dashboard.content.decode()
    assert not list(messages.get_messages(dashboard.wsgi_request))
    page = client.get(campaign.get_absolute_url())
    assert page.status_code == 200 and "6 todo" in page.content.decode()
    assert client.get(reverse("healthz")).json()["couchdb"]["ok"] is True


def test_without_the_databases_named_the_dashboard_says_why_and_shows_the_campaigns(picas_user, alice, client):
    campaign = create(picas_user, user=alice)
    settings.COUCHDB = {**settings.COUCHDB, "DATABASES": []}
    client.force_login(alice)
    dashboard = client.get(reverse("tokens:dashboard"))
    assert dashboard.status_code == 200 and str(campaign.token_type) in dashboard.content.decode()
    gateway = get_gateway()
    assert [str(message) for message in messages.get_messages(dashboard.wsgi_request)] == [
        f"Design documents could not be discovered: user '{gateway.user}' may not list the databases on CouchDB "
        f"at {gateway.server}: only a server admin may (COUCHDB_DATABASES names the databases to look in instead)"
    ]


def test_a_new_database_is_refused_in_one_sentence_and_the_campaign_waits_for_it(picas_user, alice):
    settings.COUCHDB = {**settings.COUCHDB, "DATABASE": "tokens_elsewhere"}
    gateway = get_gateway()
    with pytest.raises(CouchAuthFailed) as refused:
        create("tokens_elsewhere", user=alice)
    assert str(refused.value) == (
        f"user '{gateway.user}' may not create database 'tokens_elsewhere' on CouchDB at {gateway.server}: "
        "only a server admin may"
    )
    # The campaign is kept, incomplete, with that sentence: resumed once a server admin creates it.
    campaign = Campaign.objects.get(database="tokens_elsewhere")
    assert (campaign.status, campaign.written_count, campaign.last_error) == ("incomplete", 0, str(refused.value))


def test_the_commands_create_and_count_a_campaign(picas_user, superuser, tmp_path):
    config, srmlist = tmp_path / "pref_cal1.yaml", tmp_path / "L229507.srmlist"
    config.write_bytes(EXAMPLE_CONFIG)
    srmlist.write_bytes(b"".join(EXAMPLE_SRMLIST.splitlines(keepends=True)[:3]))
    call_command("create_tokenset", "--config", str(config), "--srmlist", str(srmlist), stdout=io.StringIO())
    campaign = Campaign.objects.get(database=picas_user)
    out = io.StringIO()
    call_command("token_status", "--type", campaign.token_type, "--database", picas_user, "--json", stdout=out)
    assert '"todo": 3' in out.getvalue()
