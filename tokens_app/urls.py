from django.urls import path, register_converter

from . import notification_views, operation_views
from .converters import TokenIdConverter
from .views import actions, campaign, creation, dashboard, tokens

register_converter(TokenIdConverter, "token_id")

app_name = "tokens"

campaign_path = "campaigns/<int:pk>/"

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("api/counts/", dashboard.CountsApiView.as_view(), name="api-counts"),
    path("operations/", operation_views.OperationListView.as_view(), name="operations"),
    path("operations/<int:pk>/resume/", operation_views.ResumeOperationView.as_view(), name="operation-resume"),
    path("notifications/", notification_views.NotificationsView.as_view(), name="notifications"),
    path("notifications/<int:pk>/delete/", notification_views.SubscriptionDeleteView.as_view(), name="subscription-delete"),
    path("designs/adopt/", dashboard.AdoptDesignView.as_view(), name="design-adopt"),
    path("campaigns/new/", creation.CampaignCreateView.as_view(), name="campaign-new"),
    path("campaigns/new/preview/", creation.CampaignPreviewView.as_view(), name="campaign-preview"),
    path(campaign_path, campaign.CampaignDetailView.as_view(), name="campaign-detail"),
    path(campaign_path + "status/", campaign.CampaignStatusApiView.as_view(), name="campaign-status"),
    path(campaign_path + "archive/", campaign.ArchiveView.as_view(), name="campaign-archive"),
    path(campaign_path + "srmlist/", campaign.SrmListView.as_view(), name="campaign-srmlist"),
    path(campaign_path + "reset/", actions.ResetView.as_view(), name="campaign-reset"),
    path(campaign_path + "scrub/", actions.ScrubView.as_view(), name="campaign-scrub"),
    path(campaign_path + "set-status/", actions.SetStatusView.as_view(), name="campaign-set-status"),
    path(campaign_path + "set-field/", actions.SetFieldView.as_view(), name="campaign-set-field"),
    path(campaign_path + "attach/", actions.AttachView.as_view(), name="campaign-attach"),
    path(campaign_path + "add-view/", actions.AddViewView.as_view(), name="campaign-add-view"),
    path(campaign_path + "delete/", actions.DeleteTokensView.as_view(), name="campaign-delete"),
    path(campaign_path + "purge/", actions.PurgeView.as_view(), name="campaign-purge"),
    path(campaign_path + "resume/", actions.ResumeCreationView.as_view(), name="campaign-resume"),
    path(campaign_path + "recreate-views/", actions.RecreateViewsView.as_view(), name="campaign-recreate-views"),
    path(campaign_path + "attachment/", tokens.TokenAttachmentView.as_view(), name="token-attachment"),
    path(campaign_path + "tokens/<token_id:token_id>/", tokens.TokenDetailView.as_view(), name="token-detail"),
]
