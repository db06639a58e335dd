"""Notifications as deployment sends them: two ``manage.py follow_changes`` processes at once,
each with its notifier, on the test's database; one e-mail and one webhook call per event."""

import subprocess
import sys
import time
from email import message_from_string

import pytest
from notification_support import Receiver, finish
from operation_support import ROOT, wait_until, worker_env

from tokens_app import services
from tokens_app.notification_models import Delivery, NotificationEvent, Subscription

pytestmark = pytest.mark.django_db(transaction=True)

INTERVAL = 1


def mails_in(folder) -> list:
    """Every message the processes' file mail backend wrote (one file per connection)."""
    messages = []
    for path in sorted(folder.iterdir()):
        for text in path.read_text().split("-" * 79):
            if text.strip():
                messages.append(message_from_string(text.strip()))
    return messages


def test_two_followers_at_once_send_each_event_once(tmp_path, campaign, alice):
    alice.email = "alice@example.org"
    alice.save()
    outbox = tmp_path / "mail"
    outbox.mkdir()
    with Receiver() as receiver:
        Subscription.objects.create(user=alice, campaign=None)
        Subscription.objects.create(user=alice, campaign=campaign, channel="webhook", webhook_url=receiver.url)
        env = worker_env(EMAIL_URL=f"filemail:///{outbox}", NOTIFY_INTERVAL_SECONDS=INTERVAL,
                         NOTIFY_WEBHOOK_ALLOWED_HOSTS="127.0.0.1", PYTHONUNBUFFERED=1)
        logs = [tmp_path / f"follower-{n}.log" for n in range(2)]
        processes = []
        for log in logs:
            with log.open("w") as output:
                processes.append(subprocess.Popen([sys.executable, "manage.py", "follow_changes", "--interval", "0.1"],
                                                  cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT))
        try:
            wait_until(lambda: all("notifying every 1 s" in log.read_text() for log in logs), "both notifiers to start", timeout=60)
            finish(campaign, services.plan_of(campaign).token_ids)
            wait_until(lambda: Delivery.objects.filter(state=Delivery.State.SENT).count() == 2, "the deliveries")
            # Both notifiers look again several times: nothing more is sent.
            time.sleep(INTERVAL * 6)
            assert all(process.poll() is None for process in processes)
        except AssertionError as error:
            raise AssertionError("\n".join([str(error), *(log.read_text() for log in logs)])) from None
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
        received = list(receiver.received)
    output = [log.read_text() for log in logs]
    assert all(process.returncode == 0 for process in processes), output
    [message] = mails_in(outbox)
    assert message["To"] == "alice@example.org" and "finished: 12 done" in message["Subject"]
    assert [body["event"] for body in received] == ["finished"]
    assert NotificationEvent.objects.count() == 1 and Delivery.objects.count() == 2
