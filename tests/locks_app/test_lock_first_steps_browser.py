"""Issue 16, item 13 in Chromium: a user signed in without admin access who follows a link to
``/admin/`` is told so (not shown the sign-in form again) and can switch users; the admin is
tokenportal's; ``/locks/`` names a freeze in plain words."""

import pytest
from browser_support import browser, problems, sign_in  # noqa: F401 (browser and problems are fixtures)
from django.contrib.auth.models import User
from django.core.management import call_command

from tokens_app.models import Campaign

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_no_admin_access_is_said_and_the_admin_is_tokenportals(live_server, browser, problems, monkeypatch, output_dir):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    User.objects.create_user("victor", password="pw-victor")
    User.objects.create_superuser("root", "", "pw-root")
    Campaign.objects.create(token_type="pref_cal1", database="tokens")
    call_command("freeze", "--type", "pref_cal1", "--user", "root", stdout=open("/dev/null", "w"))

    page = sign_in(browser, live_server, "victor", problems)
    page.goto(f"{live_server.url}/admin/")
    notice = page.get_by_test_id("admin-no-access")
    assert "You are signed in as victor, and this account has no access to the admin" in notice.inner_text()
    assert page.locator("#id_password").count() == 0  # not the sign-in form again
    page.screenshot(path=str(output_dir / "admin-no-access.png"), full_page=True)
    # The page answers 403 (the admin is forbidden to this user), which Chromium logs; nothing else may.
    refused = (f"console error on {live_server.url}/admin/login/?next=/admin/: "
               "Failed to load resource: the server responded with a status of 403 (Forbidden)")
    assert problems == [refused]
    problems.clear()
    page.click("text=Back to the dashboard")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/admin/")
    assert problems == [refused]
    problems.clear()
    page.click("button:has-text('Sign in as someone else')")
    page.wait_for_url(f"{live_server.url}/accounts/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root")
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.title() == "Campaigns, operations, locks and users | tokenportal admin"
    assert page.locator("#site-name").inner_text() == "tokenportal administration"

    page.goto(f"{live_server.url}/admin/locks_app/locktoken/")
    assert "pref_cal1 in tokens" in page.locator("#result_list").inner_text()
    page.goto(f"{live_server.url}/locks/")
    text = page.locator("main").inner_text()
    assert "pref_cal1 in tokens" in text and "freeze" in text and "endable" not in text.lower()
