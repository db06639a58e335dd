"""Admin of notifications: subscriptions can be edited; events and deliveries are the record of
what happened and what was sent, shown read-only."""

from django.contrib import admin

from .notification_models import Delivery, NotificationEvent, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "campaign", "on_finished", "on_errors", "on_stalled", "channel", "created_at"]
    list_filter = ["channel", "on_finished", "on_errors", "on_stalled"]
    search_fields = ["user__username", "user__email", "campaign__token_type", "campaign__database", "webhook_url"]
    autocomplete_fields = ["user", "campaign"]


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["user", "channel", "recipient", "state", "attempts", "last_error", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(NotificationEvent)
class NotificationEventAdmin(ReadOnly):
    list_display = ["campaign", "kind", "key", "detected_at", "cleared_at"]
    list_filter = ["kind", "detected_at"]
    search_fields = ["campaign__token_type", "campaign__database"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["event", "user", "channel", "recipient", "state", "attempts", "sent_at"]
    list_filter = ["state", "channel", "event__kind"]
    search_fields = ["recipient", "user__username", "event__campaign__token_type"]
