"""How long a lock may run: ``settings.LOCK_MAX_DURATION`` (a duration such as ``7d``, or a
``timedelta``) caps every lock but those of users allowed to lock until ended."""

import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .durations import parse_duration

DEFAULT_MAX_DURATION = datetime.timedelta(days=7)
# A lock with less than this left shows "about to expire" next to the object it locks.
EXPIRY_WARNING = datetime.timedelta(minutes=30)


def max_duration() -> datetime.timedelta:
    """The longest a lock may run from now; ``ImproperlyConfigured`` (one line) for garbage."""
    given = getattr(settings, "LOCK_MAX_DURATION", DEFAULT_MAX_DURATION)
    value = given
    if isinstance(given, str):
        try:
            value = parse_duration(given)
        except ValueError:
            value = None
    if not isinstance(value, datetime.timedelta) or value <= datetime.timedelta():
        raise ImproperlyConfigured(
            f"LOCK_MAX_DURATION={given!r} is not a valid value for LOCK_MAX_DURATION: "
            "give a positive duration of at most ten years, such as 7d or 12h"
        )
    return value


def about_to_expire(lock) -> bool:
    """Whether a lock that expires has less than ``EXPIRY_WARNING`` left."""
    remaining = getattr(lock, "remaining_duration", None)
    return remaining is not None and remaining < EXPIRY_WARNING
