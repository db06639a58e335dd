"""End to end in a real headless Chromium (Playwright, Debian's chromium) against a live server.

One walk through what an operator does: sign in, create a campaign from the example files
through the preview, watch simulated pilots move the counts without a reload (on the dashboard,
then on the campaign page: counts, tabs, errors by host, chart and subband map together), open
a token from the map, reset the error view, download the archive, lock the campaign and see a
colleague's actions disabled with the reason, then the pages at 1400 and 820 px wide. A
second walk follows a lock from the campaign page to the locks page and to the admin, where a
superuser ends it.

Every page of both walks is watched for Content-Security-Policy violations (the
``securitypolicyviolation`` event), console errors and warnings, and uncaught script errors:
the portal's strict policy must cost no page anything.
"""

import subprocess
import sys
import tarfile

import pytest
from browser_support import browser, problems, sign_in, watched  # noqa: F401 (browser and problems are fixtures)
from dashboard_data import CONFIG, EXAMPLES, SMALL_SRMLIST
from django.conf import settings
from django.contrib.auth.models import User

from tokens_app import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TYPE = "pref_cal1"
PILOT_TOKENS = 60


def test_the_watch_reports_what_the_policy_refuses(live_server, browser):
    problems: list[str] = []
    page = watched(browser.new_context(), problems)
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener("securitypolicyviolation", resolve, {once: true});
        document.body.insertAdjacentHTML("beforeend", '<p style="color: red">injected</p>');
    })""")
    # Bindings answer in order: once this call has returned, the violation's report is in.
    page.evaluate("() => window.reportViolation('end of test')")
    assert any(p.startswith("CSP violation /accounts/login/: style-src-attr refused inline") for p in problems), problems
    assert any(p.startswith("console error") and "style-src" in p for p in problems), problems


def manage(*args):
    """Run a management command as an operator would, in its own process (COUCHDB_* from conftest)."""
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)


def count_of(page, state, scope=""):
    return int(page.locator(f"{scope} [data-count='{state}']").first.inner_text())


def test_operator_walkthrough(alice, bob, live_server, browser, couch_db, output_dir, tmp_path, monkeypatch, problems):
    """It is one long test because it is one browser session walked through in order, as an
    operator does it: every step reads what the steps before left (the campaign created, the
    counts the pilots moved, the errors reset, the lock taken)."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    page = sign_in(browser, live_server, "alice", problems)
    page.click("nav >> text=New campaign")
    page.set_input_files("#id_config", str(EXAMPLES / "pref_cal1.yaml"))
    page.set_input_files("#id_srmlist_file", str(EXAMPLES / "L229507.srmlist"))
    page.fill("#id_database", couch_db)
    page.click("button:has-text('Preview')")
    token_count = int(page.locator("[data-testid=token-count]").inner_text())
    assert token_count > 200
    assert "t_pref_cal1_L229507_pref_cal1_SB000" in page.content()
    page.click(f"button:has-text('Create {token_count} tokens')")

    # The campaign page follows the background push, then reloads itself with the counts.
    page.wait_for_selector("#counts-title", timeout=60_000)
    assert count_of(page, "todo") == token_count
    campaign_url = page.url

    page.goto(f"{live_server.url}/")
    assert count_of(page, "todo") == token_count
    page.evaluate("window.notReloaded = true")
    pilots = manage(
        "simulate_pilots", "--type", TYPE, "--database", couch_db, "--workers", "4", "--failure-rate", "0.3",
        "--job-seconds", "0", "--max-tokens", str(PILOT_TOKENS),
    )
    assert pilots.returncode == 0, pilots.stdout + pilots.stderr
    # A function, not an expression string: Playwright evaluates strings with eval, which the
    # page's policy refuses.
    page.wait_for_function(
        "(left) => Number(document.querySelector(\"[data-count='todo']\").textContent) <= left",
        arg=token_count - PILOT_TOKENS,
    )
    assert page.evaluate("window.notReloaded") is True
    errors = count_of(page, "error")
    assert errors > 0 and count_of(page, "done") + errors == PILOT_TOKENS
    page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)

    page.goto(campaign_url)
    # The campaign page while pilots run: counts, tabs, errors by host, chart and map all move
    # together, without a reload.
    page.wait_for_selector("canvas[data-map][data-drawn]")
    page.evaluate("window.notReloaded = true")
    drawn_before = page.get_attribute("canvas[data-map]", "data-drawn")
    errors_before = count_of(page, "error")
    chart_bars_before = page.locator("[data-live=chart_card] rect.error").count()
    running = subprocess.Popen(
        [sys.executable, "manage.py", "simulate_pilots", "--type", TYPE, "--database", couch_db, "--workers", "2",
         "--failure-rate", "0.5", "--job-seconds", "0.05", "--max-tokens", str(PILOT_TOKENS)],
        cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        page.wait_for_function(
            "(before) => Number(document.querySelector(\"[data-count='error']\").textContent) > before",
            arg=errors_before, timeout=60_000,
        )
        page.wait_for_function(
            "(before) => document.querySelector('canvas[data-map]').getAttribute('data-drawn') !== before",
            arg=drawn_before, timeout=60_000,
        )
    finally:
        output, _ = running.communicate(timeout=120)
    assert running.returncode == 0, output
    # Once the pilots are done, the page settles on the final counts by itself.
    page.wait_for_function(
        "(left) => Number(document.querySelector(\"[data-count='todo']\").textContent) <= left",
        arg=token_count - 2 * PILOT_TOKENS, timeout=60_000,
    )
    page.wait_for_timeout(6_000)  # one more poll: the fragments follow the last counts
    assert page.evaluate("window.notReloaded") is True
    errors = count_of(page, "error")
    tab = page.locator("[data-live=tabs] a[data-view=error] .tab-count").inner_text()
    assert tab == str(errors)
    assert "No token is in error" not in page.locator("[data-live=errors]").inner_text()
    assert page.locator("[data-live=errors] table.hosts a").count() >= 1
    assert page.locator("[data-live=chart_card] rect.error").count() >= chart_bars_before
    assert page.get_attribute("canvas[data-map]", "data-drawn") == (
        f"todo:{count_of(page, 'todo')} locked:{count_of(page, 'locked')} done:{count_of(page, 'done')} error:{errors}"
    )
    page.screenshot(path=str(output_dir / "campaign-page.png"), full_page=True)
    page.locator("#subband-map").screenshot(path=str(output_dir / "subband-map.png"))

    # The example list has no subbands 120 to 123: the map leaves their cells empty.
    assert "a gap in the list" in page.locator("[data-map-info]").inner_text()

    # A host's group opens its error tokens.
    page.locator("[data-live=errors] table.hosts a").first.click()
    page.wait_for_selector("[data-testid=search-result]")
    assert page.locator("table.tokens tbody tr").count() >= 1

    # Clicking a cell of the map opens its token.
    page.goto(campaign_url)
    canvas = page.locator("canvas[data-map][data-drawn]")
    canvas.click(position={"x": canvas.bounding_box()["width"] - 5, "y": 3})
    page.wait_for_selector("#raw-title")
    assert "/tokens/t_pref_cal1_" in page.url
    page.screenshot(path=str(output_dir / "token-page.png"), full_page=True)

    page.goto(campaign_url)
    page.select_option("#reset-view", "error")
    page.click("button:has-text('Reset…')")
    assert int(page.locator("[data-testid=confirm-count]").inner_text()) == errors
    page.click("button:has-text('Yes, reset')")
    page.wait_for_selector(f".message.success:has-text('Reset: {errors} changed')")
    assert count_of(page, "error") == 0

    page.locator("table.tokens tbody a").first.click()
    page.wait_for_selector("#raw-title")
    assert "srm.txt" in page.content()

    page.goto(campaign_url)
    with page.expect_download() as download_info:
        page.click("text=Download archive")
    download = download_info.value
    assert download.suggested_filename.startswith(f"{TYPE}-{couch_db}-")
    assert download.suggested_filename.endswith(".tar.gz")
    archive = tmp_path / download.suggested_filename
    download.save_as(archive)
    with tarfile.open(archive) as tar:
        assert sum(name.endswith(".json") for name in tar.getnames()) == token_count + 1

    page.click(".lock-panel button:has-text('Lock')")
    page.wait_for_selector(".lock-panel :text('locked by alice')")

    colleague = sign_in(browser, live_server, "bob", problems)
    colleague.goto(campaign_url)
    assert "locked by alice" in colleague.content()
    # The colleague is told before acting: the actions are disabled with the holder and expiry.
    assert "locked by alice until" in colleague.locator("[data-testid=refusal]").inner_text()
    assert colleague.locator("button:has-text('Reset…')").is_disabled()
    colleague.screenshot(path=str(output_dir / "campaign-page-locked.png"), full_page=True)

    # 820 px wide: nothing of the dashboard is cut off.
    narrow = sign_in(browser, live_server, "bob", problems)
    for width, height in ((1400, 900), (820, 900)):
        narrow.set_viewport_size({"width": width, "height": height})
        narrow.goto(f"{live_server.url}/")
        last = narrow.locator("table.campaigns thead th").last
        scroller = narrow.locator(".table-scroll").first
        assert last.bounding_box()["x"] + last.bounding_box()["width"] <= scroller.bounding_box()["x"] + scroller.bounding_box()["width"] + 1
        assert narrow.evaluate("document.documentElement.scrollWidth") <= width
        narrow.screenshot(path=str(output_dir / f"dashboard-{width}.png"), full_page=True)
        narrow.goto(campaign_url)
        narrow.wait_for_selector("canvas[data-map][data-drawn]")
        assert narrow.evaluate("document.documentElement.scrollWidth") <= width
        narrow.screenshot(path=str(output_dir / f"campaign-page-{width}.png"), full_page=True)
        narrow.locator("table.tokens tbody a").first.click()
        narrow.wait_for_selector("#raw-title")
        assert narrow.evaluate("document.documentElement.scrollWidth") <= width
        narrow.screenshot(path=str(output_dir / f"token-page-{width}.png"), full_page=True)


def test_a_lock_from_the_panel_to_the_locks_page_and_ended_in_the_admin(
    alice, live_server, browser, couch_db, monkeypatch, problems
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    User.objects.create_superuser("root", password="pw-root")
    campaign, _ = services.create_tokenset(
        user=alice, config_data=CONFIG, srmlist_data=SMALL_SRMLIST, database=couch_db
    )

    page = sign_in(browser, live_server, "alice", problems)
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    page.select_option("#lock-duration", index=1)
    page.click(".lock-panel button:has-text('Lock')")
    page.wait_for_selector(".lock-panel :text('locked by alice')")
    page.goto(f"{live_server.url}/locks/")
    assert campaign.lock_key in page.locator("main").inner_text()

    admin = sign_in(browser, live_server, "root", problems)
    for path in ("/admin/", f"/admin/tokens_app/campaign/{campaign.pk}/change/", "/admin/auth/user/add/"):
        admin.goto(f"{live_server.url}{path}")
        admin.wait_for_selector("#content")
    admin.goto(f"{live_server.url}/admin/locks_app/locktoken/")
    admin.locator("#result_list input.action-select").first.check()
    admin.select_option("select[name=action]", "end_selected")
    admin.click("button[name=index]")
    assert "ended" in admin.locator(".messagelist").inner_text().lower()

    page.goto(f"{live_server.url}{campaign.get_absolute_url()}")
    assert "Not locked" in page.locator(".lock-panel").inner_text()
