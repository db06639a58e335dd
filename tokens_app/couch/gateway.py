"""The gateway to CouchDB, composed of its parts, and the process's shared gateway."""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field

from .changes import Changes
from .databases import Databases
from .documents import Documents
from .paths import safe_url
from .views import Views


class Gateway(Databases, Documents, Views, Changes):
    """A CouchDB server reached with one set of credentials: every request the portal sends.

    Built from mixins, each a :class:`~tokens_app.couch.transport.Transport` that adds one kind
    of request: :class:`Databases`, :class:`Documents`, :class:`Views`, :class:`Changes`. Mixins
    rather than part objects the gateway delegates to, because every part, and every caller, must
    go through the same methods of the same object: a part calls ``self.request`` (and ``self.put_doc``,
    ``self.get_design``…), so whoever replaces one of them on a gateway or its class (the tests
    that count requests, inject a conflict or a refusal) sees every call that goes through it,
    and there is one session per thread for all parts. Delegation would give each part its own
    reference to a transport and hide those calls.
    """


def _configured() -> tuple[str, str, str, float]:
    from django.conf import settings

    conf = settings.COUCHDB
    return conf["URL"], conf["USER"], conf["PASSWORD"], float(conf["TIMEOUT"])


def configured_gateway(timeout: float | None = None) -> Gateway:
    """A new gateway to the configured server (``settings.COUCHDB``), waiting ``timeout``
    seconds for an answer instead of ``COUCHDB_TIMEOUT`` when given."""
    url, user, password, default_timeout = _configured()
    return Gateway(url, user, password, default_timeout if timeout is None else float(timeout))


# Shared gateways by (server without credentials, user, timeout): no key holds a secret.
_gateways: dict[tuple[str, str, float], Gateway] = {}
_gateways_lock = threading.Lock()


def get_gateway() -> Gateway:
    """The gateway for the configured server (``settings.COUCHDB``), shared by the process.

    One per server address, user and timeout. A cached gateway whose password, or URL with the
    credentials it may carry, is no longer the configured one is replaced by a new one.
    """
    url, user, password, timeout = _configured()
    key = (safe_url(url), user, timeout)
    with _gateways_lock:
        gateway = _gateways.get(key)
        if gateway is None or gateway.url != url or not _same_secret(gateway.password, password):
            gateway = _gateways[key] = Gateway(url, user, password, timeout)
        return gateway


@dataclass(frozen=True)
class CouchConnection:
    """Where and as whom the portal reaches CouchDB, for processes that open their own
    connections (the simulated pilots); ``server`` is the address without credentials."""

    url: str = field(repr=False)
    user: str
    password: str = field(repr=False)
    timeout: float
    server: str


def couch_connection() -> CouchConnection:
    """The connection of the portal's configured gateway."""
    gateway = get_gateway()
    return CouchConnection(url=gateway.url, user=gateway.user, password=gateway.password,
                           timeout=gateway.timeout, server=gateway.server)


def _same_secret(kept: str, configured: str) -> bool:
    return hmac.compare_digest(kept.encode(), configured.encode())
