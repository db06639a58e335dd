"""Campaigns as lockable objects: what locks_app needs to know about them, registered at start.

locks_app knows no model of its own (see ``locks_app.lockables``); here campaigns tell it which
permission locking one needs (the one every campaign change needs) and how the lock commands
name a campaign the way every other command does: ``--type T [--database DB]``.
"""

from django.conf import settings

from locks_app import lockables

from . import campaign_selectors
from .management.arguments import campaign_name
from .management.base import CampaignCommand
from .models import CHANGE_CAMPAIGN, Campaign
from .tokensets import TokenSet


def add_campaign_arguments(parser) -> None:
    parser.add_argument("--type", dest="token_type", type=campaign_name, metavar="T", help="the campaign of this token type")
    parser.add_argument(
        "--database", type=campaign_name, metavar="DB",
        help=f"the CouchDB database of the campaign (default: {settings.COUCHDB['DATABASE']})",
    )


def find_campaign(options: dict):
    """The campaign ``--type``/``--database`` name; ``None`` when neither was given."""
    token_type, database = options.get("token_type"), options.get("database")
    if token_type is None and database is None:
        return None
    if not token_type:
        raise ValueError("give --type T to name a campaign (--database alone names none)")
    database = database or settings.COUCHDB["DATABASE"]
    campaign = campaign_selectors.campaign_of(TokenSet(database, token_type))
    if campaign is None:
        raise ValueError(CampaignCommand.no_campaign_message(token_type, database))
    return campaign


def register() -> None:
    lockables.register(
        Campaign._meta.label_lower, permission=CHANGE_CAMPAIGN,
        add_arguments=add_campaign_arguments, find=find_campaign,
    )
