"""The campaign admin: read-only records, filters and search, actions that call the services."""

import io
import re
import tarfile

import pytest

from locks_app.tokens import Freeze
from locks_app.utility import TokenUtility
from tokens_app.models import Campaign

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
CONFIG = b"Token:\n  type: cal\n"
CHANGELIST = "/admin/tokens_app/campaign/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def campaign(make_campaign, admin_client):
    """Three tokens of type ``cal`` by the admin, with its uploads' names and a file attached."""
    srmlist = "".join(f"{SARA}L229507_SB{subband:03d}_x.tar\n" for subband in range(3)).encode()
    return make_campaign(
        user=admin_client.user, config_data=CONFIG, srmlist_data=srmlist, config_name="cal.yaml",
        srmlist_name="L229507.txt", attachments={"run.parset": b"a=1\n"},
    )


def test_the_changelist_filters_and_searches(admin_client, campaign):
    other = Campaign.objects.create(token_type="other", database="elsewhere", status="purged")

    def listed(**query):
        return list(admin_client.get(CHANGELIST, query).context["cl"].result_list)

    assert "By status" in admin_client.get(CHANGELIST).content.decode()
    assert listed() == [other, campaign]
    assert listed(q="L229507") == [campaign]
    assert listed(q="elsewhere") == [other]
    assert listed(status__exact="purged") == [other]


def test_the_record_is_read_only_and_shows_the_uploads(admin_client, campaign):
    page = admin_client.get(f"{CHANGELIST}{campaign.pk}/change/").content.decode()
    assert "Token:" in page and SARA in page and "run.parset" in page
    assert 'name="config_text"' not in page and 'name="srmlist_text"' not in page
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403


def test_the_change_page_shows_the_read_models_counts(admin_client, campaign):
    page = admin_client.get(f"{CHANGELIST}{campaign.pk}/change/").content.decode()
    assert "todo 3, locked 0, done 0, error 0, total 3 (0 changes behind CouchDB)" in page
    changelist = admin_client.get(CHANGELIST).content.decode()
    assert "refresh_counts" not in changelist  # no snapshot to refresh: the counts are read live


def test_archive_action_downloads_the_campaign(admin_client, campaign):
    response = admin_client.post(CHANGELIST, {"action": "archive", "_selected_action": [campaign.pk]})
    assert response["Content-Type"] == "application/gzip"
    # The name every interface gives an archive: type, database and the time it was made.
    assert re.fullmatch(rf'attachment; filename="cal-{campaign.database}-\d{{8}}-\d{{6}}\.tar\.gz"',
                        response["Content-Disposition"])
    with tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content)), mode="r:gz") as tar:
        names = tar.getnames()
    assert "cal/design.json" in names and "cal/tokens/t_cal_L229507_SB002.json" in names
    campaign.refresh_from_db()
    assert campaign.status == "ready"


def test_archive_action_wants_one_campaign_and_reports_refusals(admin_client, campaign):
    other = Campaign.objects.create(token_type="gone", database="tokens", status="purged")
    both = admin_client.post(
        CHANGELIST, {"action": "archive", "_selected_action": [campaign.pk, other.pk]}, follow=True
    )
    assert "Choose exactly one campaign to archive." in both.content.decode()
    purged = admin_client.post(CHANGELIST, {"action": "archive", "_selected_action": [other.pk]}, follow=True)
    assert "the campaign is purged" in purged.content.decode()


def test_frozen_campaigns_can_still_be_archived_without_deleting(admin_client, campaign):
    TokenUtility().register(Freeze(campaign))
    response = admin_client.post(CHANGELIST, {"action": "archive", "_selected_action": [campaign.pk]})
    assert response["Content-Type"] == "application/gzip"
