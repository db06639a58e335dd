"""``manage.py set_token_status STATUS``: set the free-text ``status`` field of tokens.

Changing the status of every token of a campaign asks for confirmation first.
"""

from tokens_app.management.base import CampaignCommand
from tokens_app.management.progress import ProgressBar
from tokens_app.models import Operation
from tokens_app.services import set_status


class Command(CampaignCommand):
    help = "Set the status field of tokens. Without --view, --ids or --where: every token (asks first)."
    selects = True
    confirms = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("status", help="the new status, e.g. queued, todo, done, error")

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        user = self.operator(options)
        count = None
        if self.selects_everything(options):
            count = self.confirm_targets(options, campaign, f"Set status '{options['status']}' on")
        with ProgressBar(self.stderr, total=count) as bar:
            result = self.recorded(
                Operation.Action.SET_STATUS, campaign, user,
                lambda progress: set_status(
                    campaign, options["status"], user=user, progress=progress, **self.selection(options)
                ),
                options, progress=bar, status=options["status"],
            )
        self.report(f"Set status '{options['status']}'", campaign, result)
