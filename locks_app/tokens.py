"""The four kinds of token (see ``locks_app.interfaces`` for the contract).

A token object wraps its ``LockToken`` history row once registered. What can change about a token
(its principals, its expiration, whether it has ended) is read from the database each time it is
asked, so a token object tells the truth after the same token was changed through another object
or in another process; an explicitly ended token never changes again and is read no more. Every
change re-reads and locks the row inside a transaction, so a token held in memory cannot change a
token that has ended meanwhile.

As in zope.locking, a plain ``Freeze`` has no ``end``, ``ended``, ``expiration``, ``duration`` or
``remaining_duration``: ``hasattr(token, "end")`` tells whether a token can end.
"""

import contextlib
import datetime

from django.db import transaction

from . import clock, indexes, signals, statements
from .interfaces import EndedError, UnregisteredError
from .keys import object_key, resolve
from .models import LockToken

NO_TIME = datetime.timedelta()
# The columns of a history row that change while the token lives.
_CHANGING = ("principal_ids", "duration", "expiration", "ended_at", "end_reason", "ended_by")


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
    _duration = None

    def __init__(self, obj, principal_ids=()):
        self.object_key = object_key(obj)
        self._context = None if isinstance(obj, str) else obj
        self._principal_ids = frozenset(principal_ids)
        self._row = None
        self._held = False

    @classmethod
    def from_row(cls, row: LockToken) -> "Token":
        """The registered token a history row holds."""
        token = object.__new__(KINDS[row.kind])
        token.object_key = row.object_key
        token._context = None
        token._row = row
        token._held = False
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
        if self._row is None:
            return self._principal_ids
        return frozenset(self._current().principal_ids)

    @property
    def row(self) -> LockToken:
        """The history row of a registered token (as last read; see ``_current``)."""
        if self._row is None:
            raise UnregisteredError(f"{self!r} was never registered")
        return self._row

    @property
    def started(self) -> datetime.datetime:
        return self.row.started

    @property
    def creator(self):
        """The user who registered the token, if known."""
        return self.row.created_by

    def _current(self) -> LockToken:
        """The history row, its changing columns as the database holds them now: one query by
        primary key, none inside a change (which holds the row) or once the token has ended."""
        row = self.row
        if not self._held and row.ended_at is None:
            values = statements.token_state(row.pk, _CHANGING)
            for name, value in zip(_CHANGING, values, strict=True):
                setattr(row, "ended_by_id" if name == "ended_by" else name, value)
        return row

    @contextlib.contextmanager
    def _changing(self):
        """A transaction holding this token's row, re-read and refused if it has ended;
        yields the row and the time of the change."""
        pk = self.row.pk
        with transaction.atomic():
            self._row = LockToken.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=pk)
            self._held = True
            try:
                if self._has_ended(self._row):
                    raise EndedError(f"{self!r} has ended")
                yield self._row, clock.now()
            finally:
                self._held = False

    @staticmethod
    def _has_ended(row) -> bool:
        return row.ended_at is not None or (row.expiration is not None and row.expiration <= clock.now())

    def _new_row(self, now, created_by) -> LockToken:
        expiration = None if self._duration is None else now + self._duration
        return LockToken(
            kind=self.kind, object_key=self.object_key, principal_ids=sorted(self._principal_ids),
            started=now, duration=self._duration, expiration=expiration, created_by=created_by,
        )


