"""The commands a newcomer runs first: ``token_status`` without ``--type`` lists every campaign,
``simulate_pilots`` shows its progress while the pilots run (issue 16, item 3)."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tokens_app.design import build_design_doc
from tokens_app.models import Campaign

pytestmark = pytest.mark.django_db
TYPE = "pref_cal1"


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def listed_with_failure(*args) -> tuple[str, str]:
    """What a command printed before it failed, and its one-line error."""
    out = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue(), str(error.value)


@pytest.fixture
def demo(couch_db, superuser):
    """The campaign ``seed_demo`` makes, a newcomer's first step, rather than the suite's
    ``campaign``: these tests are of what the newcomer runs next, on what the demo left."""
    run("seed_demo", "--database", couch_db)
    return Campaign.objects.get(database=couch_db)


def test_token_status_without_type_lists_every_campaign(demo, couch_db, gateway):
    archived = Campaign.objects.create(token_type="old_run", database=couch_db, status=Campaign.Status.ARCHIVED)
    # A campaign whose database went away under the portal: listed, its counts unknown, and the
    # command fails with the reason once the list is printed.
    broken = Campaign.objects.create(token_type="lost", database=f"{couch_db}_gone")
    run("simulate_pilots", "--type", TYPE, "--database", couch_db, "--workers", "2", "--job-seconds", "0",
        "--failure-rate", "0", "--max-tokens", "3")

    listed, error = listed_with_failure("token_status", "--json")
    reports = json.loads(listed)
    assert error.startswith(f"1 campaign(s) could not be counted, the first: database '{couch_db}_gone' does not exist")
    assert "\n" not in error
    by_type = {r["type"]: r for r in reports}
    assert set(by_type) >= {TYPE, "old_run", "lost"}
    assert by_type[TYPE] == {
        "type": TYPE, "database": couch_db, "state": "ready",
        "counts": {"todo": demo.token_count - 3, "locked": 0, "done": 3, "error": 0}, "total": demo.token_count,
    }
    assert by_type["old_run"]["counts"] == {"todo": 0, "locked": 0, "done": 0, "error": 0}
    assert by_type["lost"]["counts"] is None and by_type["lost"]["total"] is None

    table = listed_with_failure("token_status")[0].splitlines()
    assert table[0].split() == ["type", "database", "state", "todo", "locked", "done", "error", "total"]
    row = next(line.split() for line in table if line.startswith(TYPE))
    assert row == [TYPE, couch_db, "ready", str(demo.token_count - 3), "0", "3", "0", str(demo.token_count)]
    assert next(line.split() for line in table if line.startswith("lost"))[3:] == ["?"] * 5
    # The numbers are right-aligned under their header: every line ends in the same column.
    assert len({len(line) for line in table}) == 1

    only = json.loads(run("token_status", "--database", couch_db, "--json")[0])
    assert {r["type"] for r in only} == {TYPE, "old_run"}
    assert archived.status == "archived" and broken.database not in {r["database"] for r in only}


def test_token_status_without_type_and_no_campaign_says_how_to_make_one(couch_db):
    assert "No campaigns in database 'nowhere' yet: create one with create_tokenset or seed_demo" in run(
        "token_status", "--database", "nowhere")[0]
    assert json.loads(run("token_status", "--database", "nowhere", "--json")[0]) == []


def test_token_status_garbage_is_refused(couch_db):
    with pytest.raises(CommandError, match="control character"):
        run("token_status", "--database", "bad\x01name")
    with pytest.raises(CommandError, match="unrecognized arguments: --types"):
        run("token_status", "--types", "x")


def test_simulate_pilots_draws_live_progress_on_stderr(demo, couch_db):
    out, err = run("simulate_pilots", "--type", TYPE, "--database", couch_db, "--workers", "2",
                   "--job-seconds", "0.3", "--max-tokens", "8")
    frames = [frame for frame in err.split("\r") if frame.strip()]
    # Drawn while the pilots ran (several frames, counting up), ended at the whole budget.
    assert len(frames) >= 3, err
    finished = [int(frame.split("] ")[1].split("/")[0]) for frame in frames]
    assert finished == sorted(finished) and finished[0] < 8 and finished[-1] == 8
    assert all(frame.split("] ")[1].strip().endswith("/8 tokens") for frame in frames)
    assert err.endswith("\n") and "2 pilots processed 8 tokens" in out


def test_simulate_pilots_on_a_finished_campaign_draws_nothing(couch_db, gateway, superuser):
    gateway.put_doc(couch_db, build_design_doc("empty"))
    out, err = run("simulate_pilots", "--type", "empty", "--database", couch_db, "--workers", "1")
    assert err == "" and "1 pilots processed 0 tokens" in out


def test_simulate_pilots_counts_along_on_a_design_document_without_the_overview_view(couch_db, gateway, superuser):
    design = build_design_doc("bare")
    del design["views"]["overview_total"]
    gateway.put_doc(couch_db, design)
    gateway.bulk_docs(couch_db, [{"_id": f"b{n}", "type": "bare", "lock": 0, "done": 0} for n in range(6)])
    out, err = run("simulate_pilots", "--type", "bare", "--database", couch_db, "--workers", "2",
                   "--job-seconds", "0.3", "--failure-rate", "0")
    assert "2 pilots processed 6 tokens: 6 done, 0 error." in out
    assert "6 tokens processed" in err and err.endswith("\n")


def test_the_progress_bar_draws_a_frame_only_when_the_count_moves():
    from django.core.management.base import OutputWrapper

    from tokens_app.management.progress import ProgressBar

    stream = io.StringIO()
    with ProgressBar(OutputWrapper(stream), batch_size=1, total=10) as progress:
        for done in (1, 1, 1, 2, 2, 10):
            progress(done)
    frames = [frame for frame in stream.getvalue().split("\r") if frame.strip()]
    assert [frame.split("] ")[1].strip() for frame in frames] == ["1/10 tokens", "2/10 tokens", "10/10 tokens"]
