"""Forms of the dashboard: they turn request data into the arguments of selectors and services.

Validation that needs CouchDB or the parsers (a config's line numbers, a database that must
exist, an OBSID mixed into the list) is the services' job: the new-campaign form asks
``plan_tokenset`` and shows its ServiceError inline, so the rules live in one place.
"""

import datetime

from django import forms

from locks_app import durations

from . import services, token_selections
from .conditions import MAX_CONDITION_LENGTH, ConditionError
from .design import STATE_NAMES, validate_condition, validate_token_type
from .models import Operation
from .services.common import max_config_bytes, max_upload_bytes, validate_database_name, validate_field_name
from .srm import AS_GIVEN, LINK_FLAVORS
from .states import CampaignState
from .token_charts import CHART_RANGES
from .token_reads import TABLE_ORDERS

# GRID_LRT campaigns slice by up to a few hundred subbands; anything larger is a typo.
MAX_SLICE_SIZE = 10_000
MAX_EXTRA_FILES = 20
# The columns /operations/ sorts by (history.filtered_operations).
OPERATION_SORTS = ("id", "created_at", "username", "target", "action", "state")
# The longest search of the campaign page's tokens.
SEARCH_LENGTH = 200


class DashboardFilterForm(forms.Form):
    """The GET filters of the dashboard; every field is optional."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    token_type = forms.CharField(label="Type", required=False, max_length=100)
    obsid = forms.CharField(label="OBSID", required=False, max_length=32)
    state = forms.ChoiceField(label="State", required=False, choices=[("", "any state"), *CampaignState.choices])
    owner = forms.CharField(label="Owner", required=False, max_length=150)

    def filters(self) -> dict:
        """The keyword arguments of ``campaign_selectors.campaign_list`` and ``designs_matching``:
        what was asked for, or no filter at all when the form is invalid."""
        if not self.is_valid():
            return {}
        return {name: self.cleaned_data[name] for name in self.fields}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(file, initial) for file in files]


def _read_upload(upload, what: str) -> bytes:
    """The bytes of an upload, refused before reading when larger than the site allows."""
    if upload.size > max_upload_bytes():
        raise forms.ValidationError(f"The {what} '{upload.name}' is larger than {max_upload_bytes() // 2**20} MB.")
    return upload.read()


def _read_config(upload) -> bytes:
    """The bytes of an uploaded config, refused before reading when larger than a config may be."""
    if max_config_bytes() < upload.size <= max_upload_bytes():
        raise forms.ValidationError(
            f"The config '{upload.name}' is larger than {max_config_bytes() // 1024} KB: a step config is a page "
            "of settings, and its Token section at most MAX_TOKEN_FIELDS_KB."
        )
    return _read_upload(upload, "config")


class CampaignForm(forms.Form):
    """Step one of a new campaign: the uploads and options, checked by ``plan_tokenset``.

    A valid form holds ``plan`` (nothing written yet) and ``draft_arguments()``, the inputs that
    the preview step plans again from.
    """

    config = forms.FileField(label="Step config (YAML or JSON)", required=False)
    srmlist_file = forms.FileField(label="SRM list file", required=False)
    srmlist_text = forms.CharField(
        label="… or paste the SRM list", required=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One link per line (srm://, gsiftp:// or https download links).",
    )
    token_type = forms.CharField(
        label="Token type", required=False, max_length=100, help_text="Leave empty to use the type the config names."
    )
    database = forms.CharField(
        label="Database", required=False, max_length=238, help_text="Leave empty for the portal's default database."
    )
    slice_size = forms.IntegerField(
        label="Slice size (subbands per token)", initial=1, min_value=1, max_value=MAX_SLICE_SIZE
    )
    id_prefix = forms.CharField(label="Id prefix", initial="SB", required=False, max_length=20)
    key_name = forms.CharField(label="Key name", initial="STARTSB", max_length=100)
    srm_attachment = forms.CharField(
        label="SRM attachment name", initial="srm.txt", required=False, max_length=255,
        help_text="The attachment holding each token's links; empty for none.",
    )
    link_flavor = forms.ChoiceField(
        label="Link flavour", required=False,
        choices=[(AS_GIVEN, "as given"), *((flavor, flavor) for flavor in LINK_FLAVORS)],
        help_text="Keep the links as the list gives them, or convert them (known sites only).",
    )
    attachments = MultipleFileField(label="Extra files to attach to every token", required=False)
    allow_mixed = forms.BooleanField(label="Allow mixed OBSIDs and storage sites", required=False)

    def __init__(self, *args, kept: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Files of an earlier, refused post (``services.kept_uploads``): used when not chosen again.
        self.kept = kept or {}
        self.config_name = ""

    def clean_config(self):
        upload = self.cleaned_data["config"]
        if upload:
            self.config_name = upload.name
            return _read_config(upload)
        if "config" in self.kept:
            self.config_name, text = self.kept["config"]
            return text.encode()
        raise forms.ValidationError("Upload the step config.")

    def readable_uploads(self) -> dict[str, tuple[str, str]]:
        """The uploads of this post that can be kept for the next one: ``{"config"|"srmlist":
        (name, text)}``, for those read whole, in UTF-8 and without NUL (the plan reads nothing else,
        and PostgreSQL keeps no NUL)."""
        found = {}
        for what, field in (("config", "config"), ("srmlist", "srmlist_file")):
            upload = self.files.get(field)
            if upload is None or upload.size > max_upload_bytes():
                continue
            upload.seek(0)
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                continue
            if "\0" not in text:
                found[what] = (upload.name, text)
        return found

    def clean_attachments(self):
        files = self.cleaned_data["attachments"]
        if len(files) > MAX_EXTRA_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_EXTRA_FILES} files.")
        return {upload.name: _read_upload(upload, "file") for upload in files}

    def clean(self):
        data = super().clean()
        upload, text = data.get("srmlist_file"), data.get("srmlist_text")
        kept = self.kept.get("srmlist") if not upload and not text else None
        if upload and text:
            raise forms.ValidationError("Give the SRM list as a file or as text, not both.")
        if not upload and not text and not kept:
            self.add_error("srmlist_file", "Upload an SRM list or paste it below.")
        if self.errors:
            return data
        if kept:
            data["srmlist_name"], kept_text = kept
            data["srmlist_data"] = kept_text.encode()
        else:
            data["srmlist_data"] = _read_upload(upload, "SRM list") if upload else text.encode()
            data["srmlist_name"] = upload.name if upload else ""
        try:
            self.plan = services.plan_tokenset(**self._plan_arguments(data))
        except services.ServiceError as exc:
            raise forms.ValidationError(list(exc.details) or str(exc)) from None
        return data

    def _plan_arguments(self, data) -> dict:
        return {
            "config_data": data["config"],
            "config_name": self.config_name,
            "srmlist_data": data["srmlist_data"],
            "srmlist_name": data["srmlist_name"],
            "token_type": data["token_type"] or None,
            "database": data["database"] or None,
            "slice_size": data["slice_size"],
            "id_prefix": data["id_prefix"],
            "key_name": data["key_name"],
            "srm_attachment": data["srm_attachment"],
            "link_flavor": data["link_flavor"],
            "attachments": data["attachments"],
            "allow_mixed": data["allow_mixed"],
        }

    def draft_arguments(self) -> dict:
        """The plan's arguments to save as a draft (the uploads as text the plan decoded)."""
        arguments = self._plan_arguments(self.cleaned_data)
        arguments["config_data"] = self.plan.config_text
        arguments["srmlist_data"] = self.plan.srmlist_text
        return arguments


