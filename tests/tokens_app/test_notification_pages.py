"""The notifications page: subscribe to a campaign's (or all my campaigns') events by e-mail or
webhook; every field refuses garbage with a clear message; a user sees and deletes only their
own subscriptions, staff everyone's; the campaign page links to it; the admin lists the record."""

import pytest
from django.urls import reverse

from tokens_app.notification_models import Delivery, NotificationEvent, Subscription

pytestmark = pytest.mark.django_db

PAGE = reverse("tokens:notifications")
HOOK = "https://hooks.example.org/services/T0/B0/secret"


@pytest.fixture(autouse=True)
def _webhooks(settings):
    settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org", ".chat.example.org"]


@pytest.fixture
def signed_in(client, alice):
    alice.email = "alice@example.org"
    alice.save()
    client.force_login(alice)
    return client


def subscribe(client, **fields):
    data = {"campaign": "", "events": ["finished", "errors", "stalled"], "channel": "email", "webhook_url": "", **fields}
    return client.post(PAGE, data)


def test_a_user_subscribes_to_a_campaign_by_email(signed_in, campaign, alice):
    response = subscribe(signed_in, campaign=campaign.pk, events=["finished", "stalled"])
    assert response.status_code == 302 and response["Location"] == PAGE
    subscription = Subscription.objects.get()
    assert (subscription.user, subscription.campaign, subscription.channel) == (alice, campaign, "email")
    assert subscription.events == ["finished", "stalled"]
    page = signed_in.get(PAGE).content.decode()
    assert f'data-subscription="{subscription.pk}"' in page and "to alice@example.org" in page


def test_a_user_subscribes_to_all_their_campaigns_by_webhook(signed_in, alice):
    assert subscribe(signed_in, channel="webhook", webhook_url=HOOK).status_code == 302
    subscription = Subscription.objects.get()
    assert subscription.campaign is None and subscription.webhook_url == HOOK
    assert "every campaign I created" in signed_in.get(PAGE).content.decode()


def test_a_host_under_an_allowed_domain_is_accepted(signed_in):
    assert subscribe(signed_in, channel="webhook", webhook_url="https://team.chat.example.org/hook").status_code == 302


def test_the_campaign_page_links_to_the_form_with_the_campaign_chosen(signed_in, campaign):
    page = signed_in.get(campaign.get_absolute_url()).content.decode()
    link = f'{PAGE}?campaign={campaign.pk}'
    assert f'href="{link}"' in page
    form = signed_in.get(link).content.decode()
    assert f'<option value="{campaign.pk}" selected>' in form


@pytest.mark.parametrize("wanted", ["abc", "-1", "0", "99999", "9" * 30, "1" * 5000, "１", "1; drop"])
def test_a_campaign_in_the_link_that_is_none_is_said_and_not_chosen(signed_in, campaign, wanted):
    response = signed_in.get(PAGE, {"campaign": wanted})
    assert response.status_code == 200
    page = response.content.decode()
    assert "No such campaign to subscribe to" in page
    assert '<option value="" selected>every campaign I created</option>' in page


