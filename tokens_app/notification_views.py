"""The notifications page: a user's subscriptions (every user's to staff), a form to add one, a
delete button each, and the recent deliveries with their outcome."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views import View
from django.views.generic import FormView

from . import notification_reads
from .models import Campaign
from .notification_forms import SubscriptionForm
from .views.mixins import MAX_PRIMARY_KEY


class NotificationsView(FormView):
    template_name = "tokens_app/notifications.html"
    form_class = SubscriptionForm
    success_url = reverse_lazy("tokens:notifications")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        """The campaign named by ``?campaign=`` (the campaign page's link), if it is one."""
        wanted = self.request.GET.get("campaign", "")
        if not wanted:
            return {}
        # A number no primary key can be is refused before the database driver is asked.
        if wanted.isascii() and wanted.isdigit() and len(wanted) <= len(str(MAX_PRIMARY_KEY)) and 0 < int(wanted) <= MAX_PRIMARY_KEY:
            campaign = Campaign.objects.filter(pk=int(wanted)).exclude(status__in=Campaign.GONE_STATUSES).first()
            if campaign is not None:
                return {"campaign": campaign}
        messages.warning(self.request, "No such campaign to subscribe to: choose one below.")
        return {}

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            subscriptions=notification_reads.subscriptions_seen_by(user),
            deliveries=notification_reads.deliveries_seen_by(user), error_rate=f"{settings.NOTIFY_ERROR_RATE:.0%}",
            error_min_finished=settings.NOTIFY_ERROR_MIN_FINISHED, stalled_minutes=f"{settings.STALLED_MINUTES:g}",
            **kwargs,
        )

    def form_valid(self, form):
        subscription = form.save()
        messages.success(self.request, f"Subscribed: {subscription}.")
        return super().form_valid(form)


class SubscriptionDeleteView(View):
    """Delete a subscription of one's own (staff: anyone's); another's is not found."""

    def post(self, request, pk):
        subscription = notification_reads.subscription_seen_by(request.user, pk) if pk <= MAX_PRIMARY_KEY else None
        if subscription is None:
            raise Http404("no such subscription")
        subscription.delete()
        messages.info(request, f"No longer subscribed: {subscription}.")
        return redirect("tokens:notifications")