class AdoptForm(forms.Form):
    """A design document to adopt: its database and its name (``token_type``, the name of the
    ``_design/<type>`` it usually is; the type it lists may differ, see ``adopt_design``)."""

    database = forms.CharField(max_length=238, widget=forms.HiddenInput)
    token_type = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def clean_database(self):
        try:
            return validate_database_name(self.cleaned_data["database"])
        except services.ServiceError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_token_type(self):
        try:
            return validate_token_type(self.cleaned_data["token_type"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class ConfirmedForm(forms.Form):
    """A campaign action; destructive ones are posted twice, the second time ``confirmed``."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign

    def targets(self) -> dict:
        """The ``view``/``ids`` arguments of the service (none: every token of the campaign)."""
        return {}


class TargetForm(ConfirmedForm):
    """Tokens chosen by a view of the campaign, narrowed by the page's search and a filter as the
    commands' ``--where`` takes it, or one token id (from a token's page). The campaign page
    starts the form from its open tab and search."""

    view = forms.CharField(
        label="Tokens in view", max_length=64, required=False,
        widget=forms.TextInput(attrs={"list": "campaign-views"}),
        help_text=f"{', '.join(STATE_NAMES)}, or a view you added; empty for every token.",
    )
    q = forms.CharField(
        label="Matching the search", max_length=SEARCH_LENGTH, required=False,
        help_text="As the page's search: a token id part, a subband (SB042) or host:NAME; empty for no search.",
    )
    where = forms.CharField(
        label="Where", max_length=1000, required=False,
        help_text='FIELD=VALUE, as the commands\' --where (JSON if it parses: 0, true, "0"); empty for no filter.',
    )
    token_id = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, views=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Where the campaign's views are known (its page), the operator picks one of them; the
        # service still refuses a name the campaign lacks, as a posted value may be anything.
        if views is not None:
            self.fields["view"].widget = forms.Select(choices=[("", "every token"), *((name, name) for name in views)])
            self.fields["view"].help_text = ""

    def clean_where(self):
        text = self.cleaned_data["where"]
        if not text:
            return {}
        try:
            name, value = services.field_assignment(text)
            validate_field_name(name, "filter field name")
        except services.ServiceError as exc:
            raise forms.ValidationError(str(exc)) from None
        return {name: value}

    def clean(self):
        data = super().clean()
        if self.errors or data.get("token_id"):
            return data
        try:
            self.chosen = token_selections.search_targets(self.campaign, data.get("view") or None, data.get("q", ""))
        except token_selections.CannotSelect as exc:
            self.add_error("q", str(exc))
            return data
        where = {**self.chosen.get("where", {}), **data.get("where", {})}
        if where:
            self.chosen["where"] = where
        return data

    def targets(self) -> dict:
        if self.cleaned_data.get("token_id"):
            return {"ids": [self.cleaned_data["token_id"]]}
        return self.chosen


class ResetForm(TargetForm):
    drop_attachments = forms.BooleanField(
        label="Drop attachments the pilots added (logs, results)", required=False
    )


class ScrubForm(ConfirmedForm):
    older_than = forms.CharField(
        label="Locked longer than", max_length=100, initial="6h",
        widget=forms.TextInput(attrs={"list": "stale-ages"}),
        help_text=f"A duration, as scrub_tokens --older-than takes it: {durations.EXAMPLES}.",
    )

    def clean_older_than(self):
        try:
            return durations.parse_duration(self.cleaned_data["older_than"], longest=None)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def targets(self) -> dict:
        return {"view": "locked"}


class StatusForm(TargetForm):
    status = forms.CharField(label="New status", max_length=100)


class FieldForm(TargetForm):
    field = forms.CharField(label="Field", max_length=200)
    value = forms.CharField(
        label="Value", max_length=10_000, required=False,
        help_text='JSON when it parses (0, true, "0", [1, 2]), otherwise text.',
    )

    def clean_value(self):
        return services.typed_value(self.cleaned_data["value"])


class AttachForm(TargetForm):
    file = forms.FileField(label="File")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        return upload.name, _read_upload(upload, "file")


class AddViewForm(ConfirmedForm):
    name = forms.CharField(label="View name", max_length=64)
    # Not stripped: the column an error names is the column in the text as typed.
    condition = forms.CharField(
        label="Condition on doc.*", max_length=MAX_CONDITION_LENGTH, strip=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='Fields as doc.<field> compared with strings, numbers, true, false or null '
        '(== != === !== < <= > >=), joined with && || ! and parentheses, '
        'e.g. doc.scrub_count > 2 && doc.status == "error"',
    )
    # The line of an invalid condition with a caret under the offending character (action_form.html).
    error_excerpt = ""

    def clean_condition(self):
        condition = self.cleaned_data["condition"]
        try:
            return validate_condition(condition)
        except ConditionError as exc:
            self.error_excerpt = exc.excerpt
            raise forms.ValidationError(str(exc)) from None


# The chart's range stays where its buckets' arithmetic and the pilots' epoch times can go.
CHART_EARLIEST = datetime.datetime(1970, 1, 2, tzinfo=datetime.UTC)
CHART_LATEST = datetime.datetime(9000, 1, 1, tzinfo=datetime.UTC)


class TokenPageForm(forms.Form):
    """Which view and page of tokens the campaign page shows, and what it searches for (a token
    id part, a subband such as ``SB042``, or ``host:NAME``)."""

    view = forms.CharField(required=False, max_length=64)
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    q = forms.CharField(required=False, max_length=SEARCH_LENGTH)
    order = forms.ChoiceField(required=False, choices=[("", "id"), *((name, name) for name in TABLE_ORDERS)])
    # The row key (``TokenRow.id_hash``) the next or previous page starts from.
    after = forms.RegexField(required=False, regex=r"\A[0-9a-f]{64}\Z", error_messages={"invalid": "is no row key"})
    before = forms.RegexField(required=False, regex=r"\A[0-9a-f]{64}\Z", error_messages={"invalid": "is no row key"})
    # The completions chart's span: the last hour, 6 or 24 hours, the whole history, or from–to.
    range = forms.ChoiceField(required=False, choices=[("", "all"), ("all", "all"),
                                                      *((name, name) for name in CHART_RANGES)])
    since = forms.DateTimeField(required=False, help_text="UTC")
    until = forms.DateTimeField(required=False, help_text="UTC")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        for name, moment in (("since", since), ("until", until)):
            if moment and not _in_chart(moment):
                self.add_error(name, f"must be between {CHART_EARLIEST:%Y} and {CHART_LATEST:%Y}")
        if until and not since:
            self.add_error("since", "is needed with until")
        if since and until and until <= since:
            self.add_error("until", "must be later than since")
        return data

    def chart_range(self, now: datetime.datetime) -> tuple[datetime.datetime | None, datetime.datetime | None]:
        """``(start, end)`` of the chart the operator chose; ``(None, None)`` for the whole
        history. Call after ``is_valid()``: a refused field reads as its default."""
        data = getattr(self, "cleaned_data", {})
        if data.get("since"):
            return _utc(data["since"]), _utc(data["until"]) if data.get("until") else now
        if data.get("range") in CHART_RANGES:
            return now - CHART_RANGES[data["range"]], now
        return None, None


def _in_chart(moment: datetime.datetime) -> bool:
    try:
        return CHART_EARLIEST <= _utc(moment) <= CHART_LATEST
    except OverflowError:
        # A zone's offset moved the moment off the calendar (year 1 at +01:00).
        return False


def _utc(moment: datetime.datetime) -> datetime.datetime:
    """A moment the operator typed without a zone is UTC, like every time the page shows."""
    return moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment.astimezone(datetime.UTC)


class OperationFilterForm(forms.Form):
    """The filters of ``/operations/``: who, which campaign, what, in which state."""

    user = forms.CharField(max_length=150, required=False)
    campaign = forms.IntegerField(min_value=1, required=False)
    action = forms.ChoiceField(choices=[("", "any action"), *Operation.Action.choices], required=False)
    state = forms.ChoiceField(choices=[("", "any state"), *Operation.State.choices], required=False)
    # A column of the table, "-" first for the other way round; the newest first when empty.
    sort = forms.ChoiceField(
        choices=[("", "newest first"), *((f"{way}{column}", f"{column} {way}") for column in OPERATION_SORTS
                                          for way in ("", "-"))],
        required=False,
    )
