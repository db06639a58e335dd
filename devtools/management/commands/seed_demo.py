"""``manage.py seed_demo``: a demo campaign from the files in ``examples/``.

The step config ``pref_cal1.yaml`` and the SRM list ``L229507.srmlist`` (a few hundred subbands
of one observation, with a gap) are what an operator would upload. Running the command again
completes the campaign instead of duplicating it (creation leaves existing tokens alone), so it
is safe in set-up scripts.
"""

import shlex

from django.conf import settings

from tokens_app.management.arguments import read_file
from tokens_app.management.base import CampaignCommand, creation_summary
from tokens_app.management.progress import ProgressBar

EXAMPLES = settings.BASE_DIR / "examples"
DEMO_CONFIG = "pref_cal1.yaml"
DEMO_SRMLIST = "L229507.srmlist"


class Command(CampaignCommand):
    help = f"Create (or complete) a demo campaign from examples/{DEMO_CONFIG} and examples/{DEMO_SRMLIST}."
    type_required = False

    def handle(self, *args, **options):
        campaign, report = self.create_campaign(
            options, self.operator(options),
            progress=ProgressBar(self.stderr),
            config_data=read_file(EXAMPLES / DEMO_CONFIG),
            srmlist_data=read_file(EXAMPLES / DEMO_SRMLIST),
            config_name=DEMO_CONFIG,
            srmlist_name=DEMO_SRMLIST,
            token_type=options["token_type"],
            database=self.database(options),
        )
        self.stdout.write(creation_summary(campaign, report))
        self.stdout.write(
            # A line to paste into a shell: database names may hold $ ( ) +, which the shell reads.
            f"Watch it move: .venv/bin/python manage.py simulate_pilots --type {shlex.quote(campaign.token_type)} "
            f"--database {shlex.quote(campaign.database)}"
        )
