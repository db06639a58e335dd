from ...utility import TokenUtility
from ..base import OperatorCommand


class Command(OperatorCommand):
    help = "Remove expired locks and freezes from the indexes (registrations also do it; run it from cron like clearsessions)."

    def handle(self, *args, **options):
        removed = TokenUtility().cleanup()
        self.stdout.write(f"Removed {removed} expired token(s) from the indexes.")
