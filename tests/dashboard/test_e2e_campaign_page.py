"""The campaign page in a real headless Chromium: monitoring on the first screen (1,280 x 800),
actions on what the operator is looking at (a search's results, one row of the error tables),
sortable tables, and garbage in the new fields refused on the page. Screenshots land in the
e2e output directory for a reviewer."""

import time

import pytest
from browser_support import browser, problems, sign_in  # noqa: F401 (browser and problems are fixtures)
from dashboard_data import CONFIG, SMALL_SRMLIST

from tokens_app import services
from tokens_app.couch import get_gateway
from tokens_app.design import state_of
from tokens_app.models import Operation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIRST_SCREEN = {"width": 1280, "height": 800}


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def change(campaign, token_id, **fields):
    gateway = get_gateway()
    gateway.put_doc(campaign.database, {**gateway.get_doc(campaign.database, token_id), **fields})


@pytest.fixture
def watched(alice, couch_db):
    """Twelve tokens: 0 and 1 failed on vm-pilot3 (exit codes 1 and 2), 2 failed on vm-pilot4
    (exit code 1), 3 to 5 done in the last minutes, the rest todo."""
    campaign, _ = services.create_tokenset(user=alice, config_data=CONFIG, srmlist_data=SMALL_SRMLIST,
                                           database=couch_db)
    ids = services.plan_of(campaign).token_ids
    now = time.time()
    for token_id, host, code in ((ids[0], "vm-pilot3", 1), (ids[1], "vm-pilot3", 2), (ids[2], "vm-pilot4", 1)):
        change(campaign, token_id, lock=now - 300, done=now - 200, hostname=host, exit_code=code)
    for index, token_id in enumerate(ids[3:6]):
        change(campaign, token_id, lock=now - 400, done=now - 100 * index - 60, hostname="vm-pilot5", exit_code=0)
    return campaign, ids


def states(campaign, ids):
    docs = get_gateway().fetch_docs(campaign.database, ids)
    return [state_of(docs[token_id]) for token_id in ids]


def test_the_first_screen_shows_progress_pace_errors_and_map(alice, live_server, browser, watched, output_dir,
                                                            problems):
    campaign, _ = watched
    page = sign_in(browser, live_server, "alice", problems)
    page.set_viewport_size(FIRST_SCREEN)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    page.wait_for_selector("canvas[data-map][data-drawn]")
    for selector in ("#counts-title", ".state-bar", "[data-testid=throughput]", "[data-testid=eta]", "#errors-title",
                     "table.exit-codes tbody tr", "table.hosts tbody tr", "canvas[data-map]"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= FIRST_SCREEN["height"], (selector, box)
    # The lock is a badge and buttons in the header; the history is further down.
    head = page.locator(".page-head").bounding_box()
    lock = page.locator(".page-head .lock-panel").bounding_box()
    assert lock["y"] + lock["height"] <= head["y"] + head["height"] + 1 and lock["height"] < 60
    assert page.locator(".lock-panel :text('Not locked')").is_visible()
    assert page.locator("#history").bounding_box()["y"] > FIRST_SCREEN["height"]
    page.screenshot(path=str(output_dir / "campaign-first-screen-1280.png"))
    page.click(".lock-panel button:has-text('Lock')")
    page.wait_for_selector(".lock-panel :text('locked by alice')")
    assert page.locator(".page-head .lock-panel button:has-text('Unlock')").is_visible()
    page.wait_for_selector("canvas[data-map][data-drawn]")
    page.screenshot(path=str(output_dir / "campaign-first-screen-1280-locked.png"))


def test_an_action_on_a_search_result_changes_exactly_those_tokens(alice, live_server, browser, watched,
                                                                   problems):
    campaign, ids = watched
    page = sign_in(browser, live_server, "alice", problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}?view=error&q=host:vm-pilot3")
    # The page's own forms start from the open tab and search.
    assert page.input_value("#reset-view") == "error" and page.input_value("#reset-q") == "host:vm-pilot3"
    assert "Act on these 2 search results" in page.locator("[data-testid=act-on]").inner_text()
    page.click("[data-testid=act-on] >> text=Reset…")
    assert page.input_value("#action-q") == "host:vm-pilot3" and page.input_value("#action-view") == "error"
    page.click("form button.primary:has-text('Reset')")
    assert page.locator("[data-testid=confirm-count]").inner_text() == "2"
    page.click("button:has-text('Yes, reset')")
    page.wait_for_selector(".message.success:has-text('Reset: 2 changed')")
    assert states(campaign, ids[:6]) == ["todo", "todo", "error", "done", "done", "done"]

    # An id search in every state, from the page's own form: status set on those three only.
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}?view=tokens&q=_SB00")
    page.fill("#status-status", "held")
    assert page.input_value("#status-q") == "_SB00"
    page.click("button:has-text('Set status…')")
    assert page.locator("[data-testid=confirm-count]").inner_text() == "10"
    page.click("button:has-text('Yes, set status')")
    page.wait_for_selector(".message.success:has-text('Set status: 10 changed')")
    docs = get_gateway().fetch_docs(campaign.database, ids)
    assert docs[ids[9]]["status"] == "held" and "held" not in (docs[ids[10]].get("status"), docs[ids[11]].get("status"))


