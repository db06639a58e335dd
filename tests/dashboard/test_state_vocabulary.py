"""One vocabulary of campaign states (``tokens_app.states``): the same campaign is named the same
on the dashboard, the campaign page, the counts and status APIs, the export and in ``manage.py
token_status``; and the dashboard's filter offers every state, "finished" included."""

import io
import json
import re
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from tokens_app import services
from tokens_app.couch import get_gateway
from tokens_app.forms import DashboardFilterForm
from tokens_app.models import Campaign
from tokens_app.states import CampaignState, campaign_label, campaign_state

pytestmark = pytest.mark.django_db

ERRORS = 3


def finish_all(campaign, errors=ERRORS):
    """Pilots end every token: the first ``errors`` fail (exit code 1), the others succeed."""
    gateway = get_gateway()
    ids = services.plan_of(campaign).token_ids
    docs = gateway.fetch_docs(campaign.database, ids)
    now = int(time.time())
    gateway.bulk_docs(campaign.database, [
        {**docs[token_id], "lock": now - 5, "done": now, "exit_code": 1 if number < errors else 0}
        for number, token_id in enumerate(ids)
    ])


def shown_state(html: str, pk: int | None = None) -> tuple[str, str]:
    """The (class state, words) of a campaign's state badge on a page."""
    marker = f'data-label-for="{pk}"' if pk else 'data-live="label"'
    badge = re.search(rf'<span class="status status-([a-z]+)" {marker}[^>]*>([^<]*)</span>', html)
    assert badge, html[:2000]
    return badge.group(1), badge.group(2)


def token_status(*args) -> str:
    out = io.StringIO()
    call_command("token_status", *args, stdout=out)
    return out.getvalue()


def test_a_finished_campaign_is_finished_everywhere(operator_client, campaign):
    finish_all(campaign)
    label = f"finished, {ERRORS} errors"
    dashboard = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert shown_state(dashboard, campaign.pk) == ("finished", label)
    page = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert shown_state(page) == ("finished", label)

    counts = operator_client.get(reverse("tokens:api-counts"), {"ids": campaign.pk}).json()
    assert (counts["states"][str(campaign.pk)], counts["labels"][str(campaign.pk)]) == ("finished", label)
    status = operator_client.get(reverse("tokens:campaign-status", args=[campaign.pk])).json()
    assert (status["state"], status["label"]) == ("finished", label)
    exported = json.loads(b"".join(operator_client.get(reverse("tokens:dashboard"), {"format": "json"}).streaming_content))
    assert [row["state"] for row in exported] == ["finished"]

    one = json.loads(token_status("--type", campaign.token_type, "--database", campaign.database, "--json"))
    assert one["state"] == "finished"
    assert token_status("--type", campaign.token_type, "--database", campaign.database).splitlines()[0] == (
        f"{campaign} ({label}): 12 tokens")
    assert [report["state"] for report in json.loads(token_status("--json"))] == ["finished"]
    table = token_status().splitlines()
    assert table[0].split()[2] == "state" and table[1].split()[2] == "finished"


def test_a_campaign_with_tokens_left_is_ready_everywhere(operator_client, campaign):
    dashboard = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert shown_state(dashboard, campaign.pk) == ("ready", "ready")
    assert shown_state(operator_client.get(campaign.get_absolute_url()).content.decode()) == ("ready", "ready")
    status = operator_client.get(reverse("tokens:campaign-status", args=[campaign.pk])).json()
    assert status["state"] == "ready"
    assert json.loads(token_status("--json"))[0]["state"] == "ready"


def test_the_filter_offers_every_state_and_finds_a_finished_campaign(operator_client, campaign):
    offered = [value for value, _ in DashboardFilterForm().fields["state"].choices if value]
    assert offered == list(CampaignState.values) == ["creating", "ready", "finished", "incomplete", "archived", "purged"]
    url = reverse("tokens:dashboard")
    page = operator_client.get(url).content.decode()
    assert all(f'<option value="{state}"' in page for state in offered)

    def listed(state):
        return f'data-label-for="{campaign.pk}"' in operator_client.get(url, {"state": state}).content.decode()

    assert listed("ready") and not listed("finished")
    finish_all(campaign)
    assert listed("finished") and not listed("ready") and not listed("archived")
    exported = json.loads(b"".join(operator_client.get(url, {"state": "ready", "format": "json"}).streaming_content))
    assert exported == []


def test_a_state_the_vocabulary_does_not_know_is_no_filter(operator_client, campaign):
    form = DashboardFilterForm({"state": "done"})
    assert not form.is_valid() and form.filters() == {}
    page = operator_client.get(reverse("tokens:dashboard"), {"state": "<b>finished</b>"})
    assert page.status_code == 200 and f'data-label-for="{campaign.pk}"' in page.content.decode()


@pytest.mark.parametrize("status, counts, state, label", [
    ("ready", {"todo": 1, "locked": 0, "done": 0, "error": 0, "total": 1}, "ready", "ready"),
    ("ready", {"todo": 0, "locked": 1, "done": 0, "error": 0, "total": 1}, "ready", "ready"),
    ("ready", {"todo": 0, "locked": 0, "done": 2, "error": 0, "total": 2}, "finished", "finished"),
    ("ready", {"todo": 0, "locked": 0, "done": 1, "error": 1, "total": 2}, "finished", "finished, 1 error"),
    ("ready", {"todo": 0, "locked": 0, "done": 0, "error": 0, "total": 0}, "ready", "ready"),
    ("ready", None, "ready", "ready"),
    ("archived", {"todo": 0, "locked": 0, "done": 0, "error": 0, "total": 0}, "archived", "archived"),
    ("incomplete", {"todo": 0, "locked": 0, "done": 3, "error": 0, "total": 3}, "incomplete", "incomplete"),
])
def test_the_state_of_a_campaign(status, counts, state, label):
    assert campaign_state(status, counts) == state and campaign_label(status, counts) == label


def test_every_stored_status_is_a_state_of_the_vocabulary():
    assert set(Campaign.Status.values) == set(CampaignState.values) - {"finished"}
