"""Locks: ``TokenUtility`` on SQLite and PostgreSQL vs zope.locking's in-memory utility.

With N active exclusive locks (each principal holds 10, so ``iter_for_principal`` always answers
10 tokens), the cost of one ``register`` (a new object), one ``get`` (an existing object) and one
``iter_for_principal`` is measured for each N, on each engine in a child process of its own, and
for zope.locking's ``TokenUtility`` (BTrees in an in-memory ZODB, with a minimal key reference).

The ORM indexes are filled with ``bulk_create``: the rows are exactly those ``register`` writes
(history row, object-key/expiration row, principal row), without 100,000 transactions of setup.
Cleanup: N tokens of which some have just expired; one ``cleanup()`` removes them.
"""

from __future__ import annotations

import datetime
import functools
import os
import random
import time
import uuid

from .environment import run_child
from .report import Table, ratio
from .timing import per_operation, seconds, timed

GROWTH_TARGET = 1.5
ZOPE_RATE_TARGET = 10.0
TOKENS_PER_PRINCIPAL = 10
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/tokenportal_bench"
OPERATIONS = ("register", "get", "iter_for_principal")


def key(number: int) -> str:
    return f"tokens_app.campaign:{number}"


def principal(number: int) -> str:
    return f"user{number // TOKENS_PER_PRINCIPAL}"


# -- the portal (runs in a child process per engine) ------------------------------------------------

def _fill(start: int, stop: int, *, expired: int = 0) -> None:
    """Index tokens ``start``..``stop`` as ``register`` would; the first ``expired`` have just expired."""
    from django.db import transaction

    from locks_app.models import LockedObject, LockPrincipal, LockToken
    from locks_app.clock import now

    moment = now()
    day = datetime.timedelta(days=1)
    for chunk in range(start, stop, 5_000):
        numbers = range(chunk, min(stop, chunk + 5_000))
        with transaction.atomic():
            rows = LockToken.objects.bulk_create(
                LockToken(kind=LockToken.Kind.EXCLUSIVE, object_key=key(n), principal_ids=[principal(n)],
                          started=moment - day, duration=day if n - start < expired else 2 * day,
                          expiration=moment if n - start < expired else moment + day)
                for n in numbers
            )
            LockedObject.objects.bulk_create(
                LockedObject(object_key=row.object_key, token=row, expiration=row.expiration) for row in rows
            )
            LockPrincipal.objects.bulk_create(
                LockPrincipal(token=row, principal_id=row.principal_ids[0]) for row in rows
            )


def _unindex(registered) -> None:
    """Take the tokens registered while measuring out of the indexes, so the next size starts
    from exactly N active tokens. (Not ``Token.end()``: on PostgreSQL it fails, see docs/benchmarks.md.)"""
    from locks_app import indexes

    for token in registered:
        indexes.unindex(token.row)


def _query_floor(keys: list[str], operations: int) -> dict:
    """What one indexed lookup by object key costs at the least: through the ORM, and as SQL."""
    from django.db import connection

    from locks_app.models import LockedObject

    table = LockedObject._meta.db_table
    with connection.cursor() as cursor:
        return {
            "orm": per_operation(
                lambda i: LockedObject.objects.filter(object_key=keys[i]).values_list("pk", flat=True).first(),
                operations),
            "sql": per_operation(
                lambda i: cursor.execute(f"SELECT id FROM {table} WHERE object_key = %s", [keys[i]]).fetchone(),
                operations),
        }


def _register_floor(operations: int) -> float:
    """What one ``register`` costs at the least: its transaction (the statements
    ``locks_app.statements`` writes, values prepared beforehand) run on the driver's own
    connection, with neither Django nor Python objects in between."""
    from django.db import connection

    from locks_app import statements
    from locks_app.models import LockedObject, LockPrincipal, LockToken
    from locks_app.tokens import ExclusiveLock
    from locks_app.clock import now

    sqlite = connection.vendor == "sqlite"

    def native(sql):
        return sql.replace("%s", "?") if sqlite else sql

    fresh, moment = f"bench.floor-{uuid.uuid4().hex[:8]}:", now()
    rows = [ExclusiveLock(f"{fresh}{i}", "bench-user")._new_row(moment, None) for i in range(operations)]
    token_values = [statements.written_values(row, connection) for row in rows]
    # The index rows name the token id the insert returns: its slot is filled in the loop.
    locked_values = [statements.written_values(LockedObject(object_key=row.object_key, token_id=0), connection)
                     for row in rows]
    principal_values = statements.written_values(LockPrincipal(principal_id="bench-user", token_id=0), connection)
    locked_slot = [field.name for field in statements.written_fields(LockedObject)].index("token")
    principal_slot = [field.name for field in statements.written_fields(LockPrincipal)].index("token")
    walk = native(statements.expired_sql(connection.features.has_select_for_update))
    inserts = [native(statements.insert_sql(model, 1)) for model in (LockToken, LockedObject, LockPrincipal)]
    start = native(statements.update_sql(LockToken, ("started", "expiration"), "pk"))
    walk_values = [connection.ops.adapt_datetimefield_value(moment)]
    start_values = [connection.ops.adapt_datetimefield_value(moment), None]
    connection.ensure_connection()
    cursor = connection.connection.cursor()

    def register(i):
        cursor.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        cursor.execute(walk, walk_values)
        cursor.fetchall()
        token_id = cursor.execute(inserts[0], token_values[i]).fetchone()[0]
        locked_values[i][locked_slot] = principal_values[principal_slot] = token_id
        cursor.execute(inserts[1], locked_values[i]).fetchall()
        cursor.execute(inserts[2], principal_values).fetchall()
        cursor.execute(start, [*start_values, token_id])
        cursor.execute("COMMIT")

    try:
        return per_operation(register, operations)
    finally:
        cursor.close()


