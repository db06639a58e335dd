"""``manage.py resume_operation ID``: queue an interrupted operation again for a task worker.

An operation whose runner died (worker killed, host lost) is marked interrupted once its lease
has lapsed; its work is safe to run again, and a worker completes it.
"""

from django.core.management.base import CommandError

from tokens_app.management.options import CampaignCommand, positive_int
from tokens_app.models import Operation
from tokens_app.services import ServiceError, runs


class Command(CampaignCommand):
    help = "Queue an interrupted operation (see /operations/) again; a task worker completes it."

    def add_arguments(self, parser):
        parser.add_argument("operation", type=positive_int, metavar="ID", help="the operation's number")
        parser.add_argument(
            "--user", metavar="NAME",
            help="the operator (a portal user); may be left out when there is exactly one superuser",
        )

    def handle(self, *args, **options):
        try:
            operation = Operation.objects.get(pk=options["operation"])
        except Operation.DoesNotExist:
            raise CommandError(f"no operation #{options['operation']}") from None
        try:
            runs.resume_operation(operation, self.operator(options))
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Operation #{operation.pk} ({operation.get_action_display()} of {operation.target}) is queued again.")
