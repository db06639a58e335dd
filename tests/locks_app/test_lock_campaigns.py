"""Campaigns as lockable objects (tokens_app/locking.py), on the real campaign page: the panel,
and a lock about to expire, seen by its holder and by a colleague."""

import datetime

import pytest
from django.urls import reverse

from locks_app import tokens
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(make_campaign):
    """The suite's campaign (tokens, alice's), not the bare row of locks_app's conftest: these
    tests open its page."""
    return make_campaign()


def page(client, user, campaign):
    client.force_login(user)
    response = client.get(campaign.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_a_lock_about_to_expire_shows_on_the_campaign_page(client, alice, bob, campaign):
    TokenUtility().register(tokens.ExclusiveLock(campaign, "alice", datetime.timedelta(minutes=10)))
    html = page(client, alice, campaign)
    assert "About to expire" in html and reverse("locks:extend") in html
    colleague = page(client, bob, campaign)
    assert "About to expire" in colleague and reverse("locks:extend") not in colleague


def test_the_campaign_panel_offers_locking_to_those_who_may(client, alice, victor, campaign):
    assert reverse("locks:lock") in page(client, alice, campaign)
    assert reverse("locks:lock") not in page(client, victor, campaign)


def test_extend_from_the_campaign_panel(client, campaign):
    lock = TokenUtility().register(tokens.ExclusiveLock(campaign, "alice", datetime.timedelta(hours=1)))
    client.force_login(campaign.created_by)
    response = client.post(reverse("locks:extend"), {"object": campaign.lock_key, "by": "2h",
                                                     "next": campaign.get_absolute_url()}, follow=True)
    assert response.redirect_chain[-1][0] == campaign.get_absolute_url()
    assert lock.duration == datetime.timedelta(hours=3)
    assert "is now locked until" in response.content.decode()
