"""``manage.py token_status --type T [--database DB] [--json]``: how far a campaign has got.

An archived or purged campaign has no tokens left in CouchDB: it counts zero. Works for a
design document no Campaign knows as well (one made by GRID_LRT scripts or another
portal), so an operator can watch a campaign before adopting it.
"""

import json

from django.core.management.base import CommandError

from tokens_app.couch import get_gateway
from tokens_app.design import STATE_NAMES, design_doc_id
from tokens_app.management.options import CampaignCommand
from tokens_app.models import Campaign
from tokens_app.selectors import overview_counts


class Command(CampaignCommand):
    help = "Show how many tokens of a campaign are todo, locked, done and error."
    mutating = False

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--json", action="store_true",
            help='print {"type", "database", "counts": {"todo", "locked", "done", "error"}, "total"}',
        )

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        gone = campaign.status in (Campaign.Status.ARCHIVED, Campaign.Status.PURGED)
        counts = dict.fromkeys(STATE_NAMES, 0) if gone else overview_counts(campaign)
        total = counts.pop("total", 0)
        if options["json"]:
            report = {"type": campaign.token_type, "database": campaign.database, "counts": counts, "total": total}
            self.stdout.write(json.dumps(report))
            return
        if gone:
            self.stdout.write(f"{campaign} is {campaign.status}: its tokens are no longer in CouchDB.")
            return
        self.stdout.write(f"{campaign}: {total} tokens")
        for state in STATE_NAMES:
            self.stdout.write(f"  {state:<7} {counts[state]:>8}")

    def campaign(self, options) -> Campaign:
        """The Campaign, or an unsaved one for a design document that no Campaign knows."""
        try:
            return super().campaign(options)
        except CommandError:
            database, token_type = self.database(options), options["token_type"]
            if get_gateway().get_doc(database, design_doc_id(token_type), default=None) is None:
                raise
            return Campaign(token_type=token_type, database=database)
