"""The base of every management command of the project, locks_app's and tokens_app's.

:class:`OperatorCommand` looks up the operator a command acts for: ``--user NAME`` (an active
user), or, when that is left out, the site's only active superuser (the usual single-operator
set-up). The operator must have the permission the command declares (``permission``, or
:meth:`~OperatorCommand.required_permission` where it depends on the object). Errors the command
lists in ``one_line_errors`` end, like every ``CommandError``, in one line and a non-zero exit.

:class:`ObjectCommand` and :class:`LockCommand` are the lock commands: the object is named by
its key or by the options lockable models register (``--type T [--database DB]`` for campaigns).
locks_app imports no other app of the project: tokens_app's commands build on this module.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from .. import lockables
from ..broker import BrokerError, TokenBroker
from .arguments import lock_duration, name_type


class OperatorCommand(BaseCommand):
    """A command that may act for an operator, and turns its errors into one line."""

    #: Whether the command acts for an operator (and takes ``--user``).
    takes_operator = False
    #: The permission ("app_label.codename") the operator needs; ``None``: any active user.
    permission: str | None = None
    #: What the permission allows, for the refusal ("... lacks the permission P to <purpose>");
    #: ``{obj}`` stands for the object acted on.
    permission_purpose = "run this command"
    #: Exceptions whose message is the command's one-line error.
    one_line_errors: tuple[type[Exception], ...] = ()

    def add_arguments(self, parser):
        if self.takes_operator:
            self.add_operator_argument(parser)

    @staticmethod
    def add_operator_argument(parser) -> None:
        parser.add_argument(
            "--user", type=name_type("user"), metavar="NAME",
            help="the operator (a username); may be left out when there is exactly one active superuser",
        )

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except self.one_line_errors as exc:
            raise CommandError(str(exc)) from None

    def required_permission(self, obj=None) -> str | None:
        """The permission the operator needs to act on ``obj``: the command's ``permission``."""
        return self.permission

    def operator(self, options, obj=None):
        """The active user ``--user`` names, else the only active superuser; a one-line
        ``CommandError`` when there is none, or when that user lacks the required permission."""
        users = get_user_model()
        name = options.get("user")
        if name:  # an empty --user is left out, as --user "$OPERATOR" with the variable unset
            try:
                user = users._default_manager.get(**{users.USERNAME_FIELD: name, "is_active": True})
            except users.DoesNotExist:
                raise CommandError(f"no active user {name!r}") from None
        else:
            superusers = list(users._default_manager.filter(is_superuser=True, is_active=True)[:2])
            if len(superusers) != 1:
                raise CommandError(
                    "name the operator with --user NAME (it may be left out only when there is exactly one "
                    "active superuser)"
                )
            user = superusers[0]
        permission = self.required_permission(obj)
        if permission and not user.has_perm(permission):
            purpose = self.permission_purpose.format(obj=obj)
            raise CommandError(f"user {user.get_username()!r} lacks the permission {permission} to {purpose}")
        return user


class ObjectCommand(OperatorCommand):
    """A command about the lock of one object, named by key or by a lockable model's options."""

    object_required = True

    def add_arguments(self, parser):
        parser.add_argument(
            "object", nargs="?", help='object key, "<app_label>.<model>:<pk>", e.g. tokens_app.campaign:3'
        )
        lockables.add_arguments(parser)
        super().add_arguments(parser)

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

    takes_operator = True
    one_line_errors = (BrokerError,)
    takes_duration = False
    # What the browser offers first: a lock for 1 hour, a freeze until it is ended.
    default_duration = "until-ended"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        if self.takes_duration:
            parser.add_argument(
                "--duration", type=lock_duration, default=self.default_duration,
                help=f"how long: 30m, 8h, 1h30m, 2d, 1w or until-ended (default {self.default_duration}, as the "
                "browser offers; write --duration=VALUE)",
            )

    def handle(self, *args, **options):
        obj = self.target(options)
        lock_broker = TokenBroker(self.operator(options, obj))
        self.stdout.write(self.act(lock_broker, obj, options))

    def act(self, lock_broker: TokenBroker, obj, options) -> str:
        raise NotImplementedError
