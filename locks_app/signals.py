"""Signals sent after a token change is written (``sender`` is the token class, ``token`` the token)."""

from django.dispatch import Signal

token_started = Signal()
token_ended = Signal()
principals_changed = Signal()  # also carries ``old``: the previous frozenset of principal ids
expiration_changed = Signal()  # also carries ``old``: the previous expiration (or None)
