import json

from tokens_app.management.base import PortalCommand

from ...durations import format_duration
from ...utility import TokenUtility


class Command(PortalCommand):
    help = "List the active locks and freezes, optionally of one principal."

    def add_arguments(self, parser):
        parser.add_argument("--principal", help="only the tokens this principal (username) holds")
        parser.add_argument("--json", action="store_true", help="one JSON array instead of a table")

    def handle(self, *args, **options):
        tokens = TokenUtility().filter(principal_id=options["principal"])
        rows = [
            {
                "object": token.object_key,
                "kind": token.row.kind,
                "principals": sorted(token.principal_ids),
                "started": token.started.isoformat(),
                "expiration": token.expiration.isoformat() if token.expiration else None,
                "created_by": token.creator.get_username() if token.creator else None,
                "remaining": format_duration(token.remaining_duration),
            }
            for token in tokens
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No active locks.")
        for row in rows:
            held = ", ".join(row["principals"]) or "-"
            self.stdout.write(f"{row['object']}\t{row['kind']}\t{held}\t{row['remaining']}")
