from tokens_app.management.base import PortalCommand

from ...utility import TokenUtility


class Command(PortalCommand):
    help = "Remove expired locks and freezes from the indexes (registrations also do it; run it from cron like clearsessions)."

    def handle(self, *args, **options):
        removed = TokenUtility().cleanup()
        self.stdout.write(f"Removed {removed} expired token(s) from the indexes.")
