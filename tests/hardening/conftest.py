"""What the hardening tests share: users with and without the change permission, and small real
campaigns on the session's CouchDB, made with the suite-wide factory (tests/conftest.py).

The users here are not the shared alice and victor: the sign-in tests type their names and one
password (``PASSWORD``), commands name ``--user operator``, and the operator is staff (the admin's
pages) without being a superuser. Campaigns get a fresh token type each, as tests here make
several per database; the shared ``campaign`` fixture is ``make_campaign()`` with these defaults.
"""

import pytest

from hardening_support import PASSWORD, grant_change, new_type, srm_list, yaml_config
from tokens_app.models import Campaign


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """These tests create users in every test; PBKDF2's deliberate cost would dominate their run
    time on a busy machine and is not what they try (the rate limit counts attempts, not time)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(django_user_model):
    """A staff user with the change permission on campaigns (not a superuser)."""
    user = django_user_model.objects.create_user("operator", password=PASSWORD, is_staff=True)
    grant_change(user)
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def viewer(django_user_model):
    """A signed-in user who may look at everything and change nothing."""
    return django_user_model.objects.create_user("viewer", password=PASSWORD)


@pytest.fixture
def make_campaign(make_campaign, operator):
    """``make_campaign(count=…, **plan)``: the shared factory's campaign of ``count`` tokens of a
    fresh type, by the operator, in the test's database unless ``plan`` names another."""

    def make(count: int = 5, *, token_type: str | None = None, **plan) -> Campaign:
        config, srmlist = yaml_config(token_type or new_type()), srm_list(count)
        return make_campaign(user=operator, config_data=config, srmlist_data=srmlist, **plan)

    return make


@pytest.fixture
def slash_database(gateway):
    """A database whose name holds a '/', which CouchDB allows and file systems read as a path."""
    name = f"hard/{new_type()}"
    gateway.create_database(name)
    yield name
    gateway.delete_database(name)