def test_the_error_rows_reset_exactly_their_tokens(alice, live_server, browser, watched, problems):
    campaign, ids = watched
    page = sign_in(browser, live_server, "alice", problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    row = page.locator("table.exit-codes tbody tr", has=page.locator("td:first-child code", has_text="2"))
    row.locator("[data-testid=reset-exit-code]").click()
    assert page.locator("[data-testid=confirm-count]").inner_text() == "1"
    page.click("button:has-text('Yes, reset')")
    page.wait_for_selector(".message.success:has-text('Reset: 1 changed')")
    assert states(campaign, ids[:3]) == ["error", "todo", "error"]

    page.locator("table.hosts tbody tr", has_text="vm-pilot4").locator("[data-testid=reset-host]").click()
    assert page.locator("[data-testid=confirm-count]").inner_text() == "1"
    page.click("button:has-text('Yes, reset')")
    page.wait_for_selector(".message.success:has-text('Reset: 1 changed')")
    assert states(campaign, ids[:3]) == ["error", "todo", "todo"]


def test_garbage_in_the_new_fields_is_refused_on_the_page(alice, live_server, browser, watched, problems):
    campaign, ids = watched
    page = sign_in(browser, live_server, "alice", problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    for field, garbage, expected in (("where", "exit_code", "is not FIELD=VALUE"), ("where", "_rev=1", "filter field name")):
        page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
        page.fill(f"#reset-{field}", garbage)
        page.click("button:has-text('Reset…')")
        assert expected in page.locator(".field", has=page.locator(f"#action-{field}")).inner_text()
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    page.fill("#scrub-older_than", "soon")
    page.click("button:has-text('Scrub…')")
    assert page.locator("#action-older_than").is_visible()
    assert page.locator(".errorlist").count() == 1
    assert states(campaign, ids[:3]) == ["error", "error", "error"]


def test_the_dashboard_and_the_operations_sort(alice, live_server, browser, couch_db, problems):
    for token_type in ("beta", "alpha", "gamma"):
        campaign, _ = services.create_tokenset(user=alice, config_data=CONFIG, srmlist_data=SMALL_SRMLIST,
                                               database=couch_db, token_type=token_type)
    for name in ("mallory", "bob", "zoe", "carol"):
        Operation.objects.create(action=Operation.Action.SET_STATUS, campaign=campaign, username=name,
                                 target=str(campaign), state=Operation.State.DONE)
    page = sign_in(browser, live_server, "alice", problems)

    def names():
        return [text.strip() for text in page.locator("table.campaigns tbody tr td:first-child strong").all_inner_texts()]

    assert names() == ["gamma", "alpha", "beta"]  # newest first
    page.click("table.campaigns th:has-text('Campaign')")
    assert names() == ["alpha", "beta", "gamma"]
    assert page.get_attribute("table.campaigns th:has-text('Campaign')", "aria-sort") == "ascending"
    page.click("table.campaigns th:has-text('Campaign')")
    assert names() == ["gamma", "beta", "alpha"]

    page.goto(f"{live_server.url}/operations/")
    page.click("table.operations th a:has-text('Who')")
    page.wait_for_url("**sort=username**")

    def who():
        return [text.split(" ·")[0] for text in page.locator("table.operations tbody tr td:nth-child(3)").all_inner_texts()]

    assert who() == ["bob", "carol", "mallory", "zoe"]
    page.click("table.operations th a:has-text('Who')")
    page.wait_for_url("**sort=-username**")
    assert who() == ["zoe", "mallory", "carol", "bob"]
    page.goto(f"{live_server.url}/operations/?sort=nonsense")
    assert "Filters not understood (sort:" in page.locator("main").inner_text()
