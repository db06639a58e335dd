"""``manage.py add_token_view NAME CONDITION``: a named view of the campaign (GRID_LRT's TokenView).

The condition is in the portal's condition language (``tokens_app.conditions``): fields as
``doc.<field>`` compared with literals, e.g. ``doc.status == "error" && doc.scrub_count > 2``.
The portal compiles it to JavaScript itself. The view lists the campaign's tokens for which it
holds, and the selection option ``--view`` of the other commands can then use it.
"""

import argparse

from tokens_app.conditions import ConditionError
from tokens_app.design import validate_condition
from tokens_app.management.base import CampaignCommand
from tokens_app.services import add_view


def condition(text: str) -> str:
    """A condition of the language, or the parser's error with the line and a caret under the offence."""
    try:
        return validate_condition(text)
    except ConditionError as exc:
        raise argparse.ArgumentTypeError(f"{exc}\n{exc.excerpt}") from None


class Command(CampaignCommand):
    help = "Add a view (a named condition on doc.*) to the campaign's design document."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("name", help="the view's name: a letter, then letters, digits or _")
        parser.add_argument(
            "condition", type=condition,
            help='fields as doc.<field> compared with literals (== != === !== < <= > >=), joined with '
            '&& || ! and parentheses, e.g. \'doc.status == "error" && doc.scrub_count > 2\'',
        )

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        add_view(campaign, options["name"], options["condition"], user=self.operator(options))
        self.stdout.write(f"Added the view '{options['name']}' to _design/{campaign.token_type} in '{campaign.database}'.")
