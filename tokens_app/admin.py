"""Admin of campaigns and of the operations history.

Campaign rows are written by the services only (creation, operations), so the admin shows them
read-only and its actions call the services, which ask the lock guard first. Long work (writing
the rest of an incomplete campaign, resuming an interrupted operation) is queued for a task
worker and recorded in the history like the same work started from the campaign page.
Operations are shown read-only: the history is never edited.
"""

from django.contrib import admin, messages
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils import timezone
from django.utils.html import format_html

from . import services
from .campaign_selectors import srmlist_head
from .couch import CouchError
from .models import CHANGE_CAMPAIGN, Campaign, CampaignFile, CampaignInputs, Operation
from .services import runs
from . import notification_admin  # noqa: F401 (registers the notifications' admin)

# Lines of an SRM list the change page shows (as the campaign page does).
SRMLIST_LINES_SHOWN = 5


class CampaignInputsInline(admin.StackedInline):
    model = CampaignInputs
    verbose_name_plural = "config and SRM list as uploaded"
    fields = ["config_text", "srmlist"]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        # The list itself can be megabytes: the page shows its first lines and links the rest.
        return super().get_queryset(request).defer("srmlist_text")

    @admin.display(description="SRM list")
    def srmlist(self, obj):
        head = srmlist_head(obj.campaign, SRMLIST_LINES_SHOWN)
        if not head["count"]:
            return "—"
        return format_html(
            '<pre class="srmlist-head">{}</pre><a href="{}" download>Download all {} lines</a>',
            "\n".join(head["lines"]), reverse("tokens:campaign-srmlist", args=[obj.campaign_id]), head["count"],
        )

    def has_add_permission(self, request, obj=None):
        return False


class CampaignFileInline(admin.TabularInline):
    model = CampaignFile
    fields = ["name", "content_type", "size"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="bytes")
    def size(self, obj):
        return len(obj.data)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "token_type", "database", "obsid", "status", "token_count", "written_count", "created_by", "created_at",
    ]
    list_filter = ["status", "database", "location", "link_flavor", "created_at"]
    search_fields = ["token_type", "database", "obsid", "config_name", "srmlist_name", "created_by__username"]
    date_hierarchy = "created_at"
    inlines = [CampaignInputsInline, CampaignFileInline]
    actions = ["refresh_counts", "archive", "resume_creation"]
    fieldsets = [
        (None, {"fields": ["token_type", "database", "obsid", "location", "status", "last_error", "created_by",
                           "created_at", "updated_at"]}),
        ("Tokens", {"fields": ["token_count", "written_count", "counts", "counts_at"]}),
        ("Options", {"fields": ["slice_size", "id_prefix", "key_name", "srm_attachment", "link_flavor", "allow_mixed",
                                "attachment_names"]}),
        ("Config as uploaded", {"fields": ["config_name", "config_format", "token_fields", "kept_sections"]}),
        ("SRM list as uploaded", {"fields": ["srmlist_name"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Refresh counts from CouchDB")
    def refresh_counts(self, request, queryset):
        refreshed = 0
        for campaign in queryset:
            try:
                services.refresh_counts(campaign)
                refreshed += 1
            except CouchError as exc:
                self.message_user(request, f"{campaign}: {exc}", messages.ERROR)
        if refreshed:
            self.message_user(request, f"Counts refreshed for {refreshed} campaign(s).", messages.SUCCESS)

    @admin.action(description="Write the missing tokens (queue a push)")
    def resume_creation(self, request, queryset):
        if not request.user.has_perm(CHANGE_CAMPAIGN):
            self.message_user(request, f"Writing tokens needs the permission {CHANGE_CAMPAIGN}.", messages.ERROR)
            return
        for campaign in queryset:
            try:
                operation = runs.queue_operation(
                    Operation.Action.PUSH, campaign, request.user, source=Operation.Source.ADMIN
                )
            except services.ServiceError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{campaign}: push queued as operation #{operation.pk}.", messages.SUCCESS)

    @admin.action(description="Archive (download a .tar.gz of every token)")
    def archive(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one campaign to archive.", messages.WARNING)
            return None
        campaign = queryset.get()
        try:
            stream = services.archive_tokens(campaign, user=request.user)
        except services.ServiceError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        filename = services.archive_file_name(campaign, timezone.now())
        return StreamingHttpResponse(
            stream, content_type="application/gzip",
            headers={"Content-Disposition": content_disposition_header(True, filename)},
        )


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = ["pk", "created_at", "username", "run_by_username", "target", "action", "source", "state", "processed", "total",
                    "changed", "conflicted", "skipped", "failed", "written", "existing"]
    list_filter = ["state", "action", "source", "created_at"]
    search_fields = ["username", "target", "error", "runner"]
    date_hierarchy = "created_at"
    actions = ["resume"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Operation._meta.fields]

    def has_change_permission(self, request, obj=None):
        """Nobody adds, edits or deletes history rows: they are the audit trail."""
        return False

    has_add_permission = has_delete_permission = has_change_permission

    @admin.action(description="Resume (queue again) the interrupted operations")
    def resume(self, request, queryset):
        if not request.user.has_perm(CHANGE_CAMPAIGN):
            self.message_user(request, f"Resuming needs the permission {CHANGE_CAMPAIGN}.", messages.ERROR)
            return
        for operation in queryset:
            try:
                runs.resume_operation(operation, request.user)
            except services.ServiceError as exc:
                self.message_user(request, f"#{operation.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"#{operation.pk} is queued again.", messages.SUCCESS)
