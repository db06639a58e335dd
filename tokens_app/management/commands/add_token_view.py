"""``manage.py add_token_view NAME CONDITION``: a named view of the campaign (GRID_LRT's TokenView).

The condition is JavaScript on ``doc``, e.g. ``doc.status == "error" && doc.scrub_count > 2``;
the view lists the campaign's tokens for which it holds, and the selection option ``--view``
of the other commands can then use it.
"""

from tokens_app.management.options import CampaignCommand
from tokens_app.services import add_view


class Command(CampaignCommand):
    help = "Add a view (a named condition on doc.*) to the campaign's design document."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("name", help="the view's name: a letter, then letters, digits or _")
        parser.add_argument("condition", help='JavaScript on doc, e.g. \'doc.status == "error"\'')

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        add_view(campaign, options["name"], options["condition"], user=self.operator(options))
        self.stdout.write(f"Added the view '{options['name']}' to _design/{campaign.token_type} in '{campaign.database}'.")
