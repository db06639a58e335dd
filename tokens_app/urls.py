from django.urls import path, register_converter

from . import notification_views, operation_views, views
from .converters import TokenIdConverter

register_converter(TokenIdConverter, "token_id")

app_name = "tokens"

campaign = "campaigns/<int:pk>/"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("api/counts/", views.CountsApiView.as_view(), name="api-counts"),
    path("operations/", operation_views.OperationListView.as_view(), name="operations"),
    path("operations/<int:pk>/resume/", operation_views.ResumeOperationView.as_view(), name="operation-resume"),
    path("notifications/", notification_views.NotificationsView.as_view(), name="notifications"),
    path("notifications/<int:pk>/delete/", notification_views.SubscriptionDeleteView.as_view(), name="subscription-delete"),
    path("designs/adopt/", views.AdoptDesignView.as_view(), name="design-adopt"),
    path("campaigns/new/", views.CampaignCreateView.as_view(), name="campaign-new"),
    path("campaigns/new/preview/", views.CampaignPreviewView.as_view(), name="campaign-preview"),
    path(campaign, views.CampaignDetailView.as_view(), name="campaign-detail"),
    path(campaign + "status/", views.CampaignStatusApiView.as_view(), name="campaign-status"),
    path(campaign + "archive/", views.ArchiveView.as_view(), name="campaign-archive"),
    path(campaign + "srmlist/", views.SrmListView.as_view(), name="campaign-srmlist"),
    path(campaign + "reset/", views.ResetView.as_view(), name="campaign-reset"),
    path(campaign + "scrub/", views.ScrubView.as_view(), name="campaign-scrub"),
    path(campaign + "set-status/", views.SetStatusView.as_view(), name="campaign-set-status"),
    path(campaign + "set-field/", views.SetFieldView.as_view(), name="campaign-set-field"),
    path(campaign + "attach/", views.AttachView.as_view(), name="campaign-attach"),
    path(campaign + "add-view/", views.AddViewView.as_view(), name="campaign-add-view"),
    path(campaign + "delete/", views.DeleteTokensView.as_view(), name="campaign-delete"),
    path(campaign + "purge/", views.PurgeView.as_view(), name="campaign-purge"),
    path(campaign + "resume/", views.ResumeCreationView.as_view(), name="campaign-resume"),
    path(campaign + "recreate-views/", views.RecreateViewsView.as_view(), name="campaign-recreate-views"),
    path(campaign + "attachment/", views.TokenAttachmentView.as_view(), name="token-attachment"),
    path(campaign + "tokens/<token_id:token_id>/", views.TokenDetailView.as_view(), name="token-detail"),
]
