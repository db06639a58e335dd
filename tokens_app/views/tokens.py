"""A token's page, its JSON and its attachments."""

import json

from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.views import View
from django.views.generic import TemplateView
from django.views.generic.detail import SingleObjectMixin

from .. import selectors, services
from ..models import CHANGE_CAMPAIGN, Campaign
from ..templatetags.campaigns import epoch_date
from .mixins import change_refusal

# Text attachments up to this size are shown on the token page; larger ones only downloaded.
INLINE_TEXT_BYTES = 64 * 1024
# Token fields that PiCaS writes as Unix times: the token page shows them as dates too.
EPOCH_FIELDS = ("created", "done", "lock")


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
