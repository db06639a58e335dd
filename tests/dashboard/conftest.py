"""Fixtures of the dashboard tests: users with and without the permission, a small campaign."""

import pytest
from dashboard_data import CONFIG, SMALL_SRMLIST, make_user

from tokens_app import services


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
