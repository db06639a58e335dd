"""docs/locks.md is the contract of locks_app; its examples run here, as zope.locking's do."""

import doctest
from pathlib import Path

import pytest

from locks_app import clock

DOC = Path(__file__).resolve().parents[2] / "docs" / "locks.md"


@pytest.mark.django_db
def test_the_contract_document_runs(monkeypatch):
    # The document moves time by replacing clock.now and puts it back at its end; should an
    # example fail before that, monkeypatch puts it back.
    monkeypatch.setattr(clock, "now", clock.now)
    result = doctest.testfile(
        str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False, verbose=False,
    )
    assert result.attempted > 100
    assert result.failed == 0, f"{result.failed} example(s) of docs/locks.md failed (see the output above)"
