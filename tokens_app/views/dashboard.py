"""The dashboard: the campaigns and their counts, the counts API it polls, and adopting another
tool's design document."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import FormView, TemplateView

from .. import campaign_selectors, exports, selectors, services, token_reads
from ..couch import CouchError
from ..forms import AdoptForm, DashboardFilterForm
from ..models import CHANGE_CAMPAIGN, Operation
from ..paces import campaign_paces
from ..services import runs
from ..states import campaign_label, campaign_state
from ..templatetags.campaigns import activity_text
from ..tokensets import TokenSet
from .actions import announce
from .mixins import MAX_PRIMARY_KEY, ChangeCampaignRequired, ExportMixin

# The dashboard polls the campaigns it shows; more than this on one page is not a dashboard.
MAX_POLLED_CAMPAIGNS = 200
# The columns of the dashboard's export (``?format=csv|json``).
DASHBOARD_COLUMNS = ("id", "database", "token_type", "obsid", "state", "created_at", "todo", "locked", "done",
                     "error", "total")


class DashboardView(ExportMixin, TemplateView):
    template_name = "tokens_app/dashboard.html"

    def export(self, request, export_format: str):
        form = DashboardFilterForm(request.GET)
        filters = form.filters()
        campaigns = list(campaign_selectors.campaign_list(**filters))
        with token_reads.one_snapshot():
            counts = token_reads.counts_many(campaign for campaign in campaigns if campaign.has_tokens)
        campaigns = campaign_selectors.in_state(campaigns, counts, filters.get("state"))
        rows = ({"id": campaign.pk, "database": campaign.database, "token_type": campaign.token_type,
                 "obsid": campaign.obsid, "state": campaign_state(campaign.status, counts.get(campaign.token_set)),
                 "created_at": campaign.created_at.isoformat(),
                 **(counts.get(campaign.token_set) or {})} for campaign in campaigns)
        return exports.download("campaigns", export_format, DASHBOARD_COLUMNS, rows)

    def get_context_data(self, **kwargs):
        form = DashboardFilterForm(self.request.GET or None)
        filters = form.filters()
        campaigns = list(campaign_selectors.campaign_list(**filters))
        designs = self.discovered_designs(form)
        # Design documents no row knows are counted in the same concurrent round as the rows,
        # as the token sets they list (keyed by the set itself).
        listed = [TokenSet(database=design["database"], token_type=design["counted_type"]) for design in designs]
        with token_reads.one_snapshot():
            counts = token_reads.counts_many([campaign for campaign in campaigns if campaign.has_tokens] + listed)
            campaigns = campaign_selectors.in_state(campaigns, counts, filters.get("state"))
            paces = campaign_paces(campaigns, counts)
        locks = campaign_selectors.campaign_locks()
        return super().get_context_data(
            form=form,
            rows=[
                {"campaign": campaign, "counts": counts.get(campaign.token_set) if campaign.has_tokens else None,
                 "lock": locks.get(campaign.lock_key), "pace": paces.get(campaign.pk)}
                for campaign in campaigns
            ],
            newest=campaign_selectors.newest_campaign_pk(),
            stalled_minutes=f"{settings.STALLED_MINUTES:g}",
            designs=[
                {**design, "counts": counts.get(token_set), "form": AdoptForm(initial=design, auto_id=False)}
                for design, token_set in zip(designs, listed)
            ],
            polled=",".join(str(campaign.pk) for campaign in campaigns[:MAX_POLLED_CAMPAIGNS]),
            **kwargs,
        )

    def discovered_designs(self, form: DashboardFilterForm) -> list[dict]:
        """The design documents other tools made that the filters keep, for those who may adopt
        them, from the read model (the follower discovers them in every database it may read)."""
        if not self.request.user.has_perm(CHANGE_CAMPAIGN):
            return []
        if problem := token_reads.discovery_problem():
            messages.warning(self.request, f"Design documents could not be discovered: {problem}")
        designs = campaign_selectors.unadopted(token_reads.token_designs())
        return campaign_selectors.designs_matching(designs, **form.filters())


class CountsApiView(View):
    """``/api/counts/?ids=1,2``: the live counts of those campaigns (null when unavailable), their
    states and labels (``finished, 3 errors``), so that the dashboard's labels move with its bars."""

    def get(self, request):
        try:
            ids = {int(part) for part in request.GET.get("ids", "").split(",") if part.strip()}
        except ValueError:
            return HttpResponseBadRequest("ids is a comma-separated list of campaign numbers")
        # A number no primary key can be is refused here: the database driver cannot even send it.
        if any(not 0 < pk <= MAX_PRIMARY_KEY for pk in ids):
            return HttpResponseBadRequest("ids is a comma-separated list of campaign numbers")
        if len(ids) > MAX_POLLED_CAMPAIGNS:
            return HttpResponseBadRequest(f"at most {MAX_POLLED_CAMPAIGNS} campaigns at a time")
        campaigns = campaign_selectors.campaigns_with_tokens(ids)
        with token_reads.one_snapshot():
            counts = token_reads.counts_many(campaigns)
            paces = campaign_paces(campaigns, counts)
        return JsonResponse({
            "campaigns": {str(campaign.pk): counts[campaign.token_set] for campaign in campaigns},
            "labels": {str(campaign.pk): campaign_label(campaign.status, counts[campaign.token_set]) for campaign in campaigns},
            "states": {str(campaign.pk): campaign_state(campaign.status, counts[campaign.token_set]) for campaign in campaigns},
            "paces": {str(pk): {"text": activity_text(pace), "stalled": pace["stalled"]} for pk, pace in paces.items()},
            "newest": campaign_selectors.newest_campaign_pk(),
        })


class AdoptDesignView(ChangeCampaignRequired, FormView):
    form_class = AdoptForm
    http_method_names = ["post"]

    def form_valid(self, form):
        database, name = form.cleaned_data["database"], form.cleaned_data["token_type"]
        try:
            # The campaign is the type the design document lists (``_design/Monitor`` lists
            # ``token``): the guard is asked about that campaign, if the portal knows it.
            token_type = selectors.design_counted_type(database, name)
        except CouchError as exc:
            messages.error(self.request, f"_design/{name} in '{database}' could not be read: {exc}")
            return redirect("tokens:dashboard")
        known = campaign_selectors.campaign_of(TokenSet(database=database, token_type=token_type))
        try:
            operation = runs.queue_operation(
                Operation.Action.ADOPT, known, self.request.user, source=Operation.Source.BROWSER,
                options={"database": database, "token_type": name}, target=f"{token_type} in {database}",
            )
        except services.ServiceError as exc:
            messages.error(self.request, str(exc))
            return redirect("tokens:dashboard")
        if operation.state == Operation.State.DONE:
            campaign = operation.campaign
            listed = "" if campaign.token_type == name else f", the ones _design/{name} lists (left unchanged for the pilots reading it)"
            messages.success(self.request, f"Adopted {campaign}: {campaign.token_count} tokens{listed}.")
            return redirect(campaign)
        announce(self.request, "Adopt", operation)
        return redirect("tokens:dashboard")

    def form_invalid(self, form):
        problems = " ".join(error for errors in form.errors.values() for error in errors)
        messages.error(self.request, f"Adopting needs a database and a token type: {problems}")
        return redirect("tokens:dashboard")