def measure_orm(sizes: list[int], operations: int, expired: list[int]) -> dict:
    """Seconds per operation for each size on this process's database, and one cleanup."""
    from django.db import connection

    from locks_app.models import LockedObject, LockPrincipal, LockToken
    from locks_app.tokens import ExclusiveLock
    from locks_app.utility import TokenUtility

    utility = TokenUtility()
    results: dict = {"engine": connection.vendor, "sizes": {}}
    filled = 0
    for size in sizes:
        _fill(filled, size)
        filled = size
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        fresh = f"bench.fresh-{uuid.uuid4().hex[:8]}:"
        registered = []
        rng = random.Random(size)
        gets = [key(rng.randrange(size)) for _ in range(operations)]
        principals = [principal(rng.randrange(size)) for _ in range(operations)]
        utility.get(gets[0])
        figures = {
            "register": per_operation(
                lambda i: registered.append(utility.register(ExclusiveLock(f"{fresh}{i}", "bench-user"))), operations),
            "get": per_operation(lambda i: utility.get(gets[i]), operations),
            "iter_for_principal": per_operation(lambda i: list(utility.iter_for_principal(principals[i])), operations),
        }
        if len(list(utility.iter_for_principal(principals[0]))) != TOKENS_PER_PRINCIPAL:
            raise RuntimeError("iter_for_principal did not find the principal's tokens")
        _unindex(registered)
        results["sizes"][str(size)] = figures
    results["floor"] = {**_query_floor(gets, operations), "register": _register_floor(operations)}
    for model in (LockPrincipal, LockedObject, LockToken):
        model.objects.all().delete()
    expired_count, total = expired
    _fill(0, total, expired=expired_count)
    cleanup, removed = timed(utility.cleanup)
    if removed != expired_count:
        raise RuntimeError(f"cleanup removed {removed} tokens, expected {expired_count}")
    results["cleanup"] = cleanup
    return results


# -- zope.locking (in this process) ---------------------------------------------------------------

@functools.cache
def _zope():
    """zope.locking with an in-memory ZODB and a key reference for plain objects."""
    import zope.component
    import zope.interface
    from zope.keyreference.interfaces import IKeyReference

    class ILockable(zope.interface.Interface):
        """Something a benchmark locks."""

    @zope.interface.implementer(ILockable)
    class Lockable:
        def __init__(self, name):
            self.name = name

    @functools.total_ordering
    @zope.component.adapter(ILockable)
    @zope.interface.implementer(IKeyReference)
    class NameKeyReference:
        key_type_id = "bench.locks.NameKeyReference"

        def __init__(self, context):
            self.context = context

        def __call__(self):
            return self.context

        def __hash__(self):
            return hash(self.context.name)

        def __eq__(self, other):
            return self.context.name == other.context.name

        def __lt__(self, other):
            return self.context.name < other.context.name

    zope.component.provideAdapter(NameKeyReference)
    return Lockable


def measure_zope(sizes: list[int], operations: int, expired: list[int]) -> dict:
    import transaction
    import ZODB
    from zope.locking import tokens, utility as zope_utility

    lockable = _zope()

    def fresh_utility():
        # Added to a connection (tokens need a jar for their ordering), never committed.
        transaction.abort()
        util = zope_utility.TokenUtility()
        ZODB.DB(None).open().add(util)
        return util

    def fill(util, objects, start, stop):
        for n in range(start, stop):
            objects.append(lockable(key(n)))
            util.register(tokens.ExclusiveLock(objects[-1], principal(n), datetime.timedelta(days=1)))

    results: dict = {"engine": "zope.locking", "sizes": {}}
    util, objects = fresh_utility(), []
    for size in sizes:
        fill(util, objects, len(objects), size)
        rng = random.Random(size)
        gets = [objects[rng.randrange(size)] for _ in range(operations)]
        principals = [principal(rng.randrange(size)) for _ in range(operations)]
        fresh = [lockable(f"bench.fresh-{uuid.uuid4().hex[:8]}:{i}") for i in range(operations)]
        registered = []
        results["sizes"][str(size)] = {
            "register": per_operation(
                lambda i: registered.append(util.register(tokens.ExclusiveLock(fresh[i], "bench-user"))), operations),
            "get": per_operation(lambda i: util.get(gets[i]), operations),
            "iter_for_principal": per_operation(lambda i: list(util.iterForPrincipalId(principals[i])), operations),
        }
        for token in registered:
            token.end()
    expired_count, total = expired
    util, objects = fresh_utility(), []
    # Every register cleans up: the tokens that are to expire go in last, and expire after the fill.
    fill(util, objects, 0, total - expired_count)
    lifetime = datetime.timedelta(seconds=max(2.0, expired_count / 5_000))
    for n in range(total - expired_count, total):
        objects.append(lockable(key(n)))
        util.register(tokens.ExclusiveLock(objects[-1], principal(n), lifetime))
    time.sleep(lifetime.total_seconds() + 0.1)
    before = len(util._locks)
    cleanup, _ = timed(util._cleanup)
    if before - len(util._locks) != expired_count:
        raise RuntimeError(f"zope.locking cleaned {before - len(util._locks)} tokens, expected {expired_count}")
    results["cleanup"] = cleanup
    transaction.abort()
    return results


