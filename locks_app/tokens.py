"""The four kinds of token (see ``locks_app.interfaces`` for the contract).

A token object wraps its ``LockToken`` history row once registered. Every change re-reads and
locks that row inside a transaction, so a token held in memory cannot change a token that
another process has ended meanwhile.
"""

import contextlib
import datetime

from django.db import transaction

from . import indexes, signals, utils
from .interfaces import EndedError, UnregisteredError
from .keys import object_key, resolve
from .models import LockToken

NO_TIME = datetime.timedelta()


def _checked_duration(value):
    if value is not None:
        if not isinstance(value, datetime.timedelta):
            raise TypeError("a duration is a datetime.timedelta or None")
        if value < NO_TIME:
            raise ValueError("a duration cannot be negative")
    return value


class Token:
    """What every kind of token has; see the subclasses for their constructors."""

    kind: str

    def __init__(self, obj, principal_ids=(), duration=None):
        self.object_key = object_key(obj)
        self._context = None if isinstance(obj, str) else obj
        self._principal_ids = frozenset(principal_ids)
        self._duration = _checked_duration(duration)
        self._row = None

    @classmethod
    def from_row(cls, row: LockToken) -> "Token":
        """The registered token a history row holds."""
        token = object.__new__(KINDS[row.kind])
        token.object_key = row.object_key
        token._context = None
        token._principal_ids = frozenset(row.principal_ids)
        token._duration = row.duration
        token._row = row
        return token

    def __eq__(self, other):
        if self._row is None or not isinstance(other, Token) or other._row is None:
            return self is other
        return self._row.pk == other._row.pk

    def __hash__(self):
        return hash(self._row.pk) if self._row is not None else id(self)

    def __repr__(self):
        state = "unregistered" if self._row is None else f"#{self._row.pk}"
        return f"<{type(self).__name__} {state} on {self.object_key}>"

    @property
    def context(self):
        """The object: the model instance the key names, or the key itself."""
        if self._context is None:
            self._context = resolve(self.object_key)
        return self._context

    @property
    def principal_ids(self) -> frozenset:
        return self._principal_ids

    @property
    def row(self) -> LockToken:
        """The history row of a registered token."""
        if self._row is None:
            raise UnregisteredError(f"{self!r} was never registered")
        return self._row

    @property
    def started(self) -> datetime.datetime:
        return self.row.started

    @property
    def duration(self):
        return self._duration

    @duration.setter
    def duration(self, value):
        value = _checked_duration(value)
        if self._row is None:
            self._duration = value
            return
        self._change_expiration(lambda row, now: value)

    @property
    def expiration(self):
        row = self.row
        return None if row.duration is None else row.started + row.duration

    @property
    def remaining_duration(self):
        expiration = self.expiration
        if expiration is None:
            return None
        return max(expiration - utils.now(), NO_TIME)

    @remaining_duration.setter
    def remaining_duration(self, value):
        if _checked_duration(value) is None:
            raise ValueError("a remaining duration cannot be None: set duration to None instead")
        self._change_expiration(lambda row, now: now - row.started + value)

    @property
    def ended(self):
        """When the token ended; an expired token ended at its expiration; ``None`` if active."""
        row = self.row
        if row.ended_at is not None:
            return row.ended_at
        expiration = self.expiration
        if expiration is not None and expiration <= utils.now():
            return expiration
        return None

    @property
    def creator(self):
        """The user who registered the token, if known."""
        return self.row.created_by

    def end(self, *, by=None, reason=LockToken.EndReason.ENDED) -> None:
        """End the token now and remove it from every index."""
        with self._changing() as (row, now):
            row.ended_at = now
            row.end_reason = reason
            row.ended_by = by
            row.save(update_fields=["ended_at", "end_reason", "ended_by"])
            indexes.unindex(row)
        signals.token_ended.send(sender=type(self), token=self)

    @contextlib.contextmanager
    def _changing(self):
        """A transaction holding this token's row, re-read and refused if it has ended;
        yields the row and the time of the change."""
        pk = self.row.pk
        with transaction.atomic():
            self._row = LockToken.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=pk)
            if self.ended is not None:
                raise EndedError(f"{self!r} has ended")
            yield self._row, utils.now()

    def _change_expiration(self, new_duration):
        old = self.expiration
        with self._changing() as (row, now):
            row.duration = _checked_duration(new_duration(row, now))
            row.expiration = None if row.duration is None else row.started + row.duration
            row.save(update_fields=["duration", "expiration"])
            indexes.set_expiration(row)
        self._duration = row.duration
        signals.expiration_changed.send(sender=type(self), token=self, old=old)

    def _new_row(self, now, created_by) -> LockToken:
        expiration = None if self._duration is None else now + self._duration
        return LockToken(
            kind=self.kind, object_key=self.object_key, principal_ids=sorted(self._principal_ids),
            started=now, duration=self._duration, expiration=expiration, created_by=created_by,
        )


class ExclusiveLock(Token):
    """A lock held by one principal, who never changes."""

    kind = LockToken.Kind.EXCLUSIVE

    def __init__(self, obj, principal_id, duration=None):
        super().__init__(obj, (principal_id,), duration)


class SharedLock(Token):
    """A lock held by a set of principals; removing the last one ends it."""

    kind = LockToken.Kind.SHARED

    def __init__(self, obj, principal_ids, duration=None):
        principal_ids = frozenset(principal_ids)
        if not principal_ids:
            raise ValueError("a shared lock needs at least one principal")
        super().__init__(obj, principal_ids, duration)

    def add(self, principal_ids) -> None:
        """Add principals to the lock."""
        self._change_principals(lambda current: current | frozenset(principal_ids))

    def remove(self, principal_ids) -> None:
        """Remove principals; removing every principal ends the lock."""
        self._change_principals(lambda current: current - frozenset(principal_ids))

    def _change_principals(self, change):
        old = self._principal_ids
        with self._changing() as (row, now):
            current = frozenset(row.principal_ids)
            wanted = change(current)
            if wanted == current:
                return
            if not wanted:
                row.ended_at, row.end_reason = now, LockToken.EndReason.EMPTIED
                row.save(update_fields=["ended_at", "end_reason"])
                indexes.unindex(row)
            else:
                row.principal_ids = sorted(wanted)
                row.save(update_fields=["principal_ids"])
                indexes.remove_principals(row, current - wanted)
                indexes.add_principals(row, wanted - current)
        self._principal_ids = wanted
        signals.principals_changed.send(sender=type(self), token=self, old=old)
        if not wanted:
            signals.token_ended.send(sender=type(self), token=self)


class Freeze(Token):
    """A freeze with no principal and no duration, which never ends."""

    kind = LockToken.Kind.FREEZE

    def __init__(self, obj):
        super().__init__(obj)

    @Token.duration.setter
    def duration(self, value):
        raise TypeError("a Freeze has no duration")

    @Token.remaining_duration.setter
    def remaining_duration(self, value):
        raise TypeError("a Freeze has no duration")

    def end(self, **kwargs):
        raise TypeError("a Freeze never ends; use an EndableFreeze for a freeze that may end")


class EndableFreeze(Token):
    """A freeze with no principal that may end, or expire after a duration."""

    kind = LockToken.Kind.ENDABLE_FREEZE

    def __init__(self, obj, duration=None):
        super().__init__(obj, (), duration)


KINDS = {cls.kind: cls for cls in (ExclusiveLock, SharedLock, Freeze, EndableFreeze)}
FREEZES = (Freeze, EndableFreeze)
