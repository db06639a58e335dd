from ..base import LockCommand


class Command(LockCommand):
    # None: a holder ends their own lock; the broker decides who may end anyone else's
    # (locks_app.break_lock, or locks_app.freeze_object for a freeze).
    permission = None
    help = "End the lock or freeze of an object (a holder's own, or anyone's with break_lock)."

    def act(self, lock_broker, obj, options):
        lock_token = lock_broker.end(obj)
        return f"Ended the {lock_token.row.get_kind_display()} on {lock_token.context}."
