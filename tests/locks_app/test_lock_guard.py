"""Every way the guard refuses a change, and every way it lets one through."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser, User

from locks_app import clock, tokens
from locks_app.guard import ChangeRefused, ensure_can_change
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db

NOON = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def fixed_now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOON)


def test_unlocked_object_may_change(bob):
    ensure_can_change(bob, "campaign:1")


def test_lock_of_someone_else_names_holder_and_expiry(fixed_now, alice, bob):
    TokenUtility().register(tokens.ExclusiveLock("campaign:1", "alice", datetime.timedelta(hours=1)))
    with pytest.raises(ChangeRefused, match="locked by alice until 2026-11-23 10:00 UTC"):
        ensure_can_change(bob, "campaign:1")


def test_lock_without_duration_is_held_until_ended(alice, bob):
    TokenUtility().register(tokens.ExclusiveLock("campaign:1", "alice"))
    with pytest.raises(ChangeRefused, match="locked by alice until ended"):
        ensure_can_change(bob, "campaign:1")


def test_holder_and_sharers_may_change(alice, bob):
    TokenUtility().register(tokens.SharedLock("campaign:1", ["alice", "bob"]))
    ensure_can_change(alice, "campaign:1")
    ensure_can_change(bob, "campaign:1")
    with pytest.raises(ChangeRefused, match="locked by alice, bob until ended"):
        ensure_can_change(User.objects.create_user("carol"), "campaign:1")


def test_freeze_refuses_everybody_and_names_its_creator(fixed_now, alice, bob):
    TokenUtility().register(tokens.EndableFreeze("campaign:1"), by=alice)
    for user in (alice, bob):
        with pytest.raises(ChangeRefused, match="frozen since 2026-11-23 09:00 UTC by alice"):
            ensure_can_change(user, "campaign:1")


def test_permanent_freeze_refuses(alice):
    TokenUtility().register(tokens.Freeze("campaign:1"))
    with pytest.raises(ChangeRefused, match="frozen since .* by an unknown user"):
        ensure_can_change(alice, "campaign:1")


def test_anonymous_or_missing_user_is_refused_by_any_lock(alice):
    TokenUtility().register(tokens.ExclusiveLock("campaign:1", "alice"))
    for user in (None, AnonymousUser()):
        with pytest.raises(ChangeRefused):
            ensure_can_change(user, "campaign:1")


def test_expired_or_ended_lock_no_longer_refuses(monkeypatch, alice, bob):
    util = TokenUtility()
    lock = util.register(tokens.ExclusiveLock("campaign:1", "alice", datetime.timedelta(minutes=5)))
    later = clock.now() + datetime.timedelta(minutes=6)
    monkeypatch.setattr(clock, "now", lambda: later)
    ensure_can_change(bob, "campaign:1")
    util.register(tokens.ExclusiveLock("campaign:2", "alice")).end()
    ensure_can_change(bob, "campaign:2")
    assert lock.ended == lock.expiration


def test_model_instances_are_guarded_by_their_key(alice, bob):
    TokenUtility().register(tokens.ExclusiveLock(alice, "alice"))
    with pytest.raises(ChangeRefused, match="^alice is locked by alice"):
        ensure_can_change(bob, User.objects.get(username="alice"))
