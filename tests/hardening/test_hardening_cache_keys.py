"""What a caller chooses does not choose the cache's keys: asking for any number of pages of a
view keeps the cache as it was (the pages read the read model, and a user view from CouchDB,
keeping nothing)."""

import pytest
from django.db import connection
from django.urls import reverse

from tokens_app import services

pytestmark = pytest.mark.django_db

PAGES_ASKED = 60


def cache_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM tokenportal_cache")
        return cursor.fetchone()[0]


@pytest.fixture
def user_view(make_campaign, operator):
    campaign = make_campaign(30)
    services.add_view(campaign, "everything", "doc.type", user=operator)
    return campaign


def test_any_page_number_of_a_user_view_keeps_the_cache_bounded(client, viewer, user_view):
    client.force_login(viewer)
    status = reverse("tokens:campaign-status", args=[user_view.pk])
    assert client.get(user_view.get_absolute_url(), {"view": "everything"}).status_code == 200
    before = cache_rows()
    for page in range(2, PAGES_ASKED + 2):
        answer = client.get(status, {"view": "everything", "page": page, "known": "x"})
        assert answer.status_code == 200
    page_two = client.get(user_view.get_absolute_url(), {"view": "everything", "page": 2})
    assert len(page_two.context["tokens"].rows) == 5  # the pages are still read
    assert cache_rows() == before, (before, cache_rows())
