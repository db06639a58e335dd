"""Notifications: each event of a campaign (finished, error rate over the threshold, stalled) is
recorded once and sent once to each subscriber, by e-mail (Django's locmem backend here) or to a
webhook (a real HTTP server on 127.0.0.1); failures are recorded and retried a bounded number of
times. The counts come from the read model, caught up by a follower round before each check."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from notification_support import Receiver, finish, put_back

from tokens_app import services
from tokens_app.follower import Follower
from tokens_app.notification_models import Delivery, NotificationEvent, Subscription
from tokens_app.read_models import ChangesCheckpoint
from tokens_app.services import notify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _thresholds(settings):
    settings.NOTIFY_ERROR_RATE = 0.2
    settings.NOTIFY_ERROR_MIN_FINISHED = 5
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.PORTAL_URL = "https://portal.example.org"
    settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def mailed(alice):
    """alice has an address and hears of every event of every campaign she created."""
    alice.email = "alice@example.org"
    alice.save()
    return Subscription.objects.create(user=alice, campaign=None)


@pytest.fixture
def follower(db):
    following = Follower()
    assert following.take_lease()
    yield following
    following.release_lease()


@pytest.fixture
def checked(follower):
    """``checked()``: a follower round, then a notifier check (what ``follow_changes`` runs side by
    side); the deliveries the check tried."""

    def check(**options) -> list[Delivery]:
        follower.round()
        return notify.check(**options)

    return check


def ids_of(campaign) -> list[str]:
    return services.plan_of(campaign).token_ids


def test_a_finished_campaign_is_mailed_once(campaign, mailed, checked):
    assert checked() == [] and mail.outbox == []
    finish(campaign, ids_of(campaign))
    [delivery] = checked()
    assert delivery.state == Delivery.State.SENT and delivery.recipient == "alice@example.org"
    [message] = mail.outbox
    assert message.to == ["alice@example.org"]
    assert message.subject == f"[tokenportal] {campaign} finished: 12 done, 0 error of 12 tokens."
    assert f"https://portal.example.org/campaigns/{campaign.pk}/" in message.body
    assert checked() == [] and checked() == [] and len(mail.outbox) == 1
    assert NotificationEvent.objects.get().key == 1


def test_a_campaign_reset_and_finished_again_is_a_second_event(campaign, mailed, checked):
    finish(campaign, ids_of(campaign))
    checked()
    put_back(campaign, ids_of(campaign)[:2])
    assert checked() == []
    assert NotificationEvent.objects.get().cleared_at is not None
    finish(campaign, ids_of(campaign)[:2])
    assert len(checked()) == 1 and len(mail.outbox) == 2
    assert sorted(NotificationEvent.objects.values_list("key", flat=True)) == [1, 2]


def test_an_error_rate_over_the_threshold_is_one_event_until_it_falls(campaign, mailed, checked):
    ids = ids_of(campaign)
    finish(campaign, ids[:3])
    finish(campaign, ids[3:4], exit_code=1)
    # 1 failed of 4: too few finished to judge.
    assert checked() == []
    finish(campaign, ids[4:6], exit_code=1)
    [delivery] = checked()
    assert delivery.event.kind == "errors"
    assert mail.outbox[0].subject == f"[tokenportal] {campaign}: 3 of 6 finished tokens failed (50%, over the 20% threshold)."
    # More failures while the rate stays over the threshold are the same event.
    finish(campaign, ids[6:7], exit_code=2)
    assert checked() == []
    # Between the threshold and half of it, the event stays open (no new one when it rises again).
    finish(campaign, ids[7:11])
    assert checked() == [] and NotificationEvent.objects.get(kind="errors").cleared_at is None
    put_back(campaign, ids[3:7])
    checked()
    assert NotificationEvent.objects.get(kind="errors").cleared_at is not None
    assert len(mail.outbox) == 1


def test_a_stalled_campaign_uses_the_dashboards_rule(campaign, mailed, settings, checked):
    settings.STALLED_MINUTES = 10
    ids = ids_of(campaign)
    finish(campaign, ids[:2], at=time.time() - 3600)
    [delivery] = checked()
    assert delivery.event.kind == "stalled"
    assert mail.outbox[0].subject == f"[tokenportal] {campaign} stalled: 10 todo, 0 locked, no token finished for 60 min."
    assert checked() == []
    finish(campaign, ids[2:3])
    checked()
    assert NotificationEvent.objects.get(kind="stalled").cleared_at is not None
    assert len(mail.outbox) == 1


def test_only_the_chosen_events_of_the_chosen_campaigns_are_sent(make_campaign, alice, bob, checked):
    alice.email, bob.email = "alice@example.org", "bob@example.org"
    alice.save()
    bob.save()
    mine = make_campaign(token_type="mine")
    other = make_campaign(token_type="other", user=bob)
    Subscription.objects.create(user=alice, campaign=None, on_finished=False)
    Subscription.objects.create(user=bob, campaign=mine, on_errors=False, on_stalled=False)
    finish(mine, ids_of(mine))
    finish(other, ids_of(other))
    deliveries = checked()
    # alice does not want "finished"; bob wants it of mine only; nobody asked for other's.
    assert [(d.recipient, d.event.campaign_id) for d in deliveries] == [("bob@example.org", mine.pk)]
    assert [message.to for message in mail.outbox] == [["bob@example.org"]]
    assert NotificationEvent.objects.filter(kind="finished").count() == 2


def test_a_subscription_made_after_the_event_hears_nothing_of_it(campaign, alice, checked):
    finish(campaign, ids_of(campaign))
    checked()
    alice.email = "alice@example.org"
    alice.save()
    Subscription.objects.create(user=alice, campaign=campaign)
    assert checked() == [] and mail.outbox == []


def test_an_event_another_notifier_claimed_is_not_claimed_again(campaign, mailed):
    summary = {"counts": {"todo": 0, "locked": 0, "done": 12, "error": 0, "total": 12}}
    first = notify.claim(campaign, "finished", 1, summary, now=timezone.now())
    second = notify.claim(campaign, "finished", 1, summary, now=timezone.now())
    assert len(first) == 1 and second == []
    assert NotificationEvent.objects.count() == 1 and Delivery.objects.count() == 1


def test_a_read_model_behind_couchdb_decides_nothing(campaign, mailed, settings, follower):
    settings.STALLED_MINUTES = 1
    finish(campaign, ids_of(campaign)[:1], at=time.time() - 3600)
    follower.round()
    ChangesCheckpoint.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    assert notify.check() == [] and NotificationEvent.objects.count() == 0


def test_a_user_without_an_address_is_recorded_as_failed(campaign, alice, checked):
    Subscription.objects.create(user=alice, campaign=campaign)
    finish(campaign, ids_of(campaign))
    [delivery] = checked()
    assert delivery.state == Delivery.State.FAILED and delivery.last_error == "alice has no e-mail address"
    assert mail.outbox == []


def test_a_webhook_receives_the_event_as_json(campaign, alice, checked):
    with Receiver() as receiver:
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=receiver.url)
        finish(campaign, ids_of(campaign))
        [delivery] = checked()
    assert delivery.state == Delivery.State.SENT and delivery.attempts == 1
    [body] = receiver.received
    assert body["event"] == "finished" and body["key"] == 1
    assert body["campaign"] == {"id": campaign.pk, "token_type": campaign.token_type, "database": campaign.database,
                                "url": f"https://portal.example.org/campaigns/{campaign.pk}/"}
    assert body["counts"]["done"] == 12 and body["text"].startswith(f"{campaign} finished")


def test_a_failing_webhook_is_retried_a_bounded_number_of_times(campaign, alice, checked):
    with Receiver() as receiver:
        receiver.status = 500
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=receiver.url)
        finish(campaign, ids_of(campaign))
        [delivery] = checked()
        assert (delivery.state, delivery.attempts) == (Delivery.State.RETRY, 1)
        assert delivery.last_error == "the webhook answered HTTP 500"
        # Not due yet: nothing is sent.
        assert notify.check() == [] and len(receiver.received) == 1
        later = timezone.now() + timedelta(minutes=10)
        [delivery] = notify.check(now=later)
        assert (delivery.state, delivery.attempts) == (Delivery.State.RETRY, 2)
        [delivery] = notify.check(now=later + timedelta(minutes=10))
        assert (delivery.state, delivery.attempts) == (Delivery.State.FAILED, 3)
        assert notify.check(now=later + timedelta(hours=1)) == []
        assert len(receiver.received) == 3


def test_a_webhook_that_recovers_is_sent_at_its_retry(campaign, alice, checked):
    with Receiver() as receiver:
        receiver.status = 503
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=receiver.url)
        finish(campaign, ids_of(campaign))
        checked()
        receiver.status = 200
        [delivery] = notify.check(now=timezone.now() + timedelta(minutes=1))
    assert delivery.state == Delivery.State.SENT and delivery.attempts == 2 and len(receiver.received) == 2


def test_a_webhook_that_does_not_answer_in_time_or_at_all_is_recorded(campaign, alice, settings, checked):
    settings.NOTIFY_WEBHOOK_TIMEOUT = 0.3
    with Receiver() as receiver:
        receiver.delay = 2
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=receiver.url)
        closed = Receiver()
        closed.server.server_close()
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=closed.url)
        finish(campaign, ids_of(campaign))
        started = time.monotonic()
        deliveries = checked()
        assert time.monotonic() - started < 10
    assert [delivery.state for delivery in deliveries] == [Delivery.State.RETRY] * 2
    assert all(delivery.last_error for delivery in deliveries)


def test_a_webhook_to_a_host_no_longer_allowed_is_not_posted(campaign, alice, settings, checked):
    with Receiver() as receiver:
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=receiver.url)
        settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
        finish(campaign, ids_of(campaign))
        [delivery] = checked()
    assert delivery.state == Delivery.State.RETRY and "hooks.example.org" in delivery.last_error
    assert receiver.received == []


def test_a_webhook_whose_host_python_and_requests_read_differently_is_not_posted(campaign, alice, settings, checked):
    """A URL saved before the form refused it (or by the shell) is checked as requests reads it."""
    settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
    with Receiver() as receiver:
        hidden = receiver.url.replace("/hook", "\\@hooks.example.org/hook")
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=hidden)
        finish(campaign, ids_of(campaign))
        [delivery] = checked()
    assert receiver.received == []
    assert delivery.state == Delivery.State.RETRY and "valid URL" in delivery.last_error


def test_a_delivery_whose_sender_died_is_taken_over(campaign, mailed, checked):
    finish(campaign, ids_of(campaign))
    summary = {"counts": {"todo": 0, "locked": 0, "done": 12, "error": 0, "total": 12}}
    # Another notifier claimed the event and its delivery, then died before sending.
    [claimed] = notify.claim(campaign, "finished", 1, summary, now=timezone.now())
    assert checked() == [] and mail.outbox == []
    [delivery] = notify.check(now=timezone.now() + notify.CLAIM + timedelta(seconds=1))
    assert delivery.pk == claimed.pk and delivery.state == Delivery.State.SENT and len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_notifiers_that_saw_the_same_event_at_once_send_it_once(campaign, mailed, follower, monkeypatch):
    finish(campaign, ids_of(campaign))
    follower.round()
    # Both notifiers have read the events and decided to claim before either inserts.
    both_decided = threading.Barrier(2, timeout=30)
    claim = notify.claim

    def claim_together(*args, **options):
        both_decided.wait()
        return claim(*args, **options)

    monkeypatch.setattr(notify, "claim", claim_together)
    tried = []

    def notifier():
        try:
            tried.append(notify.check())
        finally:
            connection.close()

    threads = [threading.Thread(target=notifier) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(len(deliveries) for deliveries in tried) == [0, 1]
    assert len(mail.outbox) == 1 and NotificationEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_deliveries_waiting_behind_a_slow_one_are_not_sent_twice(campaign, alice, follower):
    """A check sends its deliveries one after another: those it has not started when its claim
    lapses go to another notifier, and those only; the first notifier does not send them again."""
    finish(campaign, ids_of(campaign))
    follower.round()
    receivers = [Receiver() for _ in range(3)]
    for receiver in receivers:
        receiver.__enter__()
        receiver.delay = 3
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=receiver.url)
    first = threading.Thread(target=lambda: (notify.check(), connection.close()))
    try:
        first.start()
        deadline = time.monotonic() + 30
        while sum(len(receiver.received) for receiver in receivers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        # The second send is under way (for a second and a half or so); to a notifier checking
        # once the check's claims lapsed, the third is due (not started), the second is not.
        taken = notify.check(now=timezone.now() + notify.CLAIM - timedelta(seconds=1.5))
        first.join(60)
    finally:
        for receiver in receivers:
            receiver.__exit__()
    assert len(taken) == 1
    assert [len(receiver.received) for receiver in receivers] == [1, 1, 1]
    assert Delivery.objects.filter(state=Delivery.State.SENT).count() == 3


def test_a_mail_server_that_refuses_is_recorded_and_retried(campaign, mailed, settings, checked):
    closed = Receiver()
    closed.server.server_close()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed.server.server_port
    finish(campaign, ids_of(campaign))
    [delivery] = checked()
    assert (delivery.state, delivery.attempts) == (Delivery.State.RETRY, 1)
    assert "refused" in delivery.last_error.lower()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    [delivery] = notify.check(now=timezone.now() + timedelta(minutes=1))
    assert delivery.state == Delivery.State.SENT and len(mail.outbox) == 1


def test_the_notifier_outlives_a_failing_check(monkeypatch):
    calls = []
    stop = threading.Event()

    def failing_check():
        calls.append(1)
        if len(calls) == 2:
            stop.set()
        raise RuntimeError("a bad round")

    monkeypatch.setattr(notify, "check", failing_check)
    notify.watch(stop, interval=0.01)
    assert len(calls) == 2
