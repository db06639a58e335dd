"""Shared behaviour of the portal's management commands."""

from django.core.management.base import BaseCommand, CommandError

from tokens_app.couch import CouchError


class PortalCommand(BaseCommand):
    """A command whose CouchDB failures end in a one-line error and a non-zero exit, not a traceback."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except CouchError as exc:
            raise CommandError(str(exc)) from None
