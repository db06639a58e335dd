"""Admin of lock tokens: the history with filters and an "end selected" action; the two index
tables read-only, for looking into what the utility sees."""

from django.contrib import admin, messages
from django.db.models import Q

from . import clock, selectors
from .interfaces import TokenError
from .keys import names
from .models import LockedObject, LockPrincipal, LockToken
from .tokens import Freeze, Token


@admin.display(description="object")
def object_name(row) -> str:
    """What operators call the object (a campaign's "pref_cal1 in tokens"); the key if it is gone.
    The change lists name a whole page at once (NamedObjectsMixin)."""
    return row.object_name


class NamedObjectsMixin:
    """Gives each row of a change list page its ``object_name``, in one query per locked model."""

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        found = names(row.object_key for row in rows)
        for row in rows:
            row.object_name = found[row.object_key]
        return changelist


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "active"), ("expired", "expired"), ("ended", "ended")]

    def queryset(self, request, queryset):
        now = clock.now()
        not_ended = Q(ended_at__isnull=True)
        expired = Q(end_reason=LockToken.EndReason.EXPIRED) | (not_ended & Q(expiration__lte=now))
        if self.value() == "active":
            return queryset.filter(not_ended & (Q(expiration__isnull=True) | Q(expiration__gt=now)))
        if self.value() == "expired":
            return queryset.filter(expired)
        if self.value() == "ended":
            return queryset.filter(ended_at__isnull=False).exclude(end_reason=LockToken.EndReason.EXPIRED)
        return queryset


class PrincipalFilter(admin.SimpleListFilter):
    """Principals of the indexed tokens (the principal index)."""

    title = "principal"
    parameter_name = "principal"

    def lookups(self, request, model_admin):
        return [(pid, pid) for pid in selectors.indexed_principals()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(principal_rows__principal_id=self.value())
        return queryset


@admin.register(LockToken)
class LockTokenAdmin(NamedObjectsMixin, admin.ModelAdmin):
    list_display = [object_name, "object_key", "kind", "holders", "started", "expiration", "ended_at", "end_reason", "created_by"]
    list_filter = ["kind", PrincipalFilter, StateFilter]
    search_fields = ["object_key"]
    date_hierarchy = "started"
    list_select_related = ["created_by"]
    actions = ["end_selected"]
    readonly_fields = [field.name for field in LockToken._meta.fields]

    @admin.display(description="held by")
    def holders(self, row):
        return ", ".join(row.principal_ids) or "—"

    @admin.action(description="End selected tokens", permissions=["break_lock"])
    def end_selected(self, request, queryset):
        ended = skipped = 0
        for row in queryset.filter(ended_at__isnull=True):
            token = Token.from_row(row)
            if isinstance(token, Freeze):
                skipped += 1
                continue
            try:
                token.end(by=request.user, reason=LockToken.EndReason.BROKEN)
                ended += 1
            except TokenError:
                skipped += 1
        self.message_user(request, f"Ended {ended} token(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped}: expired meanwhile, or permanent freezes (they never end).",
                messages.WARNING,
            )

    def has_break_lock_permission(self, request):
        return request.user.has_perm("locks_app.break_lock")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class IndexAdmin(admin.ModelAdmin):
    """An index table: look, never touch (the utility alone writes it)."""

    list_select_related = ["token"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LockedObject)
class LockedObjectAdmin(NamedObjectsMixin, IndexAdmin):
    list_display = [object_name, "object_key", "token", "expiration"]
    search_fields = ["object_key"]


@admin.register(LockPrincipal)
class LockPrincipalAdmin(IndexAdmin):
    list_display = ["principal_id", "token"]
    search_fields = ["principal_id"]
