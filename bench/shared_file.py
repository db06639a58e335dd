"""A large shared file: ``manage.py create_tokenset`` pushing tokens that each carry a 2 MB file.

Batches capped by token count alone made one 2 MB file on 240 tokens a 650 MB request, which
killed pouchdb-server (``RangeError: Invalid string length``), and the command peaked at 1.9 GB.
Batches are now capped by ``COUCHDB_BATCH_BYTES`` as well, and the file is encoded once for the
whole push. The command runs as a child process, exactly as an operator runs it, and its peak
resident memory is read from the kernel's accounting of that child (``wait4``); the baseline is
the same command creating the same tokens without the file, in the same run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from .environment import BASE_DIR, bench_user, couch_server
from .inputs import CONFIG, srmlist
from .report import Table
from .timing import seconds

TARGET_MB = 300


def run_command(arguments: list[str], env: dict[str, str], log) -> tuple[float, float, int]:
    """Run ``manage.py`` with ``arguments``; answer its seconds, its CPU seconds and its peak
    resident bytes."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", *arguments], cwd=BASE_DIR, env={**os.environ, **env},
        stdout=log, stderr=log,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        log.seek(0)
        raise RuntimeError(f"manage.py {arguments[0]} failed ({process.returncode}):\n{log.read()[-4000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def run(workdir, *, size: int, file_mb: int) -> Table:
    from django.conf import settings

    from tokens_app.couch import get_gateway

    table = Table(f"Large shared file: create_tokenset, {size:,} tokens each carrying a {file_mb} MB file")
    user = bench_user()
    config, srm_list, shared_file = workdir / "pref_cal1.yaml", workdir / "L229507.srmlist", workdir / "big.bin"
    config.write_bytes(CONFIG)
    srm_list.write_bytes(srmlist(size))
    shared_file.write_bytes(os.urandom(file_mb * 2**20))
    with couch_server(workdir) as server, open(workdir / "commands.log", "w+") as log:
        couch = settings.COUCHDB
        env = {"COUCHDB_URL": server.url, "COUCHDB_USER": couch["USER"], "COUCHDB_PASSWORD": couch["PASSWORD"],
               "COUCHDB_TIMEOUT": str(couch["TIMEOUT"])}
        figures = {}
        for case, attach in (("without", []), ("with", ["--attach", str(shared_file)])):
            database = f"shared_file_{case}"
            get_gateway().create_database(database)
            figures[case] = run_command(
                ["create_tokenset", "--config", str(config), "--srmlist", str(srm_list), "--database", database,
                 "--user", user.get_username(), *attach],
                env, log,
            )
            written = sum(not row["id"].startswith("_design/") for row in get_gateway().iter_all_docs(database))
            if written != size:
                raise RuntimeError(f"{database} holds {written} tokens, not {size}")
        alive = server.running() and server.answers()
    (bare_time, bare_cpu, bare_peak), (file_time, file_cpu, file_peak) = figures["without"], figures["with"]
    table.add("peak resident memory of the command", f"{file_peak / 2**20:.0f} MB",
              f"{bare_peak / 2**20:.0f} MB without the file", f"+{(file_peak - bare_peak) / 2**20:.0f} MB",
              target=f"< {TARGET_MB} MB", met=file_peak < TARGET_MB * 2**20)
    table.add("time of the command", seconds(file_time), f"{seconds(bare_time)} without the file",
              f"{size * file_mb / file_time:,.0f} MB of file/s")
    table.add("CPU time of the command", seconds(file_cpu), f"{seconds(bare_cpu)} without the file",
              f"{file_cpu / file_time:.0%} of its time (the rest waits on the server)")
    table.add("server still answers afterwards", "yes" if alive else "NO", met=alive)
    table.notes.append(
        f"COUCHDB_BATCH_BYTES = {settings.COUCHDB['BATCH_BYTES']:,}, COUCHDB_BATCH_SIZE = "
        f"{settings.COUCHDB['BATCH_SIZE']}, COUCHDB_WRITES_IN_FLIGHT = {settings.COUCHDB['WRITES_IN_FLIGHT']}. "
        "Peak = ru_maxrss of the command's process (wait4), Django start-up included."
    )
    return table
