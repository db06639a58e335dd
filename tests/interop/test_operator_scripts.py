"""GRID_LRT scripts on a campaign the portal made, while PiCaS 1.1.2 pilots work it.

What operators do with GRID_LRT 0.5.1 (``TokenHandler.load_views``, ``reset_tokens`` of each view,
``set_view_to_status``, ``TokenSet.tokens``, the grouped ``overview_total``) and with 1.0.7
(``TokenList`` reset-and-save of each view, an own ``TokenView``, ``get_all_remote_tokens``) runs
beside a PiCaS pilot on a campaign made by ``create_tokenset``. GRID_LRT reads each row's key of
a state view as a document id and every view of ``_design/<type>`` but ``overview_total`` as a
list of tokens, so those steps work only if the design document holds what GRID_LRT expects. At
each step the portal's counts (``token_status``, the selectors, the dashboard, the counts API)
equal a full scan under the portal's state rule, and the views pilots and GRID_LRT read list each
token in the view of its state.
"""

import io
import re

import pytest
from django.core.management import call_command
from interop_support import (
    EXAMPLES,
    PicasPilot,
    api_counts,
    assert_exact,
    assert_views_follow_the_rule,
    dashboard_counts,
    ids_in,
    page,
    quiet_scan,
    scan,
    selector_counts,
    token_status,
)

from tokens_app.couch import get_gateway
from tokens_app.design import STATE_NAMES
from tokens_app.models import Campaign

TYPE = "pref_cal1"
# The example list in slices of 8 subbands: 31 tokens, SB000 to SB240.
TOKENS = 31
FAILING = ("SB016", "SB096", "SB200")

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def campaign(couch_db, admin_user):
    """The whole example list in slices of 8, made by the create_tokenset command as operators
    do before running their scripts (not the shared factory's twelve tokens)."""
    call_command(
        "create_tokenset", "--config", EXAMPLES / "pref_cal1.yaml", "--srmlist", EXAMPLES / "L229507.srmlist",
        "--database", couch_db, "--slice-size", "8", "--user", admin_user.username,
        stdout=io.StringIO(), stderr=io.StringIO(),
    )
    return Campaign.objects.get(database=couch_db, token_type=TYPE)


@pytest.fixture
def pilots():
    """Start PiCaS pilots; any a failing test leaves running are ended."""
    started = []

    def start(database, **options):
        pilot = PicasPilot(database, TYPE, **options)
        started.append(pilot)
        return pilot

    yield start
    for pilot in started:
        pilot.stop()


def readings(client, campaign):
    """Every place the portal shows the campaign's counts."""
    def command():
        return token_status(campaign.database, TYPE)

    def selectors():
        return selector_counts(campaign.database, TYPE)

    def dashboard():
        return dashboard_counts(client, campaign.database, TYPE)

    def counts_api():
        return api_counts(client, campaign)

    return command, selectors, dashboard, counts_api


def test_grid_lrt_0_5_1_scripts_beside_picas_pilots(grid_lrt_051, campaign, admin_client, pilots):
    database = campaign.database
    lrt = lambda *step: grid_lrt_051(database, TYPE, *step)  # noqa: E731
    shown = readings(admin_client, campaign)
    all_ids = sorted(scan(database, TYPE))
    assert len(all_ids) == TOKENS
    assert_exact(database, TYPE, *shown)

    # What a script does first: load the views; then the set's tokens, every one once.
    assert set(STATE_NAMES) <= set(lrt("load_views"))
    assert lrt("tokens") == all_ids

    pilot = pilots(database, job_seconds=0.3, max_tasks=12, failing=FAILING)
    # While the pilot works: the script lists and resets what is locked, and turns locked tokens
    # into errors, the counts exact between each step.
    for step in (("tokens",), ("reset", "locked"), ("set_view_to_status", "locked", "error"), ("reset", "error")):
        assert_exact(database, TYPE, *shown, pilots=[pilot])
        answer = lrt(*step)
        if step == ("tokens",):
            assert set(answer) <= set(all_ids)
    pilot.finish()
    counts = assert_exact(database, TYPE, *shown)
    assert counts["done"] + counts["error"] > 0
    assert_views_follow_the_rule(database, TYPE, TYPE)
    assert lrt("tokens") == all_ids
    # GRID_LRT's scripts read overview_total grouped by state: the portal's state names and counts.
    assert lrt("overview") == {state: number for state, number in counts.items() if state != "total" and number}

    # Each view reset in turn, the way a script puts a campaign back to work, while a second
    # pilot takes the tokens as they come back; held for the reset itself, the pilot leaves the
    # view as the script reads it, so the script resets exactly the tokens of that state.
    second = pilots(database, job_seconds=0.2, failing=FAILING)
    for view in ("error", "done", "locked", "todo"):
        assert_exact(database, TYPE, *shown, pilots=[second])
        second.pause()
        expected = len(ids_in(quiet_scan(database, TYPE), view))
        assert lrt("reset", view) == expected, view
        second.resume()
    second.finish()
    assert_exact(database, TYPE, *shown)
    assert_views_follow_the_rule(database, TYPE, TYPE)
    # set_view_to_status marks finished tokens "error" (and sets lock 1): under the portal's rule
    # they are errors now.
    before = assert_exact(database, TYPE, *shown)
    assert lrt("set_view_to_status", "done", "error") == before["done"]
    counts = assert_exact(database, TYPE, *shown)
    assert counts["done"] == 0 and counts["error"] == before["error"] + before["done"]
    assert_views_follow_the_rule(database, TYPE, TYPE)
    assert lrt("tokens") == all_ids
    views_readded_and_restored(lrt, admin_client, campaign, shown)


