"""Writes of token campaigns: the only code that changes tokens, design documents and Campaign
rows. The dashboard, the admin and the management commands call these functions.

- ``creation``: plan, record and push a token set (GRID_LRT's TokenSet).
- ``targets``: choosing tokens (view, ids, filter) and the bulk loop that re-decides conflicts.
- ``operations``: reset, scrub, set status or field, attach, delete, views, purge, adopt, counts.
- ``archive``: the ``.tar.gz`` stream of a campaign.
- ``drafts``: the uploads of a new campaign waiting for their confirmation.
- ``runs``: operations as the history records them: queued for a task worker, run, resumed.
"""

from .archive import archive_file_name, archive_tokens, safe_member_name
from .common import OperationResult, Refused, ServiceError
from .creation import (
    RESUMABLE,
    CreationReport,
    TokenSetPlan,
    check_can_resume,
    create_tokenset,
    ensure_design_doc,
    plan_of,
    plan_tokenset,
    push_tokenset,
    start_campaign,
)
from .drafts import (
    discard_draft,
    discard_expired_drafts,
    keep_uploads,
    kept_uploads,
    live_draft,
    plan_of_draft,
    save_draft,
)
from .operations import (
    add_view,
    adopt_design,
    attach_file,
    count_targets,
    delete_tokens,
    field_assignment,
    purge_campaign,
    recreate_views,
    refresh_counts,
    reset_tokens,
    scrub_stale,
    set_field,
    set_status,
    typed_value,
)

__all__ = [
    "RESUMABLE",
    "CreationReport",
    "OperationResult",
    "Refused",
    "ServiceError",
    "TokenSetPlan",
    "add_view",
    "adopt_design",
    "archive_file_name",
    "archive_tokens",
    "attach_file",
    "check_can_resume",
    "count_targets",
    "create_tokenset",
    "delete_tokens",
    "discard_draft",
    "discard_expired_drafts",
    "keep_uploads",
    "kept_uploads",
    "ensure_design_doc",
    "live_draft",
    "plan_of",
    "plan_of_draft",
    "plan_tokenset",
    "purge_campaign",
    "push_tokenset",
    "recreate_views",
    "refresh_counts",
    "reset_tokens",
    "safe_member_name",
    "save_draft",
    "scrub_stale",
    "set_field",
    "set_status",
    "start_campaign",
    "typed_value",
    "field_assignment",
]
