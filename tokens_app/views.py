"""Views of tokens_app: thin wrappers around the selectors and services.

Each view parses the request (a form), calls a selector (reads) or a service (writes), and
answers with a page, a message and a redirect, or JSON. Everything a page may change needs the
``tokens_app.change_campaign`` permission; reading needs a login (LoginRequiredMiddleware).
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header, urlencode
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView
from django.views.generic.detail import SingleObjectMixin

from locks_app.utility import TokenUtility
from tokenportal.disclosure import shown_to

from . import history, selectors, services
from .couch import CouchError, DatabaseMissing
from .forms import (
    AddViewForm,
    AdoptForm,
    AttachForm,
    CampaignForm,
    ConfirmedForm,
    DashboardFilterForm,
    FieldForm,
    ResetForm,
    ScrubForm,
    StatusForm,
    TargetForm,
    TokenPageForm,
)
from .health import couchdb_health, database_health
from .models import CHANGE_CAMPAIGN, Campaign, Operation
from .services import runs

DRAFT_SESSION_KEY = "tokens_app.campaign_draft"
# The dashboard polls the campaigns it shows; more than this on one page is not a dashboard.
MAX_POLLED_CAMPAIGNS = 200
TOKENS_PER_PAGE = 25
FIRST_IDS_SHOWN = 10
# Text attachments up to this size are shown on the token page; larger ones only downloaded.
INLINE_TEXT_BYTES = 64 * 1024
# Campaigns without tokens to read in CouchDB (nothing pushed yet, or archived/purged away).
NO_TOKENS = (Campaign.Status.CREATING, Campaign.Status.ARCHIVED, Campaign.Status.PURGED)


@method_decorator(login_not_required, name="dispatch")
class HealthView(View):
    """``/healthz``: JSON for load balancers and monitoring; 503 unless both stores are ok."""

    def get(self, request):
        state = {"database": database_health(), "couchdb": couchdb_health()}
        state["ok"] = state["database"]["ok"] and state["couchdb"]["ok"]
        return JsonResponse(state, status=200 if state["ok"] else 503)


class ChangeCampaignRequired(PermissionRequiredMixin):
    """403 (not a login redirect) for a signed-in user without the permission."""

    permission_required = CHANGE_CAMPAIGN
    raise_exception = True


def campaign_locks() -> dict:
    """The active lock or freeze of every campaign that has one, by lock key (one query)."""
    return {token.object_key: token for token in TokenUtility().filter(key_contains="tokens_app.campaign:")}


class DashboardView(TemplateView):
    template_name = "tokens_app/dashboard.html"

    def get_context_data(self, **kwargs):
        form = DashboardFilterForm(self.request.GET or None)
        campaigns = list(form.filter(Campaign.objects.select_related("created_by")))
        designs = []
        # Only those who may adopt a design document are shown the ones other tools made: the
        # discovery reads every database of the server, which a read-only user has no need to see.
        if self.request.user.has_perm(CHANGE_CAMPAIGN):
            try:
                designs = form.filter_designs(selectors.discovered_designs())
            except CouchError as exc:
                messages.warning(self.request, f"Design documents could not be discovered: {exc}")
        # Design documents no row knows are counted in the same concurrent round as the rows,
        # as unsaved campaigns keyed by negative numbers (selectors read only type and database).
        unsaved = [
            Campaign(pk=-number, database=design["database"], token_type=design["token_type"])
            for number, design in enumerate(designs, start=1)
        ]
        counts = selectors.overview_counts_many(
            [campaign for campaign in campaigns if campaign.status not in NO_TOKENS] + unsaved
        )
        locks = campaign_locks()
        return super().get_context_data(
            form=form,
            rows=[
                {"campaign": campaign, "counts": counts.get(campaign.pk), "lock": locks.get(campaign.lock_key)}
                for campaign in campaigns
            ],
            designs=[
                {**design, "counts": counts.get(campaign.pk), "form": AdoptForm(initial=design, auto_id=False)}
                for design, campaign in zip(designs, unsaved)
            ],
            polled=",".join(str(campaign.pk) for campaign in campaigns[:MAX_POLLED_CAMPAIGNS]),
            **kwargs,
        )


class CountsApiView(View):
    """``/api/counts/?ids=1,2``: the live counts of those campaigns (null when unavailable)."""

    def get(self, request):
        try:
            ids = {int(part) for part in request.GET.get("ids", "").split(",") if part.strip()}
        except ValueError:
            return HttpResponseBadRequest("ids is a comma-separated list of campaign numbers")
        if len(ids) > MAX_POLLED_CAMPAIGNS:
            return HttpResponseBadRequest(f"at most {MAX_POLLED_CAMPAIGNS} campaigns at a time")
        campaigns = Campaign.objects.filter(pk__in=ids).exclude(status__in=NO_TOKENS)
        counts = selectors.overview_counts_many(campaigns)
        return JsonResponse({"campaigns": {str(pk): value for pk, value in counts.items()}})


class AdoptDesignView(ChangeCampaignRequired, FormView):
    form_class = AdoptForm
    http_method_names = ["post"]

    def form_valid(self, form):
        database, token_type = form.cleaned_data["database"], form.cleaned_data["token_type"]
        known = Campaign.objects.filter(database=database, token_type=token_type).first()
        try:
            operation = runs.queue_operation(
                Operation.Action.ADOPT, known, self.request.user, source=Operation.Source.BROWSER,
                options={"database": database, "token_type": token_type}, target=f"{token_type} in {database}",
            )
        except services.ServiceError as exc:
            messages.error(self.request, str(exc))
            return redirect("tokens:dashboard")
        if operation.state == Operation.State.DONE:
            messages.success(self.request, f"Adopted {operation.campaign}: {operation.campaign.token_count} tokens.")
            return redirect(operation.campaign)
        announce(self.request, "Adopt", operation)
        return redirect("tokens:dashboard")

    def form_invalid(self, form):
        messages.error(self.request, "Adopting needs a database and a token type.")
        return redirect("tokens:dashboard")


class CampaignCreateView(ChangeCampaignRequired, FormView):
    """Step one: upload and check. Nothing is written to CouchDB; the inputs wait in a draft
    (a database row, never the session: the session keeps only its id)."""

    form_class = CampaignForm
    template_name = "tokens_app/campaign_form.html"

    def form_valid(self, form):
        draft = services.save_draft(user=self.request.user, arguments=form.draft_arguments())
        self.request.session[DRAFT_SESSION_KEY] = draft.pk
        return redirect("tokens:campaign-preview")


class CampaignPreviewView(ChangeCampaignRequired, TemplateView):
    """Step two: what would be created; confirming records the campaign and starts the push."""

    template_name = "tokens_app/campaign_preview.html"

    def dispatch(self, request, *args, **kwargs):
        draft_id = request.session.get(DRAFT_SESSION_KEY)
        self.draft = services.live_draft(draft_id) if isinstance(draft_id, int) else None
        if self.draft is not None and self.draft.owner_id != request.user.pk:
            raise Http404("no such draft")
        if self.draft is None and request.user.has_perm(CHANGE_CAMPAIGN):
            messages.info(request, "Start by uploading a config and an SRM list.")
            return redirect("tokens:campaign-new")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        try:
            plan = services.plan_of_draft(self.draft)
        except services.ServiceError as exc:
            messages.error(request, str(exc))
            return redirect("tokens:campaign-new")
        existing = Campaign.objects.filter(database=plan.database, token_type=plan.token_type).first()
        return self.render_to_response(
            self.get_context_data(plan=plan, existing=existing, first_ids=plan.token_ids[:FIRST_IDS_SHOWN])
        )

    def post(self, request, *args, **kwargs):
        try:
            campaign = services.start_campaign(services.plan_of_draft(self.draft), user=request.user)
        except services.ServiceError as exc:
            messages.error(request, str(exc))
            return redirect("tokens:campaign-preview")
        services.discard_draft(self.draft)
        del request.session[DRAFT_SESSION_KEY]
        try:
            queue_push(campaign, request.user)
        except services.ServiceError as exc:
            messages.error(request, str(exc))
            return redirect(campaign)
        messages.success(request, f"Creating {campaign.token_count} tokens of {campaign} in the background.")
        return redirect(campaign)


def queue_push(campaign: Campaign, user) -> Operation:
    """Queue the push of the campaign's tokens (a new campaign's, or the rest of an incomplete one)."""
    return runs.queue_operation(Operation.Action.PUSH, campaign, user, source=Operation.Source.BROWSER)


def announce(request, title: str, operation: Operation) -> None:
    """Tell the operator what became of an operation they started: its result when it has
    finished already (an immediate task backend), otherwise that it is queued."""
    if operation.state == Operation.State.DONE:
        level = messages.WARNING if operation.conflicted or operation.failed else messages.SUCCESS
        messages.add_message(request, level, f"{title}: {history.result_message(operation)}.")
    elif operation.is_final:
        messages.error(request, f"{title} {operation.state}: {operation.error}")
    else:
        messages.info(request, f"{title}: queued as operation #{operation.pk}; a worker runs it, its campaign's page follows it.")


class CampaignDetailView(DetailView):
    """The campaign page. It always renders: when CouchDB cannot show the tokens (no views yet,
    database gone, server down) it says so and shows what the row knows and how to repair it."""

    model = Campaign
    template_name = "tokens_app/campaign_detail.html"

    def get_context_data(self, **kwargs):
        campaign = self.object
        runs.expire_leases()
        may_change = self.request.user.has_perm(CHANGE_CAMPAIGN)
        context = {
            "operation": history.current_operation(campaign),
            "operations": history.campaign_history(campaign),
            "lock": campaign_locks().get(campaign.lock_key),
            "may_change": may_change,
            "may_resume": may_change and campaign.status in services.RESUMABLE,
            "has_tokens": campaign.status not in NO_TOKENS,
            "forms": action_forms(),
        }
        if context["has_tokens"]:
            try:
                context.update(self.tokens_context())
            except CouchError as exc:
                context.update(has_tokens=False, couch_problem=couch_problem(campaign, exc))
        return super().get_context_data(**context, **kwargs)

    def tokens_context(self) -> dict:
        """What CouchDB says about the campaign's tokens: counts, summaries, a page of a view."""
        campaign = self.object
        choice = TokenPageForm(self.request.GET)
        page_data = choice.cleaned_data if choice.is_valid() else {}
        views = selectors.token_views(campaign)
        view = page_data.get("view") if page_data.get("view") in views else views[0]
        return {
            "counts": selectors.overview_counts_many([campaign])[campaign.pk],
            "completions": selectors.completions(campaign),
            "errors": selectors.error_summary(campaign),
            "views": views,
            "view": view,
            "tokens": selectors.list_tokens(campaign, view, page=page_data.get("page") or 1, per_page=TOKENS_PER_PAGE),
        }


