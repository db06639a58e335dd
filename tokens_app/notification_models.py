"""Notifications: who wants to hear of what (``Subscription``), what happened (``NotificationEvent``,
one row per event, claimed once across processes by its unique key) and what was sent to whom
(``Delivery``, with its outcome)."""

from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def check_webhook_url(url: str) -> str:
    """``url`` if it is an http(s) address on a host the administrator listed in
    ``NOTIFY_WEBHOOK_ALLOWED_HOSTS``; a ValidationError saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("Enter a valid URL (http:// or https://, a host and an optional port).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("A webhook URL starts with http:// or https:// and names a host.")
    if port == 0 or not _sent_to(url, parts.hostname, port):
        raise ValidationError("Enter a valid URL (http:// or https://, a host and an optional port).")
    if not settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS:
        raise ValidationError("Webhooks are off on this portal: an administrator lists the hosts they may go to "
                              "in NOTIFY_WEBHOOK_ALLOWED_HOSTS.")
    if not host_allowed(parts.hostname):
        allowed = ", ".join(settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS)
        raise ValidationError(f"Webhooks may go only to these hosts: {allowed}.")
    return url


def _sent_to(url: str, host: str, port: int | None) -> bool:
    """Whether requests connects to ``host`` and ``port`` for ``url``: its parser (urllib3's)
    differs from Python's, e.g. on a backslash (``http://127.0.0.1\\@allowed/``)."""
    try:
        sent = urllib3.util.parse_url(requests.Request("POST", url).prepare().url)
        named = host.encode("idna").decode("ascii")
    except (ValueError, requests.RequestException, urllib3.exceptions.LocationParseError):
        return False
    return (sent.host or "").lower().strip("[]") == named.lower() and sent.port == port


def host_allowed(host: str) -> bool:
    """Whether ``host`` is listed: by name, or under a listed ``.domain``."""
    host = host.lower().rstrip(".")
    return any(
        host == allowed or (allowed.startswith(".") and (host.endswith(allowed) or host == allowed[1:]))
        for allowed in settings.NOTIFY_WEBHOOK_ALLOWED_HOSTS
    )


class EventKind(models.TextChoices):
    FINISHED = "finished", "finished"
    ERRORS = "errors", "error rate over the threshold"
    STALLED = "stalled", "stalled"


class Channel(models.TextChoices):
    EMAIL = "email", "e-mail"
    WEBHOOK = "webhook", "webhook"


class Subscription(models.Model):
    """A user's wish to hear of some events of one campaign, or of every campaign they created
    (``campaign`` empty), by e-mail to their address or by a webhook."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    campaign = models.ForeignKey(
        "tokens_app.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="subscriptions",
        help_text="empty: every campaign the user created",
    )
    on_finished = models.BooleanField("finished", default=True)
    on_errors = models.BooleanField("error rate over the threshold", default=True)
    on_stalled = models.BooleanField("stalled", default=True)
    channel = models.CharField(max_length=10, choices=Channel, default=Channel.EMAIL)
    webhook_url = models.CharField("webhook URL", max_length=500, blank=True, validators=[check_webhook_url])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel=Channel.EMAIL, webhook_url="") | models.Q(channel=Channel.WEBHOOK) & ~models.Q(webhook_url=""),
                name="webhook_url_with_webhook_only",
            ),
        ]

    def __str__(self):
        return f"{self.user} on {self.campaign or 'all their campaigns'} by {self.get_channel_display()}"

    @property
    def events(self) -> list[str]:
        return [kind for kind in EventKind.values if getattr(self, f"on_{kind}")]


class NotificationEvent(models.Model):
    """One event of a campaign: the ``key``-th time it finished, went over the error threshold or
    stalled. Open while the condition holds (``cleared_at`` empty); the next time is a new key."""

    campaign = models.ForeignKey("tokens_app.Campaign", on_delete=models.CASCADE, related_name="notification_events")
    kind = models.CharField(max_length=10, choices=EventKind)
    key = models.PositiveIntegerField()
    summary = models.JSONField(default=dict, help_text="the counts and pace when the event was seen")
    detected_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind", "key"], name="one_notification_event"),
        ]

    def __str__(self):
        return f"{self.campaign} {self.kind} #{self.key}"


class Delivery(models.Model):
    """One notification sent (or tried) for an event to one subscriber by one channel."""

    class State(models.TextChoices):
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        RETRY = "retry", "failed, will retry"
        FAILED = "failed", "failed"

    event = models.ForeignKey(NotificationEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    channel = models.CharField(max_length=10, choices=Channel)
    recipient = models.CharField(max_length=500, help_text="the e-mail address or webhook URL")
    state = models.CharField(max_length=10, choices=State, default=State.SENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # While sending: when another process may take the delivery over (this one died).
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"{self.event} to {self.recipient} ({self.state})"
