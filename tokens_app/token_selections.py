"""What the operator is looking at, as the targets of an operation, and how many tokens that is.

The campaign page's open tab and search become the services' ``view``, ``ids`` and ``where``
(what the commands' ``--view``, ``--ids`` and ``--where`` give), so an operation re-decides each
token against CouchDB when it runs (:meth:`tokens_app.services.targets.Selection.holds_for`):
``host:NAME`` is the filter ``hostname=NAME``; an id part or a subband, which no token changes,
is the ids the read model matches now. Reads only, from the read model.
"""

from __future__ import annotations

import json

from .design import STATE_NAMES, TOKENS_VIEW
from .read_models import ChangesCheckpoint, TokenRow
from .token_reads import Search
from .token_rows import id_hash

# Tokens an operation on an id or subband search takes at most (their ids travel with it).
MAX_SEARCH_IDS = 10_000
# Filter fields with a column in the read model, where the row holds the field as text.
COUNTED_FIELDS = ("hostname", "status", "exit_code", "output")


class CannotSelect(ValueError):
    """A search that cannot become an operation's targets (the message says why)."""


def _rows(token_set, state: str | None):
    rows = TokenRow.objects.filter(database=token_set.database, token_type=token_set.token_type)
    return rows if state is None else rows.filter(state=state)


def _state(view: str | None) -> str | None:
    return view if view in STATE_NAMES else None


def search_targets(token_set, view: str | None, query: str) -> dict:
    """The ``view``/``ids``/``where`` of the tokens of tab ``view`` (a state or every token)
    that the page's search ``query`` matches; ``{"view": view}`` without a search. Raises
    :class:`CannotSelect` for a search in another view (the page searches a state or every
    token) and past :data:`MAX_SEARCH_IDS` for a search that becomes ids."""
    search = Search.parse(query)
    if not search:
        return {"view": None if view == TOKENS_VIEW else view}
    if view not in (None, TOKENS_VIEW, *STATE_NAMES):
        raise CannotSelect(f"a search looks through a state or every token, not the view '{view}'")
    state = _state(view)
    if search.host is not None:
        return {"view": state, "where": {"hostname": search.host}}
    found = list(search.filter(_rows(token_set, state)).order_by("sort_key", "id_hash")
                 .values_list("doc_id", "raw_id")[:MAX_SEARCH_IDS + 1])
    if len(found) > MAX_SEARCH_IDS:
        raise CannotSelect(
            f"the search matches more than {MAX_SEARCH_IDS} tokens, more than an operation on search results "
            "takes: narrow it, or act on the whole tab"
        )
    return {"view": state, "ids": [json.loads(raw_id) if raw_id else doc_id for doc_id, raw_id in found]}


def count_targets(token_set, *, view=None, ids=None, where=None) -> int | None:
    """How many tokens these targets hold in the read model, or None where it cannot tell (a
    database not followed yet, another tool's view, a filter on a field it does not keep)."""
    if view not in (None, TOKENS_VIEW, *STATE_NAMES) or any(name not in COUNTED_FIELDS for name in where or {}):
        return None
    if not ChangesCheckpoint.objects.filter(database=token_set.database).exists():
        return None
    rows = _rows(token_set, _state(view))
    if ids is not None:
        rows = rows.filter(id_hash__in=[id_hash(token_id) for token_id in ids])
    for name, value in (where or {}).items():
        rows = rows.filter(**_column_filter(name, value))
    return rows.count()


def _column_filter(name: str, value) -> dict:
    """A filter value as the row holds it: text as it is, other JSON as JSON, none as NULL."""
    if value is None:
        return {f"{name}__isnull": True} if name in ("exit_code", "output") else {name: ""}
    return {name: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}


def stale_lock_count(token_set, *, older_than_seconds: float, now: float) -> int:
    """Locked tokens whose lock is older than ``older_than_seconds`` (what a scrub resets)."""
    return _rows(token_set, "locked").filter(lock__lte=now - older_than_seconds).count()
