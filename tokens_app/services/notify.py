"""Notifications: watch the campaigns in the read model and tell their subscribers once per event.

Events: a campaign finished (tokens, none todo or locked), its error rate went over
``NOTIFY_ERROR_RATE`` (with at least ``NOTIFY_ERROR_MIN_FINISHED`` finished tokens), or it
stalled (the dashboard's rule, ``STALLED_MINUTES``). An event stays open while its condition
holds; once cleared, the next time is a new event. Each check reads the open events and the last
key of each campaign's kind first, then claims a new event by inserting the next key: the unique
key makes the database the arbiter, so of several notifiers that saw the same event only one
inserts it, with its deliveries, in one transaction, and only that one sends them. A delivery
that fails is tried again at later checks, a bounded number of times, and never stops the notifier.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from .. import notify_channels, token_reads
from ..models import Campaign
from ..notification_models import Channel, Delivery, EventKind, NotificationEvent, Subscription
from ..paces import campaign_paces
from ..read_models import ChangesCheckpoint

logger = logging.getLogger(__name__)

# A sender that died mid-delivery leaves it to another notifier after this long.
CLAIM = timedelta(minutes=5)
# The wait before the first retry of a failed delivery; each later one waits twice as long.
RETRY_AFTER = timedelta(seconds=30)
# Events are judged only on a read model this fresh (a follower restarting after a stop would
# otherwise show every campaign with work left as stalled).
CURRENT = timedelta(minutes=2)
# An error-rate event clears only once the rate falls below this share of the threshold, so a
# rate hovering at the threshold is one event, not one every check.
ERRORS_CLEAR_SHARE = 0.5


def conditions(counts: dict, pace: dict) -> dict[str, bool | None]:
    """Whether each kind of event holds for a campaign with these counts and this pace (None:
    neither holds nor clears, the error rate between the clearing level and the threshold)."""
    left = counts["todo"] + counts["locked"]
    finished = counts["done"] + counts["error"]
    rate = counts["error"] / finished if finished else 0.0
    errors = None
    if finished < settings.NOTIFY_ERROR_MIN_FINISHED or rate < settings.NOTIFY_ERROR_RATE * ERRORS_CLEAR_SHARE:
        errors = False
    elif rate > settings.NOTIFY_ERROR_RATE:
        errors = True
    return {
        EventKind.FINISHED: counts["total"] > 0 and left == 0,
        EventKind.ERRORS: errors,
        EventKind.STALLED: bool(pace.get("stalled")),
    }


def summary_of(counts: dict, pace: dict) -> dict:
    finished = counts["done"] + counts["error"]
    seconds_ago = pace.get("seconds_ago")
    return {
        "counts": counts,
        "error_rate": round(counts["error"] / finished, 4) if finished else 0.0,
        "quiet_minutes": None if seconds_ago is None else round(seconds_ago / 60, 1),
    }


def check(*, now: datetime | None = None) -> list[Delivery]:
    """Look at every ready campaign once: open the events that began, clear the ones that ended,
    send what this check claimed and retry what is due; the deliveries it tried."""
    now = now or timezone.now()
    campaigns = list(Campaign.objects.filter(status=Campaign.Status.READY).select_related("created_by"))
    latest = latest_events()
    with token_reads.one_snapshot():
        counts = token_reads.counts_many(campaigns)
        paces = campaign_paces(campaigns, counts)
    current = current_databases({campaign.database for campaign in campaigns}, now=now)
    claimed = []
    for campaign in campaigns:
        found = counts.get(campaign.token_set)
        if found is None or campaign.database not in current:
            continue
        pace = paces.get(campaign.pk, {})
        for kind, holds in conditions(found, pace).items():
            last = latest.get((campaign.pk, kind))
            is_open = last is not None and last["cleared_at"] is None
            if holds and not is_open:
                key = last["key"] + 1 if last else 1
                claimed += claim(campaign, kind, key, summary_of(found, pace), now=now)
            elif holds is False and is_open:
                NotificationEvent.objects.filter(pk=last["pk"], cleared_at__isnull=True).update(cleared_at=now)
    tried = (deliver(delivery, now=now) for delivery in claimed + claim_due(now=now))
    return [delivery for delivery in tried if delivery is not None]


def current_databases(databases: set[str], *, now: datetime) -> set[str]:
    """The databases whose changes the follower has read up to the end, recently."""
    return set(ChangesCheckpoint.objects.filter(database__in=databases, pending=0, updated_at__gte=now - CURRENT)
               .values_list("database", flat=True))


def latest_events() -> dict[tuple[int, str], dict]:
    """The last event of each campaign and kind, ``{"pk", "key", "cleared_at"}``, read in one
    query: whether it is open and the key after it are of the same moment."""
    last_key = NotificationEvent.objects.filter(campaign=OuterRef("campaign"), kind=OuterRef("kind")).order_by("-key")
    rows = NotificationEvent.objects.filter(key=Subquery(last_key.values("key")[:1]))
    return {(row["campaign_id"], row["kind"]): row for row in rows.values("pk", "campaign_id", "kind", "key", "cleared_at")}


def claim(campaign: Campaign, kind: str, key: int, summary: dict, *, now: datetime) -> list[Delivery]:
    """Record event ``key`` of ``kind`` and a delivery for each of its subscribers, claimed for
    sending; nothing when another notifier recorded it first."""
    try:
        with transaction.atomic():
            event = NotificationEvent.objects.create(campaign=campaign, kind=kind, key=key, summary=summary, detected_at=now)
            deliveries = Delivery.objects.bulk_create(
                Delivery(event=event, subscription=subscription, user=subscription.user, channel=subscription.channel,
                         recipient=recipient_of(subscription), claimed_until=now + CLAIM)
                for subscription in subscribers(campaign, kind, now=now)
            )
    except IntegrityError:
        return []
    return deliveries


def subscribers(campaign: Campaign, kind: str, *, now: datetime):
    """The subscriptions that want ``kind`` events of ``campaign`` and existed before it happened."""
    mine = Q(campaign__isnull=True, user_id=campaign.created_by_id) if campaign.created_by_id else Q(pk__in=[])
    return Subscription.objects.filter(
        Q(campaign=campaign) | mine, user__is_active=True, created_at__lte=now, **{f"on_{kind}": True},
    ).select_related("user")


def recipient_of(subscription: Subscription) -> str:
    return subscription.webhook_url if subscription.channel == Channel.WEBHOOK else subscription.user.email


def claim_due(*, now: datetime) -> list[Delivery]:
    """The failed deliveries whose next try is due, and those whose sender died, each claimed by
    a conditional update (one notifier wins it)."""
    due = Q(state=Delivery.State.RETRY, next_attempt_at__lte=now) | Q(state=Delivery.State.SENDING, claimed_until__lt=now)
    claimed = []
    for delivery in Delivery.objects.filter(due).select_related("event__campaign"):
        won = Delivery.objects.filter(due, pk=delivery.pk).update(state=Delivery.State.SENDING, claimed_until=now + CLAIM)
        if won:
            delivery.state, delivery.claimed_until = Delivery.State.SENDING, now + CLAIM
            claimed.append(delivery)
    return claimed


def deliver(delivery: Delivery, *, now: datetime) -> Delivery | None:
    """Send one claimed delivery and record the outcome: sent, to retry later, or failed; None
    when another notifier took it over while it waited its turn."""
    # The claim is renewed as the sending starts, if it is still this notifier's: a check's
    # deliveries wait behind slow ones, and another notifier may only take over one not started.
    renewed = timezone.now() + CLAIM
    if not Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.SENDING,
                                   claimed_until=delivery.claimed_until).update(claimed_until=renewed):
        return None
    delivery.attempts += 1
    try:
        if not delivery.recipient:
            raise ValueError(f"{delivery.user} has no e-mail address")
        if delivery.channel == Channel.WEBHOOK:
            notify_channels.post_webhook(delivery.event, delivery.recipient)
        else:
            notify_channels.send_email(delivery.event, delivery.recipient)
    # A channel's failure of any kind is recorded on the delivery; it never stops the notifier.
    except Exception as error:
        delivery.last_error = str(error)[:1000] or type(error).__name__
        if delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS or not delivery.recipient:
            delivery.state = Delivery.State.FAILED
        else:
            delivery.state = Delivery.State.RETRY
            delivery.next_attempt_at = now + RETRY_AFTER * 2 ** (delivery.attempts - 1)
        logger.warning("notification %s not delivered (try %d): %s", delivery, delivery.attempts, delivery.last_error)
    else:
        delivery.state, delivery.sent_at, delivery.last_error = Delivery.State.SENT, timezone.now(), ""
    delivery.claimed_until = None
    delivery.save(update_fields=["attempts", "state", "last_error", "next_attempt_at", "sent_at", "claimed_until"])
    return delivery


def watch(stop: threading.Event, *, interval: float | None = None) -> None:
    """Check every ``interval`` seconds (``NOTIFY_INTERVAL_SECONDS``) until ``stop`` is set; the
    notifier thread of ``manage.py follow_changes``."""
    interval = interval or settings.NOTIFY_INTERVAL_SECONDS
    try:
        while not stop.is_set():
            started = time.monotonic()
            close_old_connections()
            try:
                check()
            # The portal's database busy or briefly gone, or a campaign no check can read: logged,
            # and the next check goes on (the notifier outlives a bad round, as the follower does).
            except Exception:
                logger.exception("notifications not checked this round")
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        connection.close()
