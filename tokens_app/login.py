"""Sign-in with a limit on failed attempts, so a password cannot be guessed by trying.

Failed sign-ins are counted per user name and client address in Django's cache (``CACHES``,
set by ``CACHE_URL``). Once ``settings.LOGIN_RATE_LIMIT`` attempts have failed within the
window, further attempts for that name from that address are refused with HTTP 429 without
checking the password, until the window (counted from the first failure) has passed. A
successful sign-in clears the count.

The count lives in the cache: with several portal processes, ``CACHE_URL`` must name a cache
they share (a database or file cache, memcached, redis), or each process counts on its own.
"""

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError

WINDOW_SECONDS = 15 * 60


def _key(username: str, address: str) -> str:
    """A cache key for any user name (hashed: a cache key may not hold spaces or be long)."""
    digest = hashlib.sha256(f"{username.casefold()}\0{address}".encode()).hexdigest()
    return f"tokenportal:login-failures:{digest}"


class RefusedSignInForm(AuthenticationForm):
    """The sign-in form while attempts are refused: it shows why and never checks the password."""

    def __init__(self, *args, refusal: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.refusal = refusal

    def clean(self):
        raise ValidationError(self.refusal, code="rate_limited")


class RateLimitedLoginView(LoginView):
    """Django's sign-in page, refusing a user name and address after too many failures."""

    def post(self, request, *args, **kwargs):
        self.failures_key = _key(request.POST.get("username", ""), request.META.get("REMOTE_ADDR", ""))
        self.failures = cache.get(self.failures_key)
        if self.failures is not None and self.failures["count"] >= settings.LOGIN_RATE_LIMIT:
            return self._refused(self.failures)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        cache.delete(self.failures_key)
        return super().form_valid(form)

    def form_invalid(self, form):
        now = time.time()
        failures = self.failures or {"count": 0, "since": now}
        failures["count"] += 1
        cache.set(self.failures_key, failures, timeout=max(1, math.ceil(failures["since"] + WINDOW_SECONDS - now)))
        return super().form_invalid(form)

    def _refused(self, failures: dict):
        minutes = max(1, math.ceil((failures["since"] + WINDOW_SECONDS - time.time()) / 60))
        refusal = (
            "Too many failed sign-ins for this user name from your address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
        form = RefusedSignInForm(self.request, data=self.request.POST, refusal=refusal)
        form.is_valid()
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = 429
        return response
