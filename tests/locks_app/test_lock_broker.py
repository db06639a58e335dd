"""Per-user operations: who may lock, share, freeze and end what."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser, Permission, User

from locks_app.broker import BrokerError, BrokerPermissionDenied, TokenBroker
from locks_app.models import LockToken
from locks_app.tokens import ExclusiveLock, SharedLock
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def user(name, *permissions):
    created = User.objects.create_user(name)
    for codename in permissions:
        created.user_permissions.add(Permission.objects.get(codename=codename))
    return User.objects.get(pk=created.pk)


@pytest.fixture
def alice():
    return user("alice")


@pytest.fixture
def bob():
    return user("bob")


def test_lock_and_end_by_holder(alice, bob):
    token = TokenBroker(alice).lock("doc:1", HOUR)
    assert isinstance(token, ExclusiveLock) and token.creator == alice
    with pytest.raises(BrokerError, match="locked by alice until"):
        TokenBroker(bob).lock("doc:1")
    with pytest.raises(BrokerPermissionDenied, match="only a holder may end it"):
        TokenBroker(bob).end("doc:1")
    TokenBroker(alice).end("doc:1")
    assert TokenUtility().get("doc:1") is None
    assert LockToken.objects.get().end_reason == "ended"


def test_break_lock_permission_ends_anyones(alice):
    TokenBroker(alice).lock("doc:1")
    TokenBroker(user("admin", "break_lock")).end("doc:1")
    row = LockToken.objects.get()
    assert (row.end_reason, row.ended_by.username) == ("broken", "admin")


def test_shared_lock_share_unshare(alice, bob):
    carol = user("carol")
    TokenBroker(alice).lock_shared("doc:1", ["bob"])
    assert TokenUtility().get("doc:1").principal_ids == {"alice", "bob"}
    TokenBroker(bob).share("doc:1", ["carol"])
    TokenBroker(carol).unshare("doc:1", ["alice", "bob"])
    assert TokenUtility().get("doc:1").principal_ids == {"carol"}
    with pytest.raises(BrokerPermissionDenied):
        TokenBroker(alice).share("doc:1", ["alice"])
    TokenBroker(carol).unshare("doc:1", ["carol"])
    assert TokenUtility().get("doc:1") is None


def test_sharing_an_exclusive_lock_keeps_its_expiration(alice, bob):
    lock = TokenBroker(alice).lock("doc:1", HOUR)
    shared = TokenBroker(alice).share("doc:1", ["bob"])
    assert isinstance(shared, SharedLock) and shared.principal_ids == {"alice", "bob"}
    assert abs(shared.expiration - lock.expiration) < datetime.timedelta(seconds=5)


def test_unknown_usernames_are_refused(alice):
    with pytest.raises(BrokerError, match="Unknown user.*nobody"):
        TokenBroker(alice).lock_shared("doc:1", ["nobody"])
    assert not LockToken.objects.exists()


def test_freeze_needs_permission(alice):
    with pytest.raises(BrokerPermissionDenied, match="freeze_object"):
        TokenBroker(alice).freeze("doc:1")
    freezer = user("freezer", "freeze_object")
    TokenBroker(freezer).freeze("doc:1", duration=HOUR)
    with pytest.raises(BrokerPermissionDenied, match="may not end a freeze"):
        TokenBroker(alice).end("doc:1")
    with pytest.raises(BrokerError, match="frozen since"):
        TokenBroker(alice).lock("doc:1")
    TokenBroker(freezer).end("doc:1")
    TokenBroker(freezer).freeze("doc:2", endable=False)
    with pytest.raises(BrokerError, match="never ends"):
        TokenBroker(freezer).end("doc:2")
    with pytest.raises(BrokerError, match="no duration"):
        TokenBroker(freezer).freeze("doc:3", endable=False, duration=HOUR)


def test_nothing_to_end(alice):
    with pytest.raises(BrokerError, match="neither locked nor frozen"):
        TokenBroker(alice).end("doc:1")


def test_anonymous_users_get_no_broker():
    with pytest.raises(BrokerPermissionDenied):
        TokenBroker(AnonymousUser())
