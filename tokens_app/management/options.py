"""What the token commands share: picking the campaign, the operator, the tokens, confirmation.

Every command that works on one campaign is a :class:`CampaignCommand`: ``--type T [--database
DB]`` picks the campaign, ``--user NAME`` names the operator whose locks the guard checks (it may
be left out when the site has exactly one active superuser: the usual single-operator set-up),
and the selection options ``--view V``, ``--ids ID ...`` and ``--where FIELD=VALUE`` narrow the
tokens an operation touches. Refusals of the services (the lock guard's included) end, like
CouchDB failures, in a one-line error and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from locks_app.management.arguments import duration_type
from tokens_app.couch import shown
from tokens_app.management.base import PortalCommand
from tokens_app.models import CHANGE_CAMPAIGN, Campaign, Operation
from tokens_app.services import (
    Refused,
    ServiceError,
    count_targets,
    plan_tokenset,
    push_tokenset,
    runs,
    start_campaign,
)
from tokens_app.services.common import batch_size_or_default

# Any age a timedelta holds: a lock's ten-year cap is no limit for how long tokens have been locked.
duration = duration_type(longest=None)


# -- argument types: a bad value is refused by the parser with the option's name ---------------

def _number(text: str, convert, what: str):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not {what}") from None


def positive_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def fraction(text: str) -> float:
    """A probability: a number from 0 to 1."""
    value = _number(text, float, "a number")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def seconds(text: str) -> float:
    """A time in seconds, zero or more (and finite)."""
    value = _number(text, float, "a number of seconds")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or more seconds, not {text}")
    return value


def field_value(text: str):
    """A token field value as typed: JSON when it parses (``0``, ``true``, ``"0"``, ``[1]``), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def campaign_name(text: str) -> str:
    """A ``--type`` or ``--database``: no campaign's name holds a control character (both are
    checked when a campaign is made), and PostgreSQL text cannot even be asked for a NUL."""
    if any(not char.isprintable() for char in text):
        raise argparse.ArgumentTypeError(f"{text!r} contains a control character; no campaign is named so")
    return text


def field_assignment(text: str) -> tuple[str, object]:
    """``FIELD=VALUE`` with the value read by :func:`field_value`."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not FIELD=VALUE")
    return name.strip(), field_value(value)


def read_file(path: str) -> bytes:
    """The bytes of an input file, or a one-line error naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CommandError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None


def creation_summary(campaign: Campaign, report) -> str:
    """One line on what a creation run wrote."""
    return f"Campaign '{campaign.token_type}' in '{campaign.database}' ({campaign.status}): {report.message()}."


class ProgressBar:
    """A ``progress(done, total=None)`` callback drawing on stderr once more than one batch is
    written: a bar when the total is known, a running count when it is not."""

    width = 30

    def __init__(self, stream, batch_size: int | None = None, total: int | None = None):
        self.stream = stream
        self.batch_size = batch_size or settings.COUCHDB["BATCH_SIZE"]
        self.total = total
        self.drawn = False
        self.last = None

    def __call__(self, done: int, total: int | None = None) -> None:
        total = total if total is not None else self.total
        # Nothing to draw for a write done in one batch: its first report is its last (batches
        # cut by COUCHDB_BATCH_BYTES can be far fewer tokens than the batch size).
        if not self.drawn and (done >= total if total is not None else done <= self.batch_size):
            return
        # A frame only when the count moved: a long quiet run (pilots waiting on a slow server)
        # adds nothing to a log or a pipe.
        if self.drawn and done == self.last:
            return
        self.last = done
        if total:
            filled = self.width * min(done, total) // total
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} tokens", ending="")
        else:
            self.stream.write(f"\r{done} tokens processed", ending="")
        self.stream.flush()
        self.drawn = True
        if total and done >= total:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        if self.drawn:
            self.stream.write("")
            self.drawn = False


class CampaignCommand(PortalCommand):
    """A command on one campaign. Subclasses say which of the shared options they take.

    ``mutating``: takes ``--user`` (the guard needs an operator). ``selects``: takes ``--view``,
    ``--ids`` and ``--where``. ``confirms``: takes ``--yes`` for :meth:`confirm`.
    ``type_required``: False where the type may come from elsewhere (a config file).
    """

    mutating = True
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
        if self.mutating:
            parser.add_argument(
                "--user", metavar="NAME",
                help="the operator (a portal user); may be left out when there is exactly one superuser",
            )
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

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ServiceError as exc:
            raise CommandError(str(exc)) from None

    # -- the campaign, the operator, the tokens -----------------------------------------------

    @staticmethod
    def database(options) -> str:
        return options["database"] or settings.COUCHDB["DATABASE"]

    def campaign(self, options) -> Campaign:
        database = self.database(options)
        try:
            return Campaign.objects.get(token_type=options["token_type"], database=database)
        except Campaign.DoesNotExist:
            raise CommandError(self.no_campaign_message(options["token_type"], database)) from None

    @staticmethod
    def no_campaign_message(token_type: str, database: str) -> str:
        known = sorted(Campaign.objects.filter(database=database).values_list("token_type", flat=True))
        hint = f"known there: {', '.join(known)}" if known else "no campaign is known there"
        return f"no campaign of type {shown(token_type)} in database {shown(database)} ({hint})"

    def operator(self, options):
        users = get_user_model()
        if options["user"]:
            try:
                user = users.objects.get(**{users.USERNAME_FIELD: options["user"], "is_active": True})
            except users.DoesNotExist:
                raise CommandError(f"no active user '{options['user']}'") from None
            if not user.has_perm(CHANGE_CAMPAIGN):
                raise CommandError(f"user '{options['user']}' lacks the permission {CHANGE_CAMPAIGN} to change campaigns")
            return user
        superusers = list(users.objects.filter(is_superuser=True, is_active=True)[:2])
        if len(superusers) != 1:
            raise CommandError("name the operator with --user NAME (the lock guard checks that user's locks)")
        return superusers[0]

    @staticmethod
    def selection(options) -> dict:
        """The ``view``, ``ids`` and ``where`` keyword arguments of the services."""
        where = options.get("where")
        return {"view": options.get("view"), "ids": options.get("ids"), "where": dict(where) if where else None}

    def selects_everything(self, options) -> bool:
        return not any(self.selection(options).values())

    def recorded(self, action: str, campaign: Campaign, user, work, options, *, progress=None, **operation_options):
        """Run ``work(progress)`` here, recorded in the operations history as run from a command
        with the command's selection and ``operation_options``; answer what ``work`` answered."""
        return runs.run_in_process(
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
            known = Campaign.objects.filter(database=plan.database, token_type=plan.token_type).first()
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

    # -- confirmation ---------------------------------------------------------------------------

    def confirm(self, options, question: str) -> None:
        """Ask ``question``; anything but yes (or no terminal to ask on) stops the command."""
        if options["yes"]:
            return
        if not sys.stdin.isatty():
            raise CommandError(f"{question.rstrip('?')}: refused without --yes (no terminal to ask on)")
        if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
            raise CommandError("cancelled; nothing was changed")

    def confirm_targets(self, options, campaign: Campaign, verb: str) -> int:
        """Confirm an operation on the selected tokens, naming how many there are; returns that."""
        count = count_targets(campaign, **self.selection(options))
        self.confirm(options, f"{verb} {count} tokens of '{campaign.token_type}' in '{campaign.database}'?")
        return count
