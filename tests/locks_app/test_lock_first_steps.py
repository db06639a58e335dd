"""Issue 16, item 13, the lock and admin parts: the ``lock`` command's default duration is the
browser's (1 hour), locks name their campaign (commands, ``list_locks``, admin), plain words for
the kinds, and the admin is tokenportal's."""

import datetime
import json
import re


import pytest
from django.core.management import load_command_class
from django.urls import reverse

from locks_app.forms import DURATION_CHOICES, DurationForm
from locks_app.models import LockToken
from locks_app.utility import TokenUtility
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def test_the_lock_command_defaults_to_one_hour_as_the_browser_does(make_user, campaign, run):
    make_user("operator", "change_campaign")  # may not lock until ended: the default must not need it
    said = run("lock", "--type", "pref_cal1", "--user", "operator")
    token = TokenUtility().get(campaign)
    assert token.duration == HOUR and said.startswith("Locked pref_cal1 in tokens for operator until ")
    # The browser's first choice, selected unless the operator picks another.
    assert DURATION_CHOICES[0][0] == "1h" and DurationForm().fields["duration"].initial == "1h"
    usage = " ".join(load_command_class("locks_app", "lock").create_parser("manage.py", "lock").format_help().split())
    assert "for 1 hour unless --duration" in usage and "(default 1h, as the browser offers" in usage


def test_freeze_still_defaults_to_until_ended_as_the_browser_does(make_user, campaign, run):
    make_user("alice", "change_campaign", "freeze_object")
    assert run("freeze", "--type", "pref_cal1", "--user", "alice") == "Froze pref_cal1 in tokens until ended."
    assert TokenUtility().get(campaign).row.get_kind_display() == "freeze"
    usage = " ".join(load_command_class("locks_app", "freeze").create_parser("manage.py", "freeze").format_help().split())
    assert "(default until-ended, as the browser offers" in usage


def test_list_locks_names_the_campaign(make_user, campaign, run):
    make_user("alice", "change_campaign", "freeze_object")
    other = Campaign.objects.create(token_type="pref_targ1", database="tokens")
    run("lock", "--type", "pref_cal1", "--user", "alice")
    run("freeze", "--type", "pref_targ1", "--user", "alice", "--permanent")
    header, *lines = run("list_locks").splitlines()
    assert re.split(r"\s{2,}", header) == ["object", "kind", "held by", "time left", "key"]
    # Aligned columns: each starts where its header does.
    assert all(line[header.index("key"):] in (campaign.lock_key, other.lock_key) for line in lines)
    cells = [re.split(r"\s{2,}", line) for line in lines]
    assert sorted(row[:3] + row[4:] for row in cells) == [
        ["pref_cal1 in tokens", "exclusive lock", "alice", campaign.lock_key],
        ["pref_targ1 in tokens", "permanent freeze", "-", other.lock_key],
    ]
    rows = {row["object"]: row for row in json.loads(run("list_locks", "--json"))}
    assert rows[campaign.lock_key]["name"] == "pref_cal1 in tokens" and rows[campaign.lock_key]["kind"] == "exclusive"
    assert rows[other.lock_key]["kind_label"] == "permanent freeze"
    # A lock on a campaign deleted since is listed by its key.
    key = campaign.lock_key
    campaign.delete()
    assert re.split(r"\s{2,}", run("list_locks").splitlines()[1])[:3] == [key, "exclusive lock", "alice"]


def test_the_admin_is_tokenportals_and_names_locked_campaigns(admin_client, alice, campaign, run):
    run("lock", "--type", "pref_cal1", "--user", "alice")
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert "tokenportal administration" in index and "Django administration" not in index
    assert "<title>Campaigns, operations, locks and users | tokenportal admin</title>" in index
    for model in ("locktoken", "lockedobject"):
        page = admin_client.get(reverse(f"admin:locks_app_{model}_changelist")).content.decode()
        assert "pref_cal1 in tokens" in page and campaign.lock_key in page, model


def test_no_kind_is_called_endable(client, make_user, campaign, run):
    staff = make_user("staffer", "change_campaign", "freeze_object")
    staff.is_staff = True
    staff.save()
    run("freeze", "--type", "pref_cal1", "--user", "staffer")
    client.force_login(staff)
    page = client.get(reverse("locks:list")).content.decode()
    shown = re.sub(r"<[^>]+>", " ", page)  # what a reader sees (option values are not shown)
    assert "endable" not in shown.lower() and "<td>freeze</td>" in page
    assert {label for _, label in LockToken.Kind.choices} == {
        "exclusive lock", "shared lock", "permanent freeze", "freeze"}


def test_a_signed_in_user_without_admin_access_is_told_so(client, victor):
    client.force_login(victor)
    sent = client.get("/admin/")
    assert sent.status_code == 302 and sent["Location"] == "/admin/login/?next=/admin/"
    page = client.get(sent["Location"])
    text = page.content.decode()
    assert page.status_code == 403 and "You are signed in as <strong>victor</strong>" in text
    assert "no access to the admin" in text and 'href="/"' in text
    assert 'name="next" value="/accounts/login/?next=/admin/"' in text
    # Garbage in next: never an address elsewhere.
    assert "evil.example" not in client.get("/admin/login/?next=https://evil.example/").content.decode()


def test_staff_and_anonymous_users_pass_through(client, admin_user):
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/accounts/login/?next=/admin/"
    assert client.get("/admin/login/?next=//evil.example/")["Location"] == "/accounts/login/?next=/admin/"
    client.force_login(admin_user)
    assert client.get("/admin/login/?next=/admin/auth/")["Location"] == "/admin/auth/"


def test_names_of_many_keys_take_one_query_per_model_and_keep_garbage_as_keys(campaign, django_assert_num_queries):
    from locks_app.keys import names

    other = Campaign.objects.create(token_type="pref_targ1", database="tokens")
    keys = [campaign.lock_key, other.lock_key, "doc:1", "tokens_app.campaign:abc", "tokens_app.campaign:999999",
            "nosuch.model:1", "", "tokens_app.campaign:" + "9" * 30, "tokens_app.campaign:-1", campaign.lock_key]
    with django_assert_num_queries(1):
        found = names(keys)
    assert found == {
        campaign.lock_key: "pref_cal1 in tokens", other.lock_key: "pref_targ1 in tokens", "doc:1": "doc:1",
        "tokens_app.campaign:abc": "tokens_app.campaign:abc", "tokens_app.campaign:999999": "tokens_app.campaign:999999",
        "nosuch.model:1": "nosuch.model:1", "": "", "tokens_app.campaign:" + "9" * 30: "tokens_app.campaign:" + "9" * 30,
        "tokens_app.campaign:-1": "tokens_app.campaign:-1",
    }


def test_the_admin_names_a_page_of_locks_without_a_query_per_lock(admin_client, alice, campaign, run):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:locks_app_locktoken_changelist")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    run("lock", "--type", "pref_cal1", "--user", "alice")
    one = queries()
    for number in range(5):
        Campaign.objects.create(token_type=f"extra{number}", database="tokens")
        run("lock", "--type", f"extra{number}", "--user", "alice")
    assert queries() == one