def couch_problem(campaign: Campaign, error: CouchError) -> dict:
    """Why CouchDB cannot show a campaign's tokens, in words, and whether re-creating its views
    would help (``kind``: ``database``, ``views`` or ``server``)."""
    if isinstance(error, DatabaseMissing):
        return {"kind": "database", "error": error, "explanation": (
            f"The database '{campaign.database}' does not exist on CouchDB: it was deleted, or the "
            "tokens were never written. Create the campaign again to write them anew."
        )}
    if error.status == 404:
        return {"kind": "views", "error": error, "explanation": (
            "The views of this campaign are missing (a push that stopped before writing them, or a "
            "design document deleted by hand): its tokens cannot be counted or listed until the views "
            "are re-created."
        )}
    return {"kind": "server", "error": error, "explanation": (
        "CouchDB cannot show this campaign's tokens right now (the server is down or refused the "
        "request); below is what the portal last knew."
    )}


def action_forms() -> dict:
    """Blank action forms of the campaign page; ids prefixed so that they stay unique."""
    return {
        name: form_class(auto_id=f"{name}-%s")
        for name, form_class in {
            "reset": ResetForm, "scrub": ScrubForm, "status": StatusForm, "field": FieldForm,
            "attach": AttachForm, "view": AddViewForm, "delete": TargetForm, "purge": ConfirmedForm,
        }.items()
    }


