"""Monitoring in headless Chromium (issue #28, items 2, 3 and 7): a dashboard left open shows a
campaign created meanwhile within its polling interval, without a reload; a search finds a token
in whatever state it is; the open tab downloads as CSV with exactly its tokens."""

import csv
import io

import pytest
from browser_support import browser, problems, sign_in  # noqa: F401 (fixtures)

from tokens_app import services
from tokens_app.couch import get_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The dashboard polls every 5 s; a new campaign shows at the next poll.
POLL_MS = 5000


def test_a_dashboard_left_open_search_in_every_state_and_export(alice, live_server, browser, make_campaign,
                                                                  monkeypatch, problems):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    first = make_campaign(4, token_type="first")
    page = sign_in(browser, live_server, "alice", problems)
    page.evaluate("window.notReloaded = true")
    page.wait_for_selector("table.campaigns >> text=first")
    make_campaign(3, token_type="second")
    page.wait_for_selector("table.campaigns >> text=second", timeout=3 * POLL_MS)
    assert page.evaluate("window.notReloaded") is True  # redrawn in place, not reloaded

    # The token of subband 2 is done: the default tab (todo) search still finds it, and says where.
    ids = services.plan_of(first).token_ids
    gateway = get_gateway()
    doc = gateway.get_doc(first.database, ids[2])
    gateway.put_doc(first.database, {**doc, "lock": 1_700_000_000, "done": 1_700_000_100})
    page.goto(f"{live_server.url}{first.get_absolute_url()}?view=todo")
    page.fill("input[name=q]", "SB002")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("[data-testid=search-result]")
    rows = page.locator("table.tokens tbody tr")
    assert rows.count() == 1 and "done" in rows.first.inner_text()

    page.goto(f"{live_server.url}{first.get_absolute_url()}?view=todo")
    with page.expect_download() as download:
        page.click("[data-testid=token-exports] >> text=CSV")
    listed = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [row["id"] for row in listed] == [ids[0], ids[1], ids[3]] and {row["state"] for row in listed} == {"todo"}
