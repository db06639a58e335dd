"""Upload drafts live in the database, not in the session (a 45 MB upload draft used to become a
58 MB session row, read and written on every request of its user)."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from dashboard_data import CONFIG, SMALL_SRMLIST
from tokens_app.models import Campaign, CampaignDraft, CampaignDraftFile, Operation
from tokens_app.services.drafts import DRAFT_LIFETIME
from tokens_app.views.creation import DRAFT_SESSION_KEY

pytestmark = pytest.mark.django_db
MB = 2**20


def upload(client, database, **extra):
    data = {
        "config": SimpleUploadedFile("pref_cal1.yaml", CONFIG), "srmlist_file": SimpleUploadedFile("L.srmlist", SMALL_SRMLIST),
        "slice_size": 1, "id_prefix": "SB", "key_name": "STARTSB", "srm_attachment": "srm.txt", "link_flavor": "srm",
        "database": database, **extra,
    }
    response = client.post(reverse("tokens:campaign-new"), data)
    assert response.status_code == 302 and response["Location"] == reverse("tokens:campaign-preview")
    return response


def session_row_bytes(client) -> int:
    return len(Session.objects.get(session_key=client.session.session_key).session_data)


def test_a_large_upload_waits_in_a_draft_row_and_the_session_stays_small(operator_client, couch_db):
    big = bytes(range(256)) * (12 * MB // 256)
    upload(operator_client, couch_db, attachments=[SimpleUploadedFile("big.bin", big)])
    assert session_row_bytes(operator_client) < 1000
    draft = CampaignDraft.objects.get()
    assert operator_client.session[DRAFT_SESSION_KEY] == draft.pk
    assert bytes(draft.files.get(name="big.bin").data) == big
    preview = operator_client.get(reverse("tokens:campaign-preview"))
    assert preview.status_code == 200 and preview.context["plan"].token_count == 12
    assert "big.bin" in preview.content.decode()
    confirmed = operator_client.post(reverse("tokens:campaign-preview"))
    campaign = Campaign.objects.get(database=couch_db)
    assert confirmed["Location"] == campaign.get_absolute_url()
    # The tests' task backend runs the queued push at once.
    assert Operation.objects.get(campaign=campaign).written == 12 and campaign.attachment_names == ["big.bin"]
    assert not CampaignDraft.objects.exists() and not CampaignDraftFile.objects.exists()
    assert DRAFT_SESSION_KEY not in operator_client.session


def test_a_draft_belongs_to_its_owner_alone(operator_client, client, couch_db, make_user):
    upload(operator_client, couch_db)
    draft = CampaignDraft.objects.get()
    client.force_login(make_user("mallory", "change_campaign"))
    session = client.session
    session[DRAFT_SESSION_KEY] = draft.pk
    session.save()
    assert client.get(reverse("tokens:campaign-preview")).status_code == 404
    assert client.post(reverse("tokens:campaign-preview")).status_code == 404
    assert not Campaign.objects.exists() and CampaignDraft.objects.filter(pk=draft.pk).exists()


def test_an_expired_draft_sends_back_to_the_form_and_is_cleaned_by_the_next_upload(operator_client, couch_db):
    upload(operator_client, couch_db)
    old = CampaignDraft.objects.get()
    CampaignDraft.objects.filter(pk=old.pk).update(created_at=timezone.now() - DRAFT_LIFETIME - timedelta(minutes=1))
    response = operator_client.post(reverse("tokens:campaign-preview"))
    assert response["Location"] == reverse("tokens:campaign-new")
    assert not Campaign.objects.exists()
    upload(operator_client, couch_db)
    assert list(CampaignDraft.objects.values_list("pk", flat=True)) == [operator_client.session[DRAFT_SESSION_KEY]]
    assert old.pk != operator_client.session[DRAFT_SESSION_KEY]


@pytest.mark.parametrize("garbage", ["12", "x", None, [1], {"config_data": "Token: {}"}])
def test_a_session_holding_anything_but_a_draft_id_sends_back_to_the_form(operator_client, garbage):
    session = operator_client.session
    session[DRAFT_SESSION_KEY] = garbage
    session.save()
    response = operator_client.get(reverse("tokens:campaign-preview"))
    assert response["Location"] == reverse("tokens:campaign-new")
