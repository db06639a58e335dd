"""``{% load locks %}{% lock_panel obj %}``: the lock state of an object, with its actions."""

from django import template

from .. import lockables
from ..broker import BREAK_LOCK, FREEZE_OBJECT, JOIN_LOCK, LOCK_UNTIL_ENDED
from ..durations import format_duration
from ..forms import DURATION_CHOICES, EXTENSION_CHOICES
from ..guard import describe, principal_id
from ..keys import object_key
from ..limits import about_to_expire
from ..tokens import FREEZES, SharedLock
from ..utility import TokenUtility

register = template.Library()


@register.inclusion_tag("locks_app/lock_panel.html", takes_context=True)
def lock_panel(context, obj):
    """The panel: who holds ``obj`` and for how long, and the forms this user may post."""
    request = context["request"]
    user = request.user
    lock = TokenUtility().get(obj)
    holders = lock.row.principal_ids if lock is not None else []
    holds = principal_id(user) in holders
    lockable = lockables.of(obj)
    may_lock = lockable is not None and user.has_perm(lockable.permission)
    expiration = getattr(lock, "expiration", None)
    return {
        "csrf_token": context.get("csrf_token"),
        "key": object_key(obj),
        "next": request.get_full_path(),
        "lock": lock,
        "expiration": expiration,
        "ending_soon": expiration is not None and about_to_expire(lock),
        "state": describe(lock) if lock else "not locked",
        "locked": bool(holders),
        "holds": holds,
        "shared": isinstance(lock, SharedLock),
        "may_lock": may_lock,
        "may_join": may_lock and isinstance(lock, SharedLock) and not holds and user.has_perm(JOIN_LOCK),
        "may_extend": holds and expiration is not None,
        "may_end": holds or _may_end_for_others(user, lock),
        "may_freeze": lockable is not None and user.has_perm(FREEZE_OBJECT),
        "durations": [
            (value, label) for value, label in DURATION_CHOICES
            if value != "until-ended" or user.has_perm(LOCK_UNTIL_ENDED)
        ],
        "freeze_durations": DURATION_CHOICES,
        "extensions": EXTENSION_CHOICES,
    }


@register.inclusion_tag("locks_app/lock_bar.html", takes_context=True)
def lock_bar(context, obj):
    """The panel as a badge and a row of compact buttons, for a page's header."""
    return lock_panel(context, obj)


def _may_end_for_others(user, lock) -> bool:
    """The broker's rule for ending a lock this user does not hold, to show the button."""
    if isinstance(lock, FREEZES):
        return hasattr(lock, "end") and (user.has_perm(FREEZE_OBJECT) or user.has_perm(BREAK_LOCK))
    return lock is not None and user.has_perm(BREAK_LOCK)


@register.filter
def remaining(lock) -> str:
    """What is left of a lock: ``1 h 05 min``, or ``until ended``."""
    return format_duration(getattr(lock, "remaining_duration", None))
