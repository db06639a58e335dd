from django.urls import path

from . import views

app_name = "locks"

urlpatterns = [
    path("", views.LockListView.as_view(), name="list"),
    path("lock/", views.LockView.as_view(), name="lock"),
    path("share/", views.ShareView.as_view(), name="share"),
    path("unshare/", views.UnshareView.as_view(), name="unshare"),
    path("freeze/", views.FreezeView.as_view(), name="freeze"),
    path("end/", views.EndView.as_view(), name="end"),
    path("extend/", views.ExtendView.as_view(), name="extend"),
    path("join/", views.JoinView.as_view(), name="join"),
]
