"""Headless Chromium (Playwright, Debian's chromium) for the end-to-end tests: the ``browser`` and
``problems`` fixtures (import them into a test module), pages watched for Content-Security-Policy
violations, console errors and warnings and script errors, and signing in on a live server."""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 30_000
# The screen the screenshots were judged at; tests narrow it with set_viewport_size.
VIEWPORT = {"width": 1400, "height": 900}
# Reports every CSP violation of the page to the test (exposed as ``reportViolation``).
WATCH_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(`${location.pathname}: ${event.effectiveDirective} refused ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def problems():
    """What the watched pages reported: CSP violations, console errors and warnings, script errors."""
    found: list[str] = []
    yield found
    assert found == []


def watched(context, problems: list[str]):
    """A new page of ``context`` whose violations and console complaints land in ``problems``."""
    context.expose_function("reportViolation", lambda text: problems.append(f"CSP violation {text}"))
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()

    def console(message):
        # Every page links the portal's favicon: a 404 for one (Chromium's /favicon.ico) is a complaint too.
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type} on {page.url}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
    return page


def sign_in(browser, live_server, username, problems):
    page = watched(browser.new_context(accept_downloads=True, viewport=VIEWPORT), problems)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-" + username)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{live_server.url}/")
    return page
