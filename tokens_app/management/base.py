"""What the token commands share: picking the campaign, the tokens, and reporting.

They build on the project's one base command, :class:`locks_app.management.base.OperatorCommand`
(the operator: ``--user NAME``, or the site's only active superuser, checked against the
command's ``permission``). Every command that works on one campaign is a
:class:`CampaignCommand`: ``--type T [--database DB]`` picks the campaign, ``--user NAME`` names
the operator whose locks the guard checks, and the selection options ``--view V``, ``--ids ID
...`` and ``--where FIELD=VALUE`` narrow the tokens an operation touches. Refusals of the
services (the lock guard's included) end, like CouchDB failures, in a one-line error and a
non-zero exit.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from locks_app.management.base import OperatorCommand
from tokens_app import campaign_selectors
from tokens_app.couch import CouchAuthFailed, CouchError, CouchUnreachable, shown
from tokens_app.models import CHANGE_CAMPAIGN, Campaign, Operation
from tokens_app.services import (
    Refused,
    ServiceError,
    count_targets,
    plan_tokenset,
    push_tokenset,
    runner,
    runs,
    start_campaign,
)
from tokens_app.services.common import batch_size_or_default
from tokens_app.tokensets import TokenSet

from .arguments import campaign_name, field_assignment
from .prompts import confirm


# Failures of the whole server, not of one database: a command that goes through many databases
# stops at the first, since every other database would fail the same way.
SERVER_ERRORS = (CouchUnreachable, CouchAuthFailed)


class PortalCommand(OperatorCommand):
    """A command whose CouchDB failures end in a one-line error and a non-zero exit, not a traceback."""

    one_line_errors = (CouchError,)


class CampaignCommand(PortalCommand):
    """A command on one campaign. Subclasses say which of the shared options they take.

    ``takes_operator``: takes ``--user`` (the guard needs an operator, who needs the permission
    to change campaigns). ``selects``: takes ``--view``, ``--ids`` and ``--where``.
    ``confirms``: takes ``--yes`` for :meth:`confirm_targets`. ``type_required``: False where the
    type may come from elsewhere (a config file).
    """

    takes_operator = True
    permission = CHANGE_CAMPAIGN
    permission_purpose = "change campaigns"
    one_line_errors = (CouchError, ServiceError)
    selects = False
    confirms = False
    type_required = True

    def add_arguments(self, parser):
        parser.add_argument(
            "--type", dest="token_type", type=campaign_name, required=self.type_required, metavar="T",
            help="the token type of the campaign",
        )
        parser.add_argument(
            "--database", type=campaign_name, metavar="DB",
            help=f"the CouchDB database of the campaign (default: {settings.COUCHDB['DATABASE']})",
        )
        super().add_arguments(parser)
        if self.selects:
            parser.add_argument("--view", metavar="V", help="only the tokens in this view of the campaign")
            parser.add_argument(
                "--ids", nargs="+", metavar="ID", help="only these token ids (give other arguments before --ids)"
            )
            parser.add_argument(
                "--where", action="append", type=field_assignment, metavar="FIELD=VALUE",
                help="only tokens whose FIELD equals VALUE (JSON if it parses: 0, true, \"0\"); repeatable",
            )
        if self.confirms:
            parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    # -- the campaign, the tokens -----------------------------------------------------------------

    @staticmethod
    def database(options) -> str:
        return options["database"] or settings.COUCHDB["DATABASE"]

    def campaign(self, options) -> Campaign:
        database = self.database(options)
        campaign = campaign_selectors.campaign_of(TokenSet(database, options["token_type"]))
        if campaign is None:
            raise CommandError(self.no_campaign_message(options["token_type"], database))
        return campaign

    @staticmethod
    def no_campaign_message(token_type: str, database: str) -> str:
        known = campaign_selectors.token_types_in(database)
        hint = f"known there: {', '.join(known)}" if known else "no campaign is known there"
        return f"no campaign of type {shown(token_type)} in database {shown(database)} ({hint})"

    @staticmethod
    def selection(options) -> dict:
        """The ``view``, ``ids`` and ``where`` keyword arguments of the services."""
        where = options.get("where")
        return {"view": options.get("view"), "ids": options.get("ids"), "where": dict(where) if where else None}

    def selects_everything(self, options) -> bool:
        return not any(self.selection(options).values())

    def confirm_targets(self, options, campaign: Campaign, verb: str) -> int:
        """Confirm an operation on the selected tokens, naming how many there are; returns that."""
        count = count_targets(campaign, **self.selection(options))
        confirm(f"{verb} {count} tokens of '{campaign.token_type}' in '{campaign.database}'?", yes=options["yes"])
        return count

    # -- running and reporting --------------------------------------------------------------------

    def recorded(self, action: str, campaign: Campaign, user, work, options, *, progress=None, **operation_options):
        """Run ``work(progress)`` here, recorded in the operations history as run from a command
        with the command's selection and ``operation_options``; answer what ``work`` answered."""
        return runner.run_in_process(
            action, campaign, user, work, selection=self.selection(options) if self.selects else None,
            options=operation_options, progress=progress,
        )

    def create_campaign(self, options, user, *, progress, overwrite=False, batch_size=None, **plan_kwargs):
        """Plan, record and push a token set (what ``create_tokenset`` does), the plan's notes
        printed first and the push recorded in the operations history; answer the campaign and
        the push's report."""
        batch_size = batch_size_or_default(batch_size)
        plan = plan_tokenset(**plan_kwargs)
        for note in plan.notes:
            self.stdout.write(f"Note: {note}.")
        try:
            campaign = start_campaign(plan, user=user)
        except Refused as refusal:
            known = campaign_selectors.campaign_of(TokenSet(plan.database, plan.token_type))
            runs.record_refusal(Operation.Action.PUSH, known, user, refusal, source=Operation.Source.COMMAND)
            raise
        report = self.recorded(
            Operation.Action.PUSH, campaign, user,
            lambda step: push_tokenset(
                campaign, user=user, plan=plan, overwrite=overwrite, batch_size=batch_size, progress=step
            ),
            options, progress=progress, overwrite=overwrite,
        )
        return campaign, report

    def report(self, action: str, campaign: Campaign, result) -> None:
        """Print what an operation did: ``Reset tokens (pref_cal1 in tokens): 2 changed, 0 conflicted, 0 skipped.``"""
        self.stdout.write(f"{action} ({campaign}): {result.message()}.")


def creation_summary(campaign: Campaign, report) -> str:
    """One line on what a creation run wrote."""
    return f"Campaign '{campaign.token_type}' in '{campaign.database}' ({campaign.status}): {report.message()}."
