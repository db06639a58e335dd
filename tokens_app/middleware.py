"""How the portal answers an error a page could not deal with: a friendly error page instead of
a traceback, with the HTTP status and the words its class declares (``status``, ``title``,
``template``: the CouchDB errors in :mod:`tokens_app.couch.errors`, the refusals of the services
in :mod:`tokens_app.services.common`). The campaign page's account of a CouchDB error
(:func:`couch_problem`) is read from the error the same way."""

import logging

from django.shortcuts import render

from .couch import CouchError
from .services.common import ServiceError

logger = logging.getLogger(__name__)

# The errors whose class says how the portal answers them.
ANSWERED = (CouchError, ServiceError)


class CouchErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ANSWERED):
            return None
        return error_page(request, exception)


def error_page(request, error: CouchError | ServiceError):
    """The page answering ``error``, with the status its class declares."""
    logger.warning("%s on %s: %s", type(error).__name__, request.path, error)
    return render(request, error.template, {"title": error.title, "error": str(error)}, status=error.status)


def couch_problem(campaign, error: CouchError) -> dict:
    """Why CouchDB cannot show a campaign's tokens, in words, and whether re-creating its views
    would help (``kind``: ``database``, ``views`` or ``server``)."""
    return {"kind": error.problem, "error": error, "explanation": error.explanation.format(database=campaign.database)}
