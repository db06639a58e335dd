"""A test marked ``postgres`` skips on SQLite, so only CI's PostgreSQL stage can fail it; that
stage names its folders. The PostgreSQL twin of the operation-claims test sat outside them and
never ran, while the README said both databases were tested."""

import re
import shlex
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_MARK = re.compile(r"\bpytest\.mark\.postgres\b")


def postgres_stage_paths():
    """The test paths of the `.ci/run` line that runs on PostgreSQL."""
    script = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    (line,) = [line for line in script.splitlines() if "DATABASE_URL=" in line and "make test" in line]
    (pytest_args,) = [word.split("=", 1)[1] for word in shlex.split(line) if word.startswith("PYTEST_ARGS=")]
    return [Path(word) for word in shlex.split(pytest_args) if word.startswith("tests")]


def test_every_postgres_test_is_in_a_folder_the_postgresql_stage_runs():
    paths = postgres_stage_paths()
    marked = [
        path.relative_to(ROOT)
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        if POSTGRES_MARK.search(path.read_text())
    ]
    assert marked, "no test is marked postgres: the pattern no longer finds the mark"
    stranded = [str(path) for path in marked if not any(path.is_relative_to(folder) for folder in paths)]
    assert stranded == []


def test_a_stage_runs_the_default_suite_on_apache_couchdb():
    script = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    stages = [line for line in script.splitlines() if "TEST_COUCHDB=apache" in line and "make test" in line]
    assert len(stages) == 1
    (pytest_args,) = [word.split("=", 1)[1] for word in shlex.split(stages[0]) if word.startswith("PYTEST_ARGS=")]
    assert not [word for word in shlex.split(pytest_args) if word.startswith("tests")], "the whole suite, no folder"
