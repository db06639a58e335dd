"""``manage.py attach_to_tokens FILE``: attach one file to tokens (a parset, a script)."""

from pathlib import Path

from tokens_app.management.arguments import read_file
from tokens_app.management.base import CampaignCommand
from tokens_app.management.progress import ProgressBar
from tokens_app.models import Operation
from tokens_app.services import attach_file


class Command(CampaignCommand):
    help = "Attach a file to tokens. Without --view, --ids or --where: every token of the campaign."
    selects = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file", help="the file to attach")
        parser.add_argument("--name", help="the attachment's name (default: the file's name)")
        parser.add_argument("--content-type", help="the attachment's type (default: guessed from the name)")

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        data = read_file(options["file"])
        name = options["name"] or Path(options["file"]).name
        user = self.operator(options)
        with ProgressBar(self.stderr) as bar:
            result = self.recorded(
                Operation.Action.ATTACH, campaign, user,
                lambda progress: attach_file(
                    campaign, name, data, user=user, content_type=options["content_type"], progress=progress,
                    **self.selection(options),
                ),
                options, progress=bar, name=name, bytes=len(data),
            )
        self.report(f"Attached '{name}'", campaign, result)
