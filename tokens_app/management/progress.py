"""The progress bar the token commands draw on stderr for writes of more than one batch."""

from __future__ import annotations

from django.conf import settings


class ProgressBar:
    """A ``progress(done, total=None)`` callback drawing on stderr once more than one batch is
    written: a bar when the total is known, a running count when it is not."""

    width = 30

    def __init__(self, stream, batch_size: int | None = None, total: int | None = None):
        self.stream = stream
        self.batch_size = batch_size or settings.COUCHDB["BATCH_SIZE"]
        self.total = total
        self.drawn = False
        self.last = None

    def __call__(self, done: int, total: int | None = None) -> None:
        total = total if total is not None else self.total
        # Nothing to draw for a write done in one batch: its first report is its last (batches
        # cut by COUCHDB_BATCH_BYTES can be far fewer tokens than the batch size).
        if not self.drawn and (done >= total if total is not None else done <= self.batch_size):
            return
        # A frame only when the count moved: a long quiet run (pilots waiting on a slow server)
        # adds nothing to a log or a pipe.
        if self.drawn and done == self.last:
            return
        self.last = done
        if total:
            filled = self.width * min(done, total) // total
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} tokens", ending="")
        else:
            self.stream.write(f"\r{done} tokens processed", ending="")
        self.stream.flush()
        self.drawn = True
        if total and done >= total:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        if self.drawn:
            self.stream.write("")
            self.drawn = False
