"""The campaign page's chart range and token table order in headless Chromium: the operator
picks the last hour and sees only its completions; sorts the table by lock age and pages through
it; the live refresh keeps both choices."""

import time

import pytest
from browser_support import browser, problems, sign_in  # noqa: F401 (fixtures)

from tokens_app import services
from tokens_app.couch import get_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def write(campaign, token_id, **fields):
    gateway = get_gateway()
    doc = gateway.get_doc(campaign.database, token_id)
    gateway.put_doc(campaign.database, {**doc, **fields})


def test_the_chart_range_and_the_table_order(alice, live_server, browser, make_campaign, output_dir, monkeypatch,
                                             problems):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    monkeypatch.setattr("tokens_app.campaign_page.TOKENS_PER_PAGE", 5)
    campaign = make_campaign(12)
    ids = services.plan_of(campaign).token_ids
    now = time.time()
    # Locked for 3, 2 and 1 hours (ids 4, 5, 6), and two finished: one long ago, one just now.
    for number, hours in ((4, 3), (5, 2), (6, 1)):
        write(campaign, ids[number], lock=now - hours * 3600, hostname=f"wn-{number}")
    write(campaign, ids[0], lock=now - 90000, done=now - 86400, hostname="wn-old")
    write(campaign, ids[1], lock=now - 120, done=now - 60, hostname="wn-new")

    page = sign_in(browser, live_server, "alice", problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}?view=locked")
    page.click("[data-testid=chart-ranges] >> text='1 h'")
    page.wait_for_selector("[data-testid=chart-ranges] b[aria-current]")
    assert page.inner_text("[data-testid=chart-ranges] b[aria-current]") == "1 h"
    page.click("[data-testid=throughput-by-host] summary")
    hosts = page.inner_text("[data-testid=throughput-by-host]")
    assert "wn-new" in hosts and "wn-old" not in hosts

    page.click("table.tokens >> text='Locked since'")
    page.wait_for_url("**order=locked**")
    locked = page.locator("table.tokens tbody tr td:first-child").all_inner_texts()
    assert locked == [ids[4], ids[5], ids[6]]  # the longest locked first
    assert page.locator("[data-testid=locked-since]").count() == 3

    # Pages of the whole list in that order, and back in id order with keyset links.
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}?view=tokens")
    page.click("text='Next →'")
    page.wait_for_url("**after=**")
    assert page.locator("table.tokens tbody tr td:first-child").all_inner_texts() == ids[5:10]
    page.click("text='← Previous'")
    page.wait_for_url("**before=**")
    assert page.locator("table.tokens tbody tr td:first-child").all_inner_texts() == ids[:5]
    page.screenshot(path=str(output_dir / "campaign-chart-and-table.png"), full_page=True)
