"""Writes to the three index tables; each function runs inside the caller's transaction."""

from django.db import IntegrityError
from django.db.models import F

from . import statements
from .interfaces import RegistrationError
from .models import LockedObject, LockPrincipal, LockToken


def clean_expired(now) -> int:
    """Remove every token expired at ``now`` from all indexes; answer how many.

    The expired rows are found by a walk of the expiration index (``statements.expired``), so
    the cost follows what expired, not what exists.
    """
    expired = statements.expired(now)
    if not expired:
        return 0
    row_ids, token_ids = zip(*expired)
    LockPrincipal.objects.filter(token_id__in=token_ids).delete()
    LockedObject.objects.filter(pk__in=row_ids).delete()
    LockToken.objects.filter(pk__in=token_ids, ended_at__isnull=True).update(
        ended_at=F("expiration"), end_reason=LockToken.EndReason.EXPIRED
    )
    return len(expired)


def claim(row: LockToken) -> None:
    """Index ``row`` under its object key; ``RegistrationError`` when another token holds it.

    The failed insert needs no savepoint of its own: the ``RegistrationError`` leaves the
    caller's atomic block, which rolls the whole registration back.
    """
    try:
        statements.insert(LockedObject(object_key=row.object_key, token=row, expiration=row.expiration))
    except IntegrityError:
        raise RegistrationError(f"{row.object_key} already has an active token") from None
    add_principals(row, row.principal_ids)


def add_principals(row: LockToken, principal_ids) -> None:
    statements.insert(*(LockPrincipal(token=row, principal_id=pid) for pid in sorted(principal_ids)))


def remove_principals(row: LockToken, principal_ids) -> None:
    LockPrincipal.objects.filter(token=row, principal_id__in=list(principal_ids)).delete()


def set_expiration(row: LockToken) -> None:
    statements.update(LockedObject, "token", row.pk, expiration=row.expiration)


def reindex(row: LockToken) -> None:
    """Make the indexes say exactly what ``row`` says (registering a token again)."""
    if not LockedObject.objects.filter(token=row).update(expiration=row.expiration):
        claim(row)
        return
    current = set(LockPrincipal.objects.filter(token=row).values_list("principal_id", flat=True))
    wanted = set(row.principal_ids)
    remove_principals(row, current - wanted)
    add_principals(row, wanted - current)


def unindex(row: LockToken) -> None:
    """Remove ``row`` from all indexes at once."""
    LockPrincipal.objects.filter(token=row).delete()
    LockedObject.objects.filter(token=row).delete()
