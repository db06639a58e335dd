"""The lock commands, with good input and with garbage."""

import datetime
import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError

from locks_app import tokens, utils
from locks_app.models import LockedObject
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    alice = User.objects.create_user("alice")
    alice.user_permissions.add(Permission.objects.get(codename="freeze_object"))
    return alice


@pytest.fixture
def bob():
    return User.objects.create_user("bob")


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_lock_list_unlock(alice, bob):
    key = f"auth.user:{bob.pk}"
    assert "Locked" in run("lock", key, "--user", "alice", "--duration", "1h30m", "--share", "bob")
    assert TokenUtility().get(bob).principal_ids == {"alice", "bob"}
    listed = json.loads(run("list_locks", "--json", "--principal", "bob"))
    assert [(row["object"], row["kind"], row["principals"]) for row in listed] == [
        (key, "shared", ["alice", "bob"])
    ]
    assert key in run("list_locks")
    assert "No active locks." in run("list_locks", "--principal", "nobody")
    assert "Ended the shared lock" in run("unlock", key, "--user", "bob")
    assert TokenUtility().get(bob) is None


def test_freeze_and_refusals(alice, bob):
    key = f"auth.user:{alice.pk}"
    assert "for good" in run("freeze", key, "--user", "alice", "--permanent")
    with pytest.raises(CommandError, match="frozen since .* by alice"):
        run("lock", key, "--user", "bob")
    with pytest.raises(CommandError, match="never ends"):
        run("unlock", key, "--user", "alice")
    with pytest.raises(CommandError, match="freeze_object"):
        run("freeze", f"auth.user:{bob.pk}", "--user", "bob")


@pytest.mark.parametrize(
    "args, message",
    [
        (["lock", "auth.user:1", "--user", "ghost"], "No active user 'ghost'"),
        (["lock", "{key}", "--user", "alice", "--duration", "abc"], "'abc' is not a duration"),
        (["lock", "{key}", "--user", "alice", "--duration=-5m"], "'-5m' is not a duration"),
        (["lock", "{key}", "--user", "alice", "--duration", "0m"], "not a positive duration"),
        (["lock", "campaign-7", "--user", "alice"], "not an object key of the form"),
        (["lock", "nosuch.model:1", "--user", "alice"], "names no known model"),
        (["lock", "auth.user:abc", "--user", "alice"], "no user with key"),
        (["lock", "auth.user:99999", "--user", "alice"], "no user with key"),
        (["lock", "{key}", "--user", "alice", "--share", "ghost"], "Unknown user.*ghost"),
        (["unlock", "{key}", "--user", "alice"], "neither locked nor frozen"),
    ],
)
def test_garbage_gives_one_line_errors(alice, args, message):
    args = [arg.format(key=f"auth.user:{alice.pk}") for arg in args]
    with pytest.raises(CommandError, match=message) as raised:
        run(*args)
    assert "\n" not in str(raised.value)
    assert not LockedObject.objects.exists()


def test_cleanup_locks(monkeypatch):
    TokenUtility().register(tokens.ExclusiveLock("doc:1", "alice", datetime.timedelta(minutes=1)))
    later = utils.now() + datetime.timedelta(minutes=2)
    monkeypatch.setattr(utils, "now", lambda: later)
    assert run("cleanup_locks") == "Removed 1 expired token(s) from the indexes.\n"
    assert not LockedObject.objects.exists()
