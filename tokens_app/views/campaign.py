"""The campaign page, its status API and its downloads (tables, archive, SRM list).

The page and the API render the same live parts from :func:`tokens_app.campaign_page.live_context`;
the actions the page offers are in :mod:`tokens_app.views.actions`.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.views import View
from django.views.generic import DetailView
from django.views.generic.detail import SingleObjectMixin

from tokenportal.disclosure import shown_to

from .. import campaign_page, campaign_selectors, exports, history, services
from ..couch import CouchError
from ..forms import (
    AddViewForm, AttachForm, ConfirmedForm, FieldForm, ResetForm, ScrubForm, StatusForm, TargetForm, TokenPageForm,
)
from ..middleware import couch_problem
from ..models import CHANGE_CAMPAIGN, Campaign
from ..states import campaign_label, campaign_state
from .mixins import ExportMixin, change_refusal

# Lines of the SRM list shown on the campaign page; the whole list is a download.
SRMLIST_LINES_SHOWN = 5


class CampaignDetailView(ExportMixin, DetailView):
    """The campaign page. It always renders: when CouchDB cannot show the tokens (no views yet,
    database gone, server down) it says so and shows what the row knows and how to repair it.
    Its live parts are refreshed by the page script from :class:`CampaignStatusApiView`, which
    renders the same fragments from the same :func:`live_parts`."""

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
                context.update(live_parts(campaign, self.request.GET))
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


def export_campaign_table(campaign: Campaign, params, export_format: str):
    """The campaign page's table as a download: ``table=tokens`` (the default: the open tab or
    search, every page of it), ``errors`` (by exit code) or ``hosts`` (errors by host)."""
    table, choice = params.get("table", "tokens"), {}
    if table == "tokens":
        form = TokenPageForm(params)
        if not form.is_valid():
            return HttpResponseBadRequest(" ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()))
        choice = {"view": form.cleaned_data.get("view"), "q": form.cleaned_data.get("q")}
    try:
        name, columns, rows = campaign_page.export_table(campaign, table, **choice)
    except campaign_page.NotExportable as exc:
        return HttpResponseBadRequest(str(exc))
    return exports.download(name, export_format, columns, rows)


def live_parts(campaign: Campaign, params) -> dict:
    """The page's live parts for its query ``params``, with the fields it ignores (a refused
    field reads as its default; the others are kept: a bad page keeps the view)."""
    choice = TokenPageForm(params)
    choice.is_valid()
    now = timezone.now()
    return {
        **campaign_page.live_context(campaign, choice.cleaned_data, now=now, chart=choice.chart_range(now)),
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
            live = campaign_page.status_counts(campaign)
            counts, signature = live["counts"], live["signature"]
            answer.update(counts=counts, state=campaign_state(campaign.status, counts),
                          label=campaign_label(campaign.status, counts), signature=signature,
                          read_age=live["read_age"])
            changed = signature != request.GET.get("known")
            if changed:
                context = {**live_parts(campaign, request.GET), "campaign": campaign, "request": request}
                answer["signature"] = context["signature"]
                answer["html"] = {
                    name: render_to_string(f"tokens_app/_{name}.html", context, request=request)
                    for name in LIVE_FRAGMENTS
                }
            wanted = request.GET.get("map")
            if (changed and wanted == "1") or wanted == "now":
                answer["map"] = campaign_page.subband_map(campaign)
        except CouchError as exc:
            answer.update(counts=None, couch_error=shown_to(str(exc), request.user))
        return JsonResponse(answer)


# The campaign page's parts that the status API renders again when the counts move.
LIVE_FRAGMENTS = ("counts_age", "pace", "tabs", "token_table", "errors", "chart_card")


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
