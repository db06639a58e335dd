"""The one result type of every service that changes tokens, as the operations history records it."""

import pytest

from tokens_app.models import Campaign
from tokens_app.services import OperationResult

pytestmark = pytest.mark.unit


def test_a_push_result_counts_the_set_and_says_how_much_of_it_is_in():
    result = OperationResult(written=8, existing=3, changed=1, failed=2, error="forbidden", total=14)
    assert (result.present, result.processed, result.complete) == (12, 14, False)
    assert result.message() == "8 written, 3 already there, 1 overwritten of 14; 2 failed (forbidden)"
    assert result.columns() == {"written": 8, "existing": 3, "changed": 1, "conflicted": 0, "skipped": 0,
                                "failed": 2, "processed": 14, "error": "forbidden", "total": 14}
    assert OperationResult(written=5, total=5).complete


def test_a_bulk_result_says_what_it_changed_and_records_no_total():
    result = OperationResult(changed=4, conflicted=1, skipped=2)
    assert result.processed == 7 and not result.complete
    assert result.message() == "4 changed, 1 conflicted, 2 skipped"
    assert "total" not in result.columns() and result.columns()["processed"] == 7


def test_a_result_that_made_a_campaign_names_it_on_the_row():
    campaign = Campaign(database="tokens", token_type="adopted", token_count=6)
    columns = OperationResult(existing=6, total=6, campaign=campaign).columns()
    assert (columns["campaign"], columns["target"], columns["processed"], columns["total"]) == (
        campaign, str(campaign), 6, 6)
