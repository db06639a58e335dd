"""The campaign page's actions: each queues an operation on the campaign's tokens (asking the
lock guard first) and tells the operator what became of it."""

import time

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.generic import FormView
from django.views.generic.detail import SingleObjectMixin

from .. import history, services, token_selections
from ..forms import AddViewForm, AttachForm, ConfirmedForm, FieldForm, ResetForm, ScrubForm, StatusForm, TargetForm
from ..models import Campaign, Operation
from ..services import runs
from .mixins import ChangeCampaignRequired, change_refusal


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
    # The form's fields the operation takes as its options (:meth:`options`).
    option_fields = ()

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
        """What the operation needs besides its targets, as JSON values: by default the form's
        ``option_fields`` as cleaned."""
        return {name: form.cleaned_data[name] for name in self.option_fields}

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
    option_fields = ("drop_attachments",)


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
    option_fields = ("status",)


class SetFieldView(CampaignActionView):
    form_class = FieldForm
    title = "Set field"
    confirm = True
    action = Operation.Action.SET_FIELD
    option_fields = ("field", "value")


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
