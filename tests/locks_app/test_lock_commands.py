"""The lock commands, with good input and with garbage in every option."""

import datetime
import json
import re

import pytest
from django.core.management.base import CommandError

from locks_app import clock, tokens
from locks_app.models import LockedObject, LockToken
from locks_app.utility import TokenUtility
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    """The suite's alice who may also freeze (``freeze_object``): these tests freeze, and bob,
    the suite's, is refused a freeze for lack of that permission."""
    return make_user("alice", "change_campaign", "change_group", "freeze_object")


def test_lock_list_extend_unlock_by_key(alice, bob, group, run):
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


def test_campaigns_by_type_and_database(alice, bob, campaign, run):
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


def test_freeze_and_refusals(alice, bob, group, other_group, run):
    key = f"auth.group:{group.pk}"
    assert "for good" in run("freeze", key, "--user", "alice", "--permanent")
    with pytest.raises(CommandError, match="frozen since .* by alice"):
        run("lock", key, "--user", "bob", "--duration", "1h")
    with pytest.raises(CommandError, match="never ends"):
        run("unlock", key, "--user", "alice")
    with pytest.raises(CommandError, match="freeze_object"):
        run("freeze", f"auth.group:{other_group.pk}", "--user", "bob")


def test_a_user_without_permissions_cannot_lock(make_user, campaign, run):
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


def test_only_lockable_models_can_be_named(alice, campaign, run):
    """#11 finding 5: a user record cannot be locked, and the answer does not say whether it exists."""
    for key in (f"auth.user:{alice.pk}", "auth.user:999999"):
        with pytest.raises(CommandError, match="names nothing that can be locked here"):
            run("lock", key, "--user", "alice", "--duration", "1h")
    assert not LockToken.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["lock", "{key}", "--user", "ghost"], "no active user 'ghost'"),
        (["lock", "{key}", "--user", ""], "name the operator with --user NAME"),
        (["lock", "{key}", "--user", "al\x00ice"], "--user: 'al.x00ice' contains a control character; no user is named so"),
        (["lock", "{key}", "--user", "alice", "--duration", "abc"], "--duration: 'abc' is not a duration"),
        (["lock", "{key}", "--user", "alice", "--duration=-5m"], "'-5m' is not a duration"),
        (["lock", "{key}", "--user", "alice", "--duration", "0m"], "not a positive duration: it must be more than zero"),
        (["lock", "{key}", "--user", "alice", "--duration", "1.5h"], "'1.5h' is not a duration"),
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
        (["extend_lock", "{key}", "--user", "alice", "--by=until-ended"], "--by: 'until-ended' is not a duration"),
        (["extend_lock", "{key}", "--user", "alice", "--by=0h"], "--by: '0h' is not a positive duration"),
        (["extend_lock", "{key}", "--user", "alice", "--duration=99999999d"], "longer than ten years"),
        (["list_locks", "--type", "nosuch"], "no campaign of type"),
        (["list_locks", "auth.user:1"], "names nothing that can be locked here"),
        (["list_locks", "--principal", "bob\nalice"], "--principal: 'bob.nalice' contains a control character"),
    ],
)
def test_garbage_gives_one_line_errors(alice, campaign, args, message, run):
    args = [arg.format(key=campaign.lock_key) for arg in args]
    with pytest.raises(CommandError, match=message) as raised:
        run(*args)
    assert "\n" not in str(raised.value)
    assert not LockedObject.objects.exists()


@pytest.mark.parametrize("args", [
    ["extend_lock", "tokens_app.campaign:1", "--user", "alice"],
    ["extend_lock", "tokens_app.campaign:1", "--user", "alice", "--by=1h", "--duration=1h"],
    ["list_locks", "--nosuch"],
])
def test_argument_mistakes_are_usage_errors(alice, args, run):
    with pytest.raises(CommandError):
        run(*args)


def test_cleanup_locks(monkeypatch, run):
    TokenUtility().register(tokens.ExclusiveLock("doc:1", "alice", datetime.timedelta(minutes=1)))
    later = clock.now() + datetime.timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert run("cleanup_locks") == "Removed 1 expired token(s) from the indexes."
    assert not LockedObject.objects.exists()


