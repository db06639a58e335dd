"""``manage.py set_token_field FIELD VALUE``: set one field on tokens (GRID_LRT's add_keys_to_list)."""

from tokens_app.management.base import CampaignCommand
from tokens_app.management.progress import ProgressBar
from tokens_app.models import Operation
from tokens_app.services import set_field, typed_value


class Command(CampaignCommand):
    help = "Set a field on tokens. Without --view, --ids or --where: every token of the campaign."
    selects = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("field", help="the token field")
        parser.add_argument("value", type=typed_value, help='the value; JSON if it parses (0, true, "0", [1, 2]), else text')

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        user = self.operator(options)
        with ProgressBar(self.stderr) as bar:
            result = self.recorded(
                Operation.Action.SET_FIELD, campaign, user,
                lambda progress: set_field(
                    campaign, options["field"], options["value"], user=user, progress=progress,
                    **self.selection(options),
                ),
                options, progress=bar, field=options["field"], value=options["value"],
            )
        self.report(f"Set field '{options['field']}'", campaign, result)
