"""``TokenUtility``: registers tokens and answers which are active (zope.locking's ITokenUtility).

The utility keeps no state of its own: the indexes are the ``LockedObject`` and ``LockPrincipal``
tables, so any number of processes share one utility through the database.
"""

from django.db import transaction
from django.db.models import Q

from . import clock, indexes, signals, statements
from .interfaces import EndedError, RegistrationError, UnregisteredError  # noqa: F401 (public names)
from .keys import object_key
from .models import LockedObject, LockToken
from .tokens import Token


class TokenUtility:
    """Register, look up and iterate lock tokens; see ``locks_app.interfaces``."""

    def register(self, token: Token, *, by=None) -> Token:
        """Start and index ``token`` (``by``: the user registering it, kept in the history).

        Every registration first removes all expired tokens from the indexes. Raises
        ``RegistrationError`` when the object already has an active token; a token registered
        before is re-indexed (``EndedError`` if it has ended).
        """
        with transaction.atomic():
            indexes.clean_expired(clock.now())
            if token._row is not None:
                with token._changing() as (row, _):
                    indexes.reindex(row)
                return token
            row = token._new_row(clock.now(), by)
            statements.insert(row)
            indexes.claim(row)
            self._start_when_granted(row)
        token._row = row
        signals.token_started.send(sender=type(token), token=token)
        return token

    @staticmethod
    def _start_when_granted(row: LockToken) -> None:
        """Take the start time after the database granted the object key: every token that
        held the key before ended at or before it, so the history never shows two tokens
        of one object active at the same moment."""
        row.started = clock.now()
        row.expiration = None if row.duration is None else row.started + row.duration
        statements.update(LockToken, "pk", row.pk, started=row.started, expiration=row.expiration)
        # Without a duration, the index row was written with no expiration, which stays right.
        if row.expiration is not None:
            indexes.set_expiration(row)

    def get(self, obj, default=None):
        """The active token of ``obj`` (one indexed query), or ``default``.

        ``get`` runs on every page and every guarded change, so its query is written once
        (``statements.active_token``).
        """
        row = statements.active_token(object_key(obj), clock.now())
        if row is None:
            return default
        token = Token.from_row(row)
        if not isinstance(obj, str):
            token._context = obj
        return token

    def __iter__(self):
        """Every active token, by object key."""
        return self.filter()

    def iter_for_principal(self, principal_id: str):
        """The active tokens that ``principal_id`` holds, by object key."""
        return self.filter(principal_id=principal_id)

    def filter(self, *, kind=None, principal_id=None, key_contains=None):
        """The active tokens of one kind, of one principal, or whose key contains a text."""
        rows = self._active(clock.now()).select_related("token__created_by")
        if kind:
            rows = rows.filter(token__kind=kind)
        if principal_id:
            rows = rows.filter(token__principal_rows__principal_id=principal_id)
        if key_contains:
            rows = rows.filter(object_key__icontains=key_contains)
        return (Token.from_row(found.token) for found in rows)

    def cleanup(self) -> int:
        """Remove every expired token from the indexes now; answer how many."""
        with transaction.atomic():
            return indexes.clean_expired(clock.now())

    @staticmethod
    def _active(now):
        return LockedObject.objects.filter(Q(expiration__isnull=True) | Q(expiration__gt=now))
