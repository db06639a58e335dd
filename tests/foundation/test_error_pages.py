"""Errors carry how the portal answers them: each class declares its HTTP status and its words,
and the middleware and the campaign page read them there."""

import html

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from tokens_app import couch
from tokens_app.middleware import CouchErrorMiddleware, couch_problem
from tokens_app.models import Campaign
from tokens_app.services import Refused, ServiceError

COUCH_ERRORS = [getattr(couch, name) for name in couch.__all__ if isinstance(getattr(couch, name), type)
                and issubclass(getattr(couch, name), couch.CouchError)]


def every_subclass(base):
    return [base, *(sub for direct in base.__subclasses__() for sub in every_subclass(direct))]


@pytest.mark.parametrize("error_class", every_subclass(couch.CouchError) + every_subclass(ServiceError))
def test_every_error_class_declares_its_answer(error_class):
    assert 400 <= error_class.status < 600
    assert error_class.title and error_class.template.endswith(".html")


def test_the_couch_errors_answer_as_before():
    statuses = {error_class.__name__: error_class.status for error_class in COUCH_ERRORS}
    assert statuses == {
        "CouchError": 503, "CouchUnreachable": 503, "CouchAuthFailed": 503, "CouchTimeout": 503,
        "CouchRequestError": 503, "CouchUnavailable": 503, "Undecodable": 503, "NotFound": 503, "Conflict": 409,
        "DatabaseMissing": 404, "InvalidName": 404,
    }
    assert (ServiceError.status, Refused.status) == (400, 409)


def answer(error, *, staff=False):
    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    if staff:
        request.user = type("Staff", (), {"is_active": True, "is_staff": True, "is_authenticated": True,
                                          "get_username": lambda self: "staff"})()
    return CouchErrorMiddleware(lambda request: None).process_exception(request, error)


@pytest.mark.parametrize(("error", "status", "heading"), [
    (couch.CouchUnreachable("CouchDB at http://couch.internal:5984 is unreachable"), 503,
     "CouchDB cannot serve this page right now"),
    (couch.DatabaseMissing("database 'x' does not exist on CouchDB at http://couch.internal:5984"), 404,
     "CouchDB cannot serve this page right now"),
    (couch.Conflict("conflict: write 't' changed meanwhile"), 409, "CouchDB cannot serve this page right now"),
    (ServiceError("CouchDB refused the view 'v': CouchDB at http://couch.internal:5984 answered 400"), 400,
     "The portal cannot do this"),
    (Refused("cannot reset x: locked by alice"), 409, "Someone else holds this campaign"),
])
def test_the_middleware_answers_with_what_the_error_declares(error, status, heading):
    response = answer(error)
    page = response.content.decode()
    assert response.status_code == status and f"<h1>{heading}</h1>" in page
    assert "couch.internal" not in page  # internal addresses are for staff only
    assert html.escape(str(error)) in answer(error, staff=True).content.decode()


def test_other_errors_are_left_to_django():
    assert answer(ValueError("x")) is None


CAMPAIGN = Campaign(token_type="t", database="tokens_db")


@pytest.mark.parametrize(("error", "kind", "words"), [
    (couch.DatabaseMissing("gone"), "database", "The database 'tokens_db' does not exist on CouchDB: it was deleted"),
    (couch.NotFound("no view"), "views", "The views of this campaign are missing"),
    (couch.InvalidName("'.' cannot be a document id"), "views", "The views of this campaign are missing"),
    (couch.CouchUnreachable("down"), "server", "CouchDB cannot show this campaign's tokens right now"),
    (couch.CouchAuthFailed("refused"), "server", "CouchDB cannot show this campaign's tokens right now"),
])
def test_the_campaign_page_reads_the_problem_from_the_error(error, kind, words):
    problem = couch_problem(CAMPAIGN, error)
    assert problem["kind"] == kind and problem["error"] is error and problem["explanation"].startswith(words)
