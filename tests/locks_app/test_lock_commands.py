"""The lock commands, with good input and with garbage in every option."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from locks_app import tokens, utils
from locks_app.models import LockedObject, LockToken
from locks_app.utility import TokenUtility
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice", "change_campaign", "change_group", "freeze_object")


@pytest.fixture
def bob(make_user):
    return make_user("bob", "change_campaign", "change_group")


@pytest.fixture
def campaign(db):
    return Campaign.objects.create(token_type="pref_cal1", database="tokens")


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_lock_list_extend_unlock_by_key(alice, bob, group):
    key = f"auth.group:{group.pk}"
    assert "Locked" in run("lock", key, "--user", "alice", "--duration", "1h30m", "--share", "bob")
    assert TokenUtility().get(group).principal_ids == {"alice", "bob"}
    listed = json.loads(run("list_locks", "--json", "--principal", "bob"))
    assert [(row["object"], row["kind"], row["principals"]) for row in listed] == [
        (key, "shared", ["alice", "bob"])
    ]
    assert key in run("list_locks")
    assert "No active locks." in run("list_locks", "--principal", "nobody")
    before = TokenUtility().get(group).expiration
    assert "is now locked until" in run("extend_lock", key, "--user", "bob", "--by=2h")
    assert TokenUtility().get(group).expiration == before + datetime.timedelta(hours=2)
    run("extend_lock", key, "--user", "bob", "--duration=4h")
    assert TokenUtility().get(group).duration == datetime.timedelta(hours=4)
    assert "Ended the shared lock" in run("unlock", key, "--user", "bob")
    assert TokenUtility().get(group) is None


def test_campaigns_by_type_and_database(alice, bob, campaign):
    """#15: operators name a campaign as every other command does."""
    other = Campaign.objects.create(token_type="pref_cal1", database="elsewhere")
    run("lock", "--type", "pref_cal1", "--user", "alice", "--duration", "2h")
    run("freeze", "--type", "pref_cal1", "--database", "elsewhere", "--user", "alice")
    assert TokenUtility().get(campaign).principal_ids == {"alice"}
    assert isinstance(TokenUtility().get(other), tokens.EndableFreeze)
    listed = json.loads(run("list_locks", "--json", "--type", "pref_cal1"))
    assert [row["object"] for row in listed] == [campaign.lock_key]
    run("extend_lock", "--type", "pref_cal1", "--user", "alice", "--by=1h")
    assert TokenUtility().get(campaign).duration == datetime.timedelta(hours=3)
    assert "Ended the exclusive lock" in run("unlock", "--type", "pref_cal1", "--user", "alice")
    assert "Ended the freeze on pref_cal1 in elsewhere." in run(
        "unlock", "--type", "pref_cal1", "--database", "elsewhere", "--user", "alice")


def test_freeze_and_refusals(alice, bob, group, other_group):
    key = f"auth.group:{group.pk}"
    assert "for good" in run("freeze", key, "--user", "alice", "--permanent")
    with pytest.raises(CommandError, match="frozen since .* by alice"):
        run("lock", key, "--user", "bob", "--duration", "1h")
    with pytest.raises(CommandError, match="never ends"):
        run("unlock", key, "--user", "alice")
    with pytest.raises(CommandError, match="freeze_object"):
        run("freeze", f"auth.group:{other_group.pk}", "--user", "bob")


def test_a_user_without_permissions_cannot_lock(make_user, campaign):
    """#11 finding 5, from the command line: no lock, and "until ended" needs its permission."""
    make_user("nobody")
    with pytest.raises(CommandError, match="tokens_app.change_campaign"):
        run("lock", "--type", "pref_cal1", "--user", "nobody", "--duration", "1h")
    make_user("operator", "change_campaign")
    with pytest.raises(CommandError, match="lock_until_ended"):
        run("lock", "--type", "pref_cal1", "--user", "operator", "--duration", "until-ended")
    with pytest.raises(CommandError, match="LOCK_MAX_DURATION"):
        run("lock", "--type", "pref_cal1", "--user", "operator", "--duration", "8d")
    assert not LockToken.objects.exists()


