"""Lock and freeze tokens on the ORM, with zope.locking's semantics; Django is all it needs.

The contract is stated in ``locks_app.interfaces`` and, with runnable examples, in
``docs/locks.md``. ``tokens`` and ``utility`` implement it, ``handlers`` let only a lock's holders
change it, ``broker`` adds per-user permission checks, ``lockables`` says which models may be
locked (apps register hooks for theirs), and ``guard`` answers whether a user may change an
object now.
"""
