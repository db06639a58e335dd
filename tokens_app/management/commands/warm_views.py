"""Build the CouchDB views of every campaign's database now, instead of on the first page that
needs them (a page would wait for the build, up to minutes on a large database)."""

import time

from django.core.management.base import CommandError

from tokens_app.couch import CouchError
from tokens_app.campaign_selectors import campaign_databases
from tokens_app.services.layout import build_views, designs_with_views
from tokens_app.management.base import SERVER_ERRORS, PortalCommand


class Command(PortalCommand):
    help = (
        "Build every view of every design document in every CouchDB database holding a campaign. "
        "Run it after creating campaigns (and after upgrading the portal), before users open the pages."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout", type=float, default=3600.0,
            help="seconds to wait for one design document's views to be built (default 3600)",
        )

    def handle(self, *args, timeout, **options):
        if not timeout > 0:
            raise CommandError(f"--timeout must be a positive number of seconds, not {timeout}")
        failures = []
        databases = campaign_databases()
        if not databases:
            self.stdout.write("No campaigns yet: nothing to build.")
        for db in databases:
            try:
                views = designs_with_views(db, timeout=timeout)
            except SERVER_ERRORS:
                raise
            except CouchError as exc:
                self.stderr.write(f"{db}: {exc}")
                failures.append(exc)
                continue
            for number, (ddoc, views_of_ddoc) in enumerate(views, 1):
                started = time.monotonic()
                try:
                    build_views(db, ddoc, views_of_ddoc, timeout=timeout)
                except SERVER_ERRORS:
                    raise
                except CouchError as exc:
                    self.stderr.write(f"{db} _design/{ddoc} ({number}/{len(views)}): {exc}")
                    failures.append(exc)
                    continue
                self.stdout.write(
                    f"{db} _design/{ddoc} ({number}/{len(views)}): {len(views_of_ddoc)} view(s) built in "
                    f"{time.monotonic() - started:.1f} s"
                )
        if failures:
            raise CommandError(
                f"{len(failures)} design document(s) or database(s) could not be built (see above), the first: "
                f"{failures[0]}"
            )
