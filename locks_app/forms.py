"""Forms of the lock panel and the lock list; each names the object by its key."""

from django import forms

from . import keys, lockables
from .durations import parse_duration
from .models import LockToken

# The values are durations of the project's one grammar (see durations.py), read by it.
DURATION_CHOICES = [("1h", "1 hour"), ("8h", "8 hours"), ("until-ended", "until ended")]
EXTENSION_CHOICES = [("1h", "1 hour"), ("2h", "2 hours"), ("8h", "8 hours")]


class ObjectForm(forms.Form):
    """An operation on one existing object of a lockable model, given by its key."""

    object = forms.CharField(widget=forms.HiddenInput, max_length=keys.MAX_KEY_LENGTH)

    def clean_object(self):
        try:
            return lockables.lookup(self.cleaned_data["object"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class DurationForm(ObjectForm):
    duration = forms.ChoiceField(choices=DURATION_CHOICES, initial="1h")

    def clean_duration(self):
        return parse_duration(self.cleaned_data["duration"], until_ended=True)


class ExtendForm(ObjectForm):
    by = forms.ChoiceField(choices=EXTENSION_CHOICES, initial="1h")

    def clean_by(self):
        return parse_duration(self.cleaned_data["by"])


class UsernamesForm(ObjectForm):
    usernames = forms.CharField(max_length=1000, help_text="Usernames, separated by commas or spaces.")

    def clean_usernames(self):
        names = self.cleaned_data["usernames"].replace(",", " ").split()
        if not names:
            raise forms.ValidationError("Give at least one username.")
        return names


class LockFilterForm(forms.Form):
    """Filters of the staff view of all active locks."""

    kind = forms.ChoiceField(choices=[("", "any kind"), *LockToken.Kind.choices], required=False)
    principal = forms.CharField(max_length=150, required=False)
    object = forms.CharField(max_length=keys.MAX_KEY_LENGTH, required=False, label="Object key contains")