GARBAGE = [
    ({"events": []}, "events", "Choose at least one event."),
    ({"events": ["finished", "everything"]}, "events", "Select a valid choice. everything is not one of the available choices."),
    ({"channel": "fax"}, "channel", "Select a valid choice. fax is not one of the available choices."),
    ({"channel": ""}, "channel", "This field is required."),
    ({"campaign": "abc"}, "campaign", "Select a valid choice. That choice is not one of the available choices."),
    ({"campaign": "99999"}, "campaign", "Select a valid choice. That choice is not one of the available choices."),
    ({"campaign": "9" * 40}, "campaign", "Select a valid choice. That choice is not one of the available choices."),
    ({"channel": "webhook"}, "webhook_url", "A webhook needs its URL."),
    ({"channel": "webhook", "webhook_url": "   "}, "webhook_url", "A webhook needs its URL."),
    ({"channel": "webhook", "webhook_url": "not a url"}, "webhook_url", "A webhook URL starts with http:// or https:// and names a host."),
    ({"channel": "webhook", "webhook_url": "javascript:alert(1)"}, "webhook_url", "A webhook URL starts with http:// or https:// and names a host."),
    ({"channel": "webhook", "webhook_url": "ftp://hooks.example.org/x"}, "webhook_url", "A webhook URL starts with http:// or https:// and names a host."),
    ({"channel": "webhook", "webhook_url": "file:///etc/passwd"}, "webhook_url", "A webhook URL starts with http:// or https:// and names a host."),
    ({"channel": "webhook", "webhook_url": "https://"}, "webhook_url", "A webhook URL starts with http:// or https:// and names a host."),
    ({"channel": "webhook", "webhook_url": "https://hooks.example.org:99999/x"}, "webhook_url", "Enter a valid URL (http:// or https://, a host and an optional port)."),
    ({"channel": "webhook", "webhook_url": "https://hooks.example.org:0/x"}, "webhook_url", "Enter a valid URL (http:// or https://, a host and an optional port)."),
    ({"channel": "webhook", "webhook_url": "http://[::1/x"}, "webhook_url", "Enter a valid URL (http:// or https://, a host and an optional port)."),
    ({"channel": "webhook", "webhook_url": "http://127.0.0.1:8000/admin/"}, "webhook_url", "Webhooks may go only to these hosts: hooks.example.org, .chat.example.org."),
    ({"channel": "webhook", "webhook_url": "http://169.254.169.254/latest/meta-data/"}, "webhook_url", "Webhooks may go only to these hosts: hooks.example.org, .chat.example.org."),
    ({"channel": "webhook", "webhook_url": "https://hooks.example.org.evil.net/x"}, "webhook_url", "Webhooks may go only to these hosts: hooks.example.org, .chat.example.org."),
    ({"channel": "webhook", "webhook_url": "https://evilchat.example.org/x"}, "webhook_url", "Webhooks may go only to these hosts: hooks.example.org, .chat.example.org."),
    ({"channel": "webhook", "webhook_url": "https://hooks.example.org@127.0.0.1/x"}, "webhook_url", "Webhooks may go only to these hosts: hooks.example.org, .chat.example.org."),
    # Python reads the host after the backslash, requests (urllib3) the one before it.
    ({"channel": "webhook", "webhook_url": "http://127.0.0.1:8000\\@hooks.example.org/x"}, "webhook_url", "Enter a valid URL (http:// or https://, a host and an optional port)."),
    ({"channel": "webhook", "webhook_url": "http://169.254.169.254\\@x.chat.example.org/"}, "webhook_url", "Enter a valid URL (http:// or https://, a host and an optional port)."),
    ({"channel": "webhook", "webhook_url": "https://hooks.example.org/" + "x" * 500}, "webhook_url", "Ensure this value has at most 500 characters (it has 526)."),
]


@pytest.mark.parametrize("fields, field, message", GARBAGE, ids=[str(case[0]) for case in GARBAGE])
def test_garbage_in_any_field_is_refused_with_a_clear_message(signed_in, fields, field, message):
    response = subscribe(signed_in, **fields)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert Subscription.objects.count() == 0


def test_webhooks_are_refused_while_no_host_is_allowed(signed_in, settings):
    settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS = []
    response = subscribe(signed_in, channel="webhook", webhook_url=HOOK)
    assert response.context["form"].errors["webhook_url"] == [
        "Webhooks are off on this portal: an administrator lists the hosts they may go to in NOTIFY_WEBHOOK_ALLOWED_HOSTS."
    ]


def test_email_needs_an_address_on_the_account(client, bob):
    client.force_login(bob)
    response = subscribe(client)
    assert "Your account has no e-mail address" in response.context["form"].errors["channel"][0]
    assert Subscription.objects.count() == 0


def test_the_same_subscription_twice_is_refused(signed_in, campaign):
    subscribe(signed_in, campaign=campaign.pk)
    response = subscribe(signed_in, campaign=campaign.pk, events=["errors"])
    assert response.context["form"].non_field_errors() == ["You already have this subscription: change or delete it below."]
    assert Subscription.objects.count() == 1


