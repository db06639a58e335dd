"""The write pool keeps a bounded number of calls in flight, in order, and stops after a failure."""

import threading
import time

import pytest

from tokens_app.pools import concurrently, in_flight

pytestmark = pytest.mark.unit


class Recorder:
    """A call that takes a moment and notes how many calls ran at once."""

    def __init__(self, fail_on=None):
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started = []
        self.fail_on = fail_on

    def __call__(self, item):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started.append(item)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        if item == self.fail_on:
            raise RuntimeError(f"item {item} failed")
        return item * 10


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_at_most_limit_calls_run_at_once_and_results_come_in_order(limit):
    call = Recorder()
    results = [(item, future.result()) for item, future in in_flight(call, range(12), limit=limit)]
    assert results == [(item, item * 10) for item in range(12)]
    assert call.most == limit


def test_items_are_drawn_only_when_there_is_room():
    drawn = []

    def items():
        for item in range(6):
            drawn.append(item)
            yield item

    writes = in_flight(Recorder(), items(), limit=2)
    next(writes)
    assert drawn == [0, 1]


def test_after_a_failure_no_item_is_started_but_the_running_ones_are_yielded():
    call = Recorder(fail_on=2)
    outcomes = []
    for item, future in in_flight(call, range(20), limit=3):
        outcomes.append((item, future.exception() is None))
    failed_at = outcomes.index((2, False))
    assert outcomes[:failed_at] == [(0, True), (1, True)]
    # Items started before the failure was seen still finish and are reported; none after.
    assert max(call.started) <= 4
    assert [item for item, _ in outcomes] == sorted(call.started)


def test_closing_early_waits_for_the_calls_still_running():
    call = Recorder()
    writes = in_flight(call, range(10), limit=3)
    next(writes)
    writes.close()
    assert call.running == 0


def test_concurrently_keeps_the_order_of_its_items():
    assert concurrently(lambda item: item * 2, list(range(20))) == [item * 2 for item in range(20)]


def test_an_item_that_cannot_be_drawn_is_a_failed_call_after_the_running_ones():
    def items():
        yield 1
        yield 2
        raise RuntimeError("cannot prepare item 3")

    outcomes = [(item, future.exception()) for item, future in in_flight(Recorder(), items(), limit=4)]
    assert [item for item, _ in outcomes] == [1, 2, None]
    assert outcomes[0][1] is None and outcomes[1][1] is None
    assert str(outcomes[2][1]) == "cannot prepare item 3"
