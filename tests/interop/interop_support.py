"""What the side-by-side tests share: the truth of a database, the portal's counts as its pages and
commands show them, PiCaS pilots in processes of their own.

The truth is a full scan: every document of the type, each given its state by the portal's one
rule (``tokens_app.design.state_of``). The portal's counts are read where operators read them:
``token_status --json``, the selectors, the dashboard's state bars, the counts API and the
campaign page. Pages read the read model, which the test's changes follower brings up to date
before each request, as deployment's follower does a round later. The tests compare them at moments no write is under way: the pilots are paused
(SIGSTOP) and the scan is taken twice around the portal's reading, retried until no document
changed in between (a write still in flight when the pilot stopped lands meanwhile).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from tokens_app import selectors
from tokens_app.couch import get_gateway
from tokens_app.design import STATE_NAMES, state_of
from tokens_app.models import Campaign
from tokens_app.tokensets import TokenSet

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"
QUIET_ATTEMPTS = 20


def scan(database: str, token_type: str) -> dict[str, tuple[str, str]]:
    """Every document of the type: ``{id: (revision, state)}``, design documents left out."""
    return {
        row["id"]: (row["doc"]["_rev"], state_of(row["doc"]))
        for row in get_gateway().iter_all_docs(database, include_docs=True)
        if not row["id"].startswith("_design/") and (row.get("doc") or {}).get("type") == token_type
    }


def quiet_scan(database: str, token_type: str) -> dict[str, tuple[str, str]]:
    """A scan no write changed while it ran (a write in flight when a pilot was paused lands
    meanwhile)."""
    for _ in range(QUIET_ATTEMPTS):
        first = scan(database, token_type)
        if scan(database, token_type) == first:
            return first
    raise AssertionError("the database never stood still")


def counts_of(scanned: dict) -> dict:
    counts = dict.fromkeys(STATE_NAMES, 0)
    for _, state in scanned.values():
        counts[state] += 1
    return {**counts, "total": len(scanned)}


def ids_in(scanned: dict, *states: str) -> list[str]:
    return sorted(token_id for token_id, (_, state) in scanned.items() if state in states)


def token_status(database: str, token_type: str) -> dict:
    """``token_status --json`` as counts with their total."""
    out = io.StringIO()
    call_command("token_status", "--type", token_type, "--database", database, "--json", stdout=out)
    report = json.loads(out.getvalue())
    return {**report["counts"], "total": report["total"]}


def selector_counts(database: str, token_type: str) -> dict:
    """The selectors' counts (what the dashboard and the campaign page are given): of the
    campaign, or of the type a design document of that name lists when no campaign has it."""
    campaign = Campaign.objects.filter(database=database, token_type=token_type).first()
    return selectors.overview_counts(campaign or TokenSet(
        database=database, token_type=selectors.design_counted_type(database, token_type)))


_COUNT = re.compile(r'data-count="(todo|locked|done|error|total)">(\d+)<')


def bar_counts(html: str) -> dict:
    """The counts of the first state bar in ``html``."""
    counts = {}
    for state, number in _COUNT.findall(html):
        counts.setdefault(state, int(number))
    return counts


def page(client, url: str, **params) -> str:
    """A page as it is now (the test's follower catches up before each request)."""
    return client.get(url, params).content.decode()


def dashboard_counts(client, database: str, token_type: str) -> dict:
    """The counts the dashboard shows in the row of this type and database (a campaign's or a
    design document's found in CouchDB)."""
    rows = [
        row for row in page(client, reverse("tokens:dashboard")).split("<tr>")
        if f"<code>{database}</code>" in row and f"<strong>{token_type}</strong>" in row
    ]
    assert len(rows) == 1, f"the dashboard shows {len(rows)} rows of {token_type} in {database}"
    return bar_counts(rows[0])


def api_counts(client, campaign: Campaign) -> dict:
    answer = client.get(reverse("tokens:api-counts"), {"ids": campaign.pk}).json()
    return answer["campaigns"][str(campaign.pk)]


def campaign_page_counts(client, campaign: Campaign) -> dict:
    return bar_counts(page(client, campaign.get_absolute_url()))


def assert_exact(database: str, token_type: str, *readings, pilots=()) -> dict:
    """Every reading (a function of no arguments answering counts) equals the full scan, taken
    while ``pilots`` are paused and no document changes; the scan's counts."""
    with paused(pilots):
        for _ in range(QUIET_ATTEMPTS):
            before = scan(database, token_type)
            seen = [reading() for reading in readings]
            if scan(database, token_type) == before:
                break
        else:
            raise AssertionError("the database never stood still while the pilots were paused")
    truth = counts_of(before)
    for reading, counts in zip(readings, seen):
        shown = {state: counts.get(state) for state in truth}
        assert shown == truth, f"{getattr(reading, '__name__', reading)} shows {shown}, a full scan finds {truth}"
    return truth


def assert_views_follow_the_rule(database: str, design: str, token_type: str) -> None:
    """The ``todo``, ``locked``, ``done`` and ``error`` views of ``_design/<design>`` (the ones
    pilots and GRID_LRT read) list each token by id in the view of its state, and nothing else."""
    scanned = scan(database, token_type)
    gateway = get_gateway()
    for state in STATE_NAMES:
        rows = gateway.view(database, design, state, reduce=False)["rows"]
        listed = sorted(row["id"] for row in rows)
        assert listed == ids_in(scanned, state), f"the {state} view of _design/{design} lists {listed}"
        assert all(row["key"] == row["id"] for row in rows), f"the {state} view of _design/{design} is not keyed by id"


def connection(database: str, token_type: str = "") -> str:
    couch = settings.COUCHDB
    return json.dumps({
        "url": couch["URL"], "user": couch["USER"], "password": couch["PASSWORD"],
        "database": database, "type": token_type,
    })


class PicasPilot:
    """A PiCaS 1.1.2 pilot (picas_pilot.py) working a database in a process of its own."""

    def __init__(self, database: str, design: str, *, job_seconds=0.3, max_tasks=0, failing=()):
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "picas_pilot.py"), connection(database), design, str(job_seconds),
             str(max_tasks), ",".join(failing)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def pause(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def finish(self, timeout=300) -> int:
        """Wait for the pilot to stop; how many tasks it processed."""
        self.resume()
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, f"the PiCaS pilot failed:\n{err[-3000:]}"
        return int(out.split()[-1])

    def stop(self) -> None:
        """End a pilot a failed test left running."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.communicate()


@contextmanager
def paused(pilots):
    for pilot in pilots:
        pilot.pause()
    try:
        yield
    finally:
        for pilot in pilots:
            pilot.resume()
