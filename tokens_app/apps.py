from django.apps import AppConfig


class TokensAppConfig(AppConfig):
    name = "tokens_app"
    verbose_name = "Token campaigns"

    def ready(self):
        from . import locking

        locking.register()
