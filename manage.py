#!/usr/bin/env python
"""Django's command-line utility for tokenportal."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenportal.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        # Settings first: a missing or bad one is a single line naming it, for every command
        # (``--help`` would otherwise list only Django's own commands, with the reason far down).
        settings.INSTALLED_APPS
    except ImproperlyConfigured as exc:
        sys.exit(f"Error: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
