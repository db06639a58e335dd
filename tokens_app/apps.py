from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokensAppConfig(AppConfig):
    name = "tokens_app"
    verbose_name = "Token campaigns"

    def ready(self):
        from django_tasks import task_backends
        from django_tasks.exceptions import InvalidTaskBackendError

        from . import locking

        locking.register()
        # A task backend that cannot be loaded fails at startup naming the setting, not when
        # the first operation is queued.
        try:
            task_backends["default"]
        except InvalidTaskBackendError as exc:
            raise ImproperlyConfigured(
                f"TASKS_BACKEND={settings.TASKS_BACKEND!r} is not a valid value for TASKS_BACKEND: {exc}"
            ) from None