class CampaignStatusApiView(SingleObjectMixin, View):
    """``/campaigns/<pk>/status/``: how far the creation is, polled by the campaign page."""

    model = Campaign

    def get(self, request, *args, **kwargs):
        campaign = self.get_object()
        runs.expire_leases()
        operation = history.current_operation(campaign)
        return JsonResponse({
            "status": campaign.status,
            "written_count": campaign.written_count,
            "token_count": campaign.token_count,
            "last_error": shown_to(campaign.last_error, request.user),
            "operation": history.as_json(operation, request.user) if operation else None,
        })


class CampaignActionView(ChangeCampaignRequired, SingleObjectMixin, FormView):
    """An operation on a campaign's tokens: form → (confirmation) → queued operation → message.

    ``confirm``: destructive operations first answer with a page stating how many tokens will
    change, which posts the same data again with ``confirmed``. The operation ``action`` is
    queued for a task worker with the form's targets and :meth:`options`; the lock guard is
    asked before it is queued (a refusal is shown at once) and again when it starts.
    """

    model = Campaign
    template_name = "tokens_app/action_form.html"
    confirm = False
    title = ""
    # What the confirmation page says happens to the counted tokens.
    consequence = "will change"
    # Operations that remove the token they were asked about end on the campaign page.
    removes_token = False
    action = None

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = self.get_object()

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "campaign": self.object, "auto_id": "action-%s"}

    def get_context_data(self, **kwargs):
        return super().get_context_data(campaign=self.object, title=self.title, **kwargs)

    def form_valid(self, form):
        try:
            if self.confirm and not form.cleaned_data["confirmed"]:
                return self.confirmation(form)
            outcome = self.perform(form)
        except services.ServiceError as exc:
            messages.error(self.request, str(exc))
            return redirect(self.get_success_url())
        if isinstance(outcome, Operation):
            announce(self.request, self.title, outcome)
        else:
            messages.success(self.request, outcome)
        return redirect(self.get_success_url())

    def confirmation(self, form):
        """The page that states how many tokens the operation would change now."""
        count = services.count_targets(self.object, **form.targets())
        return TemplateResponse(
            self.request, "tokens_app/action_confirm.html", self.get_context_data(form=form, count=count)
        )

    def perform(self, form):
        """Queue the operation; answer its row (or, for a quick change, a message)."""
        return runs.queue_operation(
            self.action, self.object, self.request.user, source=Operation.Source.BROWSER,
            selection=self.selection(form), options=self.options(form), file=self.file(form),
        )

    def selection(self, form) -> dict:
        return form.targets()

    def options(self, form) -> dict:
        """What the operation needs besides its targets, as JSON values."""
        return {}

    def file(self, form):
        return None

    def get_success_url(self):
        token_id = self.request.POST.get("token_id")
        if token_id and not self.removes_token:
            return reverse("tokens:token-detail", args=[self.object.pk, token_id])
        return self.object.get_absolute_url()


