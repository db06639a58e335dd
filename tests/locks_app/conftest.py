"""What the lock tests share: groups as the lockable objects (any model will do; groups keep
locks_app's tests free of the campaign model), a campaign for the tests of where the two apps
meet, and ``run`` for the command tests. The users (``make_user``, alice, bob) are the whole
suite's, from tests/conftest.py."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command


@pytest.fixture
def groups_lockable(settings):
    """Groups are the lockable model (and campaigns are not), for these tests."""
    settings.LOCKABLE_MODELS = ["auth.group"]


@pytest.fixture
def group(db, groups_lockable):
    return Group.objects.create(name="reprocessing")


@pytest.fixture
def other_group(db, groups_lockable):
    return Group.objects.create(name="calibration")


@pytest.fixture
def campaign(db):
    """A campaign row (no tokens, no owner): the lockable object where locks_app meets
    tokens_app; the suite's campaign factory (tests/conftest.py) makes one with tokens."""
    from tokens_app.models import Campaign

    return Campaign.objects.create(token_type="pref_cal1", database="tokens")


@pytest.fixture
def run():
    """``run(name, *args)``: run a management command in-process; what it printed on stdout,
    stripped of the last newline."""

    def run_command(*args) -> str:
        out = StringIO()
        call_command(*args, stdout=out)
        return out.getvalue().strip()

    return run_command
