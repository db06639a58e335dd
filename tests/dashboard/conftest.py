"""Fixtures of the dashboard tests: a client signed in as alice. The users (alice and bob, who may
change campaigns; victor, who may not) and the campaign (twelve tokens of the example by alice)
are the whole suite's, from tests/conftest.py."""

import pytest


@pytest.fixture
def operator_client(client, alice):
    client.force_login(alice)
    return client