def test_only_lockable_models_can_be_named(alice, campaign):
    """#11 finding 5: a user record cannot be locked, and the answer does not say whether it exists."""
    for key in (f"auth.user:{alice.pk}", "auth.user:999999"):
        with pytest.raises(CommandError, match="names nothing that can be locked here"):
            run("lock", key, "--user", "alice", "--duration", "1h")
    assert not LockToken.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["lock", "{key}", "--user", "ghost"], "No active user 'ghost'"),
        (["lock", "{key}", "--user", ""], "No active user ''"),
        (["lock", "{key}", "--user", "alice", "--duration", "abc"], "'abc' is not a duration"),
        (["lock", "{key}", "--user", "alice", "--duration=-5m"], "'-5m' is not a duration"),
        (["lock", "{key}", "--user", "alice", "--duration", "0m"], "not a positive duration"),
        (["lock", "{key}", "--user", "alice", "--duration=99999999d"], "longer than ten years"),
        (["lock", "{key}", "--user", "alice", "--duration=" + "9" * 40 + "d"], "longer than ten years"),
        (["lock", "{key}", "--user", "alice", "--duration", "1h\n2h"], "is not a duration"),
        (["lock", "campaign-7", "--user", "alice"], "names nothing that can be locked here"),
        (["lock", "nosuch.model:1", "--user", "alice"], "names nothing that can be locked here"),
        (["lock", "tokens_app.campaign:abc", "--user", "alice"], "no campaign with key"),
        (["lock", "tokens_app.campaign:99999", "--user", "alice"], "no campaign with key"),
        (["lock", "--user", "alice"], "name the object"),
        (["lock", "{key}", "--type", "pref_cal1", "--user", "alice"], "name the object once"),
        (["lock", "--type", "nosuch", "--user", "alice"], "no campaign of type 'nosuch'"),
        (["lock", "--type", "", "--user", "alice"], "give --type"),
        (["lock", "--database", "tokens", "--user", "alice"], "give --type"),
        (["lock", "--type", "pref_cal1", "--database", "../_config", "--user", "alice"], "no campaign of type"),
        (["lock", "{key}", "--user", "alice", "--duration", "1h", "--share", "ghost"], "Cannot share with ghost"),
        (["unlock", "{key}", "--user", "alice"], "neither locked nor frozen"),
        (["freeze", "{key}", "--user", "alice", "--permanent", "--duration", "1h"], "no duration"),
        (["freeze", "{key}", "--user", "alice", "--duration", "soon"], "is not a duration"),
        (["extend_lock", "{key}", "--user", "alice", "--by=2h"], "neither locked nor frozen"),
        (["extend_lock", "{key}", "--user", "alice", "--by=soon"], "is not a duration"),
        (["extend_lock", "{key}", "--user", "alice", "--by=until-ended"], "--by takes a duration"),
        (["extend_lock", "{key}", "--user", "alice", "--duration=99999999d"], "longer than ten years"),
        (["list_locks", "--type", "nosuch"], "no campaign of type"),
        (["list_locks", "auth.user:1"], "names nothing that can be locked here"),
    ],
)
def test_garbage_gives_one_line_errors(alice, campaign, args, message):
    args = [arg.format(key=campaign.lock_key) for arg in args]
    with pytest.raises(CommandError, match=message) as raised:
        run(*args)
    assert "\n" not in str(raised.value)
    assert not LockedObject.objects.exists()


@pytest.mark.parametrize("args", [
    ["extend_lock", "tokens_app.campaign:1", "--user", "alice"],
    ["extend_lock", "tokens_app.campaign:1", "--user", "alice", "--by=1h", "--duration=1h"],
    ["lock", "tokens_app.campaign:1"],
    ["list_locks", "--nosuch"],
])
def test_argument_mistakes_are_usage_errors(alice, args):
    with pytest.raises(CommandError):
        run(*args)


def test_cleanup_locks(monkeypatch):
    TokenUtility().register(tokens.ExclusiveLock("doc:1", "alice", datetime.timedelta(minutes=1)))
    later = utils.now() + datetime.timedelta(minutes=2)
    monkeypatch.setattr(utils, "now", lambda: later)
    assert run("cleanup_locks") == "Removed 1 expired token(s) from the indexes.\n"
    assert not LockedObject.objects.exists()
