"""What the lock tests share: users with permissions, and groups as the lockable objects (any
model will do; groups keep locks_app's tests free of the campaign model)."""

import pytest
from django.contrib.auth.models import Group, Permission, User


@pytest.fixture
def make_user(db):
    """``make_user(name, *codenames)``: a user with those permissions, read back so that its
    permission cache is fresh."""

    def make(name, *codenames, password=None):
        created = User.objects.create_user(name, password=password)
        for codename in codenames:
            created.user_permissions.add(Permission.objects.get(codename=codename))
        return User.objects.get(pk=created.pk)

    return make


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
