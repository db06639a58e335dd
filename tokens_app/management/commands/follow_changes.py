"""Keep the read model in line with CouchDB: follow the ``_changes`` of every campaign's database."""

import signal
import threading

from django.conf import settings

from tokens_app.follower import Follower
from tokens_app.management.arguments import campaign_name, positive_int, seconds
from tokens_app.management.base import PortalCommand
from tokens_app.services import notify
from tokens_app.tasks import expire_leases


class Command(PortalCommand):
    help = (
        "Follow the changes of every CouchDB database holding a campaign into the portal's read model, "
        "until stopped (SIGTERM or Ctrl-C). A second follower waits until the first stops. Beside it, the "
        "notifier sends the campaigns' notifications every NOTIFY_INTERVAL_SECONDS (each event once, "
        "however many followers run)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="catch up once with every database, then stop")
        parser.add_argument(
            "--resync", metavar="DATABASE", type=campaign_name,
            help="forget what the read model holds of DATABASE and read it again from the start, then stop",
        )
        parser.add_argument(
            "--interval", type=seconds, default=0.5,
            help="seconds between two rounds of reading every database (default 0.5)",
        )

        parser.add_argument(
            "--batch", type=positive_int, default=2000,
            help="changes read and recorded at once (default 2000; fewer hold less in memory)",
        )

        parser.add_argument(
            "--lease", type=positive_int, default=30,
            help="seconds a follower that stopped answering keeps the others waiting (default 30)",
        )

    def handle(self, *args, once, resync, interval, batch, lease, **options):
        follower = Follower(batch=batch, lease_seconds=lease)
        if once or resync:
            if not follower.take_lease():
                self.stderr.write("Another follower holds the lease; waiting for it.")
                follower.wait_for_lease(threading.Event())
            try:
                if resync:
                    self.stdout.write(f"{resync}: {follower.resync(resync)} change(s) read from the start.")
                else:
                    follower.round()
            finally:
                follower.release_lease()
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        # The notifier has a thread of its own: a slow webhook must not hold the read model back.
        notifier = threading.Thread(target=notify.watch, args=(stop,), name="notifier", daemon=True)
        notifier.start()
        self.stdout.write(
            f"Following changes as {follower.owner}, notifying every {settings.NOTIFY_INTERVAL_SECONDS:g} s (Ctrl-C stops)."
        )
        try:
            # Operations whose runner died are marked interrupted (or queued again) here, so that
            # no page has to write when it reads them.
            follower.run(interval=interval, stop=stop, chores=(expire_leases,))
        finally:
            stop.set()
            notifier.join()
