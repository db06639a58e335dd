"""The name of a set of tokens in CouchDB: ``(database, token type)``.

A :class:`TokenSet` is what the selectors that read tokens need and all they read of a
campaign: the database and the type. A :class:`~tokens_app.models.Campaign` offers its own as
``campaign.token_set``; a design document no Campaign knows (another tool's, found by
``selectors.discovered_designs``) or a type named on a command line is a ``TokenSet`` without
a row. It has no imports, so the models and the selectors can both use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TokenSet:
    """The tokens of type ``token_type`` in ``database``; hashable, so it can key counts."""

    database: str
    token_type: str

    def __str__(self) -> str:
        # As a Campaign names itself, so messages read the same for a row and for a bare set.
        return f"{self.token_type} in {self.database}"

    @property
    def token_set(self) -> TokenSet:
        """Itself: code that takes a Campaign or a TokenSet asks either for ``token_set``."""
        return self