class EndableToken(Token):
    """A token that can end, explicitly or by expiring: locks and endable freezes."""

    def __init__(self, obj, principal_ids=(), duration=None):
        super().__init__(obj, principal_ids)
        self._duration = _checked_duration(duration)

    @property
    def duration(self):
        if self._row is None:
            return self._duration
        return self._current().duration

    @duration.setter
    def duration(self, value):
        value = _checked_duration(value)
        if self._row is None:
            self._duration = value
            return
        self._change_expiration(lambda row, now: value)

    @property
    def expiration(self):
        return self._current().expiration

    @expiration.setter
    def expiration(self, value):
        if value is not None:
            if not isinstance(value, datetime.datetime):
                raise TypeError("an expiration is a datetime.datetime or None")
            if value.tzinfo is None:
                raise ValueError("an expiration must be timezone-aware")
        self._change_expiration(lambda row, now: None if value is None else value - row.started)

    @property
    def remaining_duration(self):
        """What is left: ``None`` without expiration, no time once ended."""
        row = self._current()
        if self._has_ended(row):
            return NO_TIME
        if row.expiration is None:
            return None
        return row.expiration - clock.now()

    @remaining_duration.setter
    def remaining_duration(self, value):
        value = _checked_duration(value)
        self._change_expiration(lambda row, now: None if value is None else now - row.started + value)

    @property
    def ended(self):
        """When the token ended; an expired token ended at its expiration; ``None`` if active."""
        row = self._current()
        if row.ended_at is not None:
            return row.ended_at
        if row.expiration is not None and row.expiration <= clock.now():
            return row.expiration
        return None

    def end(self, *, by=None, reason=LockToken.EndReason.ENDED) -> None:
        """End the token now and remove it from every index."""
        with self._changing() as (row, now):
            self._end_row(row, now, by, reason)
        signals.token_ended.send(sender=type(self), token=self)

    @staticmethod
    def _end_row(row, now, by, reason):
        row.ended_at, row.end_reason, row.ended_by = now, reason, by
        row.save(update_fields=["ended_at", "end_reason", "ended_by", "principal_ids"])
        indexes.unindex(row)

    def _change_expiration(self, new_duration):
        with self._changing() as (row, now):
            old = row.expiration
            duration = new_duration(row, now)
            if duration is not None and duration < NO_TIME:
                raise ValueError("the token would expire before it started")
            row.duration = duration
            row.expiration = None if row.duration is None else row.started + row.duration
            if row.expiration == old:
                return
            row.save(update_fields=["duration", "expiration"])
            indexes.set_expiration(row)
        signals.expiration_changed.send(sender=type(self), token=self, old=old)


class ExclusiveLock(EndableToken):
    """A lock held by one principal, who never changes."""

    kind = LockToken.Kind.EXCLUSIVE

    def __init__(self, obj, principal_id, duration=None):
        super().__init__(obj, (principal_id,), duration)


class SharedLock(EndableToken):
    """A lock held by a set of principals; removing the last one ends it."""

    kind = LockToken.Kind.SHARED

    def __init__(self, obj, principal_ids, duration=None):
        principal_ids = frozenset(principal_ids)
        if not principal_ids:
            raise ValueError("a shared lock needs at least one principal")
        super().__init__(obj, principal_ids, duration)

    def add(self, principal_ids) -> None:
        """Add principals to the lock."""
        self._change_principals(lambda current: current | frozenset(principal_ids), by=None)

    def remove(self, principal_ids, *, by=None) -> None:
        """Remove principals; removing every principal ends the lock (``by``: who did it)."""
        self._change_principals(lambda current: current - frozenset(principal_ids), by)

    def _change_principals(self, change, by):
        with self._changing() as (row, now):
            old = frozenset(row.principal_ids)
            wanted = change(old)
            if wanted == old:
                return
            row.principal_ids = sorted(wanted)
            if wanted:
                row.save(update_fields=["principal_ids"])
                indexes.remove_principals(row, old - wanted)
                indexes.add_principals(row, wanted - old)
            else:
                self._end_row(row, now, by, LockToken.EndReason.EMPTIED)
        # zope.locking's order: the lock ends, then its principals are reported changed.
        if not wanted:
            signals.token_ended.send(sender=type(self), token=self)
        signals.principals_changed.send(sender=type(self), token=self, old=old)


class Freeze(Token):
    """A freeze with no principal and no duration, which never ends (it has no ``end``)."""

    kind = LockToken.Kind.FREEZE

    def __init__(self, obj):
        super().__init__(obj)


class EndableFreeze(EndableToken):
    """A freeze with no principal that may end, or expire after a duration."""

    kind = LockToken.Kind.ENDABLE_FREEZE

    def __init__(self, obj, duration=None):
        super().__init__(obj, (), duration)


KINDS = {cls.kind: cls for cls in (ExclusiveLock, SharedLock, Freeze, EndableFreeze)}
FREEZES = (Freeze, EndableFreeze)
