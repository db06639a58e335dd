"""The one gateway to CouchDB.

Every request the portal sends to CouchDB goes through :class:`Gateway` (``get_gateway()``),
and every failure comes out as one of a few exceptions whose messages are safe to show to an
operator: they name the server and the database, never the password.

The methods speak the CouchDB HTTP API (``_bulk_docs``, ``_all_docs``, views, attachments) so
that the portal behaves the same on Apache CouchDB and on the pouchdb-server used locally.

- :mod:`.errors`: the exceptions, each with the HTTP status and the words the portal answers it with;
- :mod:`.paths`: path segments and :func:`couch_url`, the one place a CouchDB URL is built;
- :mod:`.transport`: the session of each thread, its renewal, one request, error translation;
- :mod:`.databases`, :mod:`.documents`, :mod:`.views`, :mod:`.changes`: the requests, by what they act on;
- :mod:`.gateway`: :class:`Gateway`, composed of those parts, the process's shared gateway, and
  :func:`couch_connection` for processes that open their own connections.
"""

from .documents import attachment_digests, bulk_error
from .errors import *  # noqa: F403 (the exceptions and shown(), as errors.__all__ lists them)
from .errors import __all__ as _errors
from .gateway import CouchConnection, Gateway, configured_gateway, couch_connection, get_gateway
from .paths import *  # noqa: F403 (the path builders and couch_url, as paths.__all__ lists them)
from .paths import __all__ as _paths

__all__ = [
    *_errors, *_paths, "CouchConnection", "Gateway", "attachment_digests", "bulk_error", "configured_gateway",
    "couch_connection", "get_gateway",
]
