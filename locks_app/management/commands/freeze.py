from ...broker import FREEZE_OBJECT
from ...guard import until
from ..base import LockCommand


class Command(LockCommand):
    takes_duration = True
    permission = FREEZE_OBJECT
    permission_purpose = "freeze {obj}"
    help = "Freeze an object so that nobody may change it (needs locks_app.freeze_object)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--permanent", action="store_true", help="a freeze that can never end")

    def act(self, lock_broker, obj, options):
        lock_token = lock_broker.freeze(obj, endable=not options["permanent"], duration=options["duration"])
        return f"Froze {lock_token.context} {'for good' if options['permanent'] else until(lock_token)}."
