"""The portal on a database set up as the PiCaS examples set one up, worked by PiCaS 1.1.2 pilots.

The examples (``createViews.py``, ``pushTokens.py`` of the picasclient repository) write their
views into ``_design/Monitor`` (``todo``, ``locked``, ``done``, ``error`` keyed by id, and
``overview_total``) over documents of type ``token``: the design document is not named after the
type, and pilots read ``Monitor/todo`` by default. Each test runs on that shape and on the same
views in a design document named after the type (``_design/token``), which separates what the
name costs from what the views' shape costs. The portal must show the counts right before and
after adoption, and adoption must leave pilots their work: a pilot started after it still finds
and finishes every todo token through the design document it always used.
"""

import json
import re
import subprocess
import sys

import pytest
from django.urls import reverse
from interop_support import (
    HERE,
    PicasPilot,
    api_counts,
    assert_exact,
    assert_views_follow_the_rule,
    connection,
    counts_of,
    dashboard_counts,
    scan,
    selector_counts,
    token_status,
)

from tokens_app.couch import get_gateway
from tokens_app.design import STATE_NAMES
from tokens_app.models import Campaign

TYPE = "token"
TOKENS = 12
FAILING = ("token_3", "token_7")

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def example(database, step, *arguments):
    done = subprocess.run(
        [sys.executable, str(HERE / "picas_example.py"), connection(database), step, *map(str, arguments)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"the PiCaS example's {step} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(params=["Monitor", TYPE], ids=["monitor", "named-after-the-type"])
def picas_database(request, couch_db):
    """The example's views in ``_design/<design>`` and its tokens; a pilot has worked half of
    them (two fail). Answers the database and the design document's name."""
    design = request.param
    assert example(couch_db, "views", design) == ["done", "error", "locked", "overview_total", "todo"]
    assert example(couch_db, "push", TOKENS) == TOKENS
    pilot = PicasPilot(couch_db, design, job_seconds=0, max_tasks=TOKENS // 2, failing=FAILING)
    assert pilot.finish() == TOKENS // 2
    return couch_db, design


def picas_counts(database, design) -> dict:
    """What the example's own views list, view by view."""
    gateway = get_gateway()
    counts = {state: len(gateway.view(database, design, state, reduce=False)["rows"]) for state in STATE_NAMES}
    return {**counts, "total": sum(counts.values())}


def test_adopting_the_picas_example_keeps_the_pilots_working(picas_database, admin_client):
    """Adopting ``_design/Monitor`` makes a campaign of the type it lists (``token``) with its
    own ``_design/token``, and leaves ``_design/Monitor`` byte for byte to the pilots reading it;
    adopting ``_design/token`` makes it the campaign's."""
    database, design = picas_database
    kept = get_gateway().get_doc(database, f"_design/{design}")
    before = assert_exact(
        database, TYPE,
        lambda: token_status(database, design),
        lambda: selector_counts(database, design),
        lambda: dashboard_counts(admin_client, database, design),
    )
    assert before["total"] == TOKENS and before["todo"] == TOKENS // 2

    response = admin_client.post(
        reverse("tokens:design-adopt"), {"database": database, "token_type": design}, follow=True
    )
    page = response.content.decode()
    assert f"Adopted {TYPE} in {database}" in page, re.findall(r'<li class="message[^"]*">(.*?)</li>', page)
    assert (f"the ones _design/{design} lists" in page) == (design != TYPE)
    campaign = Campaign.objects.get(database=database, token_type=TYPE)
    assert response.redirect_chain[-1][0] == campaign.get_absolute_url()
    assert not Campaign.objects.exclude(pk=campaign.pk).exists()
    if design != TYPE:
        assert get_gateway().get_doc(database, f"_design/{design}") == kept
    # After adoption the dashboard's row is the campaign's; token_status counts the same
    # tokens whether asked for the design document or for the campaign.
    shown = (
        lambda: token_status(database, design),
        lambda: token_status(database, TYPE),
        lambda: selector_counts(database, TYPE),
        lambda: dashboard_counts(admin_client, database, TYPE),
        lambda: api_counts(admin_client, campaign),
    )
    assert assert_exact(database, TYPE, *shown) == before
    assert campaign.token_count == TOKENS
    for view in ("todo", "locked", "done", "error", "overview_total"):
        get_gateway().view(database, design, view, limit=1)

    # A pilot started after the adoption, reading the design document it always read, finds
    # and finishes every token still to do; the portal counts them as they end.
    pilot = PicasPilot(database, design, job_seconds=0.2, failing=FAILING)
    assert_exact(database, TYPE, *shown, pilots=[pilot])
    assert pilot.finish() == TOKENS // 2
    after = assert_exact(database, TYPE, *shown)
    assert after["todo"] == 0 and after["locked"] == 0
    assert_views_follow_the_rule(database, TYPE, TYPE)
    if design != TYPE:
        assert get_gateway().get_doc(database, f"_design/{design}") == kept


def test_the_portal_counts_picas_tasks_as_the_examples_views_do(picas_database, admin_client):
    """A finished PiCaS task keeps the ``output: {}`` PiCaS gave it; its ``exit_code`` says how
    it ended. The portal's counts of the example's tokens agree with the example's own views
    before adoption, whatever the design document's name."""
    database, design = picas_database
    own = picas_counts(database, design)
    ended = [row["doc"] for row in get_gateway().iter_all_docs(database, include_docs=True) if row["doc"].get("done")]
    failed = sum(doc["_id"] in FAILING for doc in ended)
    assert own == {"todo": TOKENS - len(ended), "locked": 0, "done": len(ended) - failed, "error": failed,
                   "total": TOKENS}
    assert token_status(database, design) == own
    assert dashboard_counts(admin_client, database, design) == own
    assert counts_of(scan(database, TYPE)) == own
