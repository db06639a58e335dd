"""``manage.py reset_tokens``: put tokens back in todo so pilots run them again."""

from tokens_app.management.base import CampaignCommand
from tokens_app.management.progress import ProgressBar
from tokens_app.models import Operation
from tokens_app.services import reset_tokens


class Command(CampaignCommand):
    help = (
        "Reset tokens to todo (lock and done 0, scrub_count + 1, hostname, output, exit_code cleared). "
        "Without --view, --ids or --where: every token of the campaign."
    )
    selects = True
    confirms = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--drop-attachments", action="store_true",
            help="also remove attachments other than the set's own (pilot logs, results)",
        )

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        user = self.operator(options)
        count = self.confirm_targets(options, campaign, "Reset")
        with ProgressBar(self.stderr, total=count) as bar:
            result = self.recorded(
                Operation.Action.RESET, campaign, user,
                lambda progress: reset_tokens(
                    campaign, user=user, drop_attachments=options["drop_attachments"], progress=progress,
                    **self.selection(options),
                ),
                options, progress=bar, drop_attachments=options["drop_attachments"],
            )
        self.report("Reset tokens", campaign, result)
