"""``manage.py archive_tokens``: keep a campaign as a ``.tar.gz`` (every token as JSON, its
attachments and the design document), optionally deleting the tokens afterwards.

The archive is written under a temporary name and renamed when complete, so a file with the
final name is always a whole archive.
"""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone

from tokens_app.management.base import CampaignCommand
from tokens_app.models import Operation
from tokens_app.services import archive_file_name, archive_tokens


class Command(CampaignCommand):
    help = "Write every token of the campaign (JSON and attachments) and its design document to a .tar.gz."
    confirms = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--output", "-o", metavar="FILE",
            help="the archive to write (default: <type>-<database>-<date>.tar.gz here)",
        )
        parser.add_argument("--delete", action="store_true", help="delete the tokens once archived (asks first)")

    def handle(self, *args, **options):
        campaign = self.campaign(options)
        user = self.operator(options)
        target = Path(options["output"] or archive_file_name(campaign, timezone.now()))
        if target.exists():
            raise CommandError(f"{target} exists already; choose another --output")
        if options["delete"]:
            self.confirm_targets(options, campaign, "Archive, then delete,", campaign_too=True)
        partial = target.with_name(target.name + ".part")
        try:
            if options["delete"]:
                # Deleting changes tokens: the history records it like every other such change.
                self.recorded(
                    Operation.Action.ARCHIVE_DELETE, campaign, user,
                    lambda progress: self._write(partial, campaign, user, delete=True), options, output=str(target),
                )
            else:
                self._write(partial, campaign, user, delete=False)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"cannot write {target}: {exc.strerror}") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.rename(target)
        deleted = " and deleted the tokens" if options["delete"] else ""
        self.stdout.write(f"Archived '{campaign.token_type}' of '{campaign.database}' to {target}{deleted}.")

    @staticmethod
    def _write(partial: Path, campaign, user, *, delete: bool) -> None:
        with partial.open("wb") as archive:
            for chunk in archive_tokens(campaign, user=user, delete=delete):
                archive.write(chunk)
