"""The gateway to CouchDB, composed of its parts, and the process's shared gateway."""

from __future__ import annotations

import threading

from .databases import Databases
from .documents import Documents
from .views import Views


class Gateway(Databases, Documents, Views):
    """A CouchDB server reached with one set of credentials: every request the portal sends.

    Built from mixins, each a :class:`~tokens_app.couch.transport.Transport` that adds one kind
    of request: :class:`Databases`, :class:`Documents`, :class:`Views`. Mixins rather than part
    objects the gateway delegates to, because every part, and every caller, must go through the
    same methods of the same object: a part calls ``self.request`` (and ``self.put_doc``,
    ``self.get_design``…), so whoever replaces one of them on a gateway or its class (the tests
    that count requests, inject a conflict or a refusal) sees every call that goes through it,
    and there is one session per thread for all parts. Delegation would give each part its own
    reference to a transport and hide those calls.
    """


_gateways: dict[tuple, Gateway] = {}
_gateways_lock = threading.Lock()


def get_gateway() -> Gateway:
    """The gateway for the configured server (``settings.COUCHDB``), shared by the process."""
    from django.conf import settings

    conf = settings.COUCHDB
    key = (conf["URL"], conf["USER"], conf["PASSWORD"], float(conf["TIMEOUT"]))
    with _gateways_lock:
        gateway = _gateways.get(key)
        if gateway is None:
            gateway = _gateways[key] = Gateway(conf["URL"], conf["USER"], conf["PASSWORD"], float(conf["TIMEOUT"]))
        return gateway
