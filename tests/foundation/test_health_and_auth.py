"""Every page needs a login except /healthz, which reports both stores."""

import pytest
from django.urls import reverse

from devtools.localcouch import free_port


def test_anonymous_dashboard_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_is_served_and_styled(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content
    assert b"css/portal.css" in response.content


@pytest.mark.django_db
def test_signed_in_user_sees_the_navigation(client, django_user_model):
    user = django_user_model.objects.create_user("ops", password="pw-ops-123")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Signed in as <strong>ops</strong>" in response.content
    assert reverse("locks:list").encode() in response.content


@pytest.mark.django_db
def test_healthz_is_anonymous_and_reports_couchdb_up(client, couch_server):
    response = client.get("/healthz")
    assert response.status_code == 200
    state = response.json()
    assert state["ok"] is True
    assert state["database"]["ok"] is True
    assert state["couchdb"] == {
        "ok": True, "reachable": True, "authenticated": True, "version": state["couchdb"]["version"],
    }
    assert couch_server.password not in response.content.decode()


@pytest.mark.django_db
def test_healthz_reports_couchdb_down(client, settings):
    settings.COUCHDB = {**settings.COUCHDB, "URL": f"http://127.0.0.1:{free_port()}"}
    response = client.get("/healthz")
    assert response.status_code == 503
    couch = response.json()["couchdb"]
    assert couch["ok"] is False and couch["reachable"] is False
    assert "unreachable" in couch["error"]


@pytest.mark.django_db
def test_healthz_reports_wrong_credentials_without_the_password(client, settings, couch_server):
    settings.COUCHDB = {**settings.COUCHDB, "PASSWORD": "not-the-password-42"}
    response = client.get("/healthz")
    assert response.status_code == 503
    couch = response.json()["couchdb"]
    assert couch["reachable"] is True and couch["authenticated"] is False
    assert "not-the-password-42" not in response.content.decode()
