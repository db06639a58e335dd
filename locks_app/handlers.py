"""Token handlers: a lock as the principals acting now may use it (zope.locking's handlers).

The principals acting are zope's *interaction*: in the portal, the signed-in user. A handler
reads like its token; its writes check first that every acting principal holds the lock, and
raise ``ParticipationError`` otherwise. Ending a lock outright (``end``) stays on the token: that
is breaking the lock, a matter of permission (see ``locks_app.broker``), while ``release`` is
unlocking.
"""

from .interfaces import EndedError, ParticipationError
from .tokens import ExclusiveLock, SharedLock


class TokenHandler:
    """A lock, for ``principal_ids`` acting now (``by``: the user, kept in the history)."""

    def __init__(self, token, principal_ids, *, by=None):
        self.token = token
        self.acting = frozenset(principal_ids)
        self.by = by

    def __getattr__(self, name):
        return getattr(self.token, name)

    def _check(self) -> frozenset:
        """The token's principals, once sure it is active and held by everybody acting."""
        if self.token.ended is not None:
            raise EndedError(f"{self.token!r} has ended")
        holders = self.token.principal_ids
        if not self.acting or self.acting - holders:
            raise ParticipationError(f"only a holder of {self.token.object_key} may do that")
        return holders

    def _acting_ones(self, principal_ids) -> frozenset:
        """The principals named, or all acting ones; naming one not acting is refused."""
        if principal_ids is None:
            return self.acting
        named = frozenset(principal_ids)
        if named - self.acting:
            raise ParticipationError(f"{', '.join(sorted(named - self.acting))} not acting now")
        return named

    @property
    def expiration(self):
        return self.token.expiration

    @expiration.setter
    def expiration(self, value):
        self._check()
        self.token.expiration = value

    @property
    def duration(self):
        return self.token.duration

    @duration.setter
    def duration(self, value):
        self._check()
        self.token.duration = value

    @property
    def remaining_duration(self):
        return self.token.remaining_duration

    @remaining_duration.setter
    def remaining_duration(self, value):
        self._check()
        self.token.remaining_duration = value

    def release(self, principal_ids=None) -> None:
        raise NotImplementedError


class ExclusiveLockHandler(TokenHandler):
    def release(self, principal_ids=None) -> None:
        """Unlock: the lock ends when its holder releases it."""
        holders = self._check()
        if not holders - self._acting_ones(principal_ids):
            self.token.end(by=self.by)


class SharedLockHandler(TokenHandler):
    def release(self, principal_ids=None) -> None:
        """Leave the lock (some or all of the acting principals); the last one out ends it."""
        self._check()
        self.token.remove(self._acting_ones(principal_ids), by=self.by)

    def join(self, principal_ids=None) -> None:
        """Let acting principals join the lock (whether they hold it or not)."""
        if self.token.ended is not None:
            raise EndedError(f"{self.token!r} has ended")
        self.token.add(self._acting_ones(principal_ids))

    def add(self, principal_ids) -> None:
        """Share the lock with anyone; only holders may."""
        self._check()
        self.token.add(principal_ids)


def handler_for(token, principal_ids, *, by=None) -> TokenHandler:
    """The handler of a lock; a freeze has no holders, so no handler (``TypeError``)."""
    if isinstance(token, SharedLock):
        return SharedLockHandler(token, principal_ids, by=by)
    if isinstance(token, ExclusiveLock):
        return ExclusiveLockHandler(token, principal_ids, by=by)
    raise TypeError(f"a {type(token).__name__} has no holders to act for")
