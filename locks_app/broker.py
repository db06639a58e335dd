"""Per-user lock operations with permission checks (zope.locking's token broker, for Django users).

Principals are usernames. Who may do what:

- lock (alone or shared), freeze, join: only objects of ``LOCKABLE_MODELS`` (``locks_app.lockables``),
  and only with the model's lock permission (by default its ``change`` permission);
- a lock without expiry ("until ended"), or one running longer than ``LOCK_MAX_DURATION`` from
  now, needs ``locks_app.lock_until_ended``;
- only a holder may end, share, unshare or change the time of a lock (``extend``,
  ``set_duration``: zope's token handlers); ``locks_app.break_lock`` ends anyone's token;
- joining a shared lock one does not hold needs ``locks_app.join_lock``;
- freezing (objects of ``LOCKABLE_MODELS`` only), and ending a freeze, needs
  ``locks_app.freeze_object`` (or ``break_lock``); freezes are not capped in time.

Refusals raise ``BrokerError`` with a message for the user; refusals for want of a permission
raise its subclass ``BrokerPermissionDenied``. No message tells whether a user name exists.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction

from . import clock, lockables
from .durations import format_duration
from .guard import describe, principal_id
from .handlers import handler_for
from .interfaces import ParticipationError, RegistrationError, TokenError
from .limits import max_duration
from .models import LockToken
from .tokens import FREEZES, EndableFreeze, ExclusiveLock, Freeze, SharedLock
from .utility import TokenUtility

BREAK_LOCK = "locks_app.break_lock"
FREEZE_OBJECT = "locks_app.freeze_object"
LOCK_UNTIL_ENDED = "locks_app.lock_until_ended"
JOIN_LOCK = "locks_app.join_lock"


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

    def may_lock(self, obj) -> bool:
        """Whether this user may lock ``obj`` (for showing the lock form)."""
        lockable = lockables.of(obj)
        return lockable is not None and self._may(lockable.permission)

    def lock(self, obj, duration=None):
        """Lock ``obj`` for this user alone."""
        self._check_lockable(obj, "lock")
        self._check_duration(duration)
        return self._register(ExclusiveLock(obj, self.principal_id, duration))

    def lock_shared(self, obj, usernames, duration=None):
        """Lock ``obj`` for this user and ``usernames``."""
        self._check_lockable(obj, "lock")
        self._check_duration(duration)
        principals = self._sharers(obj, usernames) | {self.principal_id}
        return self._register(SharedLock(obj, principals, duration))

    def freeze(self, obj, endable=True, duration=None):
        """Freeze ``obj``: nobody may change it (a permanent freeze never ends)."""
        self._require(FREEZE_OBJECT, "freeze")
        self._lockable(obj)
        if not endable and duration is not None:
            raise BrokerError("A permanent freeze has no duration.")
        return self._register(EndableFreeze(obj, duration) if endable else Freeze(obj))

    def end(self, obj):
        """End the active token of ``obj``."""
        token = self._active(obj)
        if isinstance(token, FREEZES):
            if not (self._may(FREEZE_OBJECT) or self._may(BREAK_LOCK)):
                raise BrokerPermissionDenied("You may not end a freeze.")
            if not hasattr(token, "end"):
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
        token = self._held(obj)
        added = self._sharers(obj, usernames)
        if isinstance(token, SharedLock):
            self._apply(self._handler(token).add, added)
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
        self._apply(token.remove, set(usernames), by=self.user)
        return token

    def join(self, obj):
        """Join the shared lock of ``obj`` (needs ``locks_app.join_lock`` and the lock permission)."""
        self._check_lockable(obj, "join the lock of")
        self._require(JOIN_LOCK, "join a lock held by others")
        token = self._active(obj)
        if not isinstance(token, SharedLock):
            raise BrokerError(f"{token.context} is {describe(token)}: only a shared lock can be joined.")
        self._apply(self._handler(token).join)
        return token

    def extend(self, obj, by):
        """Let this user's lock of ``obj`` run ``by`` longer."""
        token = self._held(obj)
        if token.expiration is None:
            raise BrokerError(f"{token.context} is locked until ended: there is nothing to extend.")
        expiration = max(token.expiration, clock.now()) + by
        self._check_duration(expiration - clock.now())
        self._apply(setattr, self._handler(token), "expiration", expiration)
        return token

    def set_duration(self, obj, duration):
        """Make this user's lock of ``obj`` run ``duration`` from its start (``None``: until ended)."""
        token = self._held(obj)
        self._check_duration(None if duration is None else token.started + duration - clock.now())
        self._apply(setattr, self._handler(token), "duration", duration)
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

    def _handler(self, token):
        return handler_for(token, {self.principal_id}, by=self.user)

    def _apply(self, change, *args, **kwargs):
        """Run a token change, turning a refusal by the token into a BrokerError."""
        try:
            change(*args, **kwargs)
        except ParticipationError:
            raise BrokerPermissionDenied("Only a holder of the lock may change it.") from None
        except TokenError as exc:
            raise BrokerError(f"The lock changed meanwhile ({exc}); reload and try again.") from None
        except ValueError as exc:
            raise BrokerError(f"{exc}.") from None

    @staticmethod
    def _lockable(obj):
        lockable = lockables.of(obj)
        if lockable is None:
            raise BrokerPermissionDenied(f"{obj} cannot be locked here (see LOCKABLE_MODELS).")
        return lockable

    def _check_lockable(self, obj, what):
        self._require(self._lockable(obj).permission, f"{what} {obj}")

    def _check_duration(self, remaining):
        """A lock may run until ended, or longer than LOCK_MAX_DURATION from now, only with
        ``locks_app.lock_until_ended``."""
        if self._may(LOCK_UNTIL_ENDED):
            return
        if remaining is None:
            raise BrokerPermissionDenied(
                f"You may not lock until ended: that needs the permission {LOCK_UNTIL_ENDED}."
            )
        longest = max_duration()
        if remaining > longest:
            raise BrokerPermissionDenied(
                f"A lock may run at most {format_duration(longest)} from now "
                f"(LOCK_MAX_DURATION); longer needs the permission {LOCK_UNTIL_ENDED}."
            )

    def _may(self, permission):
        return self.user.has_perm(permission)

    def _require(self, permission, what):
        if not self._may(permission):
            raise BrokerPermissionDenied(f"You may not {what}: that needs the permission {permission}.")

    @staticmethod
    def _sharers(obj, usernames) -> set:
        """The usernames, each of an active user who may lock ``obj``. The refusal reads the same
        for a name nobody has and for a user who may not share it, so it confirms no name."""
        wanted = {name.strip() for name in usernames if name.strip()}
        users = get_user_model()
        field = users.USERNAME_FIELD
        lockable = lockables.of(obj)
        found = {
            user.get_username()
            for user in users._default_manager.filter(**{f"{field}__in": wanted}, is_active=True)
            if lockable is not None and user.has_perm(lockable.permission)
        }
        if wanted - found:
            raise BrokerError(
                f"Cannot share with {', '.join(sorted(wanted - found))}: "
                "a lock is shared only with active users who may lock the object."
            )
        return found
