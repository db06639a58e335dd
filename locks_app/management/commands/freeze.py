from ...guard import until
from ..base import LockCommand


class Command(LockCommand):
    takes_duration = True
    help = "Freeze an object so that nobody may change it (needs locks_app.freeze_object)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--permanent", action="store_true", help="a freeze that can never end")

    def act(self, broker, obj, options):
        duration = self.duration(options["duration"])
        token = broker.freeze(obj, endable=not options["permanent"], duration=duration)
        return f"Froze {token.context} {'for good' if options['permanent'] else until(token)}."
