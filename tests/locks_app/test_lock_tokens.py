"""The token contract: kinds, durations, ending, principals, registration and lookups."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from locks_app import clock, signals, statements, tokens
from locks_app.interfaces import EndedError, RegistrationError, UnregisteredError
from locks_app.models import LockedObject, LockPrincipal, LockToken
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def util():
    return TokenUtility()


@pytest.fixture
def later(monkeypatch):
    """Move time forward by a timedelta."""
    real_now = clock.now

    def move(delta):
        monkeypatch.setattr(clock, "now", lambda: real_now() + delta)

    return move


def test_unregistered_token_does_nothing():
    lock = tokens.ExclusiveLock("doc:1", "alice", HOUR)
    assert lock.duration == HOUR and lock.principal_ids == frozenset({"alice"})
    for attribute in ("started", "expiration", "remaining_duration", "ended"):
        with pytest.raises(UnregisteredError):
            getattr(lock, attribute)
    with pytest.raises(UnregisteredError):
        lock.end()
    with pytest.raises(UnregisteredError):
        tokens.SharedLock("doc:1", ["alice"]).add(["bob"])
    assert not LockToken.objects.exists()


def test_registered_token_times(util, later):
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice", HOUR))
    assert lock.expiration == lock.started + HOUR
    assert lock.ended is None
    assert HOUR - datetime.timedelta(seconds=5) < lock.remaining_duration <= HOUR
    later(2 * HOUR)
    assert lock.remaining_duration == datetime.timedelta()
    assert lock.ended == lock.expiration
    with pytest.raises(EndedError):
        lock.end()
    with pytest.raises(EndedError):
        lock.duration = HOUR


def test_remaining_duration_can_be_set_and_reindexes(util):
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice", HOUR))
    lock.remaining_duration = 3 * HOUR
    assert 3 * HOUR - datetime.timedelta(seconds=5) < lock.remaining_duration <= 3 * HOUR
    assert LockedObject.objects.get().expiration == lock.expiration
    assert LockToken.objects.get().expiration == lock.expiration


def test_negative_durations_are_refused(util):
    with pytest.raises(ValueError):
        tokens.ExclusiveLock("doc:1", "alice", -HOUR)
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice", HOUR))
    with pytest.raises(ValueError):
        lock.duration = -HOUR
    with pytest.raises(ValueError):
        lock.remaining_duration = -HOUR
    assert lock.duration == HOUR


def test_duration_none_lasts_until_ended(util):
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice", HOUR))
    lock.duration = None
    assert lock.expiration is None and lock.remaining_duration is None
    assert LockedObject.objects.get().expiration is None


def test_one_active_token_per_object(util):
    util.register(tokens.ExclusiveLock("doc:1", "alice"))
    with pytest.raises(RegistrationError):
        util.register(tokens.EndableFreeze("doc:1"))
    assert LockToken.objects.count() == 1


def test_registering_again_reindexes(util):
    lock = util.register(tokens.SharedLock("doc:1", ["alice"]))
    LockPrincipal.objects.all().delete()
    assert util.register(lock) is lock
    assert list(LockPrincipal.objects.values_list("principal_id", flat=True)) == ["alice"]
    lock.end()
    with pytest.raises(EndedError):
        util.register(lock)


def test_last_principal_leaving_ends_then_reports_principals(util):
    """#15 item 2, zope's SharedLock.remove: TokenEndedEvent first, then PrincipalsChangedEvent
    whose ``old`` holds the principals that left; the ended lock has no principals."""
    lock = util.register(tokens.SharedLock("doc:1", ["alice", "bob"]))
    seen = []

    def ended(sender, token, **kwargs):
        seen.append(("ended", token.ended is not None))

    def changed(sender, token, old, **kwargs):
        seen.append(("principals", old, token.principal_ids))

    signals.token_ended.connect(ended)
    signals.principals_changed.connect(changed)
    try:
        lock.remove(["alice", "bob"])
    finally:
        signals.token_ended.disconnect(ended)
        signals.principals_changed.disconnect(changed)
    assert seen == [("ended", True), ("principals", frozenset({"alice", "bob"}), frozenset())]


def test_shared_lock_principals(util):
    lock = util.register(tokens.SharedLock("doc:1", ["alice", "bob"]))
    lock.add(["carol"])
    lock.remove(["alice"])
    assert util.get("doc:1").principal_ids == {"bob", "carol"}
    assert [t.object_key for t in util.iter_for_principal("carol")] == ["doc:1"]
    assert list(util.iter_for_principal("alice")) == []
    lock.remove(["bob", "carol"])
    assert lock.ended is not None
    assert util.get("doc:1") is None
    assert LockToken.objects.get().end_reason == LockToken.EndReason.EMPTIED
    with pytest.raises(EndedError):
        lock.add(["alice"])


def test_exclusive_lock_principal_cannot_change(util):
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice"))
    assert not hasattr(lock, "add") and not hasattr(lock, "remove")


def test_freezes(util):
    freeze = util.register(tokens.Freeze("doc:1"))
    assert freeze.principal_ids == frozenset()
    endable = util.register(tokens.EndableFreeze("doc:2", HOUR))
    endable.end()
    assert util.get("doc:2") is None and util.get("doc:1") == freeze


def test_a_plain_freeze_has_nothing_that_ends(util):
    """#15 item 7, zope's IFreeze: no end, ended, expiration, duration, remaining_duration."""
    freeze = util.register(tokens.Freeze("doc:1"))
    endable = util.register(tokens.EndableFreeze("doc:2"))
    for name in ("end", "ended", "expiration", "duration", "remaining_duration"):
        assert not hasattr(freeze, name), name
        assert hasattr(endable, name), name
    assert hasattr(util.get("doc:1"), "started") and not hasattr(util.get("doc:1"), "end")
    assert [hasattr(t, "end") for t in (util.get("doc:1"), util.get("doc:2"))] == [False, True]


