"""``manage.py delete_tokens``: remove tokens from CouchDB (the campaign and its views stay)."""

from tokens_app.management.base import CampaignCommand
from tokens_app.management.progress import ProgressBar
from tokens_app.models import Operation
from tokens_app.services import delete_tokens


class Command(CampaignCommand):
    help = "Delete tokens of a campaign. Without --view, --ids or --where: every token of the campaign."
    selects = True
    confirms = True

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        user = self.operator(options)
        count = self.confirm_targets(options, campaign, "Delete")
        with ProgressBar(self.stderr, total=count) as bar:
            result = self.recorded(
                Operation.Action.DELETE, campaign, user,
                lambda progress: delete_tokens(campaign, user=user, progress=progress, **self.selection(options)),
                options, progress=bar,
            )
        self.report("Deleted tokens", campaign, result)
