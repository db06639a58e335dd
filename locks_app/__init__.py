"""Lock and freeze tokens on the ORM, with zope.locking's semantics.

The contract is stated in ``locks_app.interfaces``; ``tokens`` and ``utility`` implement it,
``broker`` adds per-user permission checks and ``guard`` answers whether a user may change an
object now.
"""
