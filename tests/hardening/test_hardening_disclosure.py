"""Internal addresses (the CouchDB URL in error texts) are shown to staff only."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from devtools.localcouch import free_port
from tokenportal.disclosure import HIDDEN, shown_to

pytestmark = pytest.mark.django_db

INTERNAL = "http://couch.internal.example:5984"


@pytest.fixture
def failed_campaign(campaign):
    campaign.last_error = f"CouchDB at {INTERNAL} did not answer within 30 s (write 500 documents)"
    campaign.save(update_fields=["last_error"])
    return campaign


@pytest.fixture
def couch_gone(settings):
    port = free_port()
    settings.COUCHDB = {**settings.COUCHDB, "URL": f"http://127.0.0.1:{port}"}
    return f"127.0.0.1:{port}"


def token_page(campaign) -> str:
    return reverse("tokens:token-detail", args=[campaign.pk, "t_any_token"])


def test_shown_to_keeps_urls_for_active_staff_only(operator, viewer):
    text = f"CouchDB at {INTERNAL} refused (see https://other.example/x) on srm://srm.example/file"
    hidden = f"CouchDB at {HIDDEN} refused (see {HIDDEN}) on srm://srm.example/file"
    assert shown_to(text, operator) == text
    assert shown_to(text, viewer) == hidden
    assert shown_to(text) == hidden
    operator.is_active = False
    assert shown_to(text, operator) == hidden


def test_campaign_page_shows_last_error_without_the_url_to_non_staff(client, viewer, failed_campaign):
    client.force_login(viewer)
    page = client.get(failed_campaign.get_absolute_url()).content.decode()
    assert f"CouchDB at {HIDDEN} did not answer" in page
    assert "couch.internal" not in page
    status = client.get(reverse("tokens:campaign-status", args=[failed_campaign.pk])).json()
    assert status["last_error"] == f"CouchDB at {HIDDEN} did not answer within 30 s (write 500 documents)"


def test_staff_see_the_url_in_last_error(client, operator, failed_campaign):
    client.force_login(operator)
    assert f"CouchDB at {INTERNAL} did not answer" in client.get(failed_campaign.get_absolute_url()).content.decode()
    status = client.get(reverse("tokens:campaign-status", args=[failed_campaign.pk])).json()
    assert INTERNAL in status["last_error"]


def test_error_pages_and_messages_hide_the_url_from_non_staff(client, viewer, campaign, couch_gone):
    # A non-staff operator: only those who may adopt are shown the discovery (and its failure).
    viewer.user_permissions.add(Permission.objects.get(codename="change_campaign", content_type__app_label="tokens_app"))
    client.force_login(viewer)
    # The campaign page reads the read model; a token's page reads CouchDB, and says it is down.
    error_page = client.get(token_page(campaign))
    assert f"CouchDB at {HIDDEN} is unreachable" in error_page.content.decode()
    dashboard = client.get("/").content.decode()
    assert f"Design documents could not be discovered: CouchDB at {HIDDEN}" in dashboard
    assert couch_gone not in error_page.content.decode() + dashboard


def test_error_pages_and_messages_show_the_url_to_staff(client, operator, campaign, couch_gone):
    client.force_login(operator)
    assert f"CouchDB at http://{couch_gone} is unreachable" in client.get(token_page(campaign)).content.decode()
    assert f"CouchDB at http://{couch_gone}" in client.get("/").content.decode()
