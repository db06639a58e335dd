"""The contract of locks_app, in prose (after zope.locking's interfaces).

Tokens
    A token says something about one object, named by its *object key*: a model instance is keyed
    ``"<app_label>.<model_name>:<pk>"``, a string is its own key. There are four kinds:

    - ``ExclusiveLock(obj, principal_id, duration=None)``: one principal, which never changes
      (end the lock and register another to hand it over).
    - ``SharedLock(obj, principal_ids, duration=None)``: a set of principals that grows with
      ``add(ids)`` and shrinks with ``remove(ids)``; removing the last principal ends the lock.
    - ``Freeze(obj)``: no principal, no duration, never ends. It has no ``end``, ``ended``,
      ``expiration``, ``duration`` or ``remaining_duration``: ``hasattr(token, "end")`` tells
      whether a token can end.
    - ``EndableFreeze(obj, duration=None)``: no principal; may end, or expire after a duration.

    A token does nothing until a ``TokenUtility`` registers it: before that, ``started``,
    ``expiration``, ``remaining_duration``, ``ended``, ``end()`` and principal changes raise
    ``UnregisteredError``. Once registered it has ``started``; ``expiration`` is
    ``started + duration`` (``None`` without a duration); ``remaining_duration`` is what is left
    of it (``None`` without expiration, no time at all once the token has ended); ``ended`` is the
    moment it ended, which for an expired token reads as its expiration, and ``None`` while it is
    active. ``duration``, ``expiration`` and ``remaining_duration`` may be set (never so that the
    token would expire before it started) and re-index the token. Ending or changing an ended
    token raises ``EndedError``. What can change (principals, expiration, end) is read from the
    database when asked, so every object of one token tells the same truth, whichever object or
    process changed it. Tokens are compared by the history row they were registered as, so the
    same token read twice from the database compares equal.

Token handlers (``locks_app.handlers``)
    A handler wraps a lock for the principals acting now (zope's *interaction*). Through it only
    holders may set ``duration``, ``expiration`` and ``remaining_duration`` or ``release`` the
    lock; anyone else gets ``ParticipationError``. A shared lock's handler also has ``add`` (a
    holder shares with anyone) and ``join`` (the acting principals join the lock themselves).

Token utility
    ``register(token)`` starts a token and indexes it; it raises ``RegistrationError`` when the
    object already has an active token, and re-indexes a token registered before (``EndedError``
    if it has ended: zope.locking ignores that quietly).
    ``get(obj, default=None)`` answers the object's active token; iterating the utility yields
    every active token; ``iter_for_principal(principal_id)`` the active tokens of one principal.

    Three indexes live in the database: by object key and by expiration (``LockedObject``) and
    by principal (``LockPrincipal``). An expired token stays in them until the next registration,
    which first removes every expired token, walking the expiration index so that the work
    follows what has expired, not what exists. Ending a token removes it from all indexes at once.
    The unique object key of ``LockedObject`` decides between processes registering at the same
    moment: exactly one wins, the others get ``RegistrationError``.

Signals (``locks_app.signals``)
    ``token_started``, ``token_ended``, ``principals_changed`` (with ``old``, the previous
    principal ids) and ``expiration_changed`` (with ``old``, the previous expiration); each is
    sent with ``sender`` the token class and ``token``, after the change is written. When the
    last principal leaves a shared lock, ``token_ended`` comes first, then ``principals_changed``.
    A change that changes nothing sends nothing. ``docs/locks.md`` states it all with examples.
"""


class TokenError(Exception):
    """Base of the errors of the token contract."""


class RegistrationError(TokenError):
    """The object already has an active token."""


class EndedError(TokenError):
    """The token has ended (or expired): it cannot end again, nor change."""


class UnregisteredError(TokenError):
    """The token was never registered, so it has not started and cannot end or change."""


class ParticipationError(TokenError):
    """The principals acting are not all holders of the lock (or not those they act for)."""
