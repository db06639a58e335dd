import json

from ...durations import format_duration
from ...keys import object_key
from ...utility import TokenUtility
from ..arguments import name_type
from ..base import ObjectCommand
from ..tables import aligned


class Command(ObjectCommand):
    help = (
        "List the active locks and freezes: all, one principal's, or one object's. A table with a "
        "header row, one line each: object, kind, held by, time left, object key."
    )
    object_required = False

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--principal", type=name_type("principal"), help="only the locks this principal (username) holds")
        parser.add_argument("--json", action="store_true", help="one JSON array instead of a table")

    def handle(self, *args, **options):
        obj = self.target(options)
        lock_tokens = TokenUtility().filter(principal_id=options["principal"])
        if obj is not None:
            key = object_key(obj)
            lock_tokens = (lock_token for lock_token in lock_tokens if lock_token.object_key == key)
        rows = [self.described(lock_token) for lock_token in lock_tokens]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No active locks.")
            return
        self.stdout.write(aligned(
            ["object", "kind", "held by", "time left", "key"],
            [[row["name"], row["kind_label"], ", ".join(row["principals"]) or "-", row["remaining"], row["object"]]
             for row in rows],
        ))

    @staticmethod
    def described(lock_token) -> dict:
        row = lock_token.row
        remaining = lock_token.remaining_duration if hasattr(lock_token, "end") else None
        return {
            "object": lock_token.object_key,
            # What operators call the object (a campaign's "pref_cal1 in tokens"); the key if it is gone.
            "name": str(lock_token.context),
            "kind": row.kind,
            "kind_label": row.get_kind_display(),
            "principals": sorted(row.principal_ids),
            "started": row.started.isoformat(),
            "expiration": row.expiration.isoformat() if row.expiration else None,
            "created_by": lock_token.creator.get_username() if lock_token.creator else None,
            "remaining": format_duration(remaining),
        }
