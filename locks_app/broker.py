"""Per-user lock operations with permission checks (zope.locking's token broker, for Django users).

Principals are usernames. Only a principal of a lock may end or change it; a user with
``locks_app.break_lock`` may end anyone's token; freezing, and ending a freeze, needs
``locks_app.freeze_object`` (or ``break_lock``). Refusals raise ``BrokerError`` with a message
for the user; refusals for want of a permission raise its subclass ``BrokerPermissionDenied``.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction

from .guard import describe, principal_id
from .interfaces import RegistrationError, TokenError
from .models import LockToken
from .tokens import FREEZES, EndableFreeze, ExclusiveLock, Freeze, SharedLock
from .utility import TokenUtility

BREAK_LOCK = "locks_app.break_lock"
FREEZE_OBJECT = "locks_app.freeze_object"


class BrokerError(Exception):
    """A lock operation was refused; the message says why."""


class BrokerPermissionDenied(BrokerError, PermissionDenied):
    """The user lacks the permission the operation needs."""


class TokenBroker:
    """The lock operations ``user`` may perform, each in its own transaction."""

    def __init__(self, user, utility=None):
        if principal_id(user) is None or not user.is_active:
            raise BrokerPermissionDenied("Sign in as an active user to lock or freeze.")
        self.user = user
        self.principal_id = principal_id(user)
        self.utility = utility or TokenUtility()

    def lock(self, obj, duration=None):
        """Lock ``obj`` for this user alone."""
        return self._register(ExclusiveLock(obj, self.principal_id, duration))

    def lock_shared(self, obj, usernames, duration=None):
        """Lock ``obj`` for this user and ``usernames``."""
        principals = self._known(usernames) | {self.principal_id}
        return self._register(SharedLock(obj, principals, duration))

    def freeze(self, obj, endable=True, duration=None):
        """Freeze ``obj``: nobody may change it (a permanent freeze never ends)."""
        self._require(FREEZE_OBJECT, "freeze")
        if not endable and duration is not None:
            raise BrokerError("A permanent freeze has no duration.")
        return self._register(EndableFreeze(obj, duration) if endable else Freeze(obj))

    def end(self, obj):
        """End the active token of ``obj``."""
        token = self._active(obj)
        if isinstance(token, FREEZES):
            if not (self._may(FREEZE_OBJECT) or self._may(BREAK_LOCK)):
                raise BrokerPermissionDenied("You may not end a freeze.")
            if isinstance(token, Freeze):
                raise BrokerError(f"{token.context} is frozen for good: a permanent freeze never ends.")
            reason = LockToken.EndReason.ENDED
        elif self.principal_id in token.principal_ids:
            reason = LockToken.EndReason.ENDED
        elif self._may(BREAK_LOCK):
            reason = LockToken.EndReason.BROKEN
        else:
            raise BrokerPermissionDenied(f"{token.context} is {describe(token)}: only a holder may end it.")
        self._apply(token.end, by=self.user, reason=reason)
        return token

    def share(self, obj, usernames):
        """Add ``usernames`` to this user's lock of ``obj``; an exclusive lock becomes shared,
        keeping its expiration."""
        added = self._known(usernames)
        token = self._held(obj)
        if isinstance(token, SharedLock):
            self._apply(token.add, added)
            return token
        with transaction.atomic():
            remaining = token.remaining_duration
            self._apply(token.end, by=self.user)
            return self._register(SharedLock(obj, added | token.principal_ids, remaining))

    def unshare(self, obj, usernames):
        """Remove ``usernames`` from this user's shared lock of ``obj``; removing everybody ends it."""
        token = self._held(obj)
        if not isinstance(token, SharedLock):
            raise BrokerError(f"{token.context} is not under a shared lock.")
        self._apply(token.remove, set(usernames))
        return token

    def _register(self, token):
        try:
            return self.utility.register(token, by=self.user)
        except RegistrationError:
            held = self.utility.get(token.object_key)
            state = describe(held) if held else "already locked"
            raise BrokerError(f"{token.context} is {state}.") from None

    def _active(self, obj):
        token = self.utility.get(obj)
        if token is None:
            raise BrokerError(f"{obj} is neither locked nor frozen.")
        return token

    def _held(self, obj):
        token = self._active(obj)
        if isinstance(token, FREEZES) or self.principal_id not in token.principal_ids:
            raise BrokerPermissionDenied(f"{token.context} is {describe(token)}: only a holder may change it.")
        return token

    def _apply(self, change, *args, **kwargs):
        """Run a token change, turning a token that ended meanwhile into a BrokerError."""
        try:
            change(*args, **kwargs)
        except TokenError as exc:
            raise BrokerError(f"The lock changed meanwhile ({exc}); reload and try again.") from None

    def _may(self, permission):
        return self.user.has_perm(permission)

    def _require(self, permission, what):
        if not self._may(permission):
            raise BrokerPermissionDenied(f"You may not {what}: that needs the permission {permission}.")

    @staticmethod
    def _known(usernames) -> set:
        """The usernames, each of an existing active user; ``BrokerError`` naming the others."""
        wanted = {name.strip() for name in usernames if name.strip()}
        users = get_user_model()
        field = users.USERNAME_FIELD
        found = set(
            users._default_manager.filter(**{f"{field}__in": wanted}, is_active=True)
            .values_list(field, flat=True)
        )
        if wanted - found:
            raise BrokerError(f"Unknown user(s): {', '.join(sorted(wanted - found))}.")
        return found
