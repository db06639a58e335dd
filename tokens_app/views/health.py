"""``/healthz``, for load balancers and monitoring."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View

from ..health import couchdb_health, database_health


@method_decorator(login_not_required, name="dispatch")
class HealthView(View):
    """``/healthz``: JSON for load balancers and monitoring; 503 unless both stores are ok."""

    def get(self, request):
        state = {"database": database_health(), "couchdb": couchdb_health()}
        state["ok"] = state["database"]["ok"] and state["couchdb"]["ok"]
        return JsonResponse(state, status=200 if state["ok"] else 503)
