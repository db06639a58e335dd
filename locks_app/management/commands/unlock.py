from ..base import LockCommand


class Command(LockCommand):
    help = "End the lock or freeze of an object (a holder's own, or anyone's with break_lock)."

    def act(self, broker, obj, options):
        token = broker.end(obj)
        return f"Ended the {token.row.get_kind_display()} on {token.context}."
