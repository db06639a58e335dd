"""The pace of campaigns read from the read model: when the last token finished, tokens per hour,
ETA and the stalled flag, as the dashboard shows them and the notifier watches them."""

import time

from django.conf import settings

from . import token_charts, token_reads
from .models import Campaign

# The recent stretch whose finished tokens give a campaign's pace.
PACE_WINDOW_SECONDS = 900


def campaign_paces(campaigns, counts: dict) -> dict[int, dict]:
    """The pace of each campaign with tokens (``token_charts.activity``) by primary key; only a
    ready campaign can be stalled (one being written or purged is no work left undone)."""
    working = [campaign for campaign in campaigns if campaign.has_tokens]
    now = time.time()
    finished = token_reads.activity_many(working, now=now, window=PACE_WINDOW_SECONDS)
    paces = {}
    for campaign in working:
        pace = token_charts.activity(
            counts.get(campaign.token_set), finished[campaign.token_set], now=now, window=PACE_WINDOW_SECONDS,
            stalled_after=settings.STALLED_MINUTES * 60, started=campaign.created_at.timestamp(),
        )
        pace["stalled"] = pace["stalled"] and campaign.status == Campaign.Status.READY
        paces[campaign.pk] = pace
    return paces
