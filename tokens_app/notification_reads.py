"""What the notifications page shows: subscriptions and recent deliveries, a user's own, or every
user's to staff."""

from .notification_models import Delivery, Subscription

# Recent deliveries the page lists (the admin lists them all).
DELIVERIES_SHOWN = 20


def subscriptions_seen_by(user):
    subscriptions = Subscription.objects.select_related("user", "campaign").order_by("user__username", "-created_at")
    return subscriptions if user.is_staff else subscriptions.filter(user=user)


def subscription_seen_by(user, pk: int) -> Subscription | None:
    """The subscription ``pk`` if ``user`` may see and change it (their own, or any to staff)."""
    return subscriptions_seen_by(user).filter(pk=pk).first()


def deliveries_seen_by(user) -> list[Delivery]:
    deliveries = Delivery.objects.select_related("event__campaign", "user").order_by("-created_at")
    return list((deliveries if user.is_staff else deliveries.filter(user=user))[:DELIVERIES_SHOWN])
