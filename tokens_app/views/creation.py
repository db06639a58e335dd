"""Creating a campaign: the upload form, then the preview whose confirmation starts the push."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import FormView, TemplateView

from .. import campaign_selectors, services
from ..forms import CampaignForm
from ..models import CHANGE_CAMPAIGN
from ..tokensets import TokenSet
from .actions import queue_push
from .mixins import ChangeCampaignRequired

DRAFT_SESSION_KEY = "tokens_app.campaign_draft"
# The draft keeping the files of a refused new-campaign form.
KEPT_SESSION_KEY = "tokens_app.kept_uploads"
FIRST_IDS_SHOWN = 10


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
