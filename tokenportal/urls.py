"""URL configuration: every page needs a login except ``/healthz`` (LoginRequiredMiddleware) and
``/metrics`` (a bearer token or a staff login of its own: tokens_app.metrics_views).

Sign-in is ``tokenportal.login.RateLimitedLoginView``, for the portal and the admin alike.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tokenportal.admin_access import admin_sign_in
from tokenportal.login import RateLimitedLoginView
from tokens_app.metrics_views import MetricsView
from tokens_app.views.health import HealthView

admin.site.site_header = "tokenportal administration"
admin.site.site_title = "tokenportal admin"
admin.site.index_title = "Campaigns, operations, locks and users"

urlpatterns = [
    # The admin signs in through the portal's page, so that one rate limit covers every sign-in;
    # a user signed in without admin access is told so there instead of seeing the form again.
    path("admin/login/", admin_sign_in),
    path("admin/", admin.site.urls),
    path("accounts/login/", RateLimitedLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("healthz", HealthView.as_view(), name="healthz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("locks/", include("locks_app.urls")),
    path("", include("tokens_app.urls")),
]
