"""Argument types of the token commands: a bad value is refused by the parser with the option's
name, in one line. Durations (``scrub_tokens --older-than``) are read by the project's one
grammar, :func:`locks_app.management.arguments.duration_type`."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.core.management.base import CommandError

from locks_app.management.arguments import name_type
from tokens_app import services


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


# A ``--type`` or ``--database``: both are checked for control characters when a campaign is made.
campaign_name = name_type("campaign")


def field_assignment(text: str) -> tuple[str, object]:
    """``FIELD=VALUE`` by the services' rule (:func:`tokens_app.services.field_assignment`)."""
    try:
        return services.field_assignment(text)
    except services.ServiceError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
