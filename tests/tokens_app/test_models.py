"""The Campaign record."""

import pytest
from django.db import IntegrityError

from locks_app.keys import object_key
from tokens_app.models import Campaign, CampaignFile

pytestmark = pytest.mark.django_db


def test_a_campaign_names_itself_its_page_and_its_lock_key():
    campaign = Campaign.objects.create(token_type="pref_cal1", database="tokens")
    assert str(campaign) == "pref_cal1 in tokens"
    assert campaign.get_absolute_url() == f"/campaigns/{campaign.pk}/"
    assert campaign.lock_key == f"tokens_app.campaign:{campaign.pk}" == object_key(campaign)


def test_defaults_follow_grid_lrt():
    campaign = Campaign.objects.create(token_type="t", database="tokens")
    assert (campaign.status, campaign.slice_size, campaign.id_prefix, campaign.key_name, campaign.srm_attachment,
            campaign.link_flavor) == ("creating", 1, "SB", "STARTSB", "srm.txt", "srm")
    assert campaign.token_fields == {} and campaign.attachment_names == []


def test_one_campaign_per_type_and_database():
    Campaign.objects.create(token_type="t", database="tokens")
    Campaign.objects.create(token_type="t", database="other")
    with pytest.raises(IntegrityError):
        Campaign.objects.create(token_type="t", database="tokens")


def test_one_file_per_name_and_files_go_with_their_campaign():
    campaign = Campaign.objects.create(token_type="t", database="tokens")
    CampaignFile.objects.create(campaign=campaign, name="a.parset", content_type="text/plain", data=b"x")
    with pytest.raises(IntegrityError):
        CampaignFile.objects.create(campaign=campaign, name="a.parset", content_type="text/plain", data=b"y")


def test_files_are_deleted_with_their_campaign():
    campaign = Campaign.objects.create(token_type="t", database="tokens")
    CampaignFile.objects.create(campaign=campaign, name="a.parset", content_type="text/plain", data=b"x")
    campaign.delete()
    assert not CampaignFile.objects.exists()
