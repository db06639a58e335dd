"""Sign-in with a limit on attempts, so a password cannot be guessed by trying.

Every attempt for a user name from a client address takes one of ``settings.LOGIN_RATE_LIMIT``
slots in Django's cache (``CACHES``, set by ``CACHE_URL``); a slot frees itself 15 minutes after
it was taken. With every slot taken, further attempts are refused with HTTP 429 without checking
the password. A successful sign-in frees all the slots of its name and address.

The name is counted as Django's authentication looks it up: the sign-in form strips it and
normalises it to Unicode NFKC (so ``" op2"``, ``"op2 "`` and ``"ｏp2"`` are ``op2``), and the count
then ignores case, so no spelling of a name gets a budget of its own. The address is the
connection's (``REMOTE_ADDR``) unless ``TRUSTED_PROXIES`` says how many reverse proxies in front
of the portal append the address they saw to ``X-Forwarded-For``: a client can write anything into
that header, so only the entries those proxies added are believed.

Slots are taken with ``cache.add``, which every Django cache does atomically (the database cache
through its table's primary key), so parallel attempts on several worker processes cannot take
more slots than there are. The default cache is the database cache (its table is created by
``migrate``), which all processes of one installation share.
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


def client_address(request) -> str:
    """The client's address: the connection's, or the one the trusted proxies saw."""
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    hops.append(request.META.get("REMOTE_ADDR", ""))
    return hops[max(0, len(hops) - 1 - settings.TRUSTED_PROXIES)]


def slot_keys(username: str, address: str) -> list[str]:
    """The cache keys of the attempt slots of a (normalised) name and an address (hashed: a key
    may not hold spaces or be long)."""
    digest = hashlib.sha256(f"{username.casefold()}\0{address}".encode()).hexdigest()
    return [f"tokenportal:sign-in:{digest}:{slot}" for slot in range(settings.LOGIN_RATE_LIMIT)]


class RefusedSignInForm(AuthenticationForm):
    """The sign-in form while attempts are refused: it shows why and never checks the password."""

    def __init__(self, *args, refusal: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.refusal = refusal

    def clean(self):
        raise ValidationError(self.refusal, code="rate_limited")


class RateLimitedLoginView(LoginView):
    """Django's sign-in page, refusing a user name and address after too many attempts."""

    def post(self, request, *args, **kwargs):
        username = self.get_form_class()(request).fields["username"].to_python(request.POST.get("username", ""))
        self.slots = slot_keys(username, client_address(request))
        taken = cache.get_many(self.slots)
        for key in self.slots:
            if key not in taken and cache.add(key, time.time(), timeout=WINDOW_SECONDS):
                return super().post(request, *args, **kwargs)
        return self._refused(min(cache.get_many(self.slots).values(), default=time.time()))

    def form_valid(self, form):
        cache.delete_many(self.slots)
        return super().form_valid(form)

    def _refused(self, first_taken: float):
        minutes = max(1, math.ceil((first_taken + WINDOW_SECONDS - time.time()) / 60))
        refusal = (
            "Too many failed sign-ins for this user name from your address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
        form = RefusedSignInForm(self.request, data=self.request.POST, refusal=refusal)
        form.is_valid()
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = 429
        return response
