"""``python -m bench``: run the benchmarks, print a table each, optionally write docs/benchmarks.md.

    python -m bench                    # everything at full size, writes docs/benchmarks.md
    python -m bench --quick            # a tiny smoke run of everything (seconds)
    python -m bench --only locks --sizes 1000,10000
    python -m bench --only shared_file     # 5,000 tokens each carrying a 2 MB file
    python -m bench --only scale --sizes 1,10,50   # numbers of campaigns in one database
    python -m bench --only scale --sizes 1,50 --tokens 2000 --validation off   # the issue's sizes
    python -m bench --only pages --sizes 10000   # the campaign page of 10,000 tokens (default 100,000)
    python -m bench --only local_server    # the bundled server's preloads against it as shipped
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from .environment import configure_django, couch_engine, orm_engine
from .report import machine, write_docs

BENCHMARKS = (
    "creation", "counting", "locks", "memory", "shared_file", "operations", "scale", "local_server", "read_model",
    "pages",
)
FULL = {
    "creation": {"sizes": [1_000, 10_000], "per_token_sample": 1_000},
    "counting": {"sizes": [10_000, 100_000], "campaign_sizes": [10, 1_000], "repeat": 5},
    "locks": {"sizes": [1_000, 10_000, 100_000], "operations": 300, "expired": (10_000, 100_000)},
    "memory": {"size": 100_000},
    "shared_file": {"size": 5_000, "file_mb": 2},
    "operations": {"sizes": [10_000], "latency_samples": 15},
    # The 50 × 2,000 takes far more than a few minutes on 2 cores: smaller by default.
    "scale": {"campaign_counts": [1, 10, 50], "tokens": 200, "pilot_tokens": 60},
    "local_server": {"tokens": 5_000, "cycles": 300},
    "read_model": {"sizes": [100_000], "repeat": 3, "lag_tokens": 400, "probes": 40},
    # The sizes: a dashboard of 50 campaigns × 2,000 tokens, a campaign page of 100,000.
    "pages": {"campaigns": 50, "tokens": 2_000, "size": 100_000, "loads": 20, "repeat": 3},
}
QUICK = {
    "creation": {"sizes": [30], "per_token_sample": 10},
    "counting": {"sizes": [40], "campaign_sizes": [2, 6], "repeat": 1, "campaigns": 3},
    "locks": {"sizes": [50, 200], "operations": 20, "expired": (20, 200)},
    "memory": {"size": 200},
    "shared_file": {"size": 20, "file_mb": 2},
    "operations": {"sizes": [30], "latency_samples": 2},
    "scale": {"campaign_counts": [1, 3], "tokens": 10, "pilot_tokens": 3, "validation": "off"},
    "local_server": {"tokens": 20, "cycles": 5},
    "read_model": {"sizes": [30], "repeat": 1, "lag_tokens": 8, "probes": 3},
    "pages": {"campaigns": 3, "tokens": 20, "size": 60, "loads": 2, "repeat": 1},
}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, figures meaningless")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated benchmarks to run (of {', '.join(BENCHMARKS)})")
    parser.add_argument("--sizes", help="comma-separated token counts replacing the chosen benchmarks' sizes")
    parser.add_argument("--tokens", type=int, help="tokens per campaign of the scale benchmark")
    parser.add_argument("--validation", choices=("on", "off", "both"),
                        help="scale: pouchdb-server with its validation part, without, or both (default)")
    parser.add_argument("--write-docs", action="store_true",
                        help="write the tables to docs/benchmarks.md (a full run of all benchmarks always does)")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def options_for(name: str, args) -> dict:
    options = dict((QUICK if args.quick else FULL)[name])
    if args.sizes:
        sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
        if name == "local_server":
            options["tokens"] = max(sizes)
        elif name in ("memory", "shared_file", "pages"):
            options["size"] = max(sizes)
        else:
            options["sizes"] = sizes
    if name == "scale":
        options.update({key: value for key, value in (("tokens", args.tokens), ("validation", args.validation))
                        if value is not None})
    return options


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # A terminated run (a timeout, kill) still stops the pouchdb-servers it started: they would
    # go on indexing and take a core from whatever runs next.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    tables = []
    with tempfile.TemporaryDirectory(prefix="tokenportal-bench-") as tmp:
        workdir = Path(tmp)
        configure_django(workdir)
        facts = {**machine(), "CouchDB server (COUCHDB_ENGINE)": couch_engine(), "ORM database (DATABASE_URL)": orm_engine()}
        print("\n".join(f"{name}: {value}" for name, value in facts.items()), end="\n\n", flush=True)
        for name in args.only:
            from importlib import import_module

            module = import_module(f"bench.{name}")
            begun = time.monotonic()
            (workdir / name).mkdir()
            table = module.run(workdir / name, **options_for(name, args))
            table.notes.append(f"This benchmark took {time.monotonic() - begun:.0f} s.")
            print(table.text(), end="\n\n", flush=True)
            tables.append(table)
    elapsed = time.monotonic() - started
    print(f"All benchmarks took {elapsed:.0f} s.")
    full_run = not args.quick and not args.sizes and args.only == list(BENCHMARKS)
    if args.write_docs or full_run:
        command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
        print(f"Wrote {write_docs(tables, facts=facts, command=command.strip(), elapsed=elapsed)}")
    misses = [f"{table.title}: {row.case}" for table in tables for row in table.misses]
    if misses:
        print("Targets missed:\n  " + "\n  ".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
