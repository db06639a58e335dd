"""The dashboard's counts: one grouped query of ``_design/tokenportal`` per database, whatever the
number of campaigns in it, shared by every viewer until the snapshot is due."""

import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse

from tokens_app import counts
from tokens_app.couch import get_gateway
from tokens_app.models import Campaign
from tokens_app.services import ensure_design_doc


def seed_database(campaigns: int) -> str:
    gateway = get_gateway()
    database = f"test_{uuid.uuid4().hex[:12]}"
    gateway.create_database(database)
    for number in range(campaigns):
        token_type = f"type{number}"
        ensure_design_doc(database, token_type)
        gateway.bulk_docs(database, [{"_id": f"{token_type}_{n}", "type": token_type, "lock": 0, "done": 0}
                                     for n in range(number + 1)])
        Campaign.objects.create(database=database, token_type=token_type, token_count=number + 1, status="ready")
    return database


@pytest.fixture
def databases(couch_server, db):
    made = []
    yield lambda campaigns: made.append(seed_database(campaigns)) or made[-1]
    for database in made:
        get_gateway().delete_database(database)


def requests_of_a_load(operator_client, monkeypatch) -> list[tuple]:
    """The paths every CouchDB request of one dashboard load went to (the snapshots expired)."""
    for database in Campaign.objects.values_list("database", flat=True).distinct():
        cache.delete(counts._key("snapshot", database))
        cache.delete(counts._key("lock", database))
    sent = []
    gateway = get_gateway()
    real_request = type(gateway).request
    monkeypatch.setattr(type(gateway), "request",
                        lambda self, method, path, **kw: sent.append(path) or real_request(self, method, path, **kw))
    assert operator_client.get(reverse("tokens:dashboard")).status_code == 200
    monkeypatch.undo()
    return sent


def test_the_counts_of_a_database_are_one_grouped_query_whatever_its_campaigns(operator_client, databases, monkeypatch):
    few = databases(2)
    few_requests = requests_of_a_load(operator_client, monkeypatch)
    many = databases(8)
    many_requests = requests_of_a_load(operator_client, monkeypatch)

    def count_queries(sent, database):
        return [path for path in sent if path[0] == database and path[-1] == "states"]

    assert len(count_queries(many_requests, few)) == len(count_queries(many_requests, many)) == 1
    assert not [path for path in many_requests if path[-1] == "overview_total"]
    # A second database adds its own requests; more campaigns in a database add none.
    per_database = len([path for path in few_requests if path[:1] == (few,)])
    assert len([path for path in many_requests if path[:1] == (many,)]) == per_database
    page = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert "type7" in page


def test_the_counts_api_reads_the_shared_snapshot(operator_client, databases, monkeypatch):
    database = databases(3)
    ids = ",".join(str(pk) for pk in Campaign.objects.filter(database=database).values_list("pk", flat=True))
    first = operator_client.get(reverse("tokens:api-counts"), {"ids": ids}).json()["campaigns"]
    assert sorted(value["total"] for value in first.values()) == [1, 2, 3]
    sent = []
    gateway = get_gateway()
    real_request = type(gateway).request
    monkeypatch.setattr(type(gateway), "request",
                        lambda self, method, path, **kw: sent.append(path) or real_request(self, method, path, **kw))
    for _ in range(5):
        assert operator_client.get(reverse("tokens:api-counts"), {"ids": ids}).json()["campaigns"] == first
    assert sent == []


@pytest.mark.slow
def test_the_campaign_page_renders_while_the_index_of_20000_tokens_is_built(operator_client, databases):
    """Issue #13: pages answered 503 for ten minutes while views were built."""
    database = databases(0)
    gateway = get_gateway()
    ensure_design_doc(database, "big")
    for start in range(0, 20_000, 5_000):
        gateway.bulk_docs(database, [{"_id": f"big_{n:05d}", "type": "big", "lock": 0, "done": 0}
                                     for n in range(start, start + 5_000)])
    campaign = Campaign.objects.create(database=database, token_type="big", token_count=20_000, status="ready")
    response = operator_client.get(campaign.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="indexing"' in page and "Indexing" in page
    again = operator_client.get(campaign.get_absolute_url())
    assert again.status_code == 200 and 'id="indexing"' in again.content.decode()
