"""``/admin/login/``, where the admin sends everyone it will not serve.

Nobody signs in here: the portal's sign-in page (one rate limit for every sign-in) takes the
anonymous. A user already signed in without admin access (not staff) would only find the same
form again, which reads as if the sign-in had not worked; they get a page saying who they are
signed in as and why the admin is closed to them, with the way back and the way to switch users.
"""

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


@login_not_required
def admin_sign_in(request):
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("admin:index")
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(target)
    if user.is_active and user.is_staff:
        return redirect(target)
    return render(request, "admin_no_access.html", {"next": target}, status=403)
