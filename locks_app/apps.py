from django.apps import AppConfig


class LocksAppConfig(AppConfig):
    name = "locks_app"
    verbose_name = "Locks and freezes"

    def ready(self):
        # Garbage in the lock settings stops the start with a one-line error, not a later request.
        from . import limits, lockables

        limits.max_duration()
        lockables.configured()
