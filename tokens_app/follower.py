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
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from .campaign_selectors import campaign_databases
from .couch import CouchError, DatabaseMissing, get_gateway
from .read_models import ChangesCheckpoint, FollowerLease, TokenRow
from .token_rows import id_hash, record

logger = logging.getLogger(__name__)

LEASE = "changes"


class LeaseLost(Exception):
    """Another follower holds the lease now: this one must not write."""


def followed_databases() -> list[str]:
    """The databases whose tokens the read model holds: every database of a campaign."""
    return campaign_databases()


@dataclass
class Follower:
    """One follower process (or thread): ``run`` until stopped, or ``catch_up`` once."""

    batch: int = 1000
    lease_seconds: float = 30.0
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")

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

    def step(self, database: str, *, limit: int | None = None) -> tuple[int, bool]:
        """Read one batch of ``database``'s changes and record it: the number of changes read,
        and whether more may follow (the batch was full)."""
        limit = limit or self.batch
        checkpoint = ChangesCheckpoint.objects.filter(database=database).first()
        since = checkpoint.seq if checkpoint else "0"
        try:
            feed = get_gateway().changes(database, since=since, limit=limit)
        except RecursionError:
            # A document nested deeper than Python parses: read fewer at a time, down to the one.
            if limit > 1:
                return self.step(database, limit=max(1, limit // 2))
            return self._pass_over(database, since)
        docs = [_document_of(change) for change in feed["results"]]
        with transaction.atomic():
            self._renew_lease()
            record(database, docs)
            _save_checkpoint(database, feed)
        return len(feed["results"]), len(feed["results"]) >= limit

    def catch_up(self, database: str) -> int:
        """Follow ``database`` until CouchDB has no more changes; the number read."""
        read, more = 0, True
        while more:
            count, more = self.step(database)
            read += count
        return read

    def resync(self, database: str) -> int:
        """Forget everything the read model holds of ``database`` and read it from the start."""
        with transaction.atomic():
            self._renew_lease()
            TokenRow.objects.filter(database=database).delete()
            ChangesCheckpoint.objects.filter(database=database).delete()
        return self.catch_up(database)

    def round(self) -> None:
        """Catch up every followed database once; one that cannot be read now waits for the next."""
        for database in followed_databases():
            try:
                self.catch_up(database)
            except DatabaseMissing:
                self._forget(database)
            except CouchError as error:
                logger.warning("changes of %s not read this round: %s", database, error)

    def run(self, *, interval: float = 0.5, stop: threading.Event | None = None) -> None:
        """Follow every database until ``stop`` is set; wait while another follower works."""
        stop = stop or threading.Event()
        try:
            while self.wait_for_lease(stop):
                try:
                    self.round()
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
            ChangesCheckpoint.objects.filter(database=database).delete()

    def _pass_over(self, database: str, since: str) -> tuple[int, bool]:
        """Step over one change whose document Python cannot parse: its row, if any, goes (the
        portal cannot say what it is), and the follower goes on after it."""
        feed = get_gateway().changes(database, since=since, limit=1, include_docs=False)
        with transaction.atomic():
            self._renew_lease()
            for change in feed["results"]:
                logger.warning("token %r of %s is nested too deep to read; left out of the pages", change["id"][:80], database)
                TokenRow.objects.filter(database=database, id_hash=id_hash(change["id"])).delete()
            _save_checkpoint(database, feed)
        return len(feed["results"]), bool(feed["results"])


def _document_of(change: dict) -> dict:
    """The document of one change; a deleted one, or one without its body, as a deletion."""
    doc = change.get("doc")
    if change.get("deleted") or not isinstance(doc, dict):
        return {"_id": change["id"], "_deleted": True}
    return doc


def _save_checkpoint(database: str, feed: dict) -> None:
    ChangesCheckpoint.objects.update_or_create(
        database=database, defaults={"seq": str(feed["last_seq"]), "pending": int(feed.get("pending") or 0)},
    )
