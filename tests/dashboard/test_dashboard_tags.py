"""The template tags of the dashboard, and the background push on its own thread."""

from datetime import UTC, datetime

import pytest
from dashboard_data import CONFIG, SMALL_SRMLIST, make_user

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import services, tasks
from tokens_app.models import Campaign
from tokens_app.templatetags.campaigns import completions_chart, state_bar, subband_ranges


def test_state_bar_widths_and_percent():
    bar = state_bar({"todo": 1, "locked": 1, "done": 2, "error": 0, "total": 4}, 7)
    assert [segment["width"] for segment in bar["segments"]] == [25.0, 25.0, 50.0, 0.0]
    assert bar["percent_done"] == 50.0 and bar["known"] and bar["campaign_id"] == 7
    empty = state_bar(None)
    assert not empty["known"] and empty["percent_done"] == 0.0


def test_completions_chart():
    assert "No token has finished yet" in completions_chart([])
    svg = completions_chart([(datetime(2026, 1, 1, 10, tzinfo=UTC), 3), (datetime(2026, 1, 1, 11, tzinfo=UTC), 6)])
    assert svg.count("<rect") == 2 and "2026-01-01 11:00 UTC: 6 done" in svg and "6 per hour" in svg


def test_subband_ranges():
    assert subband_ranges([0, 1, 2, 5, 7, 8]) == "000–002, 005, 007–008"
    assert subband_ranges([]) == ""


@pytest.mark.django_db(transaction=True)
def test_push_in_background_writes_every_token_and_records_it(couch_db):
    operator = make_user("alice", may_change=True)
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=SMALL_SRMLIST, database=couch_db)
    campaign = services.start_campaign(plan, user=operator)
    tasks.push_in_background(campaign, operator).join(timeout=60)
    campaign.refresh_from_db()
    assert campaign.status == "ready" and campaign.written_count == 12


@pytest.mark.django_db(transaction=True)
def test_a_refused_background_push_leaves_the_row_as_it_was(couch_db):
    operator = make_user("alice", may_change=True)
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=SMALL_SRMLIST, database=couch_db)
    campaign = services.start_campaign(plan, user=operator)
    TokenUtility().register(tokens.Freeze(campaign))
    tasks.push_in_background(campaign, operator).join(timeout=60)
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert (campaign.status, campaign.written_count, campaign.last_error) == ("creating", 0, "")
    # Resuming from the page says why, before anything starts.
    with pytest.raises(services.Refused, match="frozen since"):
        services.check_can_resume(campaign, operator)
