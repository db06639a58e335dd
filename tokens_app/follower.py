"""The ``_changes`` follower: keeps the read model's rows in line with CouchDB.

One follower at a time writes (``FollowerLease``); it reads each followed database's
``_changes`` from its checkpoint a batch at a time and records the batch's documents and the
new checkpoint in one transaction, so rows and checkpoint never disagree, whenever it is killed.
An unreachable CouchDB is waited out: the follower tries again at its next round.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from .campaign_selectors import campaign_databases, token_types_in
from .couch import CouchError, DatabaseMissing, get_gateway
from .design import design_id
from .pools import reader_thread
from .read_models import ChangesCheckpoint, DesignRow, FollowerLease, TokenRow
from .selectors import discovered_designs
from .services import layout
from .token_rows import record
from .tokensets import TokenSet

logger = logging.getLogger(__name__)

LEASE = "changes"


class LeaseLost(Exception):
    """Another follower holds the lease now: this one must not write."""


@dataclass
class Follower:
    """One follower process (or thread): ``run`` until stopped, or ``catch_up`` once."""

    batch: int = 2000
    lease_seconds: float = 30.0
    # How often the databases are looked through for design documents other tools made.
    discovery_seconds: float = 60.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
    # One long-lived reading thread: its CouchDB session lasts as long as the follower.
    _reader: ThreadPoolExecutor = field(
        default_factory=lambda: reader_thread("changes-reader"), init=False, repr=False,
    )
    _discovered: set = field(default_factory=set, init=False, repr=False)
    _discovered_at: float = field(default=float("-inf"), init=False, repr=False)

    def followed_databases(self) -> list[str]:
        """The databases whose tokens the read model holds: every database of a campaign, and
        every database where another tool's campaign was found (the dashboard counts it)."""
        if time.monotonic() - self._discovered_at >= self.discovery_seconds:
            problem = ""
            try:
                self._discovered = {design["database"] for design in discovered_designs()}
            except CouchError as error:
                logger.warning("design documents of other tools not looked for this round: %s", error)
                problem = str(error)
            FollowerLease.objects.filter(name=LEASE).exclude(discovery_problem=problem).update(discovery_problem=problem)
            self._discovered_at = time.monotonic()
        return sorted(set(campaign_databases()) | self._discovered)

    # -- the lease ------------------------------------------------------------------------

    def take_lease(self) -> bool:
        """Hold the lease (taking it if free or lapsed); False while another follower holds it."""
        FollowerLease.objects.get_or_create(name=LEASE)
        now = timezone.now()
        free = Q(owner=self.owner) | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
        taken = FollowerLease.objects.filter(free, name=LEASE).update(
            owner=self.owner, expires_at=now + timedelta(seconds=self.lease_seconds)
        )
        return taken == 1

    def wait_for_lease(self, stop: threading.Event) -> bool:
        """Take the lease, waiting while another follower holds it; False if stopped first."""
        while not self.take_lease():
            if stop.wait(self.lease_seconds / 3):
                return False
        return True

    def _renew_lease(self) -> None:
        """Inside a transaction that writes rows: still ours, or nothing of it is written."""
        renewed = FollowerLease.objects.filter(name=LEASE, owner=self.owner).update(
            expires_at=timezone.now() + timedelta(seconds=self.lease_seconds)
        )
        if not renewed:
            raise LeaseLost(f"follower {self.owner} lost the lease")

    def release_lease(self) -> None:
        FollowerLease.objects.filter(name=LEASE, owner=self.owner).update(expires_at=None, owner="")

    # -- following ------------------------------------------------------------------------

    def step(self, database: str) -> tuple[int, bool]:
        """Read one batch of ``database``'s changes and record it: the number of changes read,
        and whether more may follow (the batch was full)."""
        feed, limit = self._read(database, _checkpoint_of(database), self.batch)
        self._apply(database, feed)
        return len(feed["results"]), _more_after(feed, limit)

    def catch_up(self, database: str) -> int:
        """Follow ``database`` until CouchDB has no more changes; the number read.

        The next batch is read while this one is recorded: the server and the portal's database
        work side by side, so following costs about what reading the changes does.
        """
        read = 0
        pending = self._reader.submit(self._read, database, _checkpoint_of(database), self.batch)
        while pending is not None:
            feed, limit = pending.result()
            more = _more_after(feed, limit)
            pending = self._reader.submit(self._read, database, feed["last_seq"], self.batch) if more else None
            try:
                self._apply(database, feed)
            except BaseException:
                if pending is not None:
                    pending.cancel()
                raise
            read += len(feed["results"])
        return read

    def _read(self, database: str, since, limit: int) -> tuple[dict, int]:
        """Up to ``limit`` changes after ``since`` and the limit they were read with."""
        return get_gateway().changes(database, since=since, limit=limit), limit

    def _apply(self, database: str, feed: dict) -> None:
        """Record a batch's documents and the checkpoint after it, together; then put back the
        portal's views of any campaign design document the batch shows rewritten by another
        tool (a GRID_LRT script's ``add_status_views``), which pilots would otherwise follow."""
        docs = [_document_of(change) for change in feed["results"]]
        with transaction.atomic():
            self._renew_lease()
            record(database, docs)
            _save_checkpoint(database, feed)
        designs = {doc["_id"] for doc in docs if doc["_id"].startswith("_design/") and not doc.get("_deleted")}
        if designs:
            _keep_layout(database, designs)

    def resync(self, database: str) -> int:
        """Forget everything the read model holds of ``database`` and read it from the start."""
        with transaction.atomic():
            self._renew_lease()
            TokenRow.objects.filter(database=database).delete()
            DesignRow.objects.filter(database=database).delete()
            ChangesCheckpoint.objects.filter(database=database).delete()
        return self.catch_up(database)

    def round(self) -> None:
        """Catch up every followed database once; one that cannot be read now waits for the next."""
        for database in self.followed_databases():
            try:
                self.catch_up(database)
            except DatabaseMissing:
                self._forget(database)
            except CouchError as error:
                logger.warning("changes of %s not read this round: %s", database, error)

    def run(self, *, interval: float = 0.5, stop: threading.Event | None = None, chores: tuple = (),
            chore_seconds: float = 10.0) -> None:
        """Follow every database until ``stop`` is set; wait while another follower works. The
        lease holder also does ``chores`` (callables) every ``chore_seconds``: the portal's one
        process that always runs is where periodic upkeep happens once, not once a worker."""
        stop = stop or threading.Event()
        chores_done = float("-inf")
        try:
            while self.wait_for_lease(stop):
                try:
                    self.round()
                    if time.monotonic() - chores_done >= chore_seconds:
                        chores_done = time.monotonic()
                        for chore in chores:
                            chore()
                except LeaseLost as lost:
                    logger.warning("%s", lost)
                except DatabaseError:
                    # The portal's database busy or briefly gone: the next round goes on.
                    logger.exception("the read model was not written this round")
                if stop.wait(interval):
                    return
        finally:
            self.release_lease()

    def _forget(self, database: str) -> None:
        """A database that no longer exists holds no tokens."""
        with transaction.atomic():
            self._renew_lease()
            TokenRow.objects.filter(database=database).delete()
            DesignRow.objects.filter(database=database).delete()
            ChangesCheckpoint.objects.filter(database=database).delete()


def _keep_layout(database: str, designs: set[str]) -> None:
    """The layout of every campaign of ``database`` whose design document is among ``designs``
    (no write when it is current, so the follower's own repair does not repeat)."""
    for token_type in token_types_in(database):
        if design_id(token_type) in designs or layout.PORTAL_DESIGN_ID in designs:
            layout.restore_views(TokenSet(database=database, token_type=token_type))


def _document_of(change: dict) -> dict:
    """The document of one change; a deleted one, or one without its body, as a deletion."""
    doc = change.get("doc")
    if change.get("deleted") or not isinstance(doc, dict):
        revs = change.get("changes") or [{}]
        return {"_id": change["id"], "_deleted": True, "_rev": str(revs[0].get("rev", ""))}
    return doc


def _checkpoint_of(database: str) -> str:
    checkpoint = ChangesCheckpoint.objects.filter(database=database).first()
    return checkpoint.seq if checkpoint else "0"


def _more_after(feed: dict, limit: int) -> bool:
    return len(feed["results"]) >= limit


def _save_checkpoint(database: str, feed: dict) -> None:
    ChangesCheckpoint.objects.update_or_create(
        database=database, defaults={"seq": str(feed["last_seq"]), "pending": int(feed.get("pending") or 0)},
    )
