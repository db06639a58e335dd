"""Resuming and repairing a campaign from its page, on the real CouchDB.

Resume checks the guard and the status before anything starts, and a refused background push
leaves the row as it was (a non-holder's Resume used to turn a ready or archived campaign into
an incomplete one, and a second Resume re-created archived tokens). The campaign page renders
whatever is missing in CouchDB (a push cut short before its views, a design document deleted, the
database gone, the server down) with what the portal knows and the actions that repair it.
"""

import pytest
from django.urls import reverse

from dashboard_data import CONFIG, SMALL_SRMLIST
from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import services
from tokens_app.design import design_id
from tokens_app.models import Campaign, Operation

pytestmark = pytest.mark.django_db


class CutShort(Exception):
    """Stands for the portal process dying mid-push."""


def pushes_started() -> list:
    """The pushes queued and not refused (the tests' task backend runs a queued one at once)."""
    return list(Operation.objects.filter(action=Operation.Action.PUSH).exclude(state=Operation.State.REFUSED))


@pytest.fixture
def bob_client(client, bob):
    """Another operator with the change permission."""
    client.force_login(bob)
    return client


def couch_state(gateway, database: str) -> dict:
    """Every document id of the database with its revision, but the database's shared
    ``_design/tokenportal`` (an index of every campaign there, kept when one goes)."""
    return {row["id"]: row["value"]["rev"] for row in gateway.iter_all_docs(database)
            if row["id"] != "_design/tokenportal"}


def archived(campaign, alice) -> Campaign:
    b"".join(services.archive_tokens(campaign, user=alice, delete=True))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ARCHIVED
    return campaign


def resume(client, campaign):
    return client.post(reverse("tokens:campaign-resume", args=[campaign.pk]), follow=True)


def page_of(client, campaign):
    response = client.get(campaign.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


# -- Resume: checked before anything starts ----------------------------------------------------------

@pytest.mark.parametrize("status", ["ready", "archived"])
def test_a_resume_by_a_non_holder_leaves_the_campaign_and_couchdb_as_they_were(
    status, bob_client, campaign, alice, gateway
):
    if status == "archived":
        archived(campaign, alice)
    TokenUtility().register(tokens.ExclusiveLock(campaign, alice.username))
    before = couch_state(gateway, campaign.database)
    response = resume(bob_client, campaign)
    assert f"locked by {alice.username}" in response.content.decode()
    assert pushes_started() == []
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == (status, 12 if status == "ready" else 0)
    assert couch_state(gateway, campaign.database) == before


def test_a_second_resume_does_not_recreate_archived_tokens(
    bob_client, operator_client, campaign, alice, gateway
):
    archived(campaign, alice)
    lock = TokenUtility().register(tokens.ExclusiveLock(campaign, alice.username))
    resume(bob_client, campaign)
    lock.end()
    response = resume(operator_client, campaign)
    assert "the campaign is archived" in response.content.decode()
    assert pushes_started() == []
    campaign.refresh_from_db()
    assert (campaign.status, campaign.written_count) == ("archived", 0)
    assert couch_state(gateway, campaign.database) == {}


@pytest.mark.parametrize("status", ["ready", "archived", "purged"])
def test_only_a_campaign_being_created_can_be_resumed(status, operator_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    assert "Write the missing tokens" not in page_of(operator_client, campaign)
    response = resume(operator_client, campaign)
    assert f"the campaign is {status}" in response.content.decode()
    assert pushes_started() == []
    campaign.refresh_from_db()
    assert campaign.status == status


# -- the page of a campaign CouchDB cannot show ------------------------------------------------------

@pytest.fixture
def cut_short(alice, couch_db):
    """A campaign whose push stopped after its first batch of 4 of 12 tokens, before its views."""
    plan = services.plan_tokenset(config_data=CONFIG, srmlist_data=SMALL_SRMLIST, database=couch_db)
    campaign = services.start_campaign(plan, user=alice)

    def die(processed, total):
        raise CutShort

    with pytest.raises(CutShort):
        services.push_tokenset(campaign, user=alice, plan=plan, batch_size=4, progress=die)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.INCOMPLETE and campaign.written_count == 4
    return campaign


def test_a_push_cut_short_before_its_views_can_be_resumed_from_its_page(
    operator_client, cut_short, gateway
):
    assert gateway.get_doc(cut_short.database, design_id(cut_short.token_type), default=None) is None
    page = page_of(operator_client, cut_short)
    assert "Write the missing tokens" in page and "views of this campaign are missing" in page
    assert "4 of 12 tokens" in page
    resume(operator_client, cut_short)
    cut_short.refresh_from_db()
    assert (cut_short.status, cut_short.written_count) == ("ready", 12)
    page = page_of(operator_client, cut_short)
    assert "views of this campaign are missing" not in page and "t_pref_cal1_L229507_pref_cal1_SB011" in page


def test_views_deleted_by_hand_are_re_created_from_the_page(operator_client, campaign, gateway):
    design = gateway.get_doc(campaign.database, design_id(campaign.token_type))
    gateway.bulk_docs(campaign.database, [{"_id": design["_id"], "_rev": design["_rev"], "_deleted": True}])
    page = page_of(operator_client, campaign)
    assert "Re-create views" in page and "Write the missing tokens" not in page
    response = operator_client.post(reverse("tokens:campaign-recreate-views", args=[campaign.pk]), follow=True)
    assert "Re-created the views" in response.content.decode()
    assert "overview_total" in gateway.get_doc(campaign.database, design_id(campaign.token_type))["views"]
    assert "t_pref_cal1_L229507_pref_cal1_SB000" in page_of(operator_client, campaign)


def test_re_creating_views_needs_the_permission_and_the_lock(client, victor, bob_client, campaign, alice, gateway):
    own_design = design_id(campaign.token_type)
    design = gateway.get_doc(campaign.database, own_design)
    gateway.bulk_docs(campaign.database, [{"_id": own_design, "_rev": design["_rev"], "_deleted": True}])
    url = reverse("tokens:campaign-recreate-views", args=[campaign.pk])
    TokenUtility().register(tokens.ExclusiveLock(campaign, alice.username))
    response = bob_client.post(url, follow=True)
    assert f"locked by {alice.username}" in response.content.decode()
    client.force_login(victor)
    assert client.post(url).status_code == 403
    assert gateway.get_doc(campaign.database, own_design, default=None) is None


def test_the_page_of_a_campaign_whose_database_is_gone_explains_it(operator_client, campaign, gateway):
    gateway.delete_database(campaign.database)
    page = page_of(operator_client, campaign)
    assert f"The database &#x27;{campaign.database}&#x27; does not exist" in page
    assert "12 of 12 tokens known to be written" in page and "Re-create views" not in page


def test_the_page_shows_the_read_model_while_couchdb_is_down(operator_client, campaign, couch_server):
    """Pages read the read model only: with CouchDB down the campaign page still shows its
    tokens, as of the follower's last read, and says when that was."""
    page_of(operator_client, campaign)  # the follower has read the campaign
    couch_server.stop()
    try:
        response = operator_client.get(campaign.get_absolute_url())
    finally:
        couch_server.start()
    page = response.content.decode()
    assert response.context["counts"]["todo"] == 12 and len(response.context["tokens"].rows) == 12
    assert "as read" in page and "Tokens unavailable" not in page
    assert couch_server.url not in page  # the server's address is for staff only
