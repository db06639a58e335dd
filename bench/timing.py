"""Timing helpers: wall-clock seconds of a call, the median of repeats, the cost of one operation."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(function: Callable[[], object]) -> tuple[float, object]:
    """Seconds ``function()`` took, and what it returned."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def median_seconds(function: Callable[[], object], repeat: int) -> float:
    """The median wall-clock seconds of ``repeat`` calls of ``function()``."""
    return statistics.median(timed(function)[0] for _ in range(repeat))


def per_operation(operation: Callable[[int], object], count: int) -> float:
    """Seconds per call of ``operation(i)`` for ``i`` in ``range(count)``, timed as one loop."""
    start = time.perf_counter()
    for i in range(count):
        operation(i)
    return (time.perf_counter() - start) / count


def seconds(value: float) -> str:
    """A duration for a table: µs, ms or s with three significant figures."""
    if value < 1e-3:
        return f"{value * 1e6:.3g} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"
