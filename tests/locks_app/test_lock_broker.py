"""Per-user operations: who may lock, share, join, extend, freeze and end what."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from locks_app import clock
from locks_app.broker import BrokerError, BrokerPermissionDenied, TokenBroker
from locks_app.models import LockToken
from locks_app.tokens import ExclusiveLock, SharedLock
from locks_app.utility import TokenUtility
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)
LOCKER = "change_group"


def test_lock_and_end_by_holder(alice, bob, group):
    token = TokenBroker(alice).lock(group, HOUR)
    assert isinstance(token, ExclusiveLock) and token.creator == alice
    with pytest.raises(BrokerError, match="locked by alice until"):
        TokenBroker(bob).lock(group, HOUR)
    with pytest.raises(BrokerPermissionDenied, match="only a holder may end it"):
        TokenBroker(bob).end(group)
    TokenBroker(alice).end(group)
    assert TokenUtility().get(group) is None
    assert LockToken.objects.get().end_reason == "ended"


def test_break_lock_permission_ends_anyones(alice, group, make_user):
    TokenBroker(alice).lock(group, HOUR)
    TokenBroker(make_user("admin", "break_lock")).end(group)
    row = LockToken.objects.get()
    assert (row.end_reason, row.ended_by.username) == ("broken", "admin")


def test_shared_lock_share_unshare(alice, bob, group, make_user):
    carol = make_user("carol", LOCKER)
    TokenBroker(alice).lock_shared(group, ["bob"], HOUR)
    assert TokenUtility().get(group).principal_ids == {"alice", "bob"}
    TokenBroker(bob).share(group, ["carol"])
    TokenBroker(carol).unshare(group, ["alice", "bob"])
    assert TokenUtility().get(group).principal_ids == {"carol"}
    with pytest.raises(BrokerPermissionDenied):
        TokenBroker(alice).share(group, ["alice"])
    TokenBroker(carol).unshare(group, ["carol"])
    assert TokenUtility().get(group) is None
    assert LockToken.objects.get().ended_by == carol


def test_sharing_an_exclusive_lock_keeps_its_expiration(alice, bob, group):
    lock = TokenBroker(alice).lock(group, HOUR)
    shared = TokenBroker(alice).share(group, ["bob"])
    assert isinstance(shared, SharedLock) and shared.principal_ids == {"alice", "bob"}
    assert abs(shared.expiration - lock.expiration) < datetime.timedelta(seconds=5)


def test_share_refusals_do_not_tell_whether_a_name_exists(alice, group, make_user):
    make_user("outsider")  # exists, but may not lock groups
    make_user("gone", LOCKER).__class__.objects.filter(username="gone").update(is_active=False)
    TokenBroker(alice).lock(group, HOUR)
    messages = set()
    for name in ("nobody", "outsider", "gone"):
        with pytest.raises(BrokerError) as refused:
            TokenBroker(alice).share(group, [name])
        messages.add(str(refused.value).replace(name, "NAME"))
    assert len(messages) == 1, messages
    with pytest.raises(BrokerError, match="Cannot share with nobody"):
        TokenBroker(alice).lock_shared(Group.objects.create(name="x"), ["nobody"], HOUR)
    assert TokenUtility().get(group).principal_ids == {"alice"}


def test_only_lockable_models_can_be_locked(alice, group):
    """#11: the broker refuses objects of other models (a user record, say) and plain keys."""
    for target in (alice, "doc:1"):
        with pytest.raises(BrokerPermissionDenied, match="cannot be locked here"):
            TokenBroker(alice).lock(target, HOUR)
    assert not LockToken.objects.exists()


def test_campaigns_alone_are_lockable_by_default(settings, make_user):
    """#11: with the portal's default LOCKABLE_MODELS a campaign is lockable, a group is not."""
    assert settings.LOCKABLE_MODELS == ["tokens_app.campaign"]
    operator = make_user("op", "change_campaign")
    campaign = Campaign.objects.create(token_type="t1", database="db1")
    assert TokenBroker(operator).lock(campaign, HOUR).object_key == campaign.lock_key
    with pytest.raises(BrokerPermissionDenied, match="cannot be locked here"):
        TokenBroker(operator).lock(Group.objects.create(name="g"), HOUR)


def test_locking_needs_the_lock_permission(group, make_user):
    """#11: a user with no permissions cannot lock (the default lock permission is the change one)."""
    nobody = make_user("nobody")
    with pytest.raises(BrokerPermissionDenied, match="auth.change_group"):
        TokenBroker(nobody).lock(group, HOUR)
    with pytest.raises(BrokerPermissionDenied, match="auth.change_group"):
        TokenBroker(nobody).lock_shared(group, [], HOUR)
    assert not LockToken.objects.exists()


