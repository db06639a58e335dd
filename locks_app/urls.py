from django.urls import path

from . import views

app_name = "locks"

urlpatterns = [
    path("", views.LockListView.as_view(), name="list"),
]
