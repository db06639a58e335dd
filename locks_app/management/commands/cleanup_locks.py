from django.core.management.base import BaseCommand

from ...utility import TokenUtility


class Command(BaseCommand):
    help = "Remove expired locks and freezes from the indexes (registrations also do it; run it from cron like clearsessions)."

    def handle(self, *args, **options):
        removed = TokenUtility().cleanup()
        self.stdout.write(f"Removed {removed} expired token(s) from the indexes.")
