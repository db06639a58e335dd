"""Services that write CouchDB and then the ORM (purge_campaign, adopt_design): a failure in the
middle leaves no half-written row, and the next attempt completes the work.

Faults in CouchDB's part are real where the services allow it: a purge's ``progress`` callback
raising is how a run whose lease was lost stops. The server cannot be made to fail a count on
demand, nor the ORM a write, so those two faults are injected by replacing one function.
"""

import pytest
from django.db import DatabaseError

from tokens_app import selectors, services
from tokens_app.couch import CouchUnreachable, get_gateway
from tokens_app.design import design_id
from tokens_app.models import Campaign
from tokens_app.tokensets import TokenSet

pytestmark = pytest.mark.django_db

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
TOKENS = 8


class Stopped(Exception):
    """What the fault raises: the work stops here."""


@pytest.fixture
def campaign(couch_db, superuser, settings):
    settings.COUCHDB = {**settings.COUCHDB, "BATCH_SIZE": 3}
    srmlist = "".join(f"{SARA}L229507_SB{subband:03d}_x.tar\n" for subband in range(TOKENS)).encode()
    campaign, _ = services.create_tokenset(user=superuser, config_data=b"Token:\n  type: cal\n",
                                           srmlist_data=srmlist, database=couch_db)
    return campaign


def row_of(campaign) -> tuple:
    row = Campaign.objects.get(pk=campaign.pk)
    return row.status, row.written_count, row.last_error


def test_a_purge_stopped_half_way_leaves_the_row_as_it_was_and_purging_again_completes(campaign, superuser):
    before = row_of(campaign)

    def stop_after_the_first_page(processed):
        raise Stopped(processed)

    with pytest.raises(Stopped):
        services.purge_campaign(campaign, user=superuser, progress=stop_after_the_first_page)
    assert row_of(campaign) == before == ("ready", TOKENS, "")
    assert 0 < TOKENS - selectors.overview_counts(campaign)["total"] < TOKENS  # a page was deleted

    services.purge_campaign(Campaign.objects.get(pk=campaign.pk), user=superuser)
    assert row_of(campaign) == ("purged", 0, "")
    assert selectors.overview_counts(campaign)["total"] == 0
    assert get_gateway().get_design(campaign.database, campaign.token_type) is None


def test_a_purge_whose_row_cannot_be_saved_writes_none_of_it(campaign, superuser, monkeypatch):
    before = row_of(campaign)
    real_save = Campaign.save
    monkeypatch.setattr(Campaign, "save", lambda *args, **kwargs: (_ for _ in ()).throw(DatabaseError("disk full")))
    with pytest.raises(DatabaseError):
        services.purge_campaign(campaign, user=superuser)
    assert row_of(campaign) == before

    monkeypatch.setattr(Campaign, "save", real_save)
    services.purge_campaign(Campaign.objects.get(pk=campaign.pk), user=superuser)
    assert row_of(campaign) == ("purged", 0, "")


@pytest.fixture
def foreign(gateway, couch_db):
    """``_design/lrt`` of another tool over three tokens of type ``lrt``."""
    gateway.put_doc(couch_db, {"_id": design_id("lrt"), "views": {
        "todo": {"map": "function(doc){ if (doc.type == 'lrt' && doc.lock == 0) emit(doc._id, doc._id); }"}}})
    gateway.bulk_docs(couch_db, [{"_id": f"lrt_{n}", "type": "lrt", "lock": 0, "done": 0, "OBSID": "L1"}
                                 for n in range(3)])
    return TokenSet(couch_db, "lrt")


@pytest.mark.parametrize("fault", ["counting", "saving"])
def test_an_adoption_that_fails_writes_no_row_and_adopting_again_completes(foreign, superuser, monkeypatch, fault):
    if fault == "counting":
        target, name, error = selectors, "overview_counts", CouchUnreachable("CouchDB is unreachable")
    else:
        target, name, error = Campaign, "save", DatabaseError("disk full")
    real = getattr(target, name)
    monkeypatch.setattr(target, name, lambda *args, **kwargs: (_ for _ in ()).throw(error))
    with pytest.raises(type(error)):
        services.adopt_design(foreign.database, foreign.token_type, user=superuser)
    assert not Campaign.objects.exists()
    assert selectors.discovered_designs(foreign.database)  # still offered for adoption

    monkeypatch.setattr(target, name, real)
    campaign = services.adopt_design(foreign.database, foreign.token_type, user=superuser)
    row = Campaign.objects.get()
    assert (row.pk, row.status, row.token_count, row.written_count, selectors.overview_counts(row)["total"], row.obsid) == (
        campaign.pk, "ready", 3, 3, 3, "L1")


def test_a_purged_campaign_adopted_again_stays_purged_when_the_adoption_fails(foreign, superuser, monkeypatch):
    purged = Campaign.objects.create(token_type="lrt", database=foreign.database, status=Campaign.Status.PURGED)
    monkeypatch.setattr(Campaign, "save", lambda *args, **kwargs: (_ for _ in ()).throw(DatabaseError("disk full")))
    with pytest.raises(DatabaseError):
        services.adopt_design(foreign.database, foreign.token_type, user=superuser)
    purged.refresh_from_db()
    assert (purged.status, purged.token_count, purged.obsid) == ("purged", 0, "")
