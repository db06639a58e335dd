"""Views of tokens_app: thin wrappers around the selectors and services.

Each view parses the request (a form), calls a selector (reads) or a service (writes), and
answers with a page, a message and a redirect, or JSON. Everything a page may change needs the
``tokens_app.change_campaign`` permission; reading needs a login (LoginRequiredMiddleware).
"""

import json
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.http import content_disposition_header, urlencode
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView
from django.views.generic.detail import SingleObjectMixin

from locks_app.guard import ChangeRefused, ensure_can_change
from tokenportal.disclosure import shown_to

from . import campaign_selectors, exports, history, selectors, services, token_charts, token_reads, token_selections
from .couch import CouchError, CouchTimeout
from .design import STATE_NAMES, TOKENS_VIEW
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
from .middleware import couch_problem
from .paces import campaign_paces
from .models import CHANGE_CAMPAIGN, Campaign, Operation
from .services import runs
from .states import campaign_label, campaign_state
from .templatetags.campaigns import activity_text, epoch_date
from .tokensets import TokenSet

DRAFT_SESSION_KEY = "tokens_app.campaign_draft"
# The draft keeping the files of a refused new-campaign form.
KEPT_SESSION_KEY = "tokens_app.kept_uploads"
# The dashboard polls the campaigns it shows; more than this on one page is not a dashboard.
MAX_POLLED_CAMPAIGNS = 200
# The largest primary key (a BigAutoField, a signed 64-bit integer).
MAX_PRIMARY_KEY = 2**63 - 1
TOKENS_PER_PAGE = 25
FIRST_IDS_SHOWN = 10
# Text attachments up to this size are shown on the token page; larger ones only downloaded.
INLINE_TEXT_BYTES = 64 * 1024
# Token fields that PiCaS writes as Unix times: the token page shows them as dates too.
EPOCH_FIELDS = ("created", "done", "lock")
# Lines of the SRM list shown on the campaign page; the whole list is a download.
SRMLIST_LINES_SHOWN = 5


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


class ExportMixin:
    """``?format=csv|json`` answers the page's table as a download (:meth:`export`)."""

    def get(self, request, *args, **kwargs):
        export_format = request.GET.get("format")
        if export_format is None:
            return super().get(request, *args, **kwargs)
        if export_format not in exports.FORMATS:
            return HttpResponseBadRequest("format is csv or json")
        return self.export(request, export_format)


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


class CampaignCreateView(ChangeCampaignRequired, FormView):
    """Step one: upload and check. Nothing is written to CouchDB; the inputs wait in a draft
    (a database row, never the session: the session keeps only its id)."""

    form_class = CampaignForm
    template_name = "tokens_app/campaign_form.html"

    def kept_draft(self):
        """The draft keeping the files of this user's last refused post, if it is still there."""
        draft_id = self.request.session.get(KEPT_SESSION_KEY)
        draft = services.live_draft(draft_id) if isinstance(draft_id, int) else None
        return draft if draft is not None and draft.owner_id == self.request.user.pk else None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "kept": services.kept_uploads(self.kept_draft())}

    def form_valid(self, form):
        draft = services.save_draft(user=self.request.user, arguments=form.draft_arguments())
        self.request.session[DRAFT_SESSION_KEY] = draft.pk
        self.forget_kept()
        return redirect("tokens:campaign-preview")

    def form_invalid(self, form):
        # The files that were read are kept, so that correcting an option does not mean
        # choosing them again; the page names them.
        kept = services.keep_uploads(
            user=self.request.user, previous=self.kept_draft(),
            config=form.readable_uploads().get("config"), srmlist=form.readable_uploads().get("srmlist"),
        )
        if kept is None:
            self.request.session.pop(KEPT_SESSION_KEY, None)
        else:
            self.request.session[KEPT_SESSION_KEY] = kept.pk
        form.kept = services.kept_uploads(kept)
        return super().form_invalid(form)

    def forget_kept(self):
        draft = self.kept_draft()
        if draft is not None:
            services.discard_draft(draft)
        self.request.session.pop(KEPT_SESSION_KEY, None)


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
        existing = campaign_selectors.campaign_of(TokenSet(database=plan.database, token_type=plan.token_type))
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
    elif getattr(operation, "already_queued", False):
        messages.info(request, format_html(
            '{}: already queued as <a href="{}#operation-{}">operation #{}</a> (not queued again); '
            "its campaign's page follows it.", title, operation.campaign.get_absolute_url(), operation.pk, operation.pk,
        ))
    else:
        messages.info(request, f"{title}: queued as operation #{operation.pk}; a worker runs it, its campaign's page follows it.")


