"""The polish an operator noticed, in a real headless Chromium: the counts' age ticks between
polls, every page (the admin's too) links a favicon (the watch fails any 404 for one), dark mode
follows the browser's preference, and the admin's campaign list fits a 1,280 px screen."""

import time

import pytest
from browser_support import browser, problems, sign_in  # noqa: F401 (browser and problems are fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIGHT_BACKGROUND = "rgb(246, 247, 249)"
DARK_BACKGROUND = "rgb(17, 22, 29)"


def test_the_counts_age_ticks_every_second_without_the_server(alice, campaign, live_server, browser, problems):
    page = sign_in(browser, live_server, "alice", problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    age = page.locator("#counts-age [data-age]")
    first = int(age.inner_text())
    # From now on the status API never answers: only the page's own clock can move the label.
    page.route("**/status/**", lambda route: None)
    time.sleep(2.5)
    later = int(age.inner_text())
    assert later >= first + 2, (first, later)
    assert "In step with CouchDB, as read" in page.locator("#counts-age").inner_text()


def test_every_page_links_the_favicon_and_it_is_served(superuser, campaign, live_server, browser, problems):
    page = sign_in(browser, live_server, "root", problems)
    for path in ("/", campaign.get_absolute_url(), "/admin/", "/admin/tokens_app/campaign/"):
        page.goto(f"{live_server.url}{path}")
        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert icon.endswith("favicon.svg"), path
        answer = page.request.get(f"{live_server.url}{icon}")
        assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("scheme, background", [("light", LIGHT_BACKGROUND), ("dark", DARK_BACKGROUND)])
def test_the_colours_follow_the_browsers_preference(scheme, background, alice, campaign, live_server, browser,
                                                     output_dir, problems):
    """And the dashboard and the campaign page at 1,280 and 820 px in that scheme, saved for a
    reviewer to look at without running anything."""
    page = sign_in(browser, live_server, "alice", problems)
    page.emulate_media(color_scheme=scheme)
    for width in (1280, 820):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in (("dashboard", "/"), ("campaign-page", campaign.get_absolute_url())):
            page.goto(f"{live_server.url}{path}")
            assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
            card = page.evaluate("getComputedStyle(document.querySelector('table, .card')).backgroundColor")
            assert card != background
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(output_dir / f"{name}-{width}-{scheme}.png"), full_page=True)


def test_the_admins_campaign_list_fits_1280_pixels(superuser, campaign, live_server, browser, problems):
    page = sign_in(browser, live_server, "root", problems)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/tokens_app/campaign/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # The list scrolls inside its box when too wide: every column must fit the box as drawn.
    box = page.evaluate("""() => {
        const results = document.querySelector('#changelist .results');
        return {scroll: results.scrollWidth, client: results.clientWidth, right: results.getBoundingClientRect().right};
    }""")
    assert box["scroll"] <= box["client"] and box["right"] <= 1280, box
    assert page.locator("#result_list thead th").last.inner_text().strip().lower() == "created"

