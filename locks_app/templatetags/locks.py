"""``{% load locks %}{% lock_panel obj %}``: the lock state of an object, with its actions."""

from django import template

from ..broker import BREAK_LOCK, FREEZE_OBJECT
from ..durations import format_duration
from ..forms import DURATION_CHOICES
from ..guard import describe, principal_id
from ..keys import object_key
from ..tokens import FREEZES, EndableFreeze, SharedLock
from ..utility import TokenUtility

register = template.Library()


@register.inclusion_tag("locks_app/lock_panel.html", takes_context=True)
def lock_panel(context, obj):
    """The panel: who holds ``obj`` and for how long, and the forms this user may post."""
    request = context["request"]
    user = request.user
    token = TokenUtility().get(obj)
    holds = token is not None and principal_id(user) in token.principal_ids
    return {
        "csrf_token": context.get("csrf_token"),
        "key": object_key(obj),
        "next": request.get_full_path(),
        "token": token,
        "state": describe(token) if token else "not locked",
        "holds": holds,
        "shared": isinstance(token, SharedLock),
        "may_end": holds or _may_end_for_others(user, token),
        "may_freeze": user.has_perm(FREEZE_OBJECT),
        "durations": DURATION_CHOICES,
    }


def _may_end_for_others(user, token) -> bool:
    """The broker's rule for ending a token this user does not hold, to show the button."""
    if isinstance(token, FREEZES):
        return isinstance(token, EndableFreeze) and (
            user.has_perm(FREEZE_OBJECT) or user.has_perm(BREAK_LOCK)
        )
    return token is not None and user.has_perm(BREAK_LOCK)


@register.filter
def remaining(token) -> str:
    """What is left of a token: ``1 h 05 min``, or ``until ended``."""
    return format_duration(token.remaining_duration)
