"""Views of locks_app: the lock list, and the lock panel's actions (which call the broker)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView, TemplateView

from . import selectors
from .broker import BrokerError, TokenBroker
from .guard import until
from .forms import DurationForm, ExtendForm, LockFilterForm, ObjectForm, UsernamesForm


class LockListView(TemplateView):
    """My active locks; for staff also every active lock and freeze, with filters."""

    template_name = "locks_app/lock_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["my_locks"] = selectors.locks_of_principal(self.request.user.get_username())
        if self.request.user.is_staff:
            form = LockFilterForm(self.request.GET or None)
            filters = form.cleaned_data if form.is_valid() else {}
            context["filter_form"] = form
            context["all_locks"] = selectors.active_locks(
                kind=filters.get("kind"), principal_id=filters.get("principal"), key_contains=filters.get("object"),
            )
        return context


class BrokerActionView(FormView):
    """POST only: run one broker operation, report it as a message, go back to ``next``."""

    http_method_names = ["post"]

    def form_valid(self, form):
        try:
            message = self.act(TokenBroker(self.request.user), form.cleaned_data)
        except BrokerError as exc:
            messages.error(self.request, str(exc))
        else:
            messages.success(self.request, message)
        return self.back()

    def form_invalid(self, form):
        for errors in form.errors.values():
            for error in errors:
                messages.error(self.request, error)
        return self.back()

    def act(self, broker: TokenBroker, data: dict) -> str:
        raise NotImplementedError

    def back(self):
        target = self.request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            target = "locks:list"
        return redirect(target)


class LockView(BrokerActionView):
    form_class = DurationForm

    def act(self, broker, data):
        lock = broker.lock(data["object"], data["duration"])
        return f"Locked {lock.context} {until(lock)}."


class ShareView(BrokerActionView):
    form_class = UsernamesForm

    def act(self, broker, data):
        lock = broker.share(data["object"], data["usernames"])
        return f"{lock.context} is now locked by {', '.join(sorted(lock.principal_ids))}."


class UnshareView(BrokerActionView):
    form_class = UsernamesForm

    def act(self, broker, data):
        lock = broker.unshare(data["object"], data["usernames"])
        if lock.ended:
            return f"Unlocked {lock.context}: nobody holds it any more."
        return f"{lock.context} is now locked by {', '.join(sorted(lock.principal_ids))}."


class FreezeView(BrokerActionView):
    form_class = DurationForm

    def act(self, broker, data):
        lock = broker.freeze(data["object"], duration=data["duration"])
        return f"Froze {lock.context} {until(lock)}."


class EndView(BrokerActionView):
    form_class = ObjectForm

    def act(self, broker, data):
        lock = broker.end(data["object"])
        return f"Ended the {lock.row.get_kind_display()} on {lock.context}."



class ExtendView(BrokerActionView):
    form_class = ExtendForm

    def act(self, broker, data):
        lock = broker.extend(data["object"], data["by"])
        return f"{lock.context} is now locked {until(lock)}."


class JoinView(BrokerActionView):
    form_class = ObjectForm

    def act(self, broker, data):
        lock = broker.join(data["object"])
        return f"{lock.context} is now locked by {', '.join(sorted(lock.principal_ids))}."
