"""Writes of token campaigns: the only code that changes tokens, design documents and Campaign
rows. The dashboard, the admin and the management commands call these functions.

- ``creation_plan``: plan a token set (GRID_LRT's TokenSet): check every input, write nothing.
- ``push``: record a plan as a campaign and push its tokens.
- ``targets``: choosing tokens (view, ids, filter) and the bulk loop that re-decides conflicts.
- ``operations``: reset, scrub, set status or field, attach, delete, views, purge, adopt, counts.
- ``archive``: the ``.tar.gz`` stream of a campaign.
- ``drafts``: the uploads of a new campaign waiting for their confirmation.
- ``layout``: writing the design documents and building their views.
- ``actions``: each queued action as a named function that calls its service.
- ``runner``: running an operation's row: claim, run, lease, record (``run_in_process`` for commands).
- ``runs``: operations as the history records them: queued for a task worker, refused, resumed.
"""

from .archive import archive_file_name, archive_tokens, safe_member_name
from .common import OperationResult, Refused, ServiceError
from .creation_plan import TokenSetPlan, plan_of, plan_tokenset
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
    reset_tokens,
    scrub_stale,
    set_field,
    set_status,
    typed_value,
)
from .push import RESUMABLE, check_can_resume, create_tokenset, ensure_design_doc, push_tokenset, start_campaign

__all__ = [
    "RESUMABLE",
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
