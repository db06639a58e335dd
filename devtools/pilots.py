"""Simulated PiCaS pilots, so a newcomer can watch a campaign move without a grid.

A pilot does what a real one does on a worker node, through the gateway: it asks the campaign's
``todo`` view for a few tokens, picks one at random (so pilots starting together do not all go
for the first row), claims it by writing ``lock`` with the revision it read — CouchDB refuses
the write with a conflict when another pilot got there first, and the pilot simply takes another
— runs a fake job, and writes ``done`` with exit code 0, or 1 with the chosen probability.

Pilots are separate processes (spawned, not forked: a forked child would share the parent's
HTTP connection), each with its own gateway, as real pilots are separate clients.
"""

from __future__ import annotations

import multiprocessing
import random
import socket
import time
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass

from tokens_app.couch import Conflict, Gateway

# How many of the first todo rows a pilot picks from; larger spreads pilots, smaller keeps order.
CLAIM_WINDOW = 10
# How often the command redraws its progress while pilots run.
PROGRESS_SECONDS = 0.5

_budget = None  # the shared count of tokens still to take, set in each pilot process
_finished = None  # the shared count of tokens the pilots finished (done or error), for progress


@dataclass(frozen=True)
class CouchAccess:
    """What a pilot process needs to open its own connection to the server."""

    url: str
    user: str
    password: str
    timeout: float

    @classmethod
    def of(cls, gateway: Gateway) -> CouchAccess:
        return cls(gateway.url, gateway.user, gateway.password, gateway.timeout)

    def gateway(self) -> Gateway:
        return Gateway(self.url, self.user, self.password, self.timeout)


@dataclass
class PilotReport:
    """What one pilot did: tokens finished well or badly, claims lost to other pilots."""

    pilot: str
    done: int = 0
    failed: int = 0
    conflicts: int = 0
    lost: int = 0


def _take_from_budget() -> bool:
    """Reserve one token of the ``--max-tokens`` budget shared by all pilots (True if any left)."""
    if _budget is None:
        return True
    with _budget.get_lock():
        if _budget.value <= 0:
            return False
        _budget.value -= 1
        return True


def _return_to_budget() -> None:
    if _budget is not None:
        with _budget.get_lock():
            _budget.value += 1


def _set_shared(budget, finished) -> None:
    global _budget, _finished
    _budget, _finished = budget, finished


def _count_finished() -> None:
    if _finished is not None:
        with _finished.get_lock():
            _finished.value += 1


def claim_token(gateway: Gateway, database: str, token_type: str, pilot: str, rng: random.Random) -> dict | None:
    """Claim one todo token; the claimed document, or None when the todo view is empty.

    Raises Conflict when another pilot claimed the chosen token first.
    """
    rows = gateway.view(database, token_type, "todo", limit=CLAIM_WINDOW, include_docs=True)["rows"]
    if not rows:
        return None
    row = rng.choice(rows)
    doc = row.get("doc")
    # The view row may be older than the document; the revision check of the write decides.
    if doc is None or doc.get("lock") or doc.get("done"):
        raise Conflict(f"conflict: '{row['id']}' was taken meanwhile")
    doc.update(lock=int(time.time()), hostname=pilot, status="running")
    doc["_rev"] = gateway.put_doc(database, doc)
    return doc


def finish_token(gateway: Gateway, database: str, doc: dict, *, failed: bool) -> None:
    """Write the end of the job: done now, exit code and output 0 (done) or 1 (error).

    Raises Conflict when someone changed the token while it ran (an operator reset it): their
    change stands.
    """
    code = 1 if failed else 0
    doc.update(done=int(time.time()), exit_code=code, output=code, status="error" if failed else "done")
    gateway.put_doc(database, doc)


def run_pilot(
    access: CouchAccess, database: str, token_type: str, *, number: int = 1,
    failure_rate: float = 0.1, job_seconds: float = 0.5, seed: int | None = None,
) -> PilotReport:
    """Take, run and finish todo tokens until the view is empty or the shared budget is spent."""
    gateway = access.gateway()
    rng = random.Random(seed)
    report = PilotReport(pilot=f"{socket.gethostname()}-pilot{number}")
    try:
        while _take_from_budget():
            try:
                doc = claim_token(gateway, database, token_type, report.pilot, rng)
            except Conflict:
                report.conflicts += 1
                _return_to_budget()
                continue
            if doc is None:
                _return_to_budget()
                break
            time.sleep(job_seconds * rng.uniform(0.5, 1.5))
            failed = rng.random() < failure_rate
            try:
                finish_token(gateway, database, doc, failed=failed)
            except Conflict:
                report.lost += 1
                continue
            if failed:
                report.failed += 1
            else:
                report.done += 1
            _count_finished()
    finally:
        gateway.close()
    return report


def simulate(
    access: CouchAccess, database: str, token_type: str, *, workers: int = 4, failure_rate: float = 0.1,
    job_seconds: float = 0.5, max_tokens: int | None = None, progress=None,
) -> list[PilotReport]:
    """Run ``workers`` pilot processes side by side until the campaign has no todo token left
    (or ``max_tokens`` were taken between them); one report per pilot. ``progress(finished)``
    is called every PROGRESS_SECONDS with the tokens the pilots finished so far."""
    context = multiprocessing.get_context("spawn")
    budget = context.Value("l", max_tokens) if max_tokens is not None else None
    finished = context.Value("l", 0)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_set_shared, initargs=(budget, finished)
    ) as pool:
        futures = [
            pool.submit(
                run_pilot, access, database, token_type, number=number, failure_rate=failure_rate,
                job_seconds=job_seconds, seed=random.randrange(2**32),
            )
            for number in range(1, workers + 1)
        ]
        while wait(futures, timeout=PROGRESS_SECONDS).not_done:
            if progress is not None:
                progress(finished.value)
        if progress is not None:
            progress(finished.value)
        return [future.result() for future in futures]
