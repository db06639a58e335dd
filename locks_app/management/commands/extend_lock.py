import argparse

from ...guard import until
from ..arguments import duration, lock_duration
from ..base import LockCommand


class Command(LockCommand):
    # None: only a holder changes a lock's time, which the broker checks.
    permission = None
    help = "Let an operator's own lock run longer (--by 2h) or set how long it runs from its start (--duration)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument(
            "--by", type=duration, help="how much longer, e.g. 30m, 2h, 1d (write --by=VALUE; for no expiry "
            "write --duration=until-ended)",
        )
        # No default: argparse would take --duration=until-ended (None, the usual default) for
        # no --duration at all, and say that one of the two is required.
        how.add_argument(
            "--duration", type=lock_duration, default=argparse.SUPPRESS,
            help="the lock's whole duration from its start, e.g. 8h or until-ended",
        )

    def act(self, lock_broker, obj, options):
        if options["by"] is not None:
            lock_token = lock_broker.extend(obj, options["by"])
        else:
            lock_token = lock_broker.set_duration(obj, options["duration"])
        return f"{lock_token.context} is now locked {until(lock_token)}."
