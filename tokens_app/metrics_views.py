"""``/metrics``: the portal's state in Prometheus' text format (the collector: tokens_app.metrics).

A scraper cannot sign in: it sends ``Authorization: Bearer <METRICS_TOKEN>``, or reads from an
address of ``METRICS_ALLOWED_ADDRESSES``. Without either setting only signed-in staff may read the
metrics, so nothing leaks to anyone unless configured.
"""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tokenportal.login import client_address

from .metrics import REGISTRY


def bearer_token(request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def from_allowed_address(request) -> bool:
    """Whether the client's address (as far as TRUSTED_PROXIES lets it be read) is in one of
    METRICS_ALLOWED_ADDRESSES; an address that does not parse is in none."""
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_ADDRESSES)


@method_decorator(login_not_required, name="dispatch")
class MetricsView(View):
    def get(self, request):
        token = bearer_token(request)
        if token is not None:
            # Compared in constant time: the answer's timing tells nothing of the token.
            if not (settings.METRICS_TOKEN and hmac.compare_digest(token.encode(), settings.METRICS_TOKEN.encode())):
                return self.refused(401, "wrong token")
        elif from_allowed_address(request):
            pass
        elif not request.user.is_authenticated:
            return self.refused(401, "send the METRICS_TOKEN as a bearer token, or sign in as staff")
        elif not request.user.is_staff:
            return self.refused(403, "only staff may read the metrics")
        response = HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def refused(status: int, reason: str) -> HttpResponse:
        response = HttpResponse(f"{reason}\n", status=status, content_type="text/plain; charset=utf-8")
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="tokenportal metrics"'
        return response