def test_a_user_who_may_change_no_campaign_may_still_subscribe(client, victor, campaign):
    victor.email = "victor@example.org"
    victor.save()
    client.force_login(victor)
    assert subscribe(client, campaign=campaign.pk).status_code == 302
    assert Subscription.objects.get().user == victor


# -- access ---------------------------------------------------------------------------------------

def test_a_user_sees_and_deletes_only_their_own_subscriptions(client, alice, bob, campaign):
    theirs = Subscription.objects.create(user=alice, campaign=campaign)
    mine = Subscription.objects.create(user=bob, campaign=campaign, channel="webhook", webhook_url=HOOK)
    client.force_login(bob)
    page = client.get(PAGE).content.decode()
    assert f'data-subscription="{mine.pk}"' in page and f'data-subscription="{theirs.pk}"' not in page
    assert client.post(reverse("tokens:subscription-delete", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("tokens:subscription-delete", args=[mine.pk])).status_code == 405
    assert client.post(reverse("tokens:subscription-delete", args=[2**63 + 5])).status_code == 404
    assert Subscription.objects.filter(pk=theirs.pk).exists()
    assert client.post(reverse("tokens:subscription-delete", args=[mine.pk])).status_code == 302
    assert not Subscription.objects.filter(pk=mine.pk).exists()


def test_another_users_deliveries_are_not_shown(client, alice, bob, campaign):
    event = NotificationEvent.objects.create(campaign=campaign, kind="finished", key=1, detected_at=campaign.created_at)
    Delivery.objects.create(event=event, user=alice, channel="email", recipient="alice@example.org", state="sent")
    client.force_login(bob)
    assert "alice@example.org" not in client.get(PAGE).content.decode()
    client.force_login(alice)
    assert "alice@example.org" in client.get(PAGE).content.decode()


def test_staff_see_and_delete_everyones_subscriptions(client, alice, make_user, campaign):
    theirs = Subscription.objects.create(user=alice, campaign=campaign)
    staff = make_user("stella", staff=True)
    client.force_login(staff)
    page = client.get(PAGE).content.decode()
    assert f'data-subscription="{theirs.pk}"' in page and "every user" in page
    assert client.post(reverse("tokens:subscription-delete", args=[theirs.pk])).status_code == 302
    assert Subscription.objects.count() == 0


def test_an_anonymous_user_is_sent_to_sign_in(client, alice, campaign):
    subscription = Subscription.objects.create(user=alice, campaign=campaign)
    for response in (client.get(PAGE), client.post(PAGE, {"events": ["finished"], "channel": "email"}),
                     client.post(reverse("tokens:subscription-delete", args=[subscription.pk]))):
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert Subscription.objects.count() == 1


# -- the admin ------------------------------------------------------------------------------------

def test_the_admin_lists_subscriptions_events_and_deliveries(client, superuser, alice, campaign):
    subscription = Subscription.objects.create(user=alice, campaign=campaign)
    event = NotificationEvent.objects.create(campaign=campaign, kind="stalled", key=1, detected_at=campaign.created_at)
    Delivery.objects.create(event=event, subscription=subscription, user=alice, channel="email",
                            recipient="alice@example.org", state="failed", last_error="connection refused")
    client.force_login(superuser)
    for model in ("subscription", "notificationevent", "delivery"):
        response = client.get(reverse(f"admin:tokens_app_{model}_changelist"))
        assert response.status_code == 200, model
    assert "connection refused" in client.get(reverse("admin:tokens_app_notificationevent_change", args=[event.pk])).content.decode()
    assert client.get(reverse("admin:tokens_app_delivery_add")).status_code == 403


def test_the_admin_refuses_a_webhook_to_a_host_not_allowed(client, superuser, alice):
    client.force_login(superuser)
    response = client.post(reverse("admin:tokens_app_subscription_add"), {
        "user": alice.pk, "channel": "webhook", "webhook_url": "http://127.0.0.1:5984/_utils",
        "on_finished": "on", "created_at": "",
    })
    assert response.status_code == 200 and "Webhooks may go only to these hosts" in response.content.decode()
    assert Subscription.objects.count() == 0
