"""The project package as an app: what the whole portal needs beyond tokens_app and locks_app."""

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_tables(using: str, verbosity: int = 1, **kwargs) -> None:
    """Create the table of every database cache (the default one holds the sign-in attempts), so
    that ``migrate`` alone prepares an installation. Sent once per app; tables that exist are
    left alone, so the later calls only look."""
    call_command("createcachetable", database=using, verbosity=max(0, verbosity - 1))


class TokenportalConfig(AppConfig):
    name = "tokenportal"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deployment checks)

        post_migrate.connect(create_cache_tables, dispatch_uid="tokenportal.create_cache_tables")
