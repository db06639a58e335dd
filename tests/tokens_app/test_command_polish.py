"""What the commands print, as an operator reads it: no question (nor ``--yes``) when no token
matches, the selection as typed (``hostname=vm-pilot3``, never a Python dict), in the question
and in the operations history."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from test_commands import TYPE, campaign, shell  # noqa: F401 (fixtures)
from tokens_app.history import selection_words
from tokens_app.models import Operation

pytestmark = pytest.mark.django_db


def test_no_question_when_no_token_matches(shell, couch_db):
    assert shell("seed_demo", "--database", couch_db).returncode == 0
    nothing = shell("reset_tokens", "--type", TYPE, "--database", couch_db, "--where", "hostname=vm-pilot3")
    assert nothing.returncode == 0, nothing.stderr
    assert "0 changed" in nothing.stdout and "--yes" not in nothing.stderr + nothing.stdout
    deleted = shell("delete_tokens", "--type", TYPE, "--database", couch_db, "--ids", "no-such-token")
    assert deleted.returncode == 0 and "0 changed" in deleted.stdout, deleted.stderr
    # Tokens that would change still need an answer; a purge always does (it removes the campaign).
    some = shell("reset_tokens", "--type", TYPE, "--database", couch_db, "--where", "type=pref_cal1")
    assert some.returncode == 1 and "refused without --yes" in some.stderr
    assert "Reset 240 tokens of 'pref_cal1' in" in some.stderr and "(type=pref_cal1)" in some.stderr
    # A reset that succeeds says so, and nothing is logged as a warning before it.
    done = shell("reset_tokens", "--type", TYPE, "--database", couch_db, "--where", "type=pref_cal1", "--yes")
    assert done.returncode == 0 and "240 changed" in done.stdout, done.stderr
    assert "WARNING" not in done.stderr + done.stdout
    assert shell("delete_tokens", "--type", TYPE, "--database", couch_db, "--yes").returncode == 0
    purge = shell("purge_tokens", "--type", TYPE, "--database", couch_db)
    assert purge.returncode == 1 and "Purge the design document and all 0 tokens" in purge.stderr
    assert "refused without --yes" in purge.stderr


def test_the_history_shows_the_selection_as_typed(campaign, couch_db, client, superuser):
    out = io.StringIO()
    call_command("reset_tokens", "--type", TYPE, "--database", couch_db, "--where", "hostname=vm-pilot3",
                 "--where", "exit_code=1", "--yes", stdout=out)
    operation = Operation.objects.get(action=Operation.Action.RESET)
    client.force_login(superuser)
    page = client.get(reverse("tokens:operations")).content.decode()
    assert "hostname=vm-pilot3 · exit_code=1" in page
    assert "{" not in selection_words(operation.selection) and "&#x27;" not in page.split("operation-selection")[1][:80]


@pytest.mark.parametrize("selection, words", [
    ({}, ""),
    (None, ""),
    ({"view": "error", "ids": None, "where": None}, "view error"),
    ({"ids": ["a"]}, "1 id"),
    ({"ids": ["a", "b"], "view": "todo"}, "view todo · 2 ids"),
    ({"where": {"hostname": "vm-pilot3"}}, "hostname=vm-pilot3"),
    ({"where": {"exit_code": 1, "done": True, "status": "0", "note": "a b"}}, 'exit_code=1 · done=true · status="0" · note=a b'),
])
def test_selection_words(selection, words):
    assert selection_words(selection) == words
