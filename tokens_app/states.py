"""The one vocabulary of states: a token's and a campaign's, as every page, filter, command and
API names them.

A token's state is the PiCaS view that lists it. A campaign's state is its stored status, except
that a ready campaign with no token left todo or locked is *finished*: the dashboard, the campaign
page, the counts and status APIs, the exports and ``manage.py token_status`` all say it the same
way, and the dashboard's filter offers every state.
"""

from __future__ import annotations

from django.db import models

# A token's state: the PiCaS view it is in (``design.state_of`` decides which).
STATE_NAMES = ("todo", "locked", "done", "error")


# A campaign's states, in the order the filter offers them; each is its own label.
CAMPAIGN_STATES = ("creating", "ready", "finished", "incomplete", "archived", "purged")
CampaignState = models.TextChoices("CampaignState", [(state.upper(), (state, state)) for state in CAMPAIGN_STATES])
# The states a campaign's row stores: "finished" is a ready campaign read with its counts.
STORED_STATES = [(state.name, (state.value, state.label)) for state in CampaignState if state != CampaignState.FINISHED]


# What each state means, for the badge's tooltip and the commands' help.
STATE_MEANINGS = {
    CampaignState.CREATING: "its tokens are being written",
    CampaignState.INCOMPLETE: "its creation stopped before every token was written",
    CampaignState.READY: "tokens wait in todo or are locked by pilots",
    CampaignState.FINISHED: "no token is left todo or locked",
    CampaignState.ARCHIVED: "its tokens were archived to a file and left CouchDB",
    CampaignState.PURGED: "its tokens were deleted",
}


def all_finished(counts: dict | None) -> bool:
    """Whether tokens counted ``counts`` and none of them is left todo or locked."""
    return bool(counts and counts.get("total") and not (counts.get("todo") or counts.get("locked")))


def campaign_state(status: str, counts: dict | None) -> str:
    """The state of a campaign of stored ``status`` whose tokens count ``counts`` (None: unknown)."""
    return CampaignState.FINISHED if status == CampaignState.READY and all_finished(counts) else status


def campaign_label(status: str, counts: dict | None) -> str:
    """The state as a page shows it: a finished campaign's errors follow (``finished, 21 errors``)."""
    state = campaign_state(status, counts)
    errors = counts.get("error", 0) if counts else 0
    if state == CampaignState.FINISHED and errors:
        return f"{state}, {errors} error{'' if errors == 1 else 's'}"
    return state


def stored_status(state: str) -> str:
    """The stored status of the campaigns that can be in ``state`` (finished ones are ready)."""
    return CampaignState.READY if state == CampaignState.FINISHED else state
