"""The seed walkthrough (spec/seed-zope-locking-cleanup.txt) against the ORM indexes.

The seed's three indexes become: ``_locks`` → ``LockedObject`` rows, ``_principal_ids`` → the
distinct principal ids of ``LockPrincipal``, ``_expirations`` → the distinct non-null
expirations of ``LockedObject``. Time moves by patching ``locks_app.clock.now`` as the seed does.
"""

import datetime

import pytest

from locks_app import clock, tokens
from locks_app.models import LockedObject, LockPrincipal
from locks_app.utility import TokenUtility

NO_TIME = datetime.timedelta()
ONE_HOUR = datetime.timedelta(hours=1)
TWO_HOURS = datetime.timedelta(hours=2)
THREE_HOURS = datetime.timedelta(hours=3)
FOUR_HOURS = datetime.timedelta(hours=4)

pytestmark = pytest.mark.django_db


class Clock:
    """The seed's ``hackNow``: the real time plus an offset the test moves."""

    def __init__(self, real_now):
        self.real_now = real_now
        self.offset = NO_TIME

    def __call__(self):
        return self.real_now() + self.offset


@pytest.fixture
def moving_clock(monkeypatch):
    moving = Clock(clock.now)
    monkeypatch.setattr(clock, "now", moving)
    return moving


def locks_index():
    """``util._locks``: key → (token id, principal ids, expiration)."""
    return {
        row.object_key: (row.token_id, sorted(row.token.principal_ids), row.expiration)
        for row in LockedObject.objects.select_related("token")
    }


def principal_index():
    """``util._principal_ids``: principal id → token ids."""
    index = {}
    for pid, token_id in LockPrincipal.objects.values_list("principal_id", "token_id"):
        index.setdefault(pid, set()).add(token_id)
    return index


def expiration_index():
    """``util._expirations``: expiration → token ids."""
    index = {}
    for expiration, token_id in LockedObject.objects.exclude(expiration=None).values_list(
        "expiration", "token_id"
    ):
        index.setdefault(expiration, set()).add(token_id)
    return index


def test_seed_walkthrough(moving_clock):
    """It is one long test because it is the seed's walkthrough, one story kept in its order: one
    utility and one moving clock, each step starting from the indexes the step before left."""
    util = TokenUtility()
    demo = "demo:0"

    # Initial token indexing
    lock = util.register(tokens.SharedLock(demo, ("john", "mary"), duration=ONE_HOUR))
    assert locks_index() == {demo: (lock.row.pk, ["john", "mary"], lock.expiration)}
    assert principal_index() == {"john": {lock.row.pk}, "mary": {lock.row.pk}}
    assert expiration_index() == {lock.expiration: {lock.row.pk}}

    # Token modification
    lock.duration = TWO_HOURS
    lock.add(("susan",))
    lock.remove(("mary", "john"))
    assert lock.expiration == lock.started + TWO_HOURS
    assert locks_index() == {demo: (lock.row.pk, ["susan"], lock.expiration)}
    assert principal_index() == {"susan": {lock.row.pk}}
    assert expiration_index() == {lock.expiration: {lock.row.pk}}

    # Adding a freeze: no principals, no duration
    frozen = "demo:1"
    freeze = util.register(tokens.EndableFreeze(frozen))
    assert len(locks_index()) == 2
    assert locks_index()[frozen] == (freeze.row.pk, [], None)
    assert principal_index() == {"susan": {lock.row.pk}}
    assert expiration_index() == {lock.expiration: {lock.row.pk}}

    # Expiration: the lock has ended, but the indexes keep it until the next registration
    moving_clock.offset = TWO_HOURS
    assert lock.ended == lock.expiration
    assert util.get(demo) is None
    assert list(util) == [freeze]
    assert list(util.iter_for_principal("susan")) == []
    assert len(locks_index()) == 2
    assert locks_index()[demo] == (lock.row.pk, ["susan"], lock.started + TWO_HOURS)
    assert principal_index() == {"susan": {lock.row.pk}}
    assert expiration_index() == {lock.expiration: {lock.row.pk}}

    # Registering a token for another object cleans the expired one out of every index
    another_demo = "demo:2"
    lock = util.register(tokens.ExclusiveLock(another_demo, "john", ONE_HOUR))
    assert sorted(locks_index()) == sorted([frozen, another_demo])
    assert principal_index() == {"john": {lock.row.pk}}
    assert expiration_index() == {lock.expiration: {lock.row.pk}}

    # The same story when the new token is for the object of the expired one
    moving_clock.offset = THREE_HOURS
    assert lock.ended == lock.expiration
    assert len(locks_index()) == 2
    assert locks_index()[another_demo] == (lock.row.pk, ["john"], lock.started + ONE_HOUR)
    assert principal_index() == {"john": {lock.row.pk}}
    assert expiration_index() == {lock.expiration: {lock.row.pk}}

    new_lock = util.register(tokens.ExclusiveLock(another_demo, "mary", THREE_HOURS))
    assert len(locks_index()) == 2
    assert locks_index()[another_demo] == (new_lock.row.pk, ["mary"], new_lock.started + THREE_HOURS)
    assert principal_index() == {"mary": {new_lock.row.pk}}
    assert expiration_index() == {new_lock.expiration: {new_lock.row.pk}}

    # Several expired tokens: cleaning them must not touch the token being registered
    second_lock = util.register(tokens.ExclusiveLock("demo:3", "john", THREE_HOURS))
    assert len(expiration_index()) == 2
    moving_clock.offset = THREE_HOURS + FOUR_HOURS
    third_lock = util.register(tokens.ExclusiveLock("demo:4", "michael", ONE_HOUR))
    assert expiration_index() == {third_lock.expiration: {third_lock.row.pk}}
    assert second_lock.ended == second_lock.expiration

    # Explicit ending removes every record from the indexes
    freeze.end()
    third_lock.end()
    assert (len(locks_index()), len(principal_index()), len(expiration_index())) == (0, 0, 0)
