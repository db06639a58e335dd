"""What the lock tests share: groups as the lockable objects (any model will do; groups keep
locks_app's tests free of the campaign model). The users (``make_user``, alice, bob) are the
whole suite's, from tests/conftest.py."""

import pytest
from django.contrib.auth.models import Group


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
