"""Views of tokens_app: thin wrappers around the selectors and services."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.generic import TemplateView

from .health import couchdb_health, database_health


@method_decorator(login_not_required, name="dispatch")
class HealthView(View):
    """``/healthz``: JSON for load balancers and monitoring; 503 unless both stores are ok."""

    def get(self, request):
        state = {"database": database_health(), "couchdb": couchdb_health()}
        state["ok"] = state["database"]["ok"] and state["couchdb"]["ok"]
        return JsonResponse(state, status=200 if state["ok"] else 503)


class DashboardView(TemplateView):
    template_name = "tokens_app/dashboard.html"
