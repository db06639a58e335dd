from ... import lockables
from ...guard import until
from ..base import LockCommand


class Command(LockCommand):
    takes_duration = True
    default_duration = "1h"
    permission_purpose = "lock {obj}"
    help = (
        "Lock an object for an operator (alone, or shared with other users), for 1 hour unless --duration says "
        "otherwise. until-ended, or longer than LOCK_MAX_DURATION, needs locks_app.lock_until_ended."
    )

    def required_permission(self, obj=None):
        """The permission the object's lockable model asks for (campaigns: tokens_app.change_campaign)."""
        return lockables.of(obj).permission

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--share", default="", help="usernames to share the lock with, comma-separated")

    def act(self, lock_broker, obj, options):
        sharers = options["share"].replace(",", " ").split()
        if sharers:
            lock_token = lock_broker.lock_shared(obj, sharers, options["duration"])
        else:
            lock_token = lock_broker.lock(obj, options["duration"])
        return f"Locked {lock_token.context} for {', '.join(sorted(lock_token.principal_ids))} {until(lock_token)}."
