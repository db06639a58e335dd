"""Response headers the project sets on every answer."""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Send ``settings.CONTENT_SECURITY_POLICY`` on every response that does not set its own.

    The portal's pages load their script and style from ``static/`` only (no inline script,
    style element or ``style`` attribute), so the policy can refuse everything inline: an
    injected ``<script>`` or ``onerror=`` would not run even if escaping ever failed.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = "; ".join(f"{name} {' '.join(sources)}" for name, sources in settings.CONTENT_SECURITY_POLICY.items())

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
