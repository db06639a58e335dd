"""What the lock commands share: an operator (``--user``), the object (an object key, or the
options lockable models register, such as ``--type T [--database DB]`` for campaigns) and a
duration, each turned into a one-line ``CommandError`` when it is garbage."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from .. import lockables
from ..broker import BrokerError, TokenBroker
from ..durations import parse_duration


class ObjectCommand(BaseCommand):
    """A command about the lock of one object, named by key or by a lockable model's options."""

    object_required = True

    def add_arguments(self, parser):
        parser.add_argument(
            "object", nargs="?", help='object key, "<app_label>.<model>:<pk>", e.g. tokens_app.campaign:3'
        )
        lockables.add_arguments(parser)

    def target(self, options):
        """The lockable object the options name; ``None`` when optional and none was named."""
        try:
            found = lockables.find(options)
            key = options["object"]
            if key is not None and found is not None:
                raise CommandError("name the object once: by its key or by its options, not both")
            if key is not None:
                return lockables.lookup(key)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if found is None and self.object_required:
            raise CommandError("name the object: give its key, or its options (see --help)")
        return found


class LockCommand(ObjectCommand):
    """A command in which an operator acts on the lock of one object."""

    takes_duration = False
    # What the browser offers first: a lock for 1 hour, a freeze until it is ended.
    default_duration = "until-ended"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--user", required=True, help="the operator acting (a username)")
        if self.takes_duration:
            parser.add_argument(
                "--duration", default=self.default_duration,
                help=f"how long: 30m, 8h, 1h30m, 2d or until-ended (default {self.default_duration}, as the browser offers; "
                "write --duration=VALUE)",
            )

    def handle(self, *args, **options):
        broker = TokenBroker(self.operator(options["user"]))
        obj = self.target(options)
        try:
            message = self.act(broker, obj, options)
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
    def duration(text):
        try:
            return parse_duration(text, until_ended=True)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
