"""URL converters of the token pages."""


class TokenIdConverter:
    """A token id as one path segment that comes back exactly as it went out.

    CouchDB ids may hold ``/``, ``%`` or be ``..``; browsers and servers fold ``..`` segments
    and decode ``%2F`` into a separator before Django sees the path. So ``%`` and ``/`` (and the
    dots of a ``.``/``..`` id) are percent-encoded here, and Django's ``reverse`` encodes that
    ``%`` once more: what reaches the resolver, decoded once, is this encoding, which
    ``to_python`` undoes. Ordinary ids (letters, digits, ``_``, ``-``, ``.``) read as they are.
    """

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        # Only what ``to_url`` escapes is undone (in either case, as a hand-typed address may
        # have it), each by one pass in C: ``unquote`` of an id of a million escapes takes
        # seconds. ``%25`` last, so that ``%252F`` reads as ``%2F``.
        for escaped, character in (("%2F", "/"), ("%2f", "/"), ("%2E", "."), ("%2e", "."), ("%25", "%")):
            value = value.replace(escaped, character)
        return value

    def to_url(self, value: str) -> str:
        if value in (".", ".."):
            return value.replace(".", "%2E")
        return value.replace("%", "%25").replace("/", "%2F")
