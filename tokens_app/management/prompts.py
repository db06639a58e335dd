"""The question a command asks before a destructive change (``--yes`` answers it)."""

import sys

from django.core.management.base import CommandError


def confirm(question: str, *, yes: bool) -> None:
    """Ask ``question`` unless ``yes``; anything but yes (or no terminal to ask on) stops the
    command with a one-line error."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CommandError(f"{question.rstrip('?')}: refused without --yes (no terminal to ask on)")
    if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
        raise CommandError("cancelled; nothing was changed")
