"""The ORM record of a token campaign (a GRID_LRT TokenSet).

The tokens live in CouchDB; a Campaign keeps what made them (the options, with the config and
the SRM list as uploaded in its ``CampaignInputs`` and the files attached to the whole set in its
``CampaignFile`` rows) so that a creation interrupted half-way can be completed later from the
record alone, and what the portal last knew about them (how many were written, the last counts,
the last error).
"""

from django.conf import settings
from django.db import models

from .read_models import ChangesCheckpoint, FollowerLease, TokenRow  # noqa: F401 (the read model's tables)
from .notification_models import Delivery, NotificationEvent, Subscription  # noqa: F401 (the notifications' tables)
from .tokensets import TokenSet

# The permission every interface asks of a user who changes a campaign or its tokens.
CHANGE_CAMPAIGN = "tokens_app.change_campaign"


class Campaign(models.Model):
    class Status(models.TextChoices):
        CREATING = "creating", "creating"
        READY = "ready", "ready"
        INCOMPLETE = "incomplete", "incomplete"
        ARCHIVED = "archived", "archived"
        PURGED = "purged", "purged"

    # A campaign in one of these has no tokens left in CouchDB (archived into a file, or purged).
    GONE_STATUSES = (Status.ARCHIVED, Status.PURGED)
    # ... and in one of these none to read: also while being created (its tokens are on their way).
    NO_TOKENS_STATUSES = (Status.CREATING, *GONE_STATUSES)

    token_type = models.CharField(max_length=100, db_index=True)
    database = models.CharField(max_length=238, db_index=True)
    obsid = models.CharField("OBSID", max_length=32, blank=True, db_index=True)
    location = models.CharField(max_length=32, blank=True)
    slice_size = models.PositiveIntegerField(default=1)
    id_prefix = models.CharField(max_length=20, default="SB", blank=True)
    key_name = models.CharField(max_length=100, default="STARTSB")
    # The name of the attachment holding each token's links (GRID_LRT's ``file_upload``); "" for none.
    srm_attachment = models.CharField("SRM attachment name", max_length=255, default="srm.txt", blank=True)
    link_flavor = models.CharField(max_length=10, default="srm")
    allow_mixed = models.BooleanField(default=False)

    config_name = models.CharField(max_length=255, blank=True)
    config_format = models.CharField(max_length=10, blank=True)
    token_fields = models.JSONField(default=dict, blank=True)
    kept_sections = models.JSONField(default=dict, blank=True)
    srmlist_name = models.CharField("SRM list name", max_length=255, blank=True)
    attachment_names = models.JSONField(default=list, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    token_count = models.PositiveIntegerField(default=0, help_text="tokens planned")
    written_count = models.PositiveIntegerField(default=0, help_text="tokens known to be in CouchDB")
    status = models.CharField(max_length=12, choices=Status, default=Status.CREATING, db_index=True)
    last_error = models.TextField(blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="last known overview counts")
    counts_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["database", "token_type"], name="unique_campaign_per_type"),
        ]

    def __str__(self):
        return f"{self.token_type} in {self.database}"

    @property
    def token_set(self) -> TokenSet:
        """The campaign's tokens as the selectors name them: ``(database, token type)``."""
        return TokenSet(database=self.database, token_type=self.token_type)

    @property
    def tokens_gone(self) -> bool:
        """Whether the campaign's tokens have left CouchDB: nothing to count, archive or change."""
        return self.status in self.GONE_STATUSES

    @property
    def has_tokens(self) -> bool:
        """Whether the campaign has tokens in CouchDB to read (neither being created nor gone)."""
        return self.status not in self.NO_TOKENS_STATUSES

    @property
    def lock_key(self) -> str:
        """The key locks_app files lock and freeze tokens of this campaign under."""
        return f"tokens_app.campaign:{self.pk}"

    def get_absolute_url(self) -> str:
        return f"/campaigns/{self.pk}/"


class CampaignInputs(models.Model):
    """The config and the SRM list of a campaign as uploaded.

    Kept out of the campaign row: an SRM list runs to megabytes, SQLite rewrites a whole row on
    every update, and a push updates its campaign after every batch, while the dashboard lists
    campaigns every few seconds (the cost: docs/benchmarks.md, "Figures behind design choices").
    """

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, primary_key=True, related_name="inputs")
    config_text = models.TextField(blank=True)
    srmlist_text = models.TextField("SRM list", blank=True)

    class Meta:
        verbose_name_plural = "campaign inputs"

    def __str__(self):
        return f"inputs of {self.campaign}"