def test_remaining_duration_of_an_ended_token_is_no_time(util):
    """#15 item 1, zope's IEndable: an ended token has timedelta(0) left, whatever its duration."""
    forever = util.register(tokens.ExclusiveLock("doc:1", "alice"))
    assert forever.remaining_duration is None
    forever.end()
    assert forever.remaining_duration == datetime.timedelta(0)
    three_hours = util.register(tokens.ExclusiveLock("doc:2", "alice", 3 * HOUR))
    three_hours.end()
    assert three_hours.remaining_duration == datetime.timedelta(0)
    freeze = util.register(tokens.EndableFreeze("doc:3", HOUR))
    freeze.end()
    assert freeze.remaining_duration == datetime.timedelta(0)


def test_expiration_can_be_set(util, later):
    """#15 item 3, zope's README: ``lock.expiration = lock.started + one``, re-indexed, with
    ExpirationChangedEvent carrying the old expiration."""
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice", 2 * HOUR))
    seen = []

    def record(sender, token, old, **kwargs):
        seen.append(old)

    signals.expiration_changed.connect(record)
    try:
        old = lock.expiration
        lock.expiration = lock.started + HOUR
        lock.expiration = lock.started + HOUR  # no change: no event
    finally:
        signals.expiration_changed.disconnect(record)
    assert seen == [old]
    assert lock.expiration == lock.started + HOUR and lock.duration == HOUR
    assert LockedObject.objects.get().expiration == lock.expiration
    assert LockToken.objects.get().expiration == lock.expiration
    lock.expiration = None
    assert lock.duration is None and LockedObject.objects.get().expiration is None
    with pytest.raises(ValueError):
        lock.expiration = lock.started.replace(tzinfo=None)
    with pytest.raises(TypeError):
        lock.expiration = "tomorrow"
    with pytest.raises(ValueError):
        lock.expiration = lock.started - HOUR
    lock.end()
    with pytest.raises(EndedError):
        lock.expiration = clock.now() + HOUR


def test_remaining_duration_may_be_set_to_none(util):
    """zope: remaining_duration = None means no expiration."""
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice", HOUR))
    lock.remaining_duration = None
    assert lock.expiration is None and lock.remaining_duration is None


