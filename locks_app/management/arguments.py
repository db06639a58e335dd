"""Argument types the commands of both apps share: a bad value is refused by the parser in one
line naming the option (``argument --duration: 'soon' is not a duration: ...``)."""

import argparse

from ..durations import LONGEST, parse_duration


def duration_type(*, until_ended: bool = False, longest=LONGEST):
    """An argparse ``type`` reading a duration of the project's one grammar (see
    :mod:`locks_app.durations`): ``until-ended`` only with ``until_ended``, at most ``longest``."""

    def duration(text: str):
        try:
            return parse_duration(text, until_ended=until_ended, longest=longest)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return duration


def name_type(what: str):
    """An argparse ``type`` for the name of a ``what`` (a user, a campaign): text without control
    characters, which no name made here holds (and PostgreSQL cannot even be asked for a NUL)."""

    def name(text: str) -> str:
        if any(not char.isprintable() for char in text):
            raise argparse.ArgumentTypeError(f"{text!r} contains a control character; no {what} is named so")
        return text

    return name


# How long a lock or freeze runs: a duration, or until-ended.
lock_duration = duration_type(until_ended=True)
# How much longer a lock runs: a duration only.
duration = duration_type()
