"""Fixtures of the dashboard tests: users with and without the permission, a small campaign."""

import pytest
from dashboard_data import CONFIG, SMALL_SRMLIST
from django.contrib.auth.models import Permission, User

from tokens_app import services


def make_user(username: str, *, may_change: bool) -> User:
    user = User.objects.create_user(username, password="pw-" + username)
    if may_change:
        user.user_permissions.add(Permission.objects.get(codename="change_campaign"))
    return user


@pytest.fixture
def operator(db):
    return make_user("alice", may_change=True)


@pytest.fixture
def viewer(db):
    return make_user("victor", may_change=False)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def campaign(operator, couch_db):
    campaign, _ = services.create_tokenset(
        user=operator, config_data=CONFIG, srmlist_data=SMALL_SRMLIST, database=couch_db,
        config_name="pref_cal1.yaml", srmlist_name="L229507.srmlist",
    )
    return campaign