def test_token_objects_tell_the_truth_after_changes_elsewhere(util):
    """#15 item 4: zope's ``ended`` always tells the truth; so do principals and expiration, after
    the same token was changed through another object."""
    mine = util.register(tokens.SharedLock("doc:1", ["alice", "bob"], HOUR))
    theirs = util.get("doc:1")
    theirs.remove(["bob"])
    theirs.duration = 2 * HOUR
    assert mine.principal_ids == {"alice"}
    assert mine.expiration == mine.started + 2 * HOUR and mine.duration == 2 * HOUR
    assert mine.ended is None
    theirs.end()
    assert mine.ended == theirs.ended is not None
    assert mine.remaining_duration == datetime.timedelta(0)
    with pytest.raises(EndedError):
        mine.add(["carol"])


def test_an_ended_token_is_read_no_more(util, django_assert_num_queries):
    """Reading the truth costs one query by primary key, and nothing once the token has ended."""
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice", HOUR))
    with django_assert_num_queries(1):
        assert lock.ended is None
    lock.end()
    with django_assert_num_queries(0):
        assert lock.ended is not None and lock.principal_ids == {"alice"}


def test_get_is_an_active_token_never_an_ended_one(util):
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice"))
    assert util.get("doc:1") == lock and util.get("doc:2", "nothing") == "nothing"
    lock.end()
    assert util.get("doc:1") is None
    assert list(util) == []


def test_a_stale_copy_cannot_change_an_ended_token(util):
    lock = util.register(tokens.ExclusiveLock("doc:1", "alice"))
    copy = util.get("doc:1")
    lock.end()
    with pytest.raises(EndedError):
        copy.duration = HOUR
    with pytest.raises(EndedError):
        copy.end()


def test_model_instances_are_keyed_and_given_back(util):
    alice = User.objects.create_user("alice")
    lock = util.register(tokens.ExclusiveLock(alice, "alice"), by=alice)
    assert lock.object_key == f"auth.user:{alice.pk}"
    found = next(iter(util))
    assert found.context == alice and found.creator == alice
    assert util.get("doc:none") is None and tokens.ExclusiveLock("doc:x", "a").context == "doc:x"
    with pytest.raises(ValueError):
        tokens.ExclusiveLock(User(username="unsaved"), "alice")


def test_history_stays(util, later):
    util.register(tokens.ExclusiveLock("doc:1", "alice", HOUR))
    util.register(tokens.ExclusiveLock("doc:2", "alice")).end()
    later(2 * HOUR)
    assert util.cleanup() == 1
    reasons = dict(LockToken.objects.values_list("object_key", "end_reason"))
    assert reasons == {"doc:1": "expired", "doc:2": "ended"}
    assert not LockedObject.objects.exists() and not LockPrincipal.objects.exists()


def test_signals(util):
    seen = []

    def record(signal):
        def receiver(sender, token, old=None, **kwargs):
            seen.append((signal, sender.__name__, old))

        return receiver

    receivers = {name: record(name) for name in
                 ("token_started", "token_ended", "principals_changed", "expiration_changed")}
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver)
    try:
        lock = util.register(tokens.SharedLock("doc:1", ["alice"]))
        lock.duration = HOUR
        lock.add(["bob"])
        lock.end()
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver)
    assert seen == [
        ("token_started", "SharedLock", None),
        ("expiration_changed", "SharedLock", None),
        ("principals_changed", "SharedLock", frozenset({"alice"})),
        ("token_ended", "SharedLock", None),
    ]


def test_refused_registration_leaves_the_transaction_usable(util):
    util.register(tokens.ExclusiveLock("doc:1", "alice"))
    with transaction.atomic():
        with pytest.raises(RegistrationError):
            util.register(tokens.ExclusiveLock("doc:1", "bob"))
        assert util.get("doc:1").principal_ids == {"alice"}


def test_get_is_one_query(util, django_assert_num_queries):
    util.register(tokens.ExclusiveLock("doc:1", "alice"))
    with django_assert_num_queries(1):
        assert util.get("doc:1").started is not None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_hot_lookups_use_indexes():
    now = clock.now()

    def query_plan(sql, params):
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return " ".join(str(row[-1]) for row in cursor.fetchall())

    plans = [
        query_plan(statements.active_sql(), ["doc:1", now]),
        query_plan(statements.expired_sql(False), [now]),
        TokenUtility._active(now).filter(token__principal_rows__principal_id="alice").explain(),
    ]
    for plan in plans:
        assert "SCAN" not in plan and "USING INDEX" in plan, plan
