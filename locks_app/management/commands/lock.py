from ...guard import until
from ..base import LockCommand


class Command(LockCommand):
    takes_duration = True
    default_duration = "1h"
    help = (
        "Lock an object for an operator (alone, or shared with other users), for 1 hour unless --duration says "
        "otherwise. until-ended, or longer than LOCK_MAX_DURATION, needs locks_app.lock_until_ended."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--share", default="", help="usernames to share the lock with, comma-separated")

    def act(self, broker, obj, options):
        duration = self.duration(options["duration"])
        sharers = options["share"].replace(",", " ").split()
        if sharers:
            token = broker.lock_shared(obj, sharers, duration)
        else:
            token = broker.lock(obj, duration)
        return f"Locked {token.context} for {', '.join(sorted(token.principal_ids))} {until(token)}."
