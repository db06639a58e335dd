"""The process's long-lived thread pools for CouchDB requests made side by side.

The gateway keeps one logged-in client per thread, so threads that live on keep their sessions:
a fresh pool per page view or per push would log in anew from every thread. Each pool is made
on first use, after a server has forked its workers.
"""

from __future__ import annotations

import ctypes
import functools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

# Requests are I/O bound; a handful of connections is plenty and spares the server.
MAX_CONCURRENT_QUERIES = 8
MAX_WRITES_IN_FLIGHT = 16
# glibc's mallopt parameter M_ARENA_MAX (what the MALLOC_ARENA_MAX variable sets), and the arenas
# kept: the main one and one shared by every other thread.
_M_ARENA_MAX = -8
_MALLOC_ARENAS = 2


@functools.cache
def query_pool() -> ThreadPoolExecutor:
    """Reads of many campaigns at once (the dashboard's counts)."""
    return ThreadPoolExecutor(max_workers=MAX_CONCURRENT_QUERIES, thread_name_prefix="couch-query")


def _share_malloc_arenas() -> None:
    """Make threads share malloc arenas, where the C library is glibc.

    glibc gives each new thread an arena of its own; writer threads building megabyte request
    bodies left them fragmented, so a big push held several times the memory it needs (the
    figures: docs/benchmarks.md, "Figures behind design choices").
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_ARENA_MAX, _MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass


def reader_thread(name: str) -> ThreadPoolExecutor:
    """One long-lived thread reading big answers (the changes follower's next batch) beside the
    thread that records them; it shares malloc arenas, as the writers do (its backfill's peak
    memory hardly moved for it: docs/benchmarks.md)."""
    _share_malloc_arenas()
    return ThreadPoolExecutor(1, thread_name_prefix=name)


@functools.cache
def write_pool() -> ThreadPoolExecutor:
    """Bulk writes kept in flight while the next batch is prepared (more at once than its
    threads just wait their turn)."""
    _share_malloc_arenas()
    return ThreadPoolExecutor(max_workers=MAX_WRITES_IN_FLIGHT, thread_name_prefix="couch-write")


def concurrently(function: Callable[[Any], Any], items: list) -> list:
    """``function`` applied to every item on the query pool, results in item order."""
    if len(items) <= 1:
        return [function(item) for item in items]
    return list(query_pool().map(function, items))


def in_flight(function: Callable[[Any], Any], items: Iterable, *, limit: int) -> Iterator[tuple[Any, Future]]:
    """``function(item)`` on the write pool with up to ``limit`` calls running at once; yields
    ``(item, future)`` in item order, each once its call has finished.

    Items are drawn only when there is room, so a lazy iterable prepares the next item while the
    calls before it wait on the server, and no more than ``limit`` items are held at once. After
    a call has failed no further item is started, but the calls already running are still
    yielded: the caller can count everything that was done. An item that cannot be drawn (the
    iterable raised) counts as a failed call of item None. Closing the iterator early waits for
    the calls still running.
    """
    items = iter(items)
    pending: deque[tuple[Any, Future]] = deque()
    failed = False
    try:
        while True:
            while not failed and len(pending) < limit:
                try:
                    item = next(items, _END)
                except Exception as exc:  # handed to the caller like the error of a call
                    pending.append((None, _failed(exc)))
                    failed = True
                    break
                if item is _END:
                    break
                pending.append((item, write_pool().submit(function, item)))
            if not pending:
                return
            item, future = pending.popleft()
            failed = future.exception() is not None or failed
            yield item, future
    finally:
        for _, future in pending:
            future.exception()


def _failed(exc: Exception) -> Future:
    future: Future = Future()
    future.set_exception(exc)
    return future


_END = object()
