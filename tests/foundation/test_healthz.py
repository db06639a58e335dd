"""``/healthz`` follows CouchDB through a restart, answers monitoring over plain HTTP, and never
names an internal address (it answers anyone)."""

import pytest

from devtools.apachecouch import tested_engine
from devtools.localcouch import free_port
from tokens_app.couch import get_gateway

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_on_the_next_request_after_couchdb_restarts(client, couch_server):
    assert client.get("/healthz").status_code == 200
    # The real server process stopped and started on the same port and data: pouchdb-server
    # forgets the session, and answers this process's old cookie as if it were anonymous (Apache
    # CouchDB signs its cookies with a secret it keeps, so the session outlives the restart).
    couch_server.stop()
    couch_server.start()
    kept = tested_engine() == "apache"
    assert get_gateway().session_user().get("name") == (get_gateway().user if kept else None)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["couchdb"]["authenticated"] is True


def test_healthz_still_reports_wrong_credentials_after_trying_to_log_in(client, settings, couch_server):
    settings.COUCHDB = {**settings.COUCHDB, "PASSWORD": "not-the-password-42"}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["couchdb"]["authenticated"] is False


def test_healthz_over_plain_http_is_not_redirected_with_ssl_redirect(client, settings, couch_server):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_healthz_never_shows_the_couchdb_address(client, settings, couch_server):
    response = client.get("/healthz")
    assert "url" not in response.json()["couchdb"]
    assert couch_server.url not in response.content.decode()
    port = free_port()
    settings.COUCHDB = {**settings.COUCHDB, "URL": f"http://127.0.0.1:{port}"}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["couchdb"]["error"] == "CouchDB at [internal address] is unreachable (log in): is the server running?"
    assert str(port) not in response.content.decode()
