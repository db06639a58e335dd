"""The read model: every token of the followed databases as a row of the ORM.

CouchDB stays the source of truth; these rows are its projection, kept by the ``_changes``
follower (``tokens_app.follower``) and by the portal's own writes, through one function
(``tokens_app.token_rows.record``). Pages and counts read them, so everything one page shows
comes from one checkpoint.
"""

import json

from django.db import models


class TokenRow(models.Model):
    """What the pages show, sort and filter by of one token document.

    Text is stored as far as the ORM can hold it (lone surrogates and NUL replaced, long values
    cut); the document itself is always read from CouchDB. ``id_hash`` keys the row, because an
    id may be longer than any index entry can be; ``sort_key`` is the id's start, for ordering.
    ``raw_id`` is the id as JSON when ``doc_id`` could not hold it exactly.
    """

    database = models.CharField(max_length=238)
    id_hash = models.CharField(max_length=64)
    doc_id = models.TextField()
    raw_id = models.TextField(blank=True)
    sort_key = models.CharField(max_length=200)
    token_type = models.CharField(max_length=100)
    state = models.CharField(max_length=8)
    lock = models.FloatField(null=True, blank=True)
    done = models.FloatField(null=True, blank=True)
    hostname = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=200, blank=True)
    # None when the document has no such field (the error tables group a missing one apart).
    exit_code = models.CharField(max_length=200, null=True, blank=True)
    output = models.CharField(max_length=500, null=True, blank=True)
    scrub_count = models.IntegerField(null=True, blank=True)
    # The number an id ends in (``…_SB042`` → 42): the subband a search for ``SB042`` finds.
    subband = models.BigIntegerField(null=True, blank=True)
    rev = models.CharField(max_length=200)
    # The revision's number: a write recorded late (the portal's own, racing a pilot's) never
    # replaces a row of a later revision.
    generation = models.PositiveIntegerField(default=0)
    # When a done or error token finished (epoch seconds), else None: the chart, the pace and the
    # stall rule read it from one index.
    finished = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["database", "id_hash"], name="unique_token_row")]
        indexes = [
            # Keyset pages walk these in CouchDB's id order, ``id_hash`` breaking ties of long ids.
            models.Index(fields=["database", "token_type", "state", "sort_key", "id_hash"], name="token_row_state_page"),
            models.Index(fields=["database", "token_type", "sort_key", "id_hash"], name="token_row_type_page"),
            models.Index(fields=["database", "token_type", "finished", "state", "hostname"], name="token_row_finished"),
            models.Index(fields=["database", "token_type", "state", "hostname"], name="token_row_host"),
            models.Index(fields=["database", "token_type", "subband"], name="token_row_subband"),
        ]

    def __str__(self):
        return f"{self.doc_id} in {self.database} ({self.state})"

    @property
    def token_id(self) -> str:
        """The document's id exactly as CouchDB holds it."""
        return json.loads(self.raw_id) if self.raw_id else self.doc_id


class DesignRow(models.Model):
    """What the campaign page reads of one ``_design/<name>``: the views beyond the portal's that
    list tokens (its extra tabs) and the portal's record of views it put back. Kept, like the
    token rows, by the follower and by the portal's own design writes (``token_rows.record``)."""

    database = models.CharField(max_length=238)
    name = models.CharField(max_length=100)
    listed_views = models.JSONField(default=list)
    restored = models.JSONField(null=True, blank=True)
    # The type of the tokens it lists when it is a token design document (``design.discovered_type``):
    # another tool's campaign, which the dashboard offers to adopt; None otherwise.
    counted_type = models.CharField(max_length=100, null=True, blank=True)
    generation = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["database", "name"], name="unique_design_row")]
        indexes = [models.Index(fields=["counted_type", "database"], name="design_row_counted")]

    def __str__(self):
        return f"_design/{self.name} in {self.database}"


class ChangesCheckpoint(models.Model):
    """How far the rows of one database follow its ``_changes`` feed.

    ``seq`` is CouchDB's ``last_seq`` as it was given (an opaque string on Apache CouchDB),
    written in the same transaction as the rows it covers. ``pending`` is CouchDB's count of
    changes after it when last read: the read model's lag, in changes.
    """

    database = models.CharField(max_length=238, unique=True)
    seq = models.TextField(default="0")
    pending = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.database} at {self.seq[:20]}"


class FollowerLease(models.Model):
    """Who follows the changes now: one follower writes rows; a second waits for the lease."""

    name = models.CharField(max_length=50, unique=True)
    owner = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Why the follower's last look for other tools' design documents failed ("" when it did
    # not): the dashboard says so to those who may adopt them.
    discovery_problem = models.TextField(blank=True)

    def __str__(self):
        return f"{self.name} held by {self.owner or 'nobody'}"
