"""Content-Security-Policy: every answer carries the strict policy, and no page needs inline code.

The browser side (no violation in Chromium while walking the pages) is in
tests/dashboard/test_e2e_browser.py; these tests check the header and the markup itself.
"""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings

from hardening_urls import routes

pytestmark = pytest.mark.django_db

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class InlineCode(HTMLParser):
    """Collects what a strict policy would refuse: inline scripts, style elements and attributes,
    event-handler attributes and ``javascript:`` links."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.found.append(self.get_starttag_text())
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(self.get_starttag_text())


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_policy_is_strict():
    from tokenportal.middleware import ContentSecurityPolicyMiddleware

    assert ContentSecurityPolicyMiddleware(lambda request: None).policy == STRICT


@pytest.mark.parametrize("route", routes(), ids=str)
def test_every_route_answers_with_the_policy(admin_client, route):
    assert admin_client.get(route.path)["Content-Security-Policy"] == STRICT, route


def test_anonymous_answers_and_errors_carry_the_policy(client):
    for path in ("/healthz", "/accounts/login/", "/no-such-page/", "/"):
        assert client.get(path)["Content-Security-Policy"] == STRICT, path


def test_pages_have_no_inline_script_or_style(admin_client, campaign):
    pages = [
        "/", "/campaigns/new/", campaign.get_absolute_url(), "/locks/", "/admin/",
        "/admin/tokens_app/campaign/", f"/admin/tokens_app/campaign/{campaign.pk}/change/",
        "/admin/locks_app/locktoken/", "/admin/auth/user/", "/admin/auth/user/add/",
    ]
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert inline_code(response.content.decode()) == [], path


def test_no_template_has_inline_script_or_style():
    for template in (settings.BASE_DIR / "templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text), template


def test_the_state_bar_is_drawn_with_svg_attributes(admin_client, campaign):
    from tokens_app.templatetags.campaigns import state_bar

    segments = state_bar({"todo": 1, "locked": 1, "done": 2, "error": 0, "total": 4})["segments"]
    assert [(s["offset"], s["width"]) for s in segments] == [(0.0, 25.0), (25.0, 25.0), (50.0, 50.0), (100.0, 0.0)]
    html = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert re.search(r'<rect class="todo" data-state="todo" x="0\.0" width="100\.0" height="1">', html)
