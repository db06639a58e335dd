"""Fixtures of the operations tests: the database task backend in the test process, and real
workers on the same database."""

import pytest
from operation_support import DATABASE_BACKEND, Workers


@pytest.fixture
def database_tasks(settings):
    """Operations queued by the test go to the database, for a worker process to run."""
    settings.TASKS = {"default": {"BACKEND": DATABASE_BACKEND, "QUEUES": ["default"]}}


@pytest.fixture
def workers(tmp_path, database_tasks):
    started = Workers(tmp_path)
    yield started
    started.stop_all()
