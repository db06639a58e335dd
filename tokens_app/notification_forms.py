"""The form of a notification subscription: which campaign (or every campaign of mine), which
events, which channel."""

from django import forms
from django.core.exceptions import ValidationError

from .models import Campaign
from .notification_models import Channel, EventKind, Subscription, check_webhook_url

ALL_MY_CAMPAIGNS = "every campaign I created"


class SubscriptionForm(forms.ModelForm):
    campaign = forms.ModelChoiceField(
        Campaign.objects.exclude(status__in=Campaign.GONE_STATUSES), required=False, empty_label=ALL_MY_CAMPAIGNS,
    )
    events = forms.MultipleChoiceField(
        choices=EventKind.choices, widget=forms.CheckboxSelectMultiple, initial=EventKind.values,
        error_messages={"required": "Choose at least one event."},
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL, widget=forms.RadioSelect)
    webhook_url = forms.CharField(
        label="Webhook URL", required=False, max_length=500, strip=True,
        help_text="For a webhook: the address the event is POSTed to as JSON.",
    )

    class Meta:
        model = Subscription
        fields = ["campaign", "events", "channel", "webhook_url"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if self.data.get(self.add_prefix("channel")) != Channel.WEBHOOK:
            return ""
        if not url:
            raise ValidationError("A webhook needs its URL.")
        return check_webhook_url(url)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("channel") == Channel.EMAIL and not self.user.email:
            self.add_error("channel", "Your account has no e-mail address: ask an administrator to add one, "
                                      "or choose a webhook.")
        duplicate = Subscription.objects.filter(
            user=self.user, campaign=cleaned.get("campaign"), channel=cleaned.get("channel"),
            webhook_url=cleaned.get("webhook_url") or "",
        )
        if not self.errors and duplicate.exists():
            raise ValidationError("You already have this subscription: change or delete it below.")
        return cleaned

    def save(self, commit=True):
        subscription = super().save(commit=False)
        subscription.user = self.user
        for kind in EventKind.values:
            setattr(subscription, f"on_{kind}", kind in self.cleaned_data["events"])
        if commit:
            subscription.save()
        return subscription
