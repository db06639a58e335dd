"""End to end in headless Chromium with a real worker: create a campaign and close the page while
the worker writes it, come back to it finished; reset the error view and watch the page follow
the operation to its result; read the history; watch a queued operation's place in line and its
wait for CouchDB change without a reload. Every page is watched for CSP violations and console
errors (the progress bar is driven by static script only)."""

from datetime import timedelta


import pytest
from browser_support import browser, problems, sign_in  # noqa: F401 (browser and problems are fixtures)
from operation_support import CONFIG, finished, srm_list, wait_until

from django.utils import timezone

from tokens_app import services
from tokens_app.models import Campaign, Operation
from tokens_app.services import runs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
TOKENS = 1_500
ERRORS = 300
# Small batches written one at a time: the push lasts long enough to close the page during it.
SLOW = {"COUCHDB_BATCH_SIZE": 25, "COUCHDB_WRITES_IN_FLIGHT": 1}


def test_operations_followed_in_the_browser(
    alice, live_server, browser, couch_db, workers, tmp_path, monkeypatch, output_dir, problems
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    (tmp_path / "pref_cal1.yaml").write_bytes(CONFIG)
    (tmp_path / "big.srmlist").write_bytes(srm_list(TOKENS))

    page = sign_in(browser, live_server, "alice", problems)
    page.click("nav >> text=New campaign")
    page.set_input_files("#id_config", str(tmp_path / "pref_cal1.yaml"))
    page.set_input_files("#id_srmlist_file", str(tmp_path / "big.srmlist"))
    page.fill("#id_database", couch_db)
    page.click("button:has-text('Preview')")
    page.click(f"button:has-text('Create {TOKENS} tokens')")
    page.wait_for_selector("#operation-title:has-text('push tokens')")
    assert page.locator("[data-operation=state]").inner_text() == "queued"
    campaign = Campaign.objects.get(database=couch_db)
    push = Operation.objects.get(campaign=campaign, action="push")

    workers.start(**SLOW)
    wait_until(lambda: Operation.objects.filter(pk=push.pk, processed__gt=0, processed__lt=TOKENS).exists(),
               "the push to be under way", workers)
    page.close()
    assert wait_until(lambda: finished(push.pk), "the push", workers).state == "done"

    page = sign_in(browser, live_server, "alice", problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    assert page.locator("h1 .status").inner_text() == "ready"
    assert f"{TOKENS} written, 0 already there" in page.locator("#history").inner_text()

    failing = services.plan_of(campaign).token_ids[:ERRORS]
    services.set_field(campaign, "lock", 1, user=alice, ids=failing)
    services.set_status(campaign, "error", user=alice, ids=failing)
    workers.stop_all()  # the reset waits in the queue until a worker is there again
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    page.select_option("#reset-view", "error")
    page.click("button:has-text('Reset…')")
    assert int(page.locator("[data-testid=confirm-count]").inner_text()) == ERRORS
    page.click("button:has-text('Yes, reset')")
    bar = page.locator("[data-testid=operation-progress]")
    page.wait_for_selector("#operation-title:has-text('reset')")
    assert bar.get_attribute("value") == "0"
    page.screenshot(path=str(output_dir / "operation-queued.png"), full_page=True)
    workers.start(**SLOW)
    # The page follows the operation by itself and reloads with the result once it is done.
    page.wait_for_selector(f"#history [data-testid=operation-result]:has-text('{ERRORS} changed')", timeout=120_000)
    assert page.locator("#operation-title").count() == 0
    assert page.locator("[data-count='error']").first.inner_text() == "0"

    page.click("nav >> text=Operations")
    page.select_option("select[name=action]", "reset")
    page.click("button:has-text('Filter')")
    # count() does not wait: the filtered list must have loaded first.
    page.wait_for_url("**/operations/?*action=reset*")
    rows = page.locator("table.operations tbody tr")
    assert rows.count() == 1
    assert f"{ERRORS} changed, 0 conflicted, 0 skipped" in rows.first.inner_text()
    assert "alice" in rows.first.inner_text() and "done" in rows.first.inner_text()
    page.screenshot(path=str(output_dir / "operations.png"), full_page=True)


def test_the_panel_follows_the_place_in_line_and_the_wait_for_couchdb_without_a_reload(
    alice, campaign, make_campaign, live_server, browser, database_tasks, monkeypatch, output_dir, problems
):
    """The rows are moved on by hand (a worker's doing, made certain): the page's script alone
    must show each step, and the page must not reload while it is the same operation."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    other = make_campaign(token_type="other")
    before = runs.queue_operation(Operation.Action.SET_STATUS, other, alice, source="browser", options={"status": "a"})
    mine = runs.queue_operation(Operation.Action.SET_STATUS, campaign, alice, source="browser", options={"status": "b"})
    page = sign_in(browser, live_server, "alice", problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    place, waiting = page.locator("[data-operation=place]"), page.locator("[data-operation=waiting]")
    assert place.inner_text() == "2nd in line, 1 ahead of it" and waiting.is_hidden()
    page.evaluate("window.notReloaded = true")

    Operation.objects.filter(pk=before.pk).update(state="running")
    page.wait_for_selector("[data-operation=place]:text-is('next in line')")

    since = timezone.now() - timedelta(seconds=42)
    Operation.objects.filter(pk=mine.pk).update(state="running", runner="elsewhere", waiting_since=since,
                                                lease_until=timezone.now() + timedelta(minutes=1))
    page.wait_for_selector("[data-operation=waiting]:visible")
    assert waiting.inner_text() == f"waiting for CouchDB since {since:%Y-%m-%d %H:%M:%S}"
    assert place.is_hidden() and page.locator("[data-operation=state]").inner_text() == "running"
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(output_dir / "operation-waiting.png"), full_page=True)
