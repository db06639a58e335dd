"""``manage.py resume_operation ID``: queue an interrupted operation again for a task worker.

An operation whose runner died (worker killed, host lost) is marked interrupted once its lease
has lapsed; its work is safe to run again, and a worker completes it.
"""

from django.core.management.base import CommandError

from tokens_app import history
from tokens_app.management.arguments import positive_int
from tokens_app.management.base import CampaignCommand
from tokens_app.services import runs


class Command(CampaignCommand):
    help = "Queue an interrupted operation (see /operations/) again; a task worker completes it."

    def add_arguments(self, parser):
        parser.add_argument("operation", type=positive_int, metavar="ID", help="the operation's number")
        self.add_operator_argument(parser)

    def handle(self, *args, **options):
        operation = history.operation(options["operation"])
        if operation is None:
            raise CommandError(f"no operation #{options['operation']}")
        runs.resume_operation(operation, self.operator(options))
        self.stdout.write(f"Operation #{operation.pk} ({operation.get_action_display()} of {operation.target}) is queued again.")