def test_until_ended_needs_its_own_permission(alice, group, other_group, make_user):
    """#11: a lock without expiry needs locks_app.lock_until_ended."""
    with pytest.raises(BrokerPermissionDenied, match="lock_until_ended"):
        TokenBroker(alice).lock(group)
    TokenBroker(alice).lock(group, HOUR)
    with pytest.raises(BrokerPermissionDenied, match="lock_until_ended"):
        TokenBroker(alice).set_duration(group, None)
    assert TokenUtility().get(group).expiration is not None
    keeper = make_user("keeper", LOCKER, "lock_until_ended")
    assert TokenBroker(keeper).lock(other_group).expiration is None


def test_durations_are_capped_by_lock_max_duration(settings, alice, group, other_group, make_user):
    """#11: other durations are capped by LOCK_MAX_DURATION, when locking and when extending."""
    settings.LOCK_MAX_DURATION = "1d"
    with pytest.raises(BrokerPermissionDenied, match=r"at most 1 d 0 h .*LOCK_MAX_DURATION"):
        TokenBroker(alice).lock(group, 2 * 24 * HOUR)
    TokenBroker(alice).lock(group, 20 * HOUR)
    with pytest.raises(BrokerPermissionDenied, match="at most"):
        TokenBroker(alice).extend(group, 8 * HOUR)
    with pytest.raises(BrokerPermissionDenied, match="at most"):
        TokenBroker(alice).set_duration(group, 30 * HOUR)
    TokenBroker(alice).extend(group, 2 * HOUR)
    keeper = make_user("keeper", LOCKER, "lock_until_ended")
    assert TokenBroker(keeper).lock(other_group, 40 * HOUR).duration == 40 * HOUR


def test_extend_and_set_duration_are_for_holders(alice, bob, group):
    """zope's token handlers: only holders change a lock's time; others are refused."""
    lock = TokenBroker(alice).lock(group, HOUR)
    before = lock.expiration
    TokenBroker(alice).extend(group, 2 * HOUR)
    assert lock.expiration == before + 2 * HOUR
    TokenBroker(alice).set_duration(group, 5 * HOUR)
    assert lock.expiration == lock.started + 5 * HOUR
    for change in (lambda b: b.extend(group, HOUR), lambda b: b.set_duration(group, HOUR)):
        with pytest.raises(BrokerPermissionDenied, match="only a holder may change it"):
            change(TokenBroker(bob))
    assert lock.duration == 5 * HOUR


def test_extending_an_expired_lock_is_refused(monkeypatch, alice, group):
    TokenBroker(alice).lock(group, HOUR)
    later = clock.now() + 2 * HOUR
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(BrokerError, match="neither locked nor frozen"):
        TokenBroker(alice).extend(group, HOUR)


def test_join_a_shared_lock(alice, bob, group, other_group, make_user):
    """zope's SharedLockHandler.join: the acting user joins; here it needs locks_app.join_lock."""
    TokenBroker(alice).lock_shared(group, [], HOUR)
    with pytest.raises(BrokerPermissionDenied, match="join_lock"):
        TokenBroker(bob).join(group)
    joiner = make_user("joiner", LOCKER, "join_lock")
    assert TokenBroker(joiner).join(group).principal_ids == {"alice", "joiner"}
    TokenBroker(alice).lock(other_group, HOUR)
    with pytest.raises(BrokerError, match="only a shared lock can be joined"):
        TokenBroker(joiner).join(other_group)
    with pytest.raises(BrokerPermissionDenied, match="change_group"):
        TokenBroker(make_user("stranger", "join_lock")).join(group)


def test_freeze_needs_permission(alice, group, other_group, make_user):
    third = Group.objects.create(name="third")
    with pytest.raises(BrokerPermissionDenied, match="freeze_object"):
        TokenBroker(alice).freeze(group)
    freezer = make_user("freezer", "freeze_object")
    TokenBroker(freezer).freeze(group, duration=HOUR)
    with pytest.raises(BrokerPermissionDenied, match="may not end a freeze"):
        TokenBroker(alice).end(group)
    with pytest.raises(BrokerError, match="frozen since"):
        TokenBroker(alice).lock(group, HOUR)
    TokenBroker(freezer).end(group)
    TokenBroker(freezer).freeze(other_group, endable=False)
    with pytest.raises(BrokerError, match="never ends"):
        TokenBroker(freezer).end(other_group)
    with pytest.raises(BrokerError, match="no duration"):
        TokenBroker(freezer).freeze(third, endable=False, duration=HOUR)


def test_nothing_to_end(alice, group):
    with pytest.raises(BrokerError, match="neither locked nor frozen"):
        TokenBroker(alice).end(group)


def test_anonymous_users_get_no_broker():
    with pytest.raises(BrokerPermissionDenied):
        TokenBroker(AnonymousUser())
