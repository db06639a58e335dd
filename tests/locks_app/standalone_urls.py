"""The URLs of the project of ``standalone_settings``: the lock pages alone."""

from django.urls import include, path

urlpatterns = [path("locks/", include("locks_app.urls"))]
