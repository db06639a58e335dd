"""Turns CouchDB failures that reach a view into a friendly error page instead of a traceback."""

import logging

from django.shortcuts import render

from .couch import Conflict, CouchError, DatabaseMissing, InvalidName

logger = logging.getLogger(__name__)


class CouchErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, CouchError):
            return None
        logger.warning("CouchDB error on %s: %s", request.path, exception)
        if isinstance(exception, Conflict):
            status = 409
        elif isinstance(exception, (DatabaseMissing, InvalidName)):
            status = 404
        else:
            status = 503
        return render(request, "couch_error.html", {"error": str(exception)}, status=status)