# -- the operator: one lookup for the commands of both apps -------------------------------------

def test_the_only_superuser_is_the_default_operator(campaign, make_user, run):
    root = make_user("root", superuser=True)
    assert run("lock", "--type", "pref_cal1").startswith("Locked pref_cal1 in tokens for root until ")
    assert "is now locked until" in run("extend_lock", campaign.lock_key, "--by=1h")
    assert run("unlock", "--type", "pref_cal1", "--user", "") == "Ended the exclusive lock on pref_cal1 in tokens."
    assert run("freeze", "--type", "pref_cal1") == "Froze pref_cal1 in tokens until ended."
    second = make_user("second", superuser=True)
    with pytest.raises(CommandError, match=re.escape(
        "name the operator with --user NAME (it may be left out only when there is exactly one active superuser)"
    )):
        run("unlock", "--type", "pref_cal1")
    second.is_active = False
    second.save()
    assert run("unlock", "--type", "pref_cal1") == "Ended the freeze on pref_cal1 in tokens."
    assert LockToken.objects.filter(created_by=root).count() == 2


def test_without_a_superuser_the_operator_must_be_named(alice, campaign, run):
    for command in ("lock", "unlock", "freeze", "extend_lock"):
        extra = ["--by=1h"] if command == "extend_lock" else []
        with pytest.raises(CommandError, match="name the operator with --user NAME"):
            run(command, campaign.lock_key, *extra)
    assert not LockToken.objects.exists()


@pytest.mark.parametrize("args, message", [
    (["lock", "{campaign}"], "user 'viewer' lacks the permission tokens_app.change_campaign to lock pref_cal1 in tokens"),
    (["lock", "{group}"], "user 'viewer' lacks the permission auth.change_group to lock reprocessing"),
    (["freeze", "{campaign}"], "user 'viewer' lacks the permission locks_app.freeze_object to freeze pref_cal1 in tokens"),
])
def test_an_operator_without_the_commands_permission_is_refused(
    make_user, campaign, group, settings, run, args, message
):
    settings.LOCKABLE_MODELS = ["tokens_app.campaign", "auth.group"]
    make_user("viewer", "view_campaign", "view_group")
    args = [arg.format(campaign=campaign.lock_key, group=f"auth.group:{group.pk}") for arg in args]
    with pytest.raises(CommandError, match=f"^{re.escape(message)}$"):
        run(*args, "--user", "viewer")
    assert not LockToken.objects.exists()


@pytest.mark.parametrize("command", ["lock", "unlock", "freeze", "extend_lock"])
def test_an_unknown_or_inactive_user_is_a_clear_error(make_user, campaign, run, command):
    retired = make_user("retired", "change_campaign", "freeze_object")
    retired.is_active = False
    retired.save()
    extra = ["--by=1h"] if command == "extend_lock" else []
    for name in ("ghost", "retired"):
        with pytest.raises(CommandError, match=f"^no active user '{name}'$"):
            run(command, campaign.lock_key, "--user", name, *extra)
    assert not LockToken.objects.exists()


def test_every_command_of_both_apps_is_an_operator_command_declaring_its_permission(campaign):
    from django.core.management import get_commands, load_command_class

    from locks_app.management.base import OperatorCommand

    commands = {name: load_command_class(app, name) for name, app in get_commands().items()
                if app in ("tokens_app", "locks_app", "devtools")}
    assert all(isinstance(command, OperatorCommand) for command in commands.values())
    declared = {name: command.required_permission(campaign) for name, command in commands.items()
                if command.takes_operator}
    assert declared == {
        "lock": "tokens_app.change_campaign", "freeze": "locks_app.freeze_object", "unlock": None, "extend_lock": None,
        **{name: "tokens_app.change_campaign" for name in (
            "add_token_view", "archive_tokens", "attach_to_tokens", "create_tokenset", "delete_tokens", "purge_tokens",
            "reset_tokens", "resume_operation", "scrub_tokens", "seed_demo", "set_token_field", "set_token_status")},
    }
