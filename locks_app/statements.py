"""The statements of the hot paths, ``register``, ``get`` and a token's reading of its own state,
each written once from the models.

Building a query through the ORM costs several times what SQLite takes to run it, and these run
on every registration and every guarded page. Values are prepared by their fields and rows
converted by the engine's converters, as the ORM does, so what they write and read is what the
ORM would. Each function runs inside the caller's transaction, and looks its connection up once
(each attribute read through ``django.db.connection`` looks it up again).
"""

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections

from .models import LockedObject, LockToken


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _field(model, name: str):
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def _column(model, name: str) -> str:
    return connection.ops.quote_name(_field(model, name).column)


def _prepared(model, name: str, value, db):
    return _field(model, name).get_db_prep_save(value, db)


@functools.cache
def written_fields(model) -> list:
    """The fields an insert writes, in the order of its values: every column but the generated
    primary key."""
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def written_values(instance, db) -> list:
    """The values an insert of ``instance`` writes, prepared for the database ``db``."""
    fields = written_fields(type(instance))
    return [field.get_db_prep_save(getattr(instance, field.attname), db) for field in fields]


@functools.cache
def insert_sql(model, rows: int) -> str:
    fields = written_fields(model)
    columns = ", ".join(_column(model, field.name) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (f"INSERT INTO {_table(model)} ({columns}) VALUES {', '.join([row] * rows)} "
            f"RETURNING {_column(model, 'pk')}")


def insert(*instances) -> None:
    """Insert unsaved instances of one model with one statement, and mark them saved."""
    if not instances:
        return
    db = connections[DEFAULT_DB_ALIAS]
    values = [value for instance in instances for value in written_values(instance, db)]
    with db.cursor() as cursor:
        cursor.execute(insert_sql(type(instances[0]), len(instances)), values)
        for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
            instance.pk = pk
            instance._state.adding, instance._state.db = False, db.alias


@functools.cache
def update_sql(model, names: tuple, where: str) -> str:
    assignments = ", ".join(f"{_column(model, name)} = %s" for name in names)
    return f"UPDATE {_table(model)} SET {assignments} WHERE {_column(model, where)} = %s"


def update(model, where: str, value, **changes) -> None:
    """Set ``changes`` on the rows of ``model`` whose field ``where`` is ``value``."""
    db = connections[DEFAULT_DB_ALIAS]
    values = [_prepared(model, name, new, db) for name, new in changes.items()]
    values.append(_prepared(model, where, value, db))
    with db.cursor() as cursor:
        cursor.execute(update_sql(model, tuple(changes), where), values)


@functools.cache
def expired_sql(lock: bool) -> str:
    """The index rows expired at a time, in expiration order: a walk of the expiration index,
    whose cost follows what expired, not what exists."""
    pk, token, expiration = (_column(LockedObject, name) for name in ("pk", "token", "expiration"))
    return (f"SELECT {pk}, {token} FROM {_table(LockedObject)} WHERE {expiration} <= %s "
            f"ORDER BY {expiration}, {pk}" + (" FOR UPDATE" if lock else ""))


def expired(now) -> list[tuple]:
    """``(index row id, token id)`` of every token expired at ``now``, locked in one order for
    all processes, so that concurrent cleaners queue instead of deadlocking."""
    db = connections[DEFAULT_DB_ALIAS]
    sql = expired_sql(db.features.has_select_for_update)
    with db.cursor() as cursor:
        cursor.execute(sql, [_prepared(LockedObject, "expiration", now, db)])
        return cursor.fetchall()


@functools.cache
def active_sql() -> str:
    """The active token of one object key: the object-key index joined to the token row."""
    key, token, expiration = (_column(LockedObject, name) for name in ("object_key", "token", "expiration"))
    columns = ", ".join(f"t.{_column(LockToken, field.name)}" for field in LockToken._meta.concrete_fields)
    return (f"SELECT {columns} FROM {_table(LockToken)} t INNER JOIN {_table(LockedObject)} o "
            f"ON o.{token} = t.{_column(LockToken, 'pk')} "
            f"WHERE o.{key} = %s AND (o.{expiration} IS NULL OR o.{expiration} > %s)")


@functools.cache
def _token_converters(vendor: str, names: tuple | None = None) -> list[tuple]:
    """``(column index, converters, column)`` of a token row (or of the fields ``names``), as the
    ORM converts it; the converters depend on the engine only."""
    fields = LockToken._meta.concrete_fields if names is None else [_field(LockToken, name) for name in names]
    found = []
    for index, field in enumerate(fields):
        column = field.get_col(LockToken._meta.db_table)
        converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if converters:
            found.append((index, converters, column))
    return found


def _converted(values, converters, db) -> list:
    values = list(values)
    for index, field_converters, column in converters:
        for converter in field_converters:
            values[index] = converter(values[index], column, db)
    return values


def active_token(key: str, now) -> LockToken | None:
    """The history row of the active token of ``key`` at ``now``, or ``None``."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(active_sql(), [key, _prepared(LockedObject, "expiration", now, db)])
        values = cursor.fetchone()
    if values is None:
        return None
    return LockToken.from_db(db.alias, None, _converted(values, _token_converters(db.vendor), db))


@functools.cache
def state_sql(names: tuple) -> str:
    columns = ", ".join(_column(LockToken, name) for name in names)
    return f"SELECT {columns} FROM {_table(LockToken)} WHERE {_column(LockToken, 'pk')} = %s"


def token_state(pk, names: tuple) -> list:
    """The fields ``names`` of the token row ``pk`` as the database holds them now."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(state_sql(names), [pk])
        values = cursor.fetchone()
    return _converted(values, _token_converters(db.vendor, names), db)
