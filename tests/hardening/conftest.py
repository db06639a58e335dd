"""What the hardening tests share: users with and without the change permission, and small real
campaigns on the session's CouchDB, made through the services (the path every interface takes).
"""

import pytest

from hardening_support import PASSWORD, grant_change, new_type, srm_list, yaml_config
from tokens_app.models import Campaign
from tokens_app.services import create_tokenset


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
def make_campaign(couch_db, operator):
    """``make_campaign(count=…, **plan)``: a campaign of ``count`` tokens in the test's database."""

    def make(count: int = 5, *, token_type: str | None = None, database: str | None = None, **plan) -> Campaign:
        token_type = token_type or new_type()
        campaign, report = create_tokenset(
            user=operator, config_data=yaml_config(token_type), srmlist_data=srm_list(count),
            database=database or couch_db, **plan,
        )
        assert report.written == count
        return campaign

    return make


@pytest.fixture
def campaign(make_campaign):
    return make_campaign()


@pytest.fixture
def slash_database(gateway):
    """A database whose name holds a '/', which CouchDB allows and file systems read as a path."""
    name = f"hard/{new_type()}"
    gateway.create_database(name)
    yield name
    gateway.delete_database(name)
