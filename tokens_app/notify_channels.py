"""How a notification reaches its subscriber: its text, an e-mail (Django's mail framework) or a
webhook (a JSON POST). A webhook's host is checked again when it is sent (the allowed hosts may
have changed since it was saved), and redirects are not followed: the portal never posts to an
address a user chose inside its own network.
"""

from __future__ import annotations

import requests
from django.conf import settings
from django.core.mail import send_mail

from .notification_models import EventKind, NotificationEvent, check_webhook_url

SUBJECT_PREFIX = "[tokenportal] "


def campaign_link(event: NotificationEvent) -> str:
    return settings.PORTAL_URL + event.campaign.get_absolute_url()


def describe(event: NotificationEvent) -> str:
    """One sentence saying what happened, from the counts seen when it happened."""
    summary = event.summary
    counts = summary.get("counts", {})
    name = str(event.campaign)
    if event.kind == EventKind.FINISHED:
        return f"{name} finished: {counts.get('done', 0)} done, {counts.get('error', 0)} error of {counts.get('total', 0)} tokens."
    if event.kind == EventKind.ERRORS:
        finished = counts.get("done", 0) + counts.get("error", 0)
        return (f"{name}: {counts.get('error', 0)} of {finished} finished tokens failed "
                f"({summary.get('error_rate', 0):.0%}, over the {settings.NOTIFY_ERROR_RATE:.0%} threshold).")
    quiet = summary.get("quiet_minutes")
    return (f"{name} stalled: {counts.get('todo', 0)} todo, {counts.get('locked', 0)} locked, "
            f"no token finished for {quiet:.0f} min." if quiet is not None else
            f"{name} stalled: {counts.get('todo', 0)} todo, {counts.get('locked', 0)} locked, no token finished yet.")


def send_email(event: NotificationEvent, address: str) -> None:
    text = describe(event)
    send_mail(SUBJECT_PREFIX + text, f"{text}\n\n{campaign_link(event)}\n", None, [address])


def post_webhook(event: NotificationEvent, url: str) -> None:
    """POST the event as JSON; any answer but a 2xx is a failure (raised)."""
    check_webhook_url(url)
    payload = {
        # Chat services' incoming webhooks (Slack, Mattermost) show ``text``.
        "text": describe(event),
        "event": event.kind,
        "key": event.key,
        "detected_at": event.detected_at.isoformat(),
        "campaign": {"id": event.campaign_id, "token_type": event.campaign.token_type,
                     "database": event.campaign.database, "url": campaign_link(event)},
        **event.summary,
    }
    response = requests.post(url, json=payload, timeout=settings.NOTIFY_WEBHOOK_TIMEOUT, allow_redirects=False)
    if not 200 <= response.status_code < 300:
        raise requests.HTTPError(f"the webhook answered HTTP {response.status_code}")
