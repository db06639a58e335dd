"""URL configuration: every page needs a login except ``/healthz`` (LoginRequiredMiddleware).

Sign-in is ``tokenportal.login.RateLimitedLoginView``, for the portal and the admin alike.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from tokenportal.login import RateLimitedLoginView
from tokens_app.views import HealthView

urlpatterns = [
    # The admin signs in through the portal's page, so that one rate limit covers every sign-in.
    path("admin/login/", login_not_required(RedirectView.as_view(pattern_name="login", query_string=True))),
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
    path("locks/", include("locks_app.urls")),
    path("", include("tokens_app.urls")),
]
