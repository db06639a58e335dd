"""Background work started by a request: pushing a new token set without holding the request.

A push of ten thousand tokens takes longer than a browser waits, so the creation view starts it
on a thread and answers at once. The thread needs nothing but the campaign's primary key: the
service records ``written_count`` and ``status`` after every batch, which is what the campaign
page polls, and a push cut short (process restarted) is completed by pushing again.
"""

import logging
import threading

from django.db import connections

from .couch import CouchError
from .models import Campaign
from .services import ServiceError, push_tokenset

logger = logging.getLogger(__name__)


def push_in_background(campaign: Campaign, user) -> threading.Thread:
    """Start pushing ``campaign``'s tokens on a daemon thread and return the thread."""
    thread = threading.Thread(
        target=_push, args=(campaign.pk, user), name=f"push-campaign-{campaign.pk}", daemon=True
    )
    thread.start()
    return thread


def _push(campaign_pk: int, user) -> None:
    try:
        campaign = Campaign.objects.get(pk=campaign_pk)
        report = push_tokenset(campaign, user=user)
        logger.info("pushed %s: %s", campaign, report.message())
    except ServiceError as exc:
        # Refused before writing (locked, frozen or archived since the request checked): the row
        # is not this push's to change; the service has recorded whatever it did write.
        logger.warning("push of campaign %s refused: %s", campaign_pk, exc)
    except CouchError as exc:
        # The service has recorded the error and the true written count on the campaign.
        logger.warning("push of campaign %s stopped: %s", campaign_pk, exc)
    finally:
        # A thread's connections are not closed by the request cycle; leave none behind.
        connections.close_all()
