"""A process that registers lock tokens against the database in ``DATABASE_URL``.

Run by test_lock_concurrency.py, several at once: ``python lock_contender.py MODE NAME ARGS``.
It prints ``ready``, waits for a line on stdin so that all contenders start together, works,
then prints one JSON line of results.

Modes:
  race KEYS...          register an exclusive lock on each key once
  churn COUNT SEED KEYS register COUNT locks on random keys, with durations of 0-40 ms
  report                dump the token rows and the index tables
  hold KEY              lock KEY for alice and bob, then after each line on stdin print what
                        that same token object says of itself (principals, ended)
  change KEY            in a process of its own: remove bob from the lock of KEY
  end KEY               in a process of its own: end the lock of KEY
"""

import datetime
import json
import os
import random
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenportal.settings")
django.setup()

from django.conf import settings  # noqa: E402

if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Eight writers on one SQLite file of a busy CI machine can wait longer for the write lock
    # than the portal's 20 s; this soak checks who wins, not how long SQLite makes them wait.
    settings.DATABASES["default"]["OPTIONS"]["timeout"] = 120

from locks_app import tokens  # noqa: E402 (needs django.setup)
from locks_app.interfaces import RegistrationError  # noqa: E402
from locks_app.models import LockedObject, LockPrincipal, LockToken  # noqa: E402
from locks_app.utility import TokenUtility  # noqa: E402


def race(name, keys):
    util, won, refused = TokenUtility(), [], 0
    for key in keys:
        try:
            util.register(tokens.ExclusiveLock(key, name))
            won.append(key)
        except RegistrationError:
            refused += 1
    return {"won": won, "refused": refused}


def churn(name, count, seed, keys):
    util, rng, won, refused = TokenUtility(), random.Random(seed), 0, 0
    for _ in range(count):
        duration = datetime.timedelta(milliseconds=rng.randrange(0, 40))
        try:
            util.register(tokens.ExclusiveLock(rng.choice(keys), name, duration))
            won += 1
        except RegistrationError:
            refused += 1
    return {"won": won, "refused": refused}


def report():
    def stamp(moment):
        return moment.isoformat() if moment else None

    return {
        "tokens": [
            {"id": row.pk, "key": row.object_key, "principals": row.principal_ids,
             "started": stamp(row.started), "expiration": stamp(row.expiration),
             "ended_at": stamp(row.ended_at), "end_reason": row.end_reason}
            for row in LockToken.objects.order_by("pk")
        ],
        "locked": [
            {"key": row.object_key, "token": row.token_id, "expiration": stamp(row.expiration)}
            for row in LockedObject.objects.all()
        ],
        "principals": sorted(LockPrincipal.objects.values_list("principal_id", "token_id")),
        "now": stamp(datetime.datetime.now(datetime.UTC)),
    }


def hold(key):
    token = TokenUtility().register(tokens.SharedLock(key, ["alice", "bob"], datetime.timedelta(hours=1)))
    print("ready", flush=True)
    while sys.stdin.readline():
        seen = {"principals": sorted(token.principal_ids), "ended": token.ended is not None}
        print(json.dumps(seen), flush=True)


def main(mode, *args):
    if mode == "report":
        result = report()
    elif mode == "hold":
        return hold(*args)
    elif mode in ("change", "end"):
        token = TokenUtility().get(args[0])
        if mode == "change":
            token.remove(["bob"])
        else:
            token.end()
        result = {"done": mode}
    else:
        print("ready", flush=True)
        sys.stdin.readline()
        name, *rest = args
        if mode == "race":
            result = race(name, rest)
        else:
            count, seed, *keys = rest
            result = churn(name, int(count), int(seed), keys)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
