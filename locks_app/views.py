"""Views of locks_app."""

from django.views.generic import TemplateView


class LockListView(TemplateView):
    template_name = "locks_app/lock_list.html"
