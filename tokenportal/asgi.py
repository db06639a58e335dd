"""ASGI entry point, e.g. ``uvicorn tokenportal.asgi:application``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenportal.settings")

application = get_asgi_application()