# -- the benchmark ------------------------------------------------------------------------------

def _postgres_database(url: str, action: str) -> bool:
    """Create (fresh) or drop the database ``url`` names; False when PostgreSQL does not answer."""
    import environ
    import psycopg

    conf = environ.Env.db_url_config(url)
    try:
        with psycopg.connect(host=conf["HOST"] or "127.0.0.1", port=conf["PORT"] or 5432, user=conf["USER"],
                             password=conf["PASSWORD"] or None, dbname="postgres", autocommit=True,
                             connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{conf["NAME"]}"')
            if action == "create":
                admin.execute(f'CREATE DATABASE "{conf["NAME"]}"')
    except psycopg.OperationalError:
        return False
    return True


def run(workdir, *, sizes: list[int], operations: int, expired: tuple[int, int]) -> Table:
    table = Table("Locks: TokenUtility per operation vs zope.locking in memory")
    kwargs = dict(sizes=sizes, operations=operations, expired=list(expired))
    engines = {"sqlite": run_child("bench.locks:measure_orm",
                                   env={"DATABASE_URL": f"sqlite:///{workdir / 'locks.sqlite3'}"}, **kwargs)}
    postgres = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    if postgres == "none":
        table.notes.append("PostgreSQL skipped (BENCH_POSTGRES_URL=none).")
    elif _postgres_database(postgres, "create"):
        try:
            engines["postgresql"] = run_child("bench.locks:measure_orm", env={"DATABASE_URL": postgres}, **kwargs)
        finally:
            _postgres_database(postgres, "drop")
    else:
        table.notes.append(f"PostgreSQL did not answer at {postgres.rsplit('@', 1)[-1]}: not measured.")
    zope = measure_zope(**kwargs)
    smallest, largest = str(sizes[0]), str(sizes[-1])
    for engine, result in engines.items():
        for operation in OPERATIONS:
            for size in sizes:
                ours = result["sizes"][str(size)][operation]
                theirs = zope["sizes"][str(size)][operation]
                target, met = "—", None
                if engine == "sqlite" and operation in ("register", "get"):
                    target, met = f"≥ 1/{ZOPE_RATE_TARGET:g} of its rate", ours <= ZOPE_RATE_TARGET * theirs
                table.add(f"{engine} {operation}, {size:,} active", seconds(ours), seconds(theirs) + " zope",
                          ratio(ours, theirs), target, met)
            growth = result["sizes"][largest][operation] / result["sizes"][smallest][operation]
            table.add(f"{engine} {operation}: {int(largest):,} vs {int(smallest):,} active",
                      f"{growth:.2f}× the cost",
                      f"{zope['sizes'][largest][operation] / zope['sizes'][smallest][operation]:.2f}× zope",
                      f"{growth:.2f}×", f"≤ {GROWTH_TARGET:g}×", growth <= GROWTH_TARGET)
        for floor, what, operation in (("orm", "one ORM query by key", "get"), ("sql", "one SQL query by key", "get"),
                                       ("register", "register's transaction as bare SQL", "register")):
            theirs = zope["sizes"][largest][operation]
            table.add(f"{engine} floor: {what}, {int(largest):,} active", seconds(result["floor"][floor]),
                      f"{seconds(theirs)} zope {operation}", ratio(result["floor"][floor], theirs))
        table.add(f"{engine} cleanup, {expired[0]:,} of {expired[1]:,} expired", seconds(result["cleanup"]),
                  seconds(zope["cleanup"]) + " zope", ratio(result["cleanup"], zope["cleanup"]))
        table.add(f"{engine} cleanup per expired token", seconds(result["cleanup"] / expired[0]),
                  seconds(zope["cleanup"] / expired[0]) + " zope")
    table.notes.append(
        f"{operations} operations per figure (seconds per operation); register: a new object each time "
        "(including the cleanup walk every registration does); get: random existing objects; "
        f"iter_for_principal: a principal holding {TOKENS_PER_PRINCIPAL} tokens, listed."
    )
    table.notes.append("ORM indexes filled with bulk_create (the same rows register writes); zope.locking's "
                       "utility filled with register, in an in-memory ZODB (MappingStorage).")
    return table
