"""What the lock commands share: an operator (``--user``), an object key and a duration,
each turned into a one-line ``CommandError`` when it is garbage."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from tokens_app.management.base import PortalCommand

from .. import keys
from ..broker import BrokerError, TokenBroker
from ..durations import parse_duration


class LockCommand(PortalCommand):
    """A command in which an operator acts on the lock of one object."""

    takes_duration = False

    def add_arguments(self, parser):
        parser.add_argument("object", help='object key, "<app_label>.<model>:<pk>", e.g. tokens_app.campaign:3')
        parser.add_argument("--user", required=True, help="the operator acting (a username)")
        if self.takes_duration:
            parser.add_argument(
                "--duration", default="until-ended", help="e.g. 30m, 8h, 1h30m, 2d, until-ended (write --duration=VALUE)"
            )

    def handle(self, *args, **options):
        broker = TokenBroker(self.operator(options["user"]))
        try:
            message = self.act(broker, self.target(options["object"]), options)
        except BrokerError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(message)

    def act(self, broker: TokenBroker, obj, options) -> str:
        raise NotImplementedError

    @staticmethod
    def operator(username):
        users = get_user_model()
        try:
            return users._default_manager.get(**{users.USERNAME_FIELD: username}, is_active=True)
        except users.DoesNotExist:
            raise CommandError(f"No active user {username!r}.") from None

    @staticmethod
    def target(key):
        try:
            return keys.lookup(key)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def duration(text):
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