class ResetView(CampaignActionView):
    form_class = ResetForm
    title = "Reset"
    confirm = True
    action = Operation.Action.RESET

    def options(self, form):
        return {"drop_attachments": form.cleaned_data["drop_attachments"]}


class ScrubView(CampaignActionView):
    form_class = ScrubForm
    title = "Scrub stale tokens"
    confirm = True
    consequence = "are locked now; those locked longer than the age you gave will be reset"
    action = Operation.Action.SCRUB

    def selection(self, form):
        return {}

    def options(self, form):
        return {"older_than_seconds": form.cleaned_data["older_than_hours"].total_seconds()}


class SetStatusView(CampaignActionView):
    form_class = StatusForm
    title = "Set status"
    confirm = True
    action = Operation.Action.SET_STATUS

    def options(self, form):
        return {"status": form.cleaned_data["status"]}


class SetFieldView(CampaignActionView):
    form_class = FieldForm
    title = "Set field"
    confirm = True
    action = Operation.Action.SET_FIELD

    def options(self, form):
        return {"field": form.cleaned_data["field"], "value": form.cleaned_data["value"]}


class AttachView(CampaignActionView):
    form_class = AttachForm
    title = "Attach file"
    action = Operation.Action.ATTACH

    def file(self, form):
        name, data = form.cleaned_data["file"]
        return name, "", data