class CampaignDetailView(ExportMixin, DetailView):
    """The campaign page. It always renders: when CouchDB cannot show the tokens (no views yet,
    database gone, server down) it says so and shows what the row knows and how to repair it.
    Its live parts are refreshed by the page script from :class:`CampaignStatusApiView`, which
    renders the same fragments from the same :func:`live_context`."""

    model = Campaign
    template_name = "tokens_app/campaign_detail.html"

    def export(self, request, export_format: str):
        return export_campaign_table(self.get_object(), request.GET, export_format)

    def get_context_data(self, **kwargs):
        campaign = self.object
        may_change = self.request.user.has_perm(CHANGE_CAMPAIGN)
        context = {
            "operation": history.current_operation(campaign),
            "operations": history.campaign_history(campaign),
            "refusal": change_refusal(self.request.user, campaign) if may_change else None,
            "may_change": may_change,
            "may_resume": may_change and campaign.status in services.RESUMABLE,
            "has_tokens": campaign.has_tokens,
            "srmlist_head": campaign_selectors.srmlist_head(campaign, SRMLIST_LINES_SHOWN),
        }
        if context["has_tokens"]:
            try:
                context.update(live_context(campaign, self.request.GET))
            except CouchError as exc:
                context.update(has_tokens=False, couch_problem=couch_problem(campaign, exc))
            else:
                for name, error in context["refused"].items():
                    messages.warning(self.request, f"The {name} asked for is ignored: {error}")
                if context["unknown_view"]:
                    messages.warning(
                        self.request,
                        f"This campaign has no view named '{context['unknown_view']}'; showing {context['view']}.",
                    )
        looking_at = {"view": context.get("view", ""), "q": context["search"].text if context.get("search") else ""}
        context["forms"] = action_forms(context.get("views"), initial=looking_at)
        context["act_query"] = urlencode({name: value for name, value in looking_at.items() if value})
        context["act_links"] = ACT_LINKS
        return super().get_context_data(**context, **kwargs)


# The actions the campaign page offers on the open tab or search, as links carrying them.
ACT_LINKS = (("tokens:campaign-reset", "Reset…"), ("tokens:campaign-set-status", "Set status…"),
             ("tokens:campaign-set-field", "Set field…"), ("tokens:campaign-delete", "Delete…"))


# The columns of each table a page exports (``?format=csv|json``).
DASHBOARD_COLUMNS = ("id", "database", "token_type", "obsid", "state", "created_at", "todo", "locked", "done",
                     "error", "total")
TOKEN_COLUMNS = ("id", "state", "status", "hostname", "exit_code", "output", "scrub_count", "lock", "done")
ERROR_COLUMNS = ("exit_code", "output", "status", "count")
HOST_COLUMNS = ("host", "count", "exit_codes")


def export_campaign_table(campaign: Campaign, params, export_format: str):
    """The campaign page's table as a download: ``table=tokens`` (the default: the open tab or
    search, every page of it), ``errors`` (by exit code) or ``hosts`` (errors by host)."""
    table = params.get("table", "tokens")
    name = f"{campaign.database}-{campaign.token_type}"
    if table == "errors":
        return exports.download(f"{name}-errors", export_format, ERROR_COLUMNS, token_reads.error_groups(campaign))
    if table == "hosts":
        hosts = ({**group, "exit_codes": " ".join(group["exit_codes"])} for group in token_reads.errors_by_host(campaign))
        return exports.download(f"{name}-hosts", export_format, HOST_COLUMNS, hosts)
    if table != "tokens":
        return HttpResponseBadRequest("table is tokens, errors or hosts")
    choice = TokenPageForm(params)
    if not choice.is_valid():
        return HttpResponseBadRequest(" ".join(f"{field}: {' '.join(errors)}" for field, errors in choice.errors.items()))
    view, search = choice.cleaned_data.get("view") or TOKENS_VIEW, token_reads.Search.parse(choice.cleaned_data.get("q"))
    if view not in (*STATE_NAMES, TOKENS_VIEW):
        return HttpResponseBadRequest("a state's tokens, every token or a search can be exported; another "
                                      "tool's view is CouchDB's to list")
    rows = token_reads.iter_tokens(campaign, view if view in STATE_NAMES else None, search=search)
    return exports.download(f"{name}-{view}", export_format, TOKEN_COLUMNS, rows)


