"""Faults: CouchDB down, stopped mid-creation, silent, or forgetting the session — the pages
stay friendly and the campaign record always tells the truth.

The faults are real: the session's pouchdb-server is stopped and started again, and the silent
server is a socket that accepts connections and never answers.
"""

import socket
import threading
import time

import pytest
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from hardening_support import PASSWORD, run_command, srm_list, yaml_config
from hardening_urls import routes
from devtools.apachecouch import tested_engine
from tokens_app.couch import CouchAuthFailed, CouchTimeout, CouchUnreachable, Gateway
from tokens_app.models import Campaign
from tokens_app.services import create_tokenset, plan_tokenset, push_tokenset, start_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def couch_down(couch_server):
    """The session's CouchDB stopped for the test, started again afterwards (same data)."""
    couch_server.stop()
    yield couch_server
    couch_server.start()


@pytest.fixture
def silent_server():
    """The URL of a server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


# -- CouchDB down when a page loads ------------------------------------------------------------

def page(campaign, name: str) -> str:
    token_id = f"t_{campaign.token_type}_L229507_SB000"
    return next(route.path for route in routes({"pk": str(campaign.pk), "token_id": token_id}) if route.name == name)


def assert_friendly_503(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 503
    assert b"CouchDB cannot serve this page right now" in body
    assert b"unreachable" in body and b"Traceback" not in body


def test_a_page_that_needs_couchdb_answers_a_friendly_503_when_it_is_down(admin_client, campaign, couch_down):
    assert_friendly_503(admin_client.get(page(campaign, "tokens:token-detail")))


def test_the_campaign_page_shows_the_read_model_when_couchdb_is_down(admin_client, campaign, couch_down):
    """The page reads only the read model: it renders every tab as the follower last read it."""
    response = admin_client.get(page(campaign, "tokens:campaign-detail"))
    assert response.status_code == 200 and b"Traceback" not in response.content
    assert response.context["tokens"].rows and b"CouchDB cannot show this campaign" not in response.content


def test_an_archive_download_answers_503_not_a_broken_file_when_couchdb_is_down(admin_client, campaign, couch_down):
    assert_friendly_503(admin_client.get(page(campaign, "tokens:campaign-archive")))


def test_the_dashboard_still_lists_campaigns_when_couchdb_is_down(admin_client, campaign, couch_down):
    response = admin_client.get(reverse("tokens:dashboard"))
    assert response.status_code == 200
    assert campaign.token_type.encode() in response.content
    assert b"Design documents could not be discovered" in response.content
    assert b"unreachable" in response.content and b"Traceback" not in response.content


def test_healthz_says_503_when_couchdb_is_down(client, couch_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["couchdb"]["reachable"] is False


# -- CouchDB stopped after k of n batches --------------------------------------------------------

def test_a_creation_cut_after_k_of_n_batches_records_exactly_what_was_written_and_completes(
    couch_server, couch_db, operator, gateway, stop_couch_after
):
    n_batches, batch, k = 5, 4, 2
    token_type = "cut_short"
    plan = plan_tokenset(config_data=yaml_config(token_type), srmlist_data=srm_list(n_batches * batch),
                         database=couch_db)
    campaign = start_campaign(plan, user=operator)

    # The server stops once the first k batches are written; the batches in flight after them
    # find it gone.
    with pytest.raises(CouchUnreachable):
        push_tokenset(campaign, user=operator, batch_size=batch,
                      progress=stop_couch_after(plan.token_ids[:k * batch]))
    couch_server.start()
    campaign.refresh_from_db()
    there = len(gateway.existing_ids(couch_db, plan.token_ids))
    assert campaign.written_count == there == k * batch
    assert campaign.status == Campaign.Status.INCOMPLETE
    assert "unreachable" in campaign.last_error

    report = push_tokenset(campaign, user=operator, batch_size=batch)
    assert (report.written, report.existing, report.failed) == ((n_batches - k) * batch, k * batch, 0)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == (Campaign.Status.READY, n_batches * batch)
    tokens = [row for row in gateway.iter_all_docs(couch_db) if not row["id"].startswith("_design/")]
    assert sorted(row["id"] for row in tokens) == sorted(plan.token_ids)


def test_the_create_command_run_again_completes_a_cut_campaign_without_duplicates(
    couch_server, couch_db, operator, gateway, tmp_path, stop_couch_after
):
    (tmp_path / "c.yaml").write_bytes(yaml_config("cut_cmd"))
    (tmp_path / "l.txt").write_bytes(srm_list(12))
    arguments = ["create_tokenset", "--config", str(tmp_path / "c.yaml"), "--srmlist", str(tmp_path / "l.txt"),
                 "--database", couch_db, "--user", "operator", "--batch-size", "4"]
    inputs = dict(config_data=yaml_config("cut_cmd"), srmlist_data=srm_list(12), database=couch_db)
    first_batch = plan_tokenset(**inputs).token_ids[:4]

    with pytest.raises(CouchUnreachable):
        create_tokenset(user=operator, batch_size=4, progress=stop_couch_after(first_batch), **inputs)
    couch_server.start()
    there = [r["id"] for r in gateway.iter_all_docs(couch_db) if not r["id"].startswith("_design/")]
    assert sorted(there) == sorted(first_batch)
    assert Campaign.objects.get(token_type="cut_cmd").written_count == 4
    output = run_command(*arguments)
    assert "8 written, 4 already there" in output
    campaign = Campaign.objects.get(token_type="cut_cmd")
    assert (campaign.status, campaign.written_count) == (Campaign.Status.READY, 12)
    assert len([r for r in gateway.iter_all_docs(couch_db) if not r["id"].startswith("_design/")]) == 12


# -- timeouts ----------------------------------------------------------------------------------

def test_a_server_that_never_answers_times_out_with_a_clear_error(silent_server):
    gateway = Gateway(silent_server, "admin", "pw", timeout=1)
    started = time.monotonic()
    with pytest.raises(CouchTimeout, match=r"did not answer within 1 s"):
        gateway.list_databases()
    assert time.monotonic() - started < 10


def test_a_page_on_a_silent_server_answers_503_in_bounded_time(admin_client, settings, campaign, silent_server):
    settings.COUCHDB = {**settings.COUCHDB, "URL": silent_server, "TIMEOUT": 1.0}
    started = time.monotonic()
    response = admin_client.get(page(campaign, "tokens:token-detail"))
    assert response.status_code == 503
    assert b"did not answer within 1 s" in response.content
    assert time.monotonic() - started < 30
    # The campaign page asks CouchDB nothing: it renders from the read model at once.
    started = time.monotonic()
    response = admin_client.get(reverse("tokens:campaign-detail", args=[campaign.pk]))
    assert response.status_code == 200 and response.context["tokens"].rows
    assert time.monotonic() - started < 30


def test_a_command_on_a_silent_server_fails_in_one_line(settings, campaign, silent_server):
    settings.COUCHDB = {**settings.COUCHDB, "URL": silent_server, "TIMEOUT": 1.0}
    with pytest.raises(CommandError, match="did not answer within 1 s"):
        run_command("reset_tokens", "--type", campaign.token_type, "--database", campaign.database,
                    "--yes", "--user", "operator")


# -- sessions that expire mid-operation ----------------------------------------------------------

@pytest.fixture
def members_only(couch_db, gateway, couch_server):
    """The test database readable by its member only, as production databases are: an expired
    session then gets 401, not anonymous access (which pouchdb-server grants otherwise)."""
    gateway.request("PUT", (couch_db, "_security"), what="set security",
                    json_body={"admins": {"names": [], "roles": []},
                               "members": {"names": [couch_server.user], "roles": []}})
    return couch_db


def expire_session(gateway: Gateway) -> list:
    """Spoil the gateway's session cookie (as a server restart or expiry does) and record the
    requests it sends from now on."""
    session = gateway._client().r_session
    for cookie in session.cookies:
        cookie.value = "expired"
    sent = []
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(
        (response.request.method, response.request.path_url, response.status_code)))
    return sent


def test_an_expired_couchdb_session_is_renewed_once_mid_push(members_only, operator, gateway):
    plan = plan_tokenset(config_data=yaml_config("renewed"), srmlist_data=srm_list(12), database=members_only)
    campaign = start_campaign(plan, user=operator)
    gateway.session_user()
    sent = []

    def expire_after_first_batch(processed, total):
        if processed == 4:
            sent.extend([expire_session(gateway)])

    report = push_tokenset(campaign, user=operator, batch_size=4, progress=expire_after_first_batch)
    assert (report.written, report.failed) == (12, 0)
    logins = [request for request in sent[0] if request[:2] == ("POST", "/_session")]
    assert logins == [("POST", "/_session", 200)]
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == (Campaign.Status.READY, 12)


# The server's configuration: Apache CouchDB 3 keeps it per node, pouchdb-server at CouchDB 1's address.
CONFIG = ("_node", "_local", "_config") if tested_engine() == "apache" else ("_config",)


def test_a_session_that_cannot_be_renewed_fails_clearly_after_one_attempt(couch_server, members_only):
    gateway = Gateway(couch_server.url, couch_server.user, couch_server.password)
    gateway.fetch_docs(members_only, ["x"])
    admin = Gateway(couch_server.url, couch_server.user, couch_server.password)
    # The password is rotated on the server while the portal runs with the old one.
    admin.request("PUT", (*CONFIG, "admins", couch_server.user), what="rotate", data=b'"rotated-pw-5"')
    try:
        sent = expire_session(gateway)
        with pytest.raises(CouchAuthFailed, match="refused the credentials"):
            gateway.fetch_docs(members_only, ["x"])
        assert [r for r in sent if r[1] == "/_session"] == [("POST", "/_session", 401)]
    finally:
        signed_in(couch_server, "rotated-pw-5")
        restore = Gateway(couch_server.url, couch_server.user, "rotated-pw-5")
        restore.request("PUT", (*CONFIG, "admins", couch_server.user), what="restore",
                        data=f'"{couch_server.password}"'.encode())
        signed_in(couch_server, couch_server.password)


def signed_in(couch_server, password: str) -> None:
    """Wait until the admin signs in with ``password``: Apache CouchDB takes a new admin password
    a moment after answering its change (pouchdb-server at once)."""
    deadline = time.monotonic() + 30
    while not couch_server.signs_in(password):
        assert time.monotonic() < deadline, "the new admin password was never taken"
        time.sleep(0.1)


def test_a_portal_session_that_ends_mid_operation_sends_the_user_to_sign_in_and_writes_nothing(
    operator, couch_db, gateway
):
    """Between the upload and the confirmation the user's session is deleted (signed out
    elsewhere, cleared, expired): the confirmation asks to sign in again and creates nothing."""
    from django.contrib.sessions.models import Session

    client = Client()
    assert client.post(reverse("login"), {"username": "operator", "password": PASSWORD}).status_code == 302
    config = ("c.yaml", yaml_config("mid_session"))
    upload = client.post(reverse("tokens:campaign-new"), {
        "config": _file(*config), "srmlist_file": _file("l.txt", srm_list(3)), "database": couch_db,
        "slice_size": 1, "key_name": "STARTSB", "link_flavor": "srm",
    })
    assert upload.status_code == 302
    Session.objects.all().delete()
    confirm = client.post(reverse("tokens:campaign-preview"))
    assert confirm.status_code == 302 and confirm["Location"].startswith(reverse("login"))
    assert not Campaign.objects.filter(token_type="mid_session").exists()
    assert [r for r in gateway.iter_all_docs(couch_db)] == []


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)