class AddViewView(CampaignActionView):
    form_class = AddViewForm
    title = "Add view"

    def perform(self, form):
        name = form.cleaned_data["name"]
        services.add_view(self.object, name, form.cleaned_data["condition"], user=self.request.user)
        return f"Added the view '{name}'."

    def get_success_url(self):
        return f"{self.object.get_absolute_url()}?{urlencode({'view': self.request.POST.get('name', '')})}#tokens"


class DeleteTokensView(CampaignActionView):
    form_class = TargetForm
    title = "Delete"
    confirm = True
    consequence = "will be deleted"
    removes_token = True
    action = Operation.Action.DELETE


class PurgeView(CampaignActionView):
    form_class = ConfirmedForm
    title = "Purge"
    confirm = True
    consequence = "will be deleted, and the design document with them"
    action = Operation.Action.PURGE


class ResumeCreationView(CampaignActionView):
    """Push the rest of an incomplete campaign (a push is idempotent: present tokens stay)."""

    form_class = ConfirmedForm
    title = "Resume creation"

    def perform(self, form):
        services.check_can_resume(self.object, self.request.user)
        queue_push(self.object, self.request.user)
        return f"Writing the remaining tokens of {self.object} in the background."


class RecreateViewsView(CampaignActionView):
    """Write the campaign's views again (missing after a push cut short, or deleted by hand)."""

    form_class = ConfirmedForm
    title = "Re-create views"

    def perform(self, form):
        services.recreate_views(self.object, user=self.request.user)
        return f"Re-created the views of {self.object}."


class ArchiveView(SingleObjectMixin, View):
    """Download the campaign as ``.tar.gz``, streamed a page of tokens at a time (a read)."""

    model = Campaign

    def get(self, request, *args, **kwargs):
        campaign = self.get_object()
        try:
            chunks = services.archive_tokens(campaign, user=request.user)
        except services.ServiceError as exc:
            messages.error(request, str(exc))
            return redirect(campaign)
        filename = services.archive_file_name(campaign, timezone.now())
        return StreamingHttpResponse(
            chunks, content_type="application/gzip",
            headers={"Content-Disposition": content_disposition_header(True, filename)},
        )


class TokenDetailView(SingleObjectMixin, TemplateView):
    model = Campaign
    template_name = "tokens_app/token_detail.html"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        try:
            detail = selectors.token_detail(self.object, self.kwargs["token_id"], text_up_to=INLINE_TEXT_BYTES)
        except selectors.TokenNotFound as exc:
            raise Http404(str(exc)) from None
        return super().get_context_data(
            detail=detail,
            fields=sorted((name, value) for name, value in detail["doc"].items() if name != "_attachments"),
            attachments=detail["attachments"],
            raw=json.dumps(detail["doc"], indent=2, sort_keys=True),
            may_change=self.request.user.has_perm(CHANGE_CAMPAIGN),
            **kwargs,
        )


class TokenAttachmentView(View):
    """``?token=…&name=…``: one attachment, always as a download (never rendered by the browser)."""

    def get(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        token_id, name = request.GET.get("token", ""), request.GET.get("name", "")
        if not token_id or not name:
            return HttpResponseBadRequest("give the token and the attachment name")
        try:
            data, content_type = selectors.token_attachment(campaign, token_id, name)
        except selectors.TokenNotFound as exc:
            raise Http404(str(exc)) from None
        return HttpResponse(
            data, content_type=content_type or "application/octet-stream",
            headers={"Content-Disposition": content_disposition_header(True, services.safe_member_name(name))},
        )
