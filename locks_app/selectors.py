"""Reads of locks for pages and lists: the active tokens (one principal's, filtered, or of the
objects whose keys contain a text) and the principals the index knows.

The utility (:class:`~locks_app.utility.TokenUtility`) is the contract zope.locking defines;
these are what the views and the admin show, written once, over the same index tables.
"""

from __future__ import annotations

from .models import LockPrincipal
from .tokens import Token
from .utility import TokenUtility


def locks_of_principal(principal_id: str) -> list[Token]:
    """The active tokens ``principal_id`` holds, by object key."""
    return list(TokenUtility().iter_for_principal(principal_id))


def active_locks(*, kind: str | None = None, principal_id: str | None = None,
                  key_contains: str | None = None) -> list[Token]:
    """The active tokens, narrowed by whichever filters are given (one query)."""
    return list(TokenUtility().filter(kind=kind, principal_id=principal_id, key_contains=key_contains))


def active_locks_by_key(key_contains: str) -> dict[str, Token]:
    """The active token of every object whose key contains ``key_contains``, by object key."""
    return {token.object_key: token for token in TokenUtility().filter(key_contains=key_contains)}


def indexed_principals() -> list[str]:
    """Every principal id that holds an indexed token, sorted, each once."""
    return list(LockPrincipal.objects.order_by("principal_id").values_list("principal_id", flat=True).distinct())
