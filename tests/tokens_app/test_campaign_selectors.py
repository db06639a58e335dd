"""The reads of the portal's own rows (tokens_app.campaign_selectors, locks_app.selectors): the
dashboard's list and its filters, a campaign by its token set, the types a database holds, the
locks of campaigns."""

import datetime

import pytest
from django.contrib.auth.models import User

from locks_app import selectors as lock_selectors
from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import campaign_selectors
from tokens_app.forms import DashboardFilterForm
from tokens_app.models import Campaign
from tokens_app.tokensets import TokenSet

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def rows():
    alice = User.objects.create(username="alice")
    return {
        "cal": Campaign.objects.create(token_type="pref_cal1", database="tokens", obsid="L229507",
                                       status=Campaign.Status.READY, created_by=alice),
        "targ": Campaign.objects.create(token_type="pref_targ1", database="survey", obsid="L000001",
                                        status=Campaign.Status.INCOMPLETE),
        "gone": Campaign.objects.create(token_type="old", database="tokens", status=Campaign.Status.PURGED),
    }


def listed(**filters):
    return {campaign.token_type for campaign in campaign_selectors.campaign_list(**filters)}


def test_campaign_list_narrows_by_each_filter(rows):
    assert listed() == {"pref_cal1", "pref_targ1", "old"}
    assert listed(q="survey") == {"pref_targ1"}
    assert listed(q="l2295") == {"pref_cal1"}
    assert listed(token_type="PREF") == {"pref_cal1", "pref_targ1"}
    assert listed(obsid="0001") == {"pref_targ1"}
    assert listed(state="purged") == {"old"}
    # Finished is a ready campaign with nothing left: the query keeps the ready ones for in_state.
    assert listed(state="finished") == listed(state="ready") == {"pref_cal1"}
    assert listed(owner="ALICE") == {"pref_cal1"}


def test_the_form_parses_and_the_selector_queries(rows):
    assert DashboardFilterForm(None).filters() == {}
    assert DashboardFilterForm({"state": "no such state"}).filters() == {}
    filters = DashboardFilterForm({"q": "tokens", "owner": "alice"}).filters()
    assert filters == {"q": "tokens", "token_type": "", "obsid": "", "state": "", "owner": "alice"}
    assert listed(**filters) == {"pref_cal1"}


def test_designs_matching_keeps_what_the_filters_can_say_of_a_design():
    designs = [{"database": "tokens", "token_type": "Monitor", "counted_type": "token"},
               {"database": "survey", "token_type": "lrt", "counted_type": "lrt"}]
    assert campaign_selectors.designs_matching(designs) == designs
    assert campaign_selectors.designs_matching(designs, q="SURVEY") == designs[1:]
    assert campaign_selectors.designs_matching(designs, token_type="token") == designs[:1]
    for filters in ({"obsid": "L1"}, {"state": "ready"}, {"owner": "alice"}):
        assert campaign_selectors.designs_matching(designs, **filters) == []


def test_campaign_of_and_campaigns_with_tokens_and_campaigns_in(rows):
    assert campaign_selectors.campaign_of(TokenSet("tokens", "pref_cal1")) == rows["cal"]
    assert campaign_selectors.campaign_of(rows["gone"].token_set) == rows["gone"]
    assert campaign_selectors.campaign_of(TokenSet("survey", "pref_cal1")) is None
    pks = [row.pk for row in rows.values()]
    assert set(campaign_selectors.campaigns_with_tokens(pks)) == {rows["cal"], rows["targ"]}
    assert campaign_selectors.campaigns_in() == [rows["targ"], rows["gone"], rows["cal"]]
    assert campaign_selectors.campaigns_in("tokens") == [rows["gone"], rows["cal"]]


def test_token_types_in_a_database_are_sorted_whatever_their_status(rows):
    assert campaign_selectors.token_types_in("tokens") == ["old", "pref_cal1"]
    assert campaign_selectors.token_types_in("nowhere") == []


def test_campaign_locks_are_the_active_tokens_of_campaign_keys(rows):
    TokenUtility().register(tokens.ExclusiveLock(rows["cal"].lock_key, "alice", HOUR))
    TokenUtility().register(tokens.SharedLock("doc:elsewhere", ["alice", "bob"], HOUR))
    locks = campaign_selectors.campaign_locks()
    assert list(locks) == [rows["cal"].lock_key]
    assert locks[rows["cal"].lock_key].principal_ids == frozenset({"alice"})
    assert [token.object_key for token in lock_selectors.locks_of_principal("bob")] == ["doc:elsewhere"]
    assert len(lock_selectors.active_locks()) == 2
    assert [t.object_key for t in lock_selectors.active_locks(principal_id="bob")] == ["doc:elsewhere"]
    assert lock_selectors.indexed_principals() == ["alice", "bob"]
