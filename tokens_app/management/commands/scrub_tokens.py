"""``manage.py scrub_tokens --older-than 6h``: reset tokens of lost pilots.

A pilot that dies (killed by the batch system, node lost) leaves its token locked for ever; a
token locked for longer than any job runs belongs to such a pilot and is put back in todo.
"""

from locks_app.management.arguments import duration_type
from tokens_app.management.base import CampaignCommand
from tokens_app.management.progress import ProgressBar
from tokens_app.models import Operation
from tokens_app.services import scrub_stale

# Any age a timedelta holds: a lock's ten-year cap is no limit for how long tokens have been locked.
age = duration_type(longest=None)


class Command(CampaignCommand):
    help = "Reset tokens locked longer than a given time (lost pilots) back to todo."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--older-than", type=age, required=True, metavar="AGE",
            help="how long a token must have been locked: 90s, 30m, 6h, 2d, 1w, 1h30m or '1h 30m'",
        )

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        user = self.operator(options)
        with ProgressBar(self.stderr) as bar:
            result = self.recorded(
                Operation.Action.SCRUB, campaign, user,
                lambda progress: scrub_stale(campaign, user=user, older_than=options["older_than"], progress=progress),
                options, progress=bar, older_than_seconds=options["older_than"].total_seconds(),
            )
        self.report(f"Scrubbed tokens locked longer than {options['older_than']}", campaign, result)
