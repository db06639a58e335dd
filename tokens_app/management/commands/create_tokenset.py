"""``manage.py create_tokenset --config FILE --srmlist FILE ...``: a campaign from the command line.

The same path as the portal's upload form: the files are checked whole before anything is
written (what the preview would point out is printed first, as "Note:" lines), then the tokens go
to CouchDB in batches. Running it again after a failure completes the set: tokens already written
are reported and left alone unless ``--overwrite`` is given.
"""

from pathlib import Path

from django.core.management.base import CommandError

from tokens_app.management.arguments import positive_int, read_file
from tokens_app.management.base import CampaignCommand, creation_summary
from tokens_app.management.progress import ProgressBar
from tokens_app.srm import AS_GIVEN, LINK_FLAVORS


class Command(CampaignCommand):
    help = "Create a token campaign from a step config (YAML or JSON) and an SRM list."
    type_required = False

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.description = "The token type comes from the config's Token.type unless --type is given."
        parser.add_argument("--config", required=True, metavar="FILE", help="the step config (YAML or JSON)")
        parser.add_argument("--srmlist", required=True, metavar="FILE", help="the input links, one per line")
        parser.add_argument("--slice-size", type=positive_int, default=1, metavar="N", help="subbands per token (default 1)")
        parser.add_argument("--id-prefix", default="SB", help="token ids end in PREFIX + key (default SB)")
        parser.add_argument("--key-name", default="STARTSB", help="the token field holding the key (default STARTSB)")
        parser.add_argument(
            "--srm-attachment", "--srm-file-name", dest="srm_attachment", default="srm.txt", metavar="NAME",
            help="the SRM attachment name: each token's links are attached to it under this name (default srm.txt; "
            "--srm-file-name is its old name)",
        )
        parser.add_argument(
            "--link-flavor", choices=LINK_FLAVORS, default=AS_GIVEN,
            help="convert the links to this form (default: keep them as the list gives them)",
        )
        parser.add_argument(
            "--attach", nargs="+", action="extend", default=[], metavar="FILE",
            help="files attached to every token (a parset, a script)",
        )
        parser.add_argument("--allow-mixed", action="store_true", help="accept links of several OBSIDs or sites")
        parser.add_argument("--overwrite", action="store_true", help="replace tokens that exist already")
        parser.add_argument("--batch-size", type=positive_int, metavar="N", help="tokens per _bulk_docs request")

    def handle(self, *args, **options):
        attachments = {}
        for path in options["attach"]:
            name = Path(path).name
            if name in attachments:
                raise CommandError(f"two attached files are named '{name}'")
            attachments[name] = read_file(path)
        campaign, report = self.create_campaign(
            options, self.operator(options),
            overwrite=options["overwrite"],
            batch_size=options["batch_size"],
            progress=ProgressBar(self.stderr, options["batch_size"]),
            config_data=read_file(options["config"]),
            srmlist_data=read_file(options["srmlist"]),
            config_name=Path(options["config"]).name,
            srmlist_name=Path(options["srmlist"]).name,
            token_type=options["token_type"],
            database=self.database(options),
            slice_size=options["slice_size"],
            id_prefix=options["id_prefix"],
            key_name=options["key_name"],
            srm_attachment=options["srm_attachment"],
            link_flavor=options["link_flavor"],
            attachments=attachments,
            allow_mixed=options["allow_mixed"],
        )
        self.stdout.write(creation_summary(campaign, report))
        if report.failed:
            raise CommandError(f"{report.failed} tokens were not written; run the command again to complete the set")
