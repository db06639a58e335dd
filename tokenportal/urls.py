"""URL configuration: every page needs a login except ``/healthz`` (LoginRequiredMiddleware)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tokens_app.views import HealthView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
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
