"""The single source of the current time, so that tests can move time as zope.locking's do."""

import datetime


def now() -> datetime.datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.datetime.now(datetime.UTC)
