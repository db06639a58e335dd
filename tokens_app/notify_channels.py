"""How a notification reaches its subscriber: its text, an e-mail (Django's mail framework) or a
webhook (a JSON POST), and which webhook addresses are allowed at all.

A webhook goes only to a host the administrator listed in ``NOTIFY_WEBHOOK_ALLOWED_HOSTS``, and
redirects are not followed: the portal never posts to an address a user chose inside its own
network.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail

from .notification_models import EventKind, NotificationEvent

SUBJECT_PREFIX = "[tokenportal] "


def check_webhook_url(url: str) -> str:
    """``url`` if it is an http(s) address on an allowed host; a ValidationError saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("Enter a valid URL (http:// or https://, a host and an optional port).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("A webhook URL starts with http:// or https:// and names a host.")
    if port == 0:
        raise ValidationError("Enter a valid URL (http:// or https://, a host and an optional port).")
    if not settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS:
        raise ValidationError("Webhooks are off on this portal: an administrator lists the hosts they may go to "
                              "in NOTIFY_WEBHOOK_ALLOWED_HOSTS.")
    if not host_allowed(parts.hostname):
        allowed = ", ".join(settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS)
        raise ValidationError(f"Webhooks may go only to these hosts: {allowed}.")
    return url


def host_allowed(host: str) -> bool:
    """Whether ``host`` is listed: by name, or under a listed ``.domain``."""
    host = host.lower().rstrip(".")
    return any(
        host == allowed or (allowed.startswith(".") and (host.endswith(allowed) or host == allowed[1:]))
        for allowed in settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS
    )


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
