"""The bundled pouchdb-server with the portal's preloads against the same server without them.

Two servers side by side in one run, the same work on each:
- building the portal's ``todo`` view (``_design/<type>``) and ``states`` view
  (``_design/tokenportal``) over a campaign's tokens: pouchdb-mapreduce runs each map function
  in a new V8 context per document; ``couchdb/compiled-views.js`` compiles it once;
- pilots claiming and finishing tokens that all carry the same file: pouchdb's LevelDB adapter
  rewrites the file's list of every revision that refers to it on each write;
  ``couchdb/small-attachment-refs.js`` keeps one reference instead.
Both servers run without the validation part, as the portal's own does (see the scale benchmark
for that one).
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from pathlib import Path

import requests

from devtools.localcouch import COMPILED_VIEWS, POUCHDB_SERVER, SMALL_ATTACHMENT_REFS, WITHOUT_VALIDATION, free_port
from tokens_app.couch import couch_url, database_path, document_path, view_path
from tokens_app.design import PORTAL_DESIGN, STATES_VIEW, build_portal_design_doc, type_views

from .report import Table
from .timing import seconds, timed

TOKEN_TYPE = "bench"
DATABASE = "local_server"
BATCH = 500
FILE = base64.b64encode(b"# the job's parset\n" + b"x" * 4000).decode()


class Server:
    """A pouchdb-server of its own (admin party: no session to set up), with or without preloads."""

    def __init__(self, workdir: Path, preloads: list[Path]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (workdir / "data").mkdir(parents=True)
        options = " ".join(f"--require={path}" for path in preloads)
        env = {**os.environ, "NODE_OPTIONS": f"{os.environ.get('NODE_OPTIONS', '')} {options}".strip()}
        self.process = subprocess.Popen(
            [str(POUCHDB_SERVER), "--host", "127.0.0.1", "--port", str(self.port), "--dir", str(workdir / "data")],
            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.http = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.http.get(self.url, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"pouchdb-server on {self.url} did not start")
            time.sleep(0.1)

    def send(self, method: str, path: tuple[str, ...], **kwargs) -> dict:
        response = self.http.request(method, couch_url(self.url, path), timeout=600, **kwargs)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def _fill(server: Server, tokens: int) -> None:
    server.send("PUT", database_path(DATABASE))
    attachment = {"parset": {"content_type": "text/plain", "data": FILE}}
    for start in range(0, tokens, BATCH):
        docs = [{"_id": f"token_{number:06d}", "type": TOKEN_TYPE, "lock": 0, "done": 0, "_attachments": attachment}
                for number in range(start, min(tokens, start + BATCH))]
        server.send("POST", (*database_path(DATABASE), "_bulk_docs"), json={"docs": docs})
    server.send("PUT", document_path(DATABASE, f"_design/{TOKEN_TYPE}"), json={"views": type_views(TOKEN_TYPE)})
    server.send("PUT", document_path(DATABASE, f"_design/{PORTAL_DESIGN}"), json=build_portal_design_doc())


def _build(server: Server) -> float:
    """Seconds to build the todo and states views from nothing."""
    def query_both():
        server.send("GET", view_path(DATABASE, TOKEN_TYPE, "todo"), params={"limit": 0})
        server.send("GET", view_path(DATABASE, PORTAL_DESIGN, STATES_VIEW), params={"limit": 0, "reduce": "false"})
    return timed(query_both)[0]


def _pilot_cycles(server: Server, cycles: int) -> float:
    """Seconds for ``cycles`` claims and finishes, one after another, as a pilot writes them."""
    def work():
        for _ in range(cycles):
            row = server.send("GET", view_path(DATABASE, TOKEN_TYPE, "todo"),
                              params={"limit": 1, "include_docs": "true"})["rows"][0]
            doc = row["doc"]
            doc.update(lock=int(time.time()), hostname="bench", status="running")
            doc["_rev"] = server.send("PUT", document_path(DATABASE, doc["_id"]), json=doc)["rev"]
            doc.update(done=int(time.time()), exit_code=0, status="done")
            server.send("PUT", document_path(DATABASE, doc["_id"]), json=doc)
    return timed(work)[0]


def run(workdir: Path, *, tokens: int, cycles: int) -> Table:
    table = Table(f"Local server: the portal's preloads against pouchdb-server as shipped ({tokens:,} tokens)",
                  echo=True)
    servers = {
        "portal": Server(workdir / "portal", [COMPILED_VIEWS, SMALL_ATTACHMENT_REFS, WITHOUT_VALIDATION]),
        "stock": Server(workdir / "stock", [WITHOUT_VALIDATION]),
    }
    try:
        for server in servers.values():
            _fill(server, tokens)
        build = {name: _build(server) for name, server in servers.items()}
        table.add(f"build the todo and states views over {tokens:,} tokens", seconds(build["portal"]),
                  seconds(build["stock"]) + " as shipped", f"{build['portal'] / build['stock']:.2f}×")
        # Twice: the list of references the shipped server rewrites grows with every write.
        for round_number in (1, 2):
            took = {name: _pilot_cycles(server, cycles) for name, server in servers.items()}
            table.add(f"{cycles} pilot claims and finishes, tokens sharing one file (round {round_number})",
                      seconds(took["portal"]), seconds(took["stock"]) + " as shipped",
                      f"{took['portal'] / took['stock']:.2f}×")
    finally:
        for server in servers.values():
            server.stop()
    table.notes.append(
        "Each server is a pouchdb-server 4.2.0 of its own without its validation part; the portal's also has "
        "couchdb/compiled-views.js and couchdb/small-attachment-refs.js preloaded, as `make run`, the tests and "
        "the other benchmarks start it."
    )
    return table
