"""The dashboard tells busy from stalled: when each campaign's last token finished, its pace and
ETA, a stalled flag (tokens left, none finished for ``STALLED_MINUTES``), and a campaign made
since the page was drawn (the counts API's ``newest``)."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tokens_app import services
from tokens_app.couch import get_gateway
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db


def finish(campaign, token_ids, at):
    gateway = get_gateway()
    docs = gateway.fetch_docs(campaign.database, token_ids)
    gateway.bulk_docs(campaign.database, [{**doc, "lock": at - 10, "done": at} for doc in docs.values()])


def paces(client, campaign) -> dict:
    answer = client.get(reverse("tokens:api-counts"), {"ids": campaign.pk}).json()
    return answer["paces"][str(campaign.pk)]


def test_a_busy_campaign_shows_its_last_finish_pace_and_eta(operator_client, campaign):
    ids = services.plan_of(campaign).token_ids
    finish(campaign, ids[:6], time.time() - 5)
    pace = paces(operator_client, campaign)
    # 6 tokens in the last 15 minutes: 24 an hour, 6 left: 15 minutes to go.
    assert pace["text"].startswith("last token ") and "24/h" in pace["text"] and "ETA 15" in pace["text"]
    assert pace["stalled"] is False


def test_a_campaign_with_work_left_and_no_finish_for_a_while_is_stalled(operator_client, campaign, settings):
    settings.STALLED_MINUTES = 10
    ids = services.plan_of(campaign).token_ids
    finish(campaign, ids[:2], time.time() - 3600)
    pace = paces(operator_client, campaign)
    assert pace["stalled"] is True and pace["text"] == "last token 1 h 00 min ago"
    page = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert f'data-stalled-for="{campaign.pk}" title=' in page  # shown (no ``hidden``)
    finish(campaign, ids[2:3], time.time())
    assert paces(operator_client, campaign)["stalled"] is False


def test_a_new_campaign_never_worked_is_stalled_only_after_the_time(operator_client, campaign, settings):
    settings.STALLED_MINUTES = 10
    assert paces(operator_client, campaign) == {"text": "no token finished yet", "stalled": False}
    Campaign.objects.filter(pk=campaign.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    assert paces(operator_client, campaign)["stalled"] is True


def test_a_finished_campaign_is_not_stalled(operator_client, campaign, settings):
    settings.STALLED_MINUTES = 1
    finish(campaign, services.plan_of(campaign).token_ids, time.time() - 3600)
    assert paces(operator_client, campaign)["stalled"] is False


def test_the_counts_api_names_the_newest_campaign_even_with_no_ids(operator_client, campaign):
    answer = operator_client.get(reverse("tokens:api-counts"), {"ids": ""}).json()
    assert answer["newest"] == campaign.pk and answer["campaigns"] == {}
    page = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert f'data-newest="{campaign.pk}"' in page
