"""``manage.py token_status [--type T] [--database DB] [--json]``: how far campaigns have got.

With ``--type``, one campaign; without it, every campaign the portal knows (in ``--database``
when given), one line each. An archived or purged campaign has no tokens left in CouchDB: it
counts zero. With ``--type`` it works for a design document no Campaign knows as well (one made
by GRID_LRT scripts, the PiCaS examples or another portal), so an operator can watch a campaign
before adopting it: the tokens counted are those its ``todo`` view lists (``--type Monitor``
counts the PiCaS examples' tokens of type ``token``).
"""

import json

from django.core.management.base import CommandError

from locks_app.management.tables import aligned
from tokens_app.campaign_selectors import campaigns_in
from tokens_app.couch import CouchError
from tokens_app.management.base import SERVER_ERRORS, CampaignCommand
from tokens_app.models import Campaign
from tokens_app.selectors import listed_token_set, overview_counts
from tokens_app.services.layout import ensure_portal_design, restore_views
from tokens_app.states import STATE_NAMES, campaign_label, campaign_state
from tokens_app.tokensets import TokenSet



class Command(CampaignCommand):
    help = (
        "Show how many tokens are todo, locked, done and error: of one campaign (--type), "
        "or of every campaign the portal knows, one line each."
    )
    takes_operator = False
    type_required = False

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--json", action="store_true",
            help='print {"type", "database", "state", "counts": {"todo", "locked", "done", "error"}, "total"} '
            "(the state as the pages name it: creating, incomplete, ready, finished, archived or purged); "
            "without --type a list of them (counts and total null when CouchDB cannot count the campaign)",
        )

    def handle(self, *args, **options):
        if options["token_type"] is None:
            self.list_campaigns(options)
            return
        campaign = self.campaign(options)
        gone = isinstance(campaign, Campaign) and campaign.tokens_gone
        if isinstance(campaign, Campaign) and not gone:
            restore_views(campaign)  # pilots follow these views: the portal's rule, not a script's
        counts = dict.fromkeys(STATE_NAMES, 0) if gone else overview_counts(campaign)
        # A design document no Campaign knows has tokens but no state of the portal's.
        known = isinstance(campaign, Campaign)
        state = campaign_state(campaign.status, counts) if known else None
        label = campaign_label(campaign.status, counts) if known else None
        counts = dict(counts)
        total = counts.pop("total", 0)
        if options["json"]:
            report = {"type": campaign.token_type, "database": campaign.database, "state": state, "counts": counts,
                      "total": total}
            self.stdout.write(json.dumps(report))
            return
        if gone:
            self.stdout.write(f"{campaign} is {state}: its tokens are no longer in CouchDB.")
            return
        self.stdout.write(f"{campaign} ({label}): {total} tokens" if known else f"{campaign}: {total} tokens")
        for name in STATE_NAMES:
            self.stdout.write(f"  {name:<7} {counts[name]:>8}")

    def list_campaigns(self, options) -> None:
        """Every campaign (of ``--database`` when given): a table, or a JSON list."""
        campaigns = campaigns_in(options["database"])
        reports, failures = [], []
        for campaign in campaigns:
            counts = dict.fromkeys(STATE_NAMES, 0) if campaign.tokens_gone else self.counts_or_none(campaign, failures)
            state = campaign_state(campaign.status, counts)
            counts = dict(counts) if counts is not None else None
            total = counts.pop("total", 0) if counts is not None else None
            reports.append({
                "type": campaign.token_type, "database": campaign.database, "state": state,
                "counts": counts, "total": total,
            })
        if options["json"]:
            self.stdout.write(json.dumps(reports))
        elif not reports:
            where = f" in database '{options['database']}'" if options["database"] else ""
            self.stdout.write(f"No campaigns{where} yet: create one with create_tokenset or seed_demo.")
        else:
            self.stdout.write(self.table(reports))
        if failures:
            raise CommandError(f"{len(failures)} campaign(s) could not be counted, the first: {failures[0]}")

    @staticmethod
    def counts_or_none(campaign: Campaign, failures: list[CouchError]) -> dict | None:
        """The campaign's counts now (a command may wait for the index, unlike a page), or None
        when CouchDB cannot count it (added to ``failures``): one broken database does not stop
        the listing, but a server that cannot be reached or refuses the portal stops it at once."""
        try:
            restore_views(campaign)
            return overview_counts(campaign)
        except SERVER_ERRORS:
            raise
        except CouchError as exc:
            failures.append(exc)
            return None

    @staticmethod
    def table(reports: list[dict]) -> str:
        """Aligned columns: type, database, state, the four token states, total ("?" where
        CouchDB could not count; the campaign page says why)."""
        header = ["type", "database", "state", *STATE_NAMES, "total"]
        rows = [
            [r["type"], r["database"], r["state"],
             *(str(r["counts"][state]) if r["counts"] is not None else "?" for state in STATE_NAMES),
             str(r["total"]) if r["total"] is not None else "?"]
            for r in reports
        ]
        return aligned(header, rows, left=3)  # type, database and state flush left, the numbers right

    def campaign(self, options) -> Campaign | TokenSet:
        """The Campaign, or the token set of a design document that no Campaign knows."""
        try:
            return super().campaign(options)
        except CommandError:
            database, name = self.database(options), options["token_type"]
            token_set = listed_token_set(database, name)
            if token_set is None:
                raise
            # Counts come from the portal's own design document, never from another tool's
            # overview view: a database the portal never wrote to gets it (an index, no token
            # changes), as the count refresh of the dashboard would write it.
            ensure_portal_design(database)
            # The tokens counted are those the design document lists (``_design/Monitor``
            # lists type ``token``), as the dashboard counts it.
            return token_set
