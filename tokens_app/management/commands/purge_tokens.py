"""``manage.py purge_tokens``: remove a whole campaign from CouchDB (tokens and design document).

The Campaign row stays, marked purged, as the record of what was run.
"""

from tokens_app.management.base import CampaignCommand
from tokens_app.management.progress import ProgressBar
from tokens_app.models import Operation
from tokens_app.services import purge_campaign


class Command(CampaignCommand):
    help = "Delete every token of the campaign and its design document (asks first)."
    confirms = True

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        user = self.operator(options)
        count = self.confirm_targets(options, campaign, "Purge the design document and all", campaign_too=True)
        with ProgressBar(self.stderr, total=count) as bar:
            result = self.recorded(
                Operation.Action.PURGE, campaign, user,
                lambda progress: purge_campaign(campaign, user=user, progress=progress), options, progress=bar,
            )
        self.report("Purged", campaign, result)
