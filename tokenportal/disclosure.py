"""Who may see the portal's internal addresses.

CouchDB errors name the server they came from (``CouchDB at http://couch.internal:5984 is
unreachable``), which helps the staff who run the portal and tells anyone else where the token
store lives inside the network. Every page that shows such a text passes it through
:func:`shown_to`: staff see it whole, everyone else (and anonymous callers such as ``/healthz``)
sees the addresses replaced.
"""

import re

HIDDEN = "[internal address]"
_ADDRESS = re.compile(r"\bhttps?://[^\s'\"<>)]+", re.IGNORECASE)


def shown_to(text: str, user=None) -> str:
    """``text`` as ``user`` may see it: internal URLs only for active staff."""
    if user is not None and user.is_active and user.is_staff:
        return text
    return _ADDRESS.sub(HIDDEN, str(text))
