"""``manage.py simulate_pilots --type T``: watch a campaign move without a grid.

Starts pilot processes that do what PiCaS pilots do (see :mod:`devtools.pilots`): claim todo
tokens with a revision-checked write, run a short fake job, mark them done or error. They act as
pilots, not as an operator, so they do not go through the lock guard. Like real pilots they
know only the database and the design document, not the portal's own records, so they work on
campaigns made by other tools too.
"""

from django.core.management.base import CommandError

from devtools.pilots import CouchAccess, simulate
from tokens_app.couch import CouchError, shown
from tokens_app.design import design_id
from tokens_app.management.arguments import fraction, positive_int, seconds
from tokens_app.management.base import CampaignCommand
from tokens_app.management.progress import ProgressBar
from tokens_app.couch import couch_connection
from tokens_app.selectors import design_exists, overview_counts
from tokens_app.tokensets import TokenSet


class Command(CampaignCommand):
    help = "Run simulated PiCaS pilots on a campaign until no todo token is left."
    takes_operator = False

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--workers", type=positive_int, default=4, metavar="N", help="pilot processes (default 4)")
        parser.add_argument(
            "--failure-rate", type=fraction, default=0.1, metavar="F",
            help="probability that a job fails with exit code 1 (default 0.1)",
        )
        parser.add_argument(
            "--job-seconds", type=seconds, default=0.5, metavar="S",
            help="mean length of a fake job in seconds (default 0.5)",
        )
        parser.add_argument("--max-tokens", type=positive_int, metavar="M", help="stop after M tokens in all")

    def handle(self, *args, **options):
        database, token_type = self.database(options), options["token_type"]
        token_set = TokenSet(database=database, token_type=token_type)
        if not design_exists(token_set):
            raise CommandError(
                f"no campaign of type {shown(token_type)} in database {shown(database)} "
                f"(no design document {shown(design_id(token_type))})"
            )
        # The bar's end: the todo tokens now (or --max-tokens); the token set may be one no
        # portal row knows. One without the overview view gets a running count (each pilot's
        # write is one token: a "batch" of one).
        try:
            todo = overview_counts(token_set)["todo"]
        except CouchError:
            todo = None
        if todo is not None and options["max_tokens"] is not None:
            todo = min(todo, options["max_tokens"])
        with ProgressBar(self.stderr, batch_size=1, total=todo) as progress:
            reports = simulate(
                CouchAccess.of(couch_connection()), database, token_type,
                workers=options["workers"], failure_rate=options["failure_rate"],
                job_seconds=options["job_seconds"], max_tokens=options["max_tokens"], progress=progress,
            )
        for report in reports:
            self.stdout.write(
                f"{report.pilot}: {report.done} done, {report.failed} error, "
                f"{report.conflicts} claims lost to other pilots, {report.lost} tokens changed under it"
            )
        done, failed = sum(r.done for r in reports), sum(r.failed for r in reports)
        self.stdout.write(f"{len(reports)} pilots processed {done + failed} tokens: {done} done, {failed} error.")
