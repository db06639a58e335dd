"""The token management commands, end to end against the session's CouchDB server.

Commands are called with ``call_command`` (argument errors then arrive as CommandError); a few
run as real ``manage.py`` processes to check exit codes and that errors are one line.
"""

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from locks_app.tokens import ExclusiveLock
from locks_app.utility import TokenUtility
from tokens_app.design import build_design_doc, state_of
from tokens_app.models import Campaign

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TYPE = "pref_cal1"
COMMANDS = [
    "create_tokenset", "token_status", "reset_tokens", "scrub_tokens", "set_token_status", "set_token_field",
    "attach_to_tokens", "delete_tokens", "add_token_view", "archive_tokens", "purge_tokens", "seed_demo",
    "simulate_pilots",
]

pytestmark = pytest.mark.django_db


def run(*args):
    """Run a command; its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def status_json(db, token_type=TYPE):
    return json.loads(run("token_status", "--type", token_type, "--database", db, "--json")[0])


@pytest.fixture
def campaign(couch_db, superuser):
    """The example campaign made by create_tokenset, one token per subband of the whole list.

    Not the suite's ``campaign`` (twelve tokens made through the services): these tests are of
    the commands, so their campaign is what the command makes and records."""
    run("create_tokenset", "--config", EXAMPLES / "pref_cal1.yaml", "--srmlist", EXAMPLES / "L229507.srmlist",
        "--database", couch_db, "--user", "root")
    return Campaign.objects.get(token_type=TYPE, database=couch_db)


def token_ids(gateway, campaign):
    return [row["id"] for row in gateway.iter_view(campaign.database, campaign.token_type, "todo")]


def finish(gateway, campaign, ids, **fields):
    """Write what a pilot writes at the end of a job to the tokens ``ids``."""
    docs = gateway.fetch_docs(campaign.database, ids)
    now = int(time.time())
    gateway.bulk_docs(campaign.database, [{**docs[i], "lock": now, "done": now, **fields} for i in ids])


# -- every command --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_installed_and_explains_itself(name):
    app = "devtools" if name in ("seed_demo", "simulate_pilots") else "tokens_app"
    assert get_commands()[name] == app
    usage = load_command_class(app, name).create_parser("manage.py", name).format_help()
    assert "--database" in usage and "--type" in usage


@pytest.mark.parametrize("name", [n for n in COMMANDS if n not in ("create_tokenset", "seed_demo")])
def test_unknown_campaign_is_one_clear_error(name, couch_db, superuser):
    extra = {"set_token_status": ["queued"], "set_token_field": ["f", "1"], "attach_to_tokens": [__file__],
             "add_token_view": ["v", "true"], "scrub_tokens": ["--older-than", "1h"]}.get(name, [])
    with pytest.raises(CommandError, match="type 'nope'") as error:
        run(name, "--type", "nope", "--database", couch_db, *extra)
    assert "\n" not in str(error.value)


# -- create_tokenset ------------------------------------------------------------------------------

def test_create_tokenset_and_status(campaign, couch_db):
    report = status_json(couch_db)
    assert report["type"] == TYPE and report["database"] == couch_db
    assert report["counts"] == {"todo": campaign.token_count, "locked": 0, "done": 0, "error": 0}
    assert report["total"] == campaign.token_count > 200

    text = run("token_status", "--type", TYPE, "--database", couch_db)[0]
    assert f"{campaign.token_count} tokens" in text and "todo" in text and "error" in text


def test_create_tokenset_again_completes_without_duplicates(campaign, couch_db):
    out, _ = run("create_tokenset", "--config", EXAMPLES / "pref_cal1.yaml", "--srmlist",
                 EXAMPLES / "L229507.srmlist", "--database", couch_db, "--user", "root")
    assert f"0 written, {campaign.token_count} already there" in out
    assert status_json(couch_db)["total"] == campaign.token_count


def test_create_tokenset_options_and_progress(couch_db, superuser, gateway, tmp_path):
    parset = tmp_path / "cal.parset"
    parset.write_text("msin=...\n")
    out, err = run(
        "create_tokenset", "--config", EXAMPLES / "pref_cal1.json", "--srmlist", EXAMPLES / "L229507.srmlist",
        "--database", couch_db, "--type", "json_step", "--slice-size", "10", "--id-prefix", "CH",
        "--key-name", "FIRSTSB", "--srm-attachment", "links.txt", "--link-flavor", "gsiftp", "--attach", str(parset),
        "--batch-size", "5",
    )
    campaign = Campaign.objects.get(token_type="json_step", database=couch_db)
    assert 20 <= campaign.token_count <= 30 and "json_step" in out
    assert "[" in err and f"{campaign.token_count}/{campaign.token_count} tokens" in err
    first = gateway.get_doc(couch_db, next(iter(token_ids(gateway, campaign))))
    assert "CH" in first["_id"] and "FIRSTSB" in first
    assert set(first["_attachments"]) == {"links.txt", "cal.parset"}
    links, _ = gateway.get_attachment(couch_db, first["_id"], "links.txt")
    assert links.startswith(b"gsiftp://")


def test_the_srm_attachment_option_keeps_its_old_name():
    parser = load_command_class("tokens_app", "create_tokenset").create_parser("manage.py", "create_tokenset")
    required = ["--config", "c", "--srmlist", "s"]
    for option in ("--srm-attachment", "--srm-file-name"):
        assert parser.parse_args([*required, option, "links.txt"]).srm_attachment == "links.txt"
    assert parser.parse_args(required).srm_attachment == "srm.txt"
    usage = " ".join(parser.format_help().split())
    assert "--srm-attachment NAME, --srm-file-name NAME the SRM attachment name" in usage


def test_create_tokenset_single_batch_draws_no_progress_bar(campaign, couch_db):
    _, err = run("create_tokenset", "--config", EXAMPLES / "pref_cal1.yaml", "--srmlist",
                 EXAMPLES / "L229507.srmlist", "--database", couch_db, "--type", "quiet", "--user", "root")
    assert err == ""


def test_bulk_operations_draw_progress_when_more_than_one_batch_is_written(campaign, couch_db, gateway, settings):
    settings.COUCHDB = {**settings.COUCHDB, "BATCH_SIZE": 50}
    total = campaign.token_count
    _, err = run("reset_tokens", "--type", TYPE, "--database", couch_db, "--user", "root", "--yes")
    assert f"{total}/{total} tokens" in err and err.endswith("\n")
    _, err = run("set_token_field", "--type", TYPE, "--database", couch_db, "--user", "root", "batch", "7")
    assert f"{total} tokens processed" in err
    _, err = run("set_token_field", "--type", TYPE, "--database", couch_db, "--user", "root",
                 "--ids", token_ids(gateway, campaign)[0], "--", "batch", "8")
    assert err == ""


@pytest.mark.parametrize("args, message", [
    (["--config", "missing.yaml"], "no such file: missing.yaml"),
    (["--config", str(EXAMPLES)], "is a directory"),
    (["--slice-size", "-3"], "--slice-size: must be at least 1, not -3"),
    (["--slice-size", "three"], "--slice-size: 'three' is not a whole number"),
    (["--link-flavor", "ftp"], "--link-flavor: invalid choice: 'ftp'"),
    (["--attach", "nothing.txt"], "no such file: nothing.txt"),
    (["--user", "ghost"], "no active user 'ghost'"),
    (["--user", "op\x7f"], "--user: 'op.x7f' contains a control character; no user is named so"),
    (["--srm-attachment", "_srm.txt"], "'_srm.txt' starts with '_'"),
    (["--srm-file-name", "srm\x01.txt"], "contains control characters"),
])
def test_create_tokenset_refuses_bad_arguments(args, message, couch_db, superuser):
    base = {"--config": str(EXAMPLES / "pref_cal1.yaml"), "--srmlist": str(EXAMPLES / "L229507.srmlist")}
    for name in list(base):
        if name in args:
            del base[name]
    with pytest.raises(CommandError, match=message):
        run("create_tokenset", "--database", couch_db, *[p for pair in base.items() for p in pair], *args)
    assert not Campaign.objects.exists()


def test_create_tokenset_refuses_garbage_files_with_their_line(couch_db, superuser, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("Token:\n  type: x\n  _id: mine\n")
    with pytest.raises(CommandError, match="line 3"):
        run("create_tokenset", "--config", config, "--srmlist", EXAMPLES / "L229507.srmlist", "--database", couch_db)

    lines = (EXAMPLES / "L229507.srmlist").read_text().splitlines()[:5]
    lines[3] = lines[3].replace("L229507", "L229587")
    srmlist = tmp_path / "mixed.srmlist"
    srmlist.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="line 4") as error:
        run("create_tokenset", "--config", EXAMPLES / "pref_cal1.yaml", "--srmlist", srmlist, "--database", couch_db)
    assert "L229587" in str(error.value)
    assert not Campaign.objects.exists()


def test_create_tokenset_refuses_unreadable_and_binary_files(couch_db, superuser, tmp_path, monkeypatch):
    config = tmp_path / "secret.yaml"
    config.write_text("Token: {type: x}\n")
    real_read = Path.read_bytes

    def read_bytes(path):
        if path == config:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(CommandError, match=f"cannot read {config}: Permission denied"):
        run("create_tokenset", "--config", config, "--srmlist", EXAMPLES / "L229507.srmlist", "--database", couch_db)

    binary = tmp_path / "list.srmlist"
    binary.write_bytes((EXAMPLES / "L229507.srmlist").read_bytes()[:300] + b"\n\xff\xfe\x00garbage\n")
    with pytest.raises(CommandError, match="line 4.*not UTF-8"):
        run("create_tokenset", "--config", EXAMPLES / "pref_cal1.yaml", "--srmlist", binary, "--database", couch_db)


# -- the operator -----------------------------------------------------------------------------------

def test_the_only_superuser_is_the_default_operator(campaign, couch_db, make_user):
    run("set_token_status", "--type", TYPE, "--database", couch_db, "--view", "todo", "queued")
    make_user("second", superuser=True)
    with pytest.raises(CommandError, match="--user NAME"):
        run("set_token_status", "--type", TYPE, "--database", couch_db, "--view", "todo", "queued")
    run("set_token_status", "--type", TYPE, "--database", couch_db, "--view", "todo", "queued", "--user", "second")


def test_an_operator_without_the_change_permission_or_unknown_is_refused(campaign, couch_db, make_user):
    make_user("viewer")
    with pytest.raises(CommandError, match="^user 'viewer' lacks the permission tokens_app.change_campaign to change "
                                           "campaigns$"):
        run("set_token_status", "--type", TYPE, "--database", couch_db, "--view", "todo", "queued", "--user", "viewer")
    with pytest.raises(CommandError, match="^no active user 'ghost'$"):
        run("set_token_status", "--type", TYPE, "--database", couch_db, "--view", "todo", "queued", "--user", "ghost")


def test_a_lock_of_another_user_refuses_the_change(campaign, couch_db, alice, gateway):
    TokenUtility().register(ExclusiveLock(campaign, "alice"))
    with pytest.raises(CommandError, match="locked by alice"):
        run("reset_tokens", "--type", TYPE, "--database", couch_db, "--yes")
    assert status_json(couch_db)["counts"]["todo"] == campaign.token_count


# -- operations --------------------------------------------------------------------------------------

def test_reset_tokens_with_confirmation(campaign, couch_db, gateway, monkeypatch):
    ids = token_ids(gateway, campaign)[:4]
    finish(gateway, campaign, ids[:2], exit_code=1)
    finish(gateway, campaign, ids[2:], exit_code=0)
    assert status_json(couch_db)["counts"]["error"] == 2

    with pytest.raises(CommandError, match="refused without --yes"):
        run("reset_tokens", "--type", TYPE, "--database", couch_db, "--view", "error")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["n", "y"])
    questions = []
    monkeypatch.setattr("builtins.input", lambda question: questions.append(question) or next(answers))
    with pytest.raises(CommandError, match="cancelled"):
        run("reset_tokens", "--type", TYPE, "--database", couch_db, "--view", "error")
    assert status_json(couch_db)["counts"]["error"] == 2
    run("reset_tokens", "--type", TYPE, "--database", couch_db, "--view", "error")
    assert questions[0] == f"Reset 2 tokens of '{TYPE}' in '{couch_db}' (view error)? [y/N] "

    counts = status_json(couch_db)["counts"]
    assert counts["error"] == 0 and counts["done"] == 2
    reset = gateway.get_doc(couch_db, ids[0])
    assert reset["scrub_count"] == 1 and state_of(reset) == "todo"

    run("reset_tokens", "--type", TYPE, "--database", couch_db, "--ids", *ids[2:], "--yes")
    assert status_json(couch_db)["counts"]["done"] == 0


def test_scrub_tokens_resets_only_old_locks(campaign, couch_db, gateway):
    old, recent = token_ids(gateway, campaign)[:2]
    docs = gateway.fetch_docs(couch_db, [old, recent])
    now = int(time.time())
    gateway.bulk_docs(couch_db, [{**docs[old], "lock": now - 7 * 3600}, {**docs[recent], "lock": now - 600}])
    out, _ = run("scrub_tokens", "--type", TYPE, "--database", couch_db, "--older-than", "6h")
    assert "1" in out
    assert state_of(gateway.get_doc(couch_db, old)) == "todo"
    assert state_of(gateway.get_doc(couch_db, recent)) == "locked"


@pytest.mark.parametrize("age, message", [
    ("6x", "'6x' is not a duration"), ("-1h", "'-1h' is not a duration"), ("0h", "must be more than zero"),
    ("", "'' is not a duration"), ("1h30", "'1h30' is not a duration"), ("1.5h", "'1.5h' is not a duration"),
    ("until-ended", "'until-ended' is not a duration"), ("9" * 40 + "w", "too long to be a duration"),
])
def test_scrub_tokens_refuses_bad_ages(age, message, campaign, couch_db):
    with pytest.raises(CommandError, match=f"--older-than: .*{message}"):
        run("scrub_tokens", "--type", TYPE, "--database", couch_db, f"--older-than={age}")


@pytest.mark.parametrize("age, seconds", [
    ("90s", 90), ("30m", 1800), ("6h", 6 * 3600), ("2d", 2 * 86400), ("1w", 7 * 86400), ("1h30m", 5400),
    # Forms only the lock commands accepted before the grammar was one: spaces, any case.
    ("1h 30m", 5400), (" 2H ", 7200), ("1 w 1 d", 8 * 86400),
    # An age is not capped at ten years as a lock is.
    ("5000d", 5000 * 86400),
])
def test_scrub_tokens_reads_ages_with_the_one_duration_grammar(age, seconds):
    parser = load_command_class("tokens_app", "scrub_tokens").create_parser("manage.py", "scrub_tokens")
    assert parser.parse_args(["--type", TYPE, f"--older-than={age}"]).older_than.total_seconds() == seconds


def test_set_token_status_and_field(campaign, couch_db, gateway):
    first, second = token_ids(gateway, campaign)[:2]
    run("set_token_status", "launched", "--type", TYPE, "--database", couch_db, "--ids", first, second)
    assert gateway.get_doc(couch_db, first)["status"] == "launched"

    run("set_token_field", "--type", TYPE, "--database", couch_db, "--where", "status=launched", "priority", "5")
    run("set_token_field", "label", "calibrator A", "--type", TYPE, "--database", couch_db, "--ids", first)
    assert gateway.get_doc(couch_db, second)["priority"] == 5
    assert gateway.get_doc(couch_db, first)["label"] == "calibrator A"
    assert "priority" not in gateway.get_doc(couch_db, token_ids(gateway, campaign)[2])

    with pytest.raises(CommandError, match="refused without --yes"):
        run("set_token_status", "--type", TYPE, "--database", couch_db, "queued")
    run("set_token_status", "--type", TYPE, "--database", couch_db, "queued", "--yes")
    assert gateway.get_doc(couch_db, first)["status"] == "queued"
    with pytest.raises(CommandError, match="--where: 'status' is not FIELD=VALUE"):
        run("set_token_status", "--type", TYPE, "--database", couch_db, "--where", "status", "x")


def test_attach_to_tokens(campaign, couch_db, gateway, tmp_path):
    script = tmp_path / "run.sh"
    script.write_bytes(b"#!/bin/sh\necho hi\n")
    first = token_ids(gateway, campaign)[0]
    run("attach_to_tokens", str(script), "--type", TYPE, "--database", couch_db, "--name", "job.sh", "--ids", first)
    data, _ = gateway.get_attachment(couch_db, first, "job.sh")
    assert data == script.read_bytes()
    with pytest.raises(CommandError, match="no such file"):
        run("attach_to_tokens", "--type", TYPE, "--database", couch_db, str(tmp_path / "none"))


def test_delete_tokens(campaign, couch_db, gateway):
    doomed = token_ids(gateway, campaign)[:3]
    with pytest.raises(CommandError, match="Delete 3 tokens.*refused without --yes"):
        run("delete_tokens", "--type", TYPE, "--database", couch_db, "--ids", *doomed)
    run("delete_tokens", "--type", TYPE, "--database", couch_db, "--ids", *doomed, "--yes")
    assert status_json(couch_db)["total"] == campaign.token_count - 3
    assert gateway.fetch_docs(couch_db, doomed) == dict.fromkeys(doomed)


def test_add_token_view_and_select_by_it(campaign, couch_db, gateway):
    first = token_ids(gateway, campaign)[0]
    run("set_token_field", "retry", "true", "--type", TYPE, "--database", couch_db, "--ids", first)
    run("add_token_view", "--type", TYPE, "--database", couch_db, "retries", "doc.retry === true")
    run("set_token_status", "--type", TYPE, "--database", couch_db, "--view", "retries", "again")
    assert gateway.get_doc(couch_db, first)["status"] == "again"
    with pytest.raises(CommandError):
        run("add_token_view", "--type", TYPE, "--database", couch_db, "9bad", "true")


def test_archive_tokens_and_purge(campaign, couch_db, gateway, tmp_path):
    target = tmp_path / "campaign.tar.gz"
    out, _ = run("archive_tokens", "--type", TYPE, "--database", couch_db, "--output", str(target))
    assert str(target) in out
    with tarfile.open(target) as archive:
        names = archive.getnames()
    assert len(names) > campaign.token_count and not list(tmp_path.glob("*.part"))
    with pytest.raises(CommandError, match="exists already"):
        run("archive_tokens", "--type", TYPE, "--database", couch_db, "--output", str(target))
    with pytest.raises(CommandError, match="refused without --yes"):
        run("archive_tokens", "--type", TYPE, "--database", couch_db, "--output", str(tmp_path / "b.tgz"), "--delete")

    with pytest.raises(CommandError, match="refused without --yes"):
        run("purge_tokens", "--type", TYPE, "--database", couch_db)
    run("purge_tokens", "--type", TYPE, "--database", couch_db, "--yes")
    assert gateway.get_doc(couch_db, f"_design/{TYPE}", default=None) is None
    assert not [row for row in gateway.iter_all_docs(couch_db) if not row["id"].startswith("_")]


def test_archive_with_delete(campaign, couch_db, tmp_path):
    target = tmp_path / "gone.tar.gz"
    run("archive_tokens", "--type", TYPE, "--database", couch_db, "--output", str(target), "--delete", "--yes")
    assert target.stat().st_size > 0
    assert status_json(couch_db) == {
        "type": TYPE, "database": couch_db, "state": "archived",
        "counts": {"todo": 0, "locked": 0, "done": 0, "error": 0}, "total": 0,
    }
    assert "is archived" in run("token_status", "--type", TYPE, "--database", couch_db)[0]


# -- token_status of a design document no Campaign knows -----------------------------------------

def test_token_status_of_a_foreign_design_document(gateway, couch_db):
    gateway.put_doc(couch_db, build_design_doc("foreign"))
    gateway.bulk_docs(couch_db, [
        {"_id": "f1", "type": "foreign", "lock": 0, "done": 0},
        {"_id": "f2", "type": "foreign", "lock": 5, "done": 9, "output": 0},
        {"_id": "f3", "type": "foreign", "lock": 5, "done": 9, "output": 3},
    ])
    assert status_json(couch_db, "foreign") == {
        "type": "foreign", "database": couch_db, "state": None,  # no campaign of the portal's: no state of its own
        "counts": {"todo": 1, "locked": 0, "done": 1, "error": 1}, "total": 3,
    }
    with pytest.raises(CommandError, match="database 'missing_db' does not exist"):
        run("token_status", "--type", "foreign", "--database", "missing_db")


# -- seed_demo and simulate_pilots ----------------------------------------------------------------

def test_seed_demo_is_idempotent_and_pilots_work_it(couch_db, superuser):
    first, _ = run("seed_demo", "--database", couch_db)
    again, _ = run("seed_demo", "--database", couch_db)
    campaign = Campaign.objects.get(database=couch_db)
    assert campaign.token_type == TYPE and "simulate_pilots" in first
    assert f"0 written, {campaign.token_count} already there" in again

    out, _ = run("simulate_pilots", "--type", TYPE, "--database", couch_db, "--workers", "3",
                 "--failure-rate", "0.5", "--job-seconds", "0", "--max-tokens", "20")
    report = status_json(couch_db)
    assert report["counts"]["todo"] == campaign.token_count - 20 and report["counts"]["locked"] == 0
    assert report["counts"]["done"] + report["counts"]["error"] == 20
    assert f"3 pilots processed 20 tokens: {report['counts']['done']} done, {report['counts']['error']} error" in out


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "--workers: must be at least 1"),
    (["--failure-rate", "2"], "--failure-rate: must be between 0 and 1"),
    (["--job-seconds", "-1"], "--job-seconds: must be zero or more"),
    (["--max-tokens", "x"], "--max-tokens: 'x' is not a whole number"),
])
def test_simulate_pilots_refuses_bad_numbers(args, message, campaign, couch_db):
    with pytest.raises(CommandError, match=message):
        run("simulate_pilots", "--type", TYPE, "--database", couch_db, *args)


# -- real processes: exit codes and one-line errors ------------------------------------------------

@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """``manage.py`` as a real process, on a migrated SQLite database with the superuser ``op``."""
    database = tmp_path_factory.mktemp("shell") / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SUPERUSER_PASSWORD": "pw"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    for step in (("migrate", "--verbosity", "0"), ("createsuperuser", "--noinput", "--username", "op", "--email", "")):
        assert manage(*step).returncode == 0
    return manage


def test_errors_from_the_shell_are_one_line_with_a_non_zero_exit(shell, couch_db):
    unknown = shell("token_status", "--type", "nope", "--database", couch_db)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == [
        f"CommandError: no campaign of type 'nope' in database '{couch_db}' (no campaign is known there)"
    ]
    bad_age = shell("scrub_tokens", "--type", "nope", "--older-than", "6x")
    assert bad_age.returncode == 2 and "argument --older-than: '6x' is not a duration" in bad_age.stderr


def test_a_newcomer_seeds_the_demo_and_runs_pilots_from_the_shell(shell, couch_db):
    """The first steps of the README as real processes: pilots are spawned from manage.py itself."""
    def ok(*args):
        done = shell(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    ok("seed_demo", "--database", couch_db)
    out = ok("simulate_pilots", "--type", TYPE, "--database", couch_db, "--workers", "2", "--job-seconds", "0",
             "--max-tokens", "6")
    assert "2 pilots processed 6 tokens" in out
    counts = json.loads(ok("token_status", "--type", TYPE, "--database", couch_db, "--json"))["counts"]
    assert counts["done"] + counts["error"] == 6
