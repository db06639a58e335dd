"""The dashboard's counts: one grouped query of the read model for every campaign, and no
CouchDB request that grows with the campaigns or their tokens."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

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
    """The paths of every CouchDB request of one dashboard load but the follower's."""
    operator_client.get(reverse("tokens:dashboard"))  # the follower has read every database
    sent = []
    gateway = get_gateway()
    real_request = type(gateway).request
    monkeypatch.setattr(type(gateway), "request",
                        lambda self, method, path, **kw: sent.append(path) or real_request(self, method, path, **kw))
    with CaptureQueriesContext(connection) as queries:
        assert operator_client.get(reverse("tokens:dashboard")).status_code == 200
    monkeypatch.undo()
    return [path for path in sent if path[-1] != "_changes"], [
        query["sql"] for query in queries.captured_queries if "tokens_app_tokenrow" in query["sql"]]


def test_the_counts_of_every_campaign_are_one_grouped_query_and_no_couchdb_read(operator_client, databases, monkeypatch):
    databases(2)
    few_requests, few_queries = requests_of_a_load(operator_client, monkeypatch)
    databases(8)
    many_requests, many_queries = requests_of_a_load(operator_client, monkeypatch)
    # CouchDB is asked nothing (the follower discovers other tools' design documents); the token
    # rows are read in two grouped queries (counts, and the pace), however many campaigns.
    assert len(few_queries) == len(many_queries) == 2 and all("GROUP BY" in sql for sql in many_queries)
    assert few_requests == many_requests == []
    page = operator_client.get(reverse("tokens:dashboard")).content.decode()
    assert "type7" in page


def test_the_counts_api_reads_the_read_model(operator_client, databases, monkeypatch):
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
    assert {path[-1] for path in sent} <= {"_changes"}


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
    # The read model holds the tokens: the page shows them before any CouchDB index is built.
    assert '<span class="tab-count">20000</span>' in response.content.decode()
