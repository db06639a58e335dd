"""Token documents into read-model rows: the projection, and the one upsert every writer uses.

The follower (every change CouchDB reports) and the portal's own writes (what a push or an
operation just wrote, so the operator sees it at once) both call :func:`record`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from numbers import Number

from django.db import IntegrityError, connection, transaction

from .design import discovered_type, listed_views, restored_record, state_of
from .read_models import DesignRow, TokenRow
from .token_charts import trailing_number

# What neither SQLite's UTF-8 nor PostgreSQL's text can hold: lone surrogates and NUL.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_KEY = ("database", "id_hash")
DESIGN_PREFIX = "_design/"
# A campaign page offers at most this many tabs of another tool's views.
MAX_LISTED_VIEWS = 200
_COLUMNS = tuple(field.name for field in TokenRow._meta.concrete_fields if field.name != "id")


def storable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with what the ORM cannot store replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text[:limit])


def id_hash(doc_id: str) -> str:
    """The row key of a document id (``surrogatepass``: every id CouchDB holds has one)."""
    return hashlib.sha256(doc_id.encode("utf-8", "surrogatepass")).hexdigest()


def is_token(doc: dict) -> bool:
    """Whether a document of ``_changes`` is a token: neither a design document nor deleted,
    and with a ``type`` a campaign can have."""
    token_type = doc.get("type")
    return (
        not doc.get("_deleted")
        and not doc["_id"].startswith("_design/")
        and isinstance(token_type, str)
        and 0 < len(token_type) <= TokenRow._meta.get_field("token_type").max_length
        and storable(token_type, len(token_type)) == token_type
    )


def row_of(database: str, doc: dict) -> TokenRow:
    """The row of a token document (one that :func:`is_token`)."""
    return TokenRow(**values_of(database, doc))


def values_of(database: str, doc: dict) -> dict:
    """The column values of a token document's row."""
    doc_id = doc["_id"]
    shown_id = storable(doc_id, len(doc_id))
    return dict(
        database=database,
        id_hash=id_hash(doc_id),
        doc_id=shown_id,
        raw_id="" if shown_id == doc_id else json.dumps(doc_id),
        sort_key=shown_id[:200],
        token_type=doc["type"],
        state=(state := state_of(doc)),
        lock=(lock := _number(doc.get("lock"))),
        done=(done := _number(doc.get("done"))),
        finished=finished_of(state, lock, done),
        hostname=_text(doc.get("hostname"), 200) or "",
        status=_text(doc.get("status"), 200) or "",
        exit_code=_text(doc.get("exit_code"), 200),
        output=_text(doc.get("output"), 500),
        scrub_count=_integer(doc.get("scrub_count")),
        subband=split[1] if (split := trailing_number(doc_id)) else None,
        rev=storable(str(doc.get("_rev", "")), 200),
        generation=generation_of(doc),
    )


def finished_of(state: str, lock: float | None, done: float | None) -> float | None:
    """When a token finished: a done token's ``done``; an error token's ``done``, else its
    ``lock`` (it failed before writing one); None for a token not finished or without a time."""
    if state == "done":
        moment = done
    elif state == "error":
        moment = done if done and done > 0 else lock
    else:
        return None
    return moment if moment and moment > 0 else None


def generation_of(doc: dict) -> int:
    """The number of a document's revision (``"3-abc…"`` → 3); 0 when it carries none."""
    number, _, _ = str(doc.get("_rev", "")).partition("-")
    return int(number) if number.isdigit() and len(number) < 10 else 0


def record(database: str, docs: Iterable[dict]) -> None:
    """Bring the rows of ``database`` in line with these documents, as CouchDB now holds them:
    tokens upserted; deleted documents, and documents that are no (longer a) token, removed.
    A document of an earlier revision than its row's changes nothing.

    The caller holds the transaction, so rows and whatever goes with them (a checkpoint) are
    written together. A document given twice counts as its last version.
    """
    latest = {doc["_id"]: doc for doc in docs}
    _record_designs(database, [doc for doc in latest.values() if doc["_id"].startswith(DESIGN_PREFIX)])
    rows = [values_of(database, doc) for doc in latest.values() if is_token(doc)]
    gone: dict[int, list[str]] = {}
    for doc_id, doc in latest.items():
        if not is_token(doc):
            gone.setdefault(generation_of(doc), []).append(id_hash(doc_id))
    for generation, hashes in gone.items():
        rows_gone = TokenRow.objects.filter(database=database, id_hash__in=hashes)
        # A removal of known revision leaves a row written since (a token made again) alone.
        (rows_gone.filter(generation__lt=generation) if generation else rows_gone).delete()
    if rows:
        _upsert(rows)


def _record_designs(database: str, designs: list[dict]) -> None:
    """The design rows of these design documents: upserted, or removed when deleted; one of an
    earlier revision than its row changes nothing. A name no campaign type can have, or a view
    name the ORM cannot hold exactly, is not recorded (no page could ask for it)."""
    name_limit = DesignRow._meta.get_field("name").max_length
    for doc in designs:
        name, generation = doc["_id"][len(DESIGN_PREFIX):], generation_of(doc)
        if not 0 < len(name) <= name_limit or storable(name, name_limit) != name:
            continue
        rows = DesignRow.objects.filter(database=database, name=name)
        if generation:
            rows = rows.filter(generation__lt=generation)
        if doc.get("_deleted"):
            rows.delete()
            continue
        counted = discovered_type(name, doc)
        values = {
            "listed_views": [view for view in listed_views(doc)[:MAX_LISTED_VIEWS] if storable(view, 200) == view],
            "restored": restored_record(doc), "generation": generation,
            "counted_type": counted if counted and storable(counted, name_limit) == counted else None,
        }
        if not rows.update(**values) and not DesignRow.objects.filter(database=database, name=name).exists():
            try:
                with transaction.atomic():
                    DesignRow.objects.create(database=database, name=name, **values)
            except IntegrityError:
                # Another writer recorded it meanwhile: the later revision wins, as above.
                rows.update(**values)


def _upsert(rows: list[dict]) -> None:
    """One ``INSERT … ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL alike) sent for all rows
    with ``executemany``: ``bulk_create`` builds a model instance per row and, on SQLite, a
    statement per 58 rows, which made following slower than reading the changes."""
    quote = connection.ops.quote_name
    columns = [quote(TokenRow._meta.get_field(name).column) for name in _COLUMNS]
    generation = quote(TokenRow._meta.get_field("generation").column)
    updates = [column for name, column in zip(_COLUMNS, columns) if name not in _KEY]
    sql = (
        f"INSERT INTO {quote(TokenRow._meta.db_table)} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(name) for name in _KEY)}) "
        f"DO UPDATE SET {', '.join(f'{column} = excluded.{column}' for column in updates)} "
        f"WHERE excluded.{generation} >= {quote(TokenRow._meta.db_table)}.{generation}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [tuple(row[name] for name in _COLUMNS) for row in rows])


def _text(value, limit: int) -> str | None:
    """A field as the pages show it: text as it is, any other JSON value as JSON; None if absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=False)
        except (RecursionError, ValueError):
            value = "(a value nested too deep to show)"
    return storable(value, limit)


def _number(value) -> float | None:
    if isinstance(value, Number) and not isinstance(value, bool):
        number = float(value)
        return number if number == number and abs(number) != float("inf") else None
    return None


def _integer(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None and abs(number) < 2**62 else None