def change_refusal(user, campaign: Campaign) -> str | None:
    """Why ``user`` may not change ``campaign`` now (frozen, or locked by someone else), in the
    guard's own words; None when they may. The page disables its actions with this reason."""
    try:
        ensure_can_change(user, campaign)
    except ChangeRefused as exc:
        return str(exc)
    return None


def campaign_views(campaign: Campaign) -> tuple[list[str], dict | None]:
    """The campaign's tabs and the portal's record of views it put back, from the read model;
    from CouchDB when it holds no row of ``_design/<type>`` (not read yet, or missing: then
    NotFound, as pilots find no work without it, and the page offers to re-create it)."""
    design = token_reads.design_of(campaign)
    if design is not None:
        return [*STATE_NAMES, TOKENS_VIEW, *design.listed_views], design.restored
    read = selectors.type_design(campaign)
    return selectors.token_views(campaign, read), selectors.views_restored(campaign, read)


def live_context(campaign: Campaign, params) -> dict:
    """What the campaign page shows of the tokens: counts, tab sizes, a page of a tab (or of a
    search), the error groups and the completions chart, all read from the read model at one
    moment (a user view's tab is CouchDB's: only CouchDB runs its map)."""
    choice = TokenPageForm(params)
    # A refused field reads as its default; the others are kept (a bad page keeps the view).
    choice.is_valid()
    data = choice.cleaned_data
    views, restored = campaign_views(campaign)
    requested = data.get("view")
    search = token_reads.Search.parse(data.get("q") or "")
    page = data.get("page") or 1
    now = timezone.now()
    chart_start, chart_end = choice.chart_range(now)
    with token_reads.one_snapshot():
        counts = token_reads.counts_of(campaign)
        known = counts or token_reads.zero_counts()
        sizes = {name: known[name] if name in STATE_NAMES else known["total"] if name == TOKENS_VIEW else None
                 for name in views}
        if search:
            # A search looks through every token, or the state whose tab is open.
            view = requested if requested in STATE_NAMES else TOKENS_VIEW
        elif requested in views:
            view = requested
        else:
            view = next((state for state in STATE_NAMES if known[state]), TOKENS_VIEW)
        tokens = None
        if view in STATE_NAMES or view == TOKENS_VIEW:
            tokens = token_reads.token_page(campaign, view if view in STATE_NAMES else None, page=page,
                                            per_page=TOKENS_PER_PAGE, search=search,
                                            after=data.get("after"), before=data.get("before"),
                                            order=data.get("order") or "id")
        context = {
            "counts": counts,
            "lag": token_reads.lag_of(campaign.database),
            "signature": token_reads.signature_of(campaign, counts),
            "errors": token_reads.error_groups(campaign),
            "hosts": token_reads.errors_by_host(campaign),
            "chart": token_charts.completions(campaign, known, now=now, start=chart_start, end=chart_end),
        }
    indexing = False
    if tokens is None:
        # Another tool's view: its page and size from CouchDB, as GRID_LRT reads it.
        try:
            tokens = selectors.list_tokens(campaign, view, page=page, per_page=TOKENS_PER_PAGE)
            sizes[view] = selectors.view_size(campaign, view)
        except CouchTimeout:
            # The view's index is being built: the page does not wait for it.
            tokens, indexing = token_reads.TokenPage(rows=[], page=page, per_page=TOKENS_PER_PAGE, has_next=False), True
    listed = tokens.matched if search else sizes.get(view)
    return {
        **context,
        "views_restored": restored,
        "views": views,
        "view": view,
        "unknown_view": requested if requested and requested not in views else None,
        "search": search,
        "sizes": sizes,
        "tabs": [(name, sizes.get(name)) for name in views],
        "tokens": tokens,
        "pages": max(1, -(-listed // TOKENS_PER_PAGE)) if listed is not None else None,
        "indexing": indexing,
        "exportable": view in (*STATE_NAMES, TOKENS_VIEW),
        "order": data.get("order") or "id",
        "chart_ranges": token_charts.RANGE_LINKS,
        "chart_range": {
            "name": None if data.get("since") else (data.get("range") or "").replace("all", ""),
            **{name: f"{data[name]:%Y-%m-%dT%H:%M}" for name in ("since", "until") if data.get(name)},
        },
        "refused": {name: " ".join(errors) for name, errors in choice.errors.items()},
    }


def action_forms(views: list[str] | None = None, initial: dict | None = None) -> dict:
    """Blank action forms of the campaign page; ids prefixed so that they stay unique. With the
    campaign's ``views``, the forms that target a view offer them as a choice; they start from
    ``initial``, the page's open tab and search."""
    return {
        name: form_class(auto_id=f"{name}-%s", **(
            {"views": views, "initial": initial} if issubclass(form_class, TargetForm) else {}))
        for name, form_class in {
            "reset": ResetForm, "scrub": ScrubForm, "status": StatusForm, "field": FieldForm,
            "attach": AttachForm, "view": AddViewForm, "delete": TargetForm, "purge": ConfirmedForm,
        }.items()
    }


class CampaignStatusApiView(SingleObjectMixin, View):
    """``/campaigns/<pk>/status/``: polled by the campaign page; one request refreshes it all.

    Always: the creation's progress and the counts. When the counts differ from the page's
    ``known`` signature: the fragments that depend on them, rendered by the templates of the
    page (tabs, token table, errors, chart), and with ``map=1`` the subband map's cells;
    ``map=now`` asks for the map in any case (the page's first request: the page itself is
    fresh, only its map is still to be drawn). ``view``, ``page`` and ``q`` are the page's own,
    so the table stays the one shown.
    """

    model = Campaign

    def get(self, request, *args, **kwargs):
        campaign = self.get_object()
        operation = history.current_operation(campaign)
        answer = {
            "state": campaign_state(campaign.status, None),
            "written_count": campaign.written_count,
            "token_count": campaign.token_count,
            "last_error": shown_to(campaign.last_error, request.user),
            "operation": history.as_json(operation, request.user) if operation else None,
        }
        if not campaign.has_tokens:
            return JsonResponse(answer)
        try:
            with token_reads.one_snapshot():
                counts = token_reads.counts_of(campaign)
                signature = token_reads.signature_of(campaign, counts)
            answer.update(counts=counts, state=campaign_state(campaign.status, counts),
                          label=campaign_label(campaign.status, counts), signature=signature,
                          read_age=token_reads.lag_of(campaign.database)["age"])
            changed = signature != request.GET.get("known")
            if changed:
                context = {**live_context(campaign, request.GET), "campaign": campaign, "request": request}
                answer["signature"] = context["signature"]
                answer["html"] = {
                    name: render_to_string(f"tokens_app/_{name}.html", context, request=request)
                    for name in LIVE_FRAGMENTS
                }
            wanted = request.GET.get("map")
            if (changed and wanted == "1") or wanted == "now":
                answer["map"] = token_charts.subband_map(token_reads.token_states(campaign))
        except CouchError as exc:
            answer.update(counts=None, couch_error=shown_to(str(exc), request.user))
        return JsonResponse(answer)


# The campaign page's parts that the status API renders again when the counts move.
LIVE_FRAGMENTS = ("counts_age", "pace", "tabs", "token_table", "errors", "chart_card")


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

    def get_initial(self):
        # The tab and search of the page the operator came from (``?view=error&q=host:vm-pilot3``).
        return {name: self.request.GET[name] for name in ("view", "q", "where") if name in self.request.GET}

    def get_context_data(self, **kwargs):
        return super().get_context_data(campaign=self.object, title=self.title, **kwargs)

    def form_valid(self, form):
        try:
            if self.confirm and not form.cleaned_data["confirmed"]:
                # A campaign this user may not change is refused before its tokens are counted.
                refusal = change_refusal(self.request.user, self.object)
                if refusal:
                    raise services.ServiceError(f"cannot {self.title.lower()} {self.object}: {refusal}")
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
        count = self.target_count(form)
        return TemplateResponse(
            self.request, "tokens_app/action_confirm.html", self.get_context_data(form=form, count=count)
        )

    def target_count(self, form) -> int:
        """How many tokens the operation would change now: the read model's count where it can
        tell, else CouchDB's."""
        targets = form.targets()
        counted = token_selections.count_targets(self.object, **targets)
        return counted if counted is not None else services.count_targets(self.object, **targets)

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
    consequence = "have been locked longer than the age you gave: they will be reset"
    action = Operation.Action.SCRUB

    def target_count(self, form):
        return token_selections.stale_lock_count(
            self.object, older_than_seconds=form.cleaned_data["older_than"].total_seconds(), now=time.time())

    def selection(self, form):
        return {}

    def options(self, form):
        return {"older_than_seconds": form.cleaned_data["older_than"].total_seconds()}


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

    def form_valid(self, form):
        # A refused name or condition comes back on the form with what was typed, not as a
        # redirect to a campaign page that has no such view.
        name = form.cleaned_data["name"]
        try:
            services.add_view(self.object, name, form.cleaned_data["condition"], user=self.request.user)
        except services.ServiceError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(self.request, f"Added the view '{name}'.")
        return redirect(f"{self.object.get_absolute_url()}?{urlencode({'view': name})}")


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


class SrmListView(SingleObjectMixin, View):
    """The campaign's SRM list as uploaded, as a download (the pages show its first lines)."""

    model = Campaign

    def get(self, request, *args, **kwargs):
        campaign = self.get_object()
        inputs = getattr(campaign, "inputs", None)
        if inputs is None:
            raise Http404("this campaign has no SRM list recorded")
        name = services.safe_member_name(campaign.srmlist_name or f"{campaign.token_type}.srmlist")
        return HttpResponse(
            inputs.srmlist_text, content_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": content_disposition_header(True, name)},
        )


class TokenDetailView(SingleObjectMixin, TemplateView):
    """A token's fields, attachments and JSON; ``?json=1`` downloads its JSON exactly as CouchDB
    holds it (the page shows values made readable and cut)."""

    model = Campaign
    template_name = "tokens_app/token_detail.html"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if request.GET.get("json"):
            try:
                body = selectors.token_json(self.object, self.kwargs["token_id"])
            except selectors.TokenNotFound as exc:
                raise Http404(str(exc)) from None
            name = services.safe_member_name(self.kwargs["token_id"]) + ".json"
            return HttpResponse(body, content_type="application/json",
                                headers={"Content-Disposition": content_disposition_header(True, name)})
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        try:
            detail = selectors.token_detail(self.object, self.kwargs["token_id"], text_up_to=INLINE_TEXT_BYTES)
        except selectors.TokenNotFound as exc:
            raise Http404(str(exc)) from None
        may_change = self.request.user.has_perm(CHANGE_CAMPAIGN)
        raw = json.dumps(detail["doc"], indent=2, sort_keys=True, ensure_ascii=False)
        return super().get_context_data(
            detail=detail,
            fields=[
                {"name": name, "value": value, "date": epoch_date(value) if name in EPOCH_FIELDS else ""}
                for name, value in sorted(detail["doc"].items())
                if name != "_attachments"
            ],
            attachments=detail["attachments"],
            raw=raw[:INLINE_TEXT_BYTES],
            raw_cut=len(raw) > INLINE_TEXT_BYTES,
            may_change=may_change,
            refusal=change_refusal(self.request.user, self.object) if may_change else None,
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
