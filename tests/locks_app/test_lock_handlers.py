"""Token handlers (#15 items 5 and 6), after zope.locking's README "TokenHandlers": a lock as the
principals acting now may use it. Holders may change its time and release it; anyone else gets
ParticipationError; a shared lock's handler also lets acting principals join."""

import datetime

import pytest

from locks_app import tokens
from locks_app.handlers import ExclusiveLockHandler, SharedLockHandler, handler_for
from locks_app.interfaces import EndedError, ParticipationError
from locks_app.utility import TokenUtility

pytestmark = pytest.mark.django_db
ONE, TWO, THREE = (datetime.timedelta(hours=n) for n in (1, 2, 3))


@pytest.fixture
def util():
    return TokenUtility()


def test_exclusive_lock_handler_for_its_holder(util):
    lock = util.register(tokens.ExclusiveLock("demo", "joe"))
    handler = handler_for(lock, {"joe"})
    assert isinstance(handler, ExclusiveLockHandler) and handler.expiration is None
    handler.duration = TWO
    assert lock.duration == TWO
    handler.expiration = handler.started + THREE
    assert lock.expiration == handler.started + THREE
    handler.remaining_duration = TWO
    assert lock.remaining_duration <= TWO
    handler.release()
    assert handler.ended >= handler.started and lock.ended >= lock.started


def test_exclusive_lock_handler_refuses_others(util):
    lock = util.register(tokens.ExclusiveLock("demo", "mary"))
    handler = handler_for(lock, {"joe"})
    for change in (
        lambda: setattr(handler, "duration", TWO),
        lambda: setattr(handler, "expiration", handler.started + THREE),
        lambda: setattr(handler, "remaining_duration", TWO),
        handler.release,
    ):
        with pytest.raises(ParticipationError):
            change()
    assert lock.duration is None and lock.ended is None


def test_shared_lock_handler(util):
    lock = util.register(tokens.SharedLock("demo", ("joe", "mary")))
    handler = handler_for(lock, {"joe"})
    assert isinstance(handler, SharedLockHandler)
    handler.duration = TWO
    assert lock.duration == TWO
    handler.expiration = handler.started + THREE
    assert lock.expiration == handler.started + THREE
    handler.remaining_duration = TWO
    assert lock.remaining_duration <= TWO
    handler.release()
    assert sorted(handler.principal_ids) == ["mary"]
    for change in (
        lambda: setattr(handler, "duration", TWO),
        lambda: setattr(handler, "expiration", handler.started + THREE),
        lambda: setattr(handler, "remaining_duration", TWO),
        handler.release,
        lambda: handler.add(["jake"]),
    ):
        with pytest.raises(ParticipationError):
            change()


def test_join_and_add(util):
    """``join`` lets acting principals in (only themselves); ``add`` lets a holder add anyone."""
    lock = util.register(tokens.SharedLock("demo", ("mary",)))
    handler = handler_for(lock, {"joe"})
    handler.join()
    assert sorted(handler.principal_ids) == ["joe", "mary"]
    with pytest.raises(ParticipationError):
        handler.join(("susan",))
    handler.add(("susan",))
    assert sorted(lock.principal_ids) == ["joe", "mary", "susan"]
    handler.release()
    with pytest.raises(ParticipationError):
        handler.add(("jake",))
    lock.end()
    with pytest.raises(EndedError):
        handler.join()


def test_ended_locks_refuse_their_handlers(util):
    lock = util.register(tokens.ExclusiveLock("demo", "joe", ONE))
    handler = handler_for(lock, {"joe"})
    lock.end()
    with pytest.raises(EndedError):
        handler.duration = TWO


def test_freezes_have_no_handler(util):
    with pytest.raises(TypeError):
        handler_for(util.register(tokens.EndableFreeze("demo")), {"joe"})