class CampaignFile(models.Model):
    """A file attached to every token of a campaign (a parset, a script), kept so that a
    creation can be completed or redone with the same bytes."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="unique_file_per_campaign")]

    def __str__(self):
        return self.name


class CampaignDraft(models.Model):
    """The uploads of a new campaign between its form and its confirmation.

    Kept in the database, not in the session: a session row is read and written on every request
    of its user, and would carry every uploaded megabyte, and more once encoded (the figure:
    docs/benchmarks.md, "Figures behind design choices"). The session holds only the id; a draft
    is its owner's alone and expires (``services.drafts``).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_drafts")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    config_text = models.TextField(blank=True)
    srmlist_text = models.TextField("SRM list", blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="the other arguments of the plan")

    def __str__(self):
        return f"draft {self.pk} of {self.owner}"


class CampaignDraftFile(models.Model):
    """A file a draft would attach to every token."""

    draft = models.ForeignKey(CampaignDraft, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["draft", "name"], name="unique_file_per_draft")]

    def __str__(self):
        return self.name


class OperationFinished(Exception):
    """An attempt to change an operation that has finished: the history is never rewritten."""


class Operation(models.Model):
    """One long piece of work on a campaign's tokens, as the history keeps it.

    Queued by a page or the admin (run by a task worker) or run by a command in its own process,
    the row says who asked for what, from where, how far it got and what came of it. A running
    operation holds a lease (``lease_until``) that its runner renews as it works; a lapsed lease
    means the runner died, and the operation is ``interrupted`` until someone resumes it. Once
    ``done``, ``failed`` or ``refused`` the row is final: :meth:`save` and the service refuse to
    change it.
    """

    class Action(models.TextChoices):
        PUSH = "push", "push tokens"
        RESET = "reset", "reset"
        SCRUB = "scrub", "scrub stale locks"
        SET_STATUS = "set_status", "set status"
        SET_FIELD = "set_field", "set field"
        ATTACH = "attach", "attach file"
        DELETE = "delete", "delete"
        PURGE = "purge", "purge"
        ARCHIVE_DELETE = "archive_delete", "archive and delete"
        ADOPT = "adopt", "adopt design document"

    class Source(models.TextChoices):
        BROWSER = "browser", "browser"
        ADMIN = "admin", "admin"
        COMMAND = "command", "command"

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        REFUSED = "refused", "refused"
        INTERRUPTED = "interrupted", "interrupted"

    FINAL_STATES = (State.DONE, State.FAILED, State.REFUSED)
    ACTIVE_STATES = (State.QUEUED, State.RUNNING)
    COUNT_FIELDS = ("changed", "conflicted", "skipped", "failed", "written", "existing")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="operations"
    )
    username = models.CharField(max_length=150, blank=True, help_text="kept if the user is deleted")
    # Whom the work runs as: who asked for it, or who resumed it last. The runner checks this
    # user when the work starts, never the one who asked first.
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="operations_run"
    )
    run_by_username = models.CharField(max_length=150, blank=True, help_text="kept if the user is deleted")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="operations"
    )
    target = models.CharField(max_length=400, help_text="the campaign as named when queued")
    action = models.CharField(max_length=20, choices=Action, db_index=True)
    selection = models.JSONField(default=dict, blank=True, help_text="view, ids and where")
    options = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=Source)
    state = models.CharField(max_length=12, choices=State, default=State.QUEUED, db_index=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    runner = models.CharField(max_length=100, blank=True, help_text="the worker or command process running it")
    lease_until = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(
        null=True, blank=True, help_text="since when its runner has been waiting for CouchDB to answer again"
    )
    attempts = models.PositiveIntegerField(default=0, help_text="times a runner claimed it")
    task_id = models.CharField(max_length=64, blank=True)

    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    changed = models.PositiveIntegerField(default=0)
    conflicted = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    existing = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["campaign", "-created_at"], name="operation_campaign_recent")]

    def __str__(self):
        return f"#{self.pk} {self.get_action_display()} of {self.target} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    def save(self, *args, **kwargs):
        if self.pk is not None and Operation.objects.filter(pk=self.pk, state__in=self.FINAL_STATES).exists():
            raise OperationFinished(f"operation #{self.pk} has finished; its record is not changed")
        super().save(*args, **kwargs)


class OperationFile(models.Model):
    """The bytes an ``attach`` operation writes, kept out of the operation row (which is
    rewritten at every progress step) until the worker reads them."""

    operation = models.OneToOneField(Operation, on_delete=models.CASCADE, primary_key=True, related_name="file")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    data = models.BinaryField()

    def __str__(self):
        return self.name
