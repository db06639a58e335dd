"""The guard: may this user change this object now?

Services that change an object call ``ensure_can_change(user, obj)`` before writing. A frozen
object refuses everybody; an object locked by others refuses with the holders and the expiry;
an unlocked object, or one this user holds (alone or shared), lets the change go ahead. The
refusal names the object as ``str(obj)`` does; callers add what they were about to do.
"""

import datetime

from .tokens import FREEZES
from .utility import TokenUtility


class ChangeRefused(Exception):
    """The object is frozen, or locked by someone else; the message says which and by whom."""


def when(moment) -> str:
    """A moment as operators read it: ``2026-11-23 10:00 UTC``."""
    return f"{moment.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC"


def until(lock) -> str:
    """``until 2026-11-23 10:00 UTC``, or ``until ended`` for a lock without expiration."""
    expiration = getattr(lock, "expiration", None)
    return f"until {when(expiration)}" if expiration else "until ended"


def describe(lock) -> str:
    """What holds the object, in one phrase: ``frozen since … by …`` or ``locked by … until …``."""
    if isinstance(lock, FREEZES):
        creator = lock.creator.get_username() if lock.creator else "an unknown user"
        expiring = f" {until(lock)}" if getattr(lock, "expiration", None) else ""
        return f"frozen since {when(lock.started)} by {creator}{expiring}"
    return f"locked by {', '.join(sorted(lock.principal_ids))} {until(lock)}"


def principal_id(user) -> str | None:
    """The principal id of a user in locks: the username (``None`` for nobody)."""
    if user is None or not user.is_authenticated:
        return None
    return user.get_username()


def ensure_can_change(user, obj, *, utility=None) -> None:
    """Raise ``ChangeRefused`` unless ``user`` may change ``obj`` now."""
    lock = (utility or TokenUtility()).get(obj)
    if lock is None:
        return
    if not isinstance(lock, FREEZES) and principal_id(user) in lock.row.principal_ids:
        # The row was read by ``get`` a moment ago: reading it again would tell nothing newer.
        return
    raise ChangeRefused(f"{lock.context} is {describe(lock)}.")