def test_grid_lrt_1_0_7_token_lists_beside_picas_pilots(grid_lrt_107, campaign, admin_client, pilots):
    database = campaign.database
    lrt = lambda *step: grid_lrt_107(database, TYPE, *step)  # noqa: E731
    shown = readings(admin_client, campaign)
    all_ids = sorted(scan(database, TYPE))
    assert_exact(database, TYPE, *shown)

    # Opening a TokenList writes GRID_LRT's version into the design document: the portal must
    # keep counting right over that edit.
    assert set(STATE_NAMES) <= set(lrt("views"))
    assert lrt("tokens") == all_ids
    assert_exact(database, TYPE, *shown)

    pilot = pilots(database, job_seconds=0.3, max_tasks=15, failing=FAILING)
    assert_exact(database, TYPE, *shown, pilots=[pilot])
    # Resetting the done and error tokens while the pilot runs (it never writes those again).
    for view in ("error", "done"):
        lrt("reset", view)
        assert_exact(database, TYPE, *shown, pilots=[pilot])
    # Resetting locked tokens while their pilot is held (a TokenList save of a token changed
    # meanwhile fails, as it would on the grid); the pilot's own save then conflicts.
    pilot.pause()
    locked = ids_in(quiet_scan(database, TYPE), "locked")
    assert lrt("reset", "locked") == len(locked)
    pilot.resume()
    pilot.finish()
    counts = assert_exact(database, TYPE, *shown)
    assert counts["done"] + counts["error"] > 0
    assert_views_follow_the_rule(database, TYPE, TYPE)

    # An operator's own TokenView (map, keyed by id) in the type's design document: GRID_LRT lists
    # it, the portal keeps counting right and can act on the tokens it lists.
    lrt("add_view", "scrubbed", "doc.scrub_count > 0")
    scrubbed = sorted(token_id for token_id in all_ids if _scrub_count(database, token_id) > 0)
    assert lrt("list_view", "scrubbed") == scrubbed
    assert_exact(database, TYPE, *shown)
    call_command("reset_tokens", "--type", TYPE, "--database", database, "--view", "scrubbed", "--yes",
                 stdout=io.StringIO(), stderr=io.StringIO())
    assert_exact(database, TYPE, *shown)
    assert_views_follow_the_rule(database, TYPE, TYPE)
    assert lrt("tokens") == all_ids

    # Every token through again, then every error reset the GRID_LRT 1.0 way.
    last = pilots(database, job_seconds=0.1, failing=FAILING)
    last.finish()
    counts = assert_exact(database, TYPE, *shown)
    assert counts["todo"] == 0 and counts["error"] == len(FAILING)
    assert lrt("reset", "error") == len(FAILING)
    counts = assert_exact(database, TYPE, *shown)
    assert counts["todo"] == len(FAILING)
    assert_views_follow_the_rule(database, TYPE, TYPE)
    views_readded_and_restored(lrt, admin_client, campaign, shown)


def views_readded_and_restored(lrt, client, campaign, shown):
    """A script re-adds GRID_LRT's views over the campaign's: the counts stay exact, the campaign
    page says the portal restored its views, and they follow its rule again."""
    lrt("add_views")
    assert_exact(campaign.database, TYPE, *shown)
    assert re.search(r"restored", page(client, campaign.get_absolute_url()), re.IGNORECASE)
    assert_views_follow_the_rule(campaign.database, TYPE, TYPE)


def _scrub_count(database, token_id):
    return get_gateway().get_doc(database, token_id).get("scrub_count", 0)
