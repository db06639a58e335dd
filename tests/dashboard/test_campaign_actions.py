"""The campaign actions: confirmation pages, results as messages, refusals, permissions."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from locks_app import tokens
from locks_app.utility import TokenUtility
from tokens_app import selectors, services
from tokens_app.couch import get_gateway
from tokens_app.models import Campaign, Operation

pytestmark = pytest.mark.django_db


def fail(campaign, token_id):
    """A pilot that ran the token and failed (PiCaS convention: exit code)."""
    doc = get_gateway().get_doc(campaign.database, token_id)
    doc.update(lock=1_700_000_000, done=1_700_000_100, exit_code=2, status="error", hostname="wn1")
    get_gateway().put_doc(campaign.database, doc)


def url(name, campaign):
    return reverse(f"tokens:campaign-{name}", args=[campaign.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_reset_asks_for_confirmation_with_the_count(operator_client, campaign):
    ids = services.plan_of(campaign).token_ids
    fail(campaign, ids[0])
    fail(campaign, ids[1])
    confirm = operator_client.post(url("reset", campaign), {"view": "error"})
    assert confirm.status_code == 200
    assert confirm.context["count"] == 2
    page = confirm.content.decode()
    assert 'name="confirmed" value="True"' in page and 'name="view"' in page
    assert selectors.overview_counts(campaign)["error"] == 2  # nothing changed yet
    done = operator_client.post(url("reset", campaign), {"view": "error", "confirmed": "True"}, follow=True)
    assert done.redirect_chain[-1][0] == campaign.get_absolute_url()
    assert "Reset: 2 changed, 0 conflicted, 0 skipped." in messages_of(done)
    assert selectors.overview_counts(campaign)["error"] == 0


def test_reset_one_token_returns_to_its_page(operator_client, campaign):
    token_id = services.plan_of(campaign).token_ids[0]
    fail(campaign, token_id)
    confirm = operator_client.post(url("reset", campaign), {"token_id": token_id})
    assert confirm.context["count"] == 1
    done = operator_client.post(url("reset", campaign), {"token_id": token_id, "confirmed": "True"})
    assert done["Location"] == reverse("tokens:token-detail", args=[campaign.pk, token_id])
    assert get_gateway().get_doc(campaign.database, token_id)["scrub_count"] == 1


def test_guard_refusal_is_an_error_message(operator_client, campaign):
    TokenUtility().register(tokens.ExclusiveLock(campaign, "bob"))
    response = operator_client.post(url("reset", campaign), {"view": "todo", "confirmed": "True"}, follow=True)
    [message] = messages_of(response)
    assert "locked by bob" in message
    assert response.context["messages"]._loaded_messages[0].level_tag == "error"
    frozen_campaign = Campaign.objects.get(pk=campaign.pk)
    TokenUtility().get(frozen_campaign).end()
    TokenUtility().register(tokens.Freeze(frozen_campaign))
    response = operator_client.post(url("set-status", campaign), {"status": "x", "confirmed": "True"}, follow=True)
    assert "frozen since" in messages_of(response)[0]


def test_actions_need_the_permission(client, victor, campaign):
    client.force_login(victor)
    for name in ("reset", "scrub", "set-status", "set-field", "attach", "add-view", "delete", "purge", "resume",
                 "recreate-views"):
        assert client.post(url(name, campaign), {"confirmed": "True"}).status_code == 403, name
        assert client.get(url(name, campaign)).status_code == 403, name


def test_unknown_view_is_an_error_message(operator_client, campaign):
    response = operator_client.post(url("delete", campaign), {"view": "nope"}, follow=True)
    assert "has no view 'nope'" in messages_of(response)[0]
    response = operator_client.post(url("delete", campaign), {"view": "bad name!"}, follow=True)
    assert messages_of(response)


def test_invalid_form_is_shown_again_with_errors(operator_client, campaign):
    response = operator_client.post(url("set-field", campaign), {"value": "1"})
    assert response.status_code == 200 and "field" in response.context["form"].errors
    assert "This field is required." in response.content.decode()
    response = operator_client.post(url("scrub", campaign), {"older_than": "-1"})
    assert "older_than" in response.context["form"].errors


def test_action_form_page_without_javascript(operator_client, campaign):
    response = operator_client.get(url("set-status", campaign))
    assert response.status_code == 200 and "New status" in response.content.decode()


def test_scrub_set_status_and_field(operator_client, campaign):
    ids = services.plan_of(campaign).token_ids
    doc = get_gateway().get_doc(campaign.database, ids[0])
    doc.update(lock=1_000_000_000, status="running")  # a pilot lost long ago
    get_gateway().put_doc(campaign.database, doc)
    working = get_gateway().get_doc(campaign.database, ids[1])
    working.update(lock=time.time() - 60, status="running")  # a pilot at work
    get_gateway().put_doc(campaign.database, working)
    # The count is of the tokens locked longer than the age, not of every locked one.
    confirm = operator_client.post(url("scrub", campaign), {"older_than": "6h"})
    assert confirm.context["count"] == 1 and "locked longer than the age you gave" in confirm.content.decode()
    assert operator_client.post(url("scrub", campaign), {"older_than": "30m"}).context["count"] == 1
    assert operator_client.post(url("scrub", campaign), {"older_than": "30s"}).context["count"] == 2
    done = operator_client.post(url("scrub", campaign), {"older_than": "6h", "confirmed": "True"}, follow=True)
    assert "Scrub stale tokens: 1 changed" in messages_of(done)[0]

    done = operator_client.post(
        url("set-status", campaign), {"status": "held", "view": "todo", "confirmed": "True"}, follow=True
    )
    assert "Set status: 11 changed" in messages_of(done)[0]  # the pilot at work holds the twelfth
    done = operator_client.post(
        url("set-field", campaign), {"field": "priority", "value": "[1, 2]", "confirmed": "True"}, follow=True
    )
    assert "Set field: 12 changed" in messages_of(done)[0]
    assert get_gateway().get_doc(campaign.database, ids[3])["priority"] == [1, 2]
    refused = operator_client.post(url("set-field", campaign), {"field": "type", "value": "x", "confirmed": "True"},
                                   follow=True)
    assert "cannot be set" in messages_of(refused)[0]


def test_attach_a_file(operator_client, campaign):
    upload = SimpleUploadedFile("run.parset", b"steps=[]\n")
    done = operator_client.post(url("attach", campaign), {"file": upload}, follow=True)
    assert "Attach file: 12 changed" in messages_of(done)[0]
    campaign.refresh_from_db()
    assert "run.parset" in campaign.attachment_names


def test_add_view_then_see_it(operator_client, campaign):
    done = operator_client.post(url("add-view", campaign), {"name": "first", "condition": 'doc.STARTSB == "000"'},
                                follow=True)
    assert "Added the view 'first'." in messages_of(done)
    assert done.context["view"] == "first" and "first" in done.context["views"]
    assert len(done.context["tokens"].rows) == 1
    bad = operator_client.post(url("add-view", campaign), {"name": "x", "condition": ' doc.x == "a" }'})
    assert bad.status_code == 200
    assert bad.context["form"].errors["condition"] == [
        "the view condition is not valid at column 15: braces are not allowed: a condition is one expression"
    ]
    assert bad.context["form"].error_excerpt == '   doc.x == "a" }\n                ^'
    assert "                ^" in bad.content.decode() and 'doc.x == &quot;a&quot; }' in bad.content.decode()


def test_delete_a_token_and_purge(operator_client, campaign):
    token_id = services.plan_of(campaign).token_ids[0]
    done = operator_client.post(url("delete", campaign), {"token_id": token_id, "confirmed": "True"})
    assert done["Location"] == campaign.get_absolute_url()
    assert selectors.overview_counts(campaign)["total"] == 11
    confirm = operator_client.post(url("purge", campaign))
    assert confirm.context["count"] == 11
    done = operator_client.post(url("purge", campaign), {"confirmed": "True"}, follow=True)
    assert "Purge: 11 changed" in messages_of(done)[0]
    campaign.refresh_from_db()
    assert campaign.status == "purged"
    assert done.context["has_tokens"] is False  # the page of a purged campaign reads nothing


def test_resume_an_incomplete_campaign(operator_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status="incomplete", written_count=5)
    page = operator_client.get(campaign.get_absolute_url()).content.decode()
    assert "Write the missing tokens" in page and "data-status-url" in page
    done = operator_client.post(url("resume", campaign), follow=True)
    assert "remaining tokens" in messages_of(done)[0]
    push = Operation.objects.get(campaign=campaign, action="push")  # run at once by the tests' task backend
    assert (push.state, push.existing, push.written) == ("done", 12, 0)
    campaign.refresh_from_db()
    assert campaign.status == "ready"
