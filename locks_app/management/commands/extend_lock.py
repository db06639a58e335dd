from django.core.management.base import CommandError

from ...guard import until
from ..base import LockCommand


class Command(LockCommand):
    help = "Let an operator's own lock run longer (--by 2h) or set how long it runs from its start (--duration)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument("--by", help="how much longer, e.g. 30m, 2h, 1d (write --by=VALUE)")
        how.add_argument("--duration", help="the lock's whole duration from its start, e.g. 8h or until-ended")

    def act(self, broker, obj, options):
        if options["by"] is not None:
            by = self.duration(options["by"])
            if by is None:
                raise CommandError("--by takes a duration such as 2h; for no expiry write --duration=until-ended")
            token = broker.extend(obj, by)
        else:
            token = broker.set_duration(obj, self.duration(options["duration"]))
        return f"{token.context} is now locked {until(token)}."
