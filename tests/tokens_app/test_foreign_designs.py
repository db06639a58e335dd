"""A design document another tool made whose ``todo`` view lists tokens of another type: the
PiCaS examples' ``_design/Monitor`` over documents of type ``token``. Before adoption it is counted
as that type; adopting it makes a campaign of that type beside it and leaves it as it is."""

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tokens_app import selectors, services
from tokens_app.design import build_design_doc
from tokens_app.models import Campaign
from tokens_app.services import ServiceError

pytestmark = pytest.mark.django_db

TYPE = "token"
# The four state conditions of picasclient's createViews.py, and its tally view.
CONDITIONS = {
    "todo": "doc.lock == 0 && doc.done == 0",
    "locked": "doc.lock > 0 && doc.done == 0",
    "done": "doc.lock > 0 && doc.done > 0",
    "error": "doc.lock == -1",
}


def monitor_design(token_type=TYPE, name="Monitor") -> dict:
    views = {
        state: {"map": f'function(doc) {{ if (doc.type == "{token_type}") {{ if ({condition}) '
                       "{ emit(doc._id, doc._id); } } }"}
        for state, condition in CONDITIONS.items()
    }
    tallies = " ".join(f"if ({condition}) {{ emit('{state}', 1); }}" for state, condition in CONDITIONS.items())
    views["overview_total"] = {
        "map": f'function(doc) {{ if (doc.type == "{token_type}") {{ {tallies} }} }}',
        "reduce": "function (key, values, rereduce) { return sum(values); }",
    }
    return {"_id": f"_design/{name}", "language": "javascript", "views": views}


@pytest.fixture
def monitor(gateway, couch_db):
    """``_design/Monitor`` over five tokens of type ``token`` (two todo, one locked, two done)
    and a document of another type; answers the design document as stored."""
    gateway.put_doc(couch_db, monitor_design())
    gateway.bulk_docs(couch_db, [
        {"_id": "token_0", "type": TYPE, "lock": 0, "done": 0},
        {"_id": "token_1", "type": TYPE, "lock": 0, "done": 0},
        {"_id": "token_2", "type": TYPE, "lock": 1700000000, "done": 0},
        {"_id": "token_3", "type": TYPE, "lock": 1700000000, "done": 1700000100, "exit_code": 0},
        {"_id": "token_4", "type": TYPE, "lock": 1700000000, "done": 1700000100, "exit_code": 0},
        {"_id": "other_0", "type": "other", "lock": 0, "done": 0},
    ])
    return gateway.get_doc(couch_db, "_design/Monitor")


COUNTS = {"todo": 2, "locked": 1, "done": 2, "error": 0, "total": 5}


def token_status(database, name) -> dict:
    out = io.StringIO()
    call_command("token_status", "--type", name, "--database", database, "--json", stdout=out)
    report = json.loads(out.getvalue())
    return {**report["counts"], "total": report["total"]}


def test_a_design_document_is_counted_as_the_type_its_todo_view_lists():
    assert selectors.counted_type("Monitor", monitor_design()) == TYPE
    # The portal's own design documents, and foreign ones that say no type, count their name.
    assert selectors.counted_type("lrt", build_design_doc("lrt")) == "lrt"
    assert selectors.counted_type("lrt", {"views": {"todo": {"map": "function(doc) { emit(doc._id, 1); }"}}}) == "lrt"
    assert selectors.counted_type("ghost", None) == "ghost"


def test_before_adoption_the_design_document_is_counted_as_the_type_it_lists(monitor, couch_db, superuser):
    assert selectors.discovered_designs(couch_db) == [
        {"database": couch_db, "token_type": "Monitor", "counted_type": TYPE}
    ]
    assert token_status(couch_db, "Monitor") == COUNTS
    client = Client()
    client.force_login(superuser)
    page = client.get(reverse("tokens:dashboard")).content.decode()
    row = next(row for row in page.split("<tr>") if "<strong>Monitor</strong>" in row)
    assert f"lists type <code>{TYPE}</code>" in row
    assert 'data-count="total">5<' in row and 'data-count="todo">2<' in row


def test_adopting_it_makes_a_campaign_of_that_type_and_leaves_it_as_it_is(monitor, couch_db, gateway, superuser):
    campaign = services.adopt_design(couch_db, "Monitor", user=superuser)
    assert (campaign.token_type, campaign.database, campaign.status) == (TYPE, couch_db, "ready")
    assert selectors.overview_counts(campaign) == COUNTS and campaign.token_count == 5
    assert gateway.get_doc(couch_db, "_design/Monitor") == monitor
    assert sorted(row["id"] for row in gateway.view(couch_db, "Monitor", "todo")["rows"]) == ["token_0", "token_1"]
    assert sorted(row["id"] for row in gateway.view(couch_db, TYPE, "todo")["rows"]) == ["token_0", "token_1"]
    # Once adopted, the campaign's row counts those tokens: the design document is no longer listed.
    assert selectors.discovered_designs(couch_db) == []
    assert token_status(couch_db, "Monitor") == token_status(couch_db, TYPE) == COUNTS


def test_adopting_it_in_the_browser_names_the_campaign_and_the_design_document(monitor, couch_db, gateway, superuser):
    client = Client()
    client.force_login(superuser)
    response = client.post(reverse("tokens:design-adopt"), {"database": couch_db, "token_type": "Monitor"},
                           follow=True)
    campaign = Campaign.objects.get(database=couch_db, token_type=TYPE)
    assert response.redirect_chain[-1][0] == campaign.get_absolute_url()
    assert f"Adopted {TYPE} in {couch_db}: 5 tokens, the ones _design/Monitor lists" in response.content.decode()
    assert campaign.operations.get().options == {"database": couch_db, "token_type": "Monitor"}
    assert gateway.get_doc(couch_db, "_design/Monitor") == monitor


def test_adopting_it_is_refused_when_the_type_it_lists_cannot_name_a_campaign(couch_db, gateway, superuser):
    gateway.put_doc(couch_db, monitor_design(token_type="_token"))
    kept = gateway.get_doc(couch_db, "_design/Monitor")
    with pytest.raises(ServiceError, match=r"_design/Monitor in '.*' lists tokens of type '_token', which cannot "
                                           r"name a campaign: .*starts with '_'"):
        services.adopt_design(couch_db, "Monitor", user=superuser)
    assert not Campaign.objects.exists()
    assert gateway.get_doc(couch_db, "_design/Monitor") == kept
    assert gateway.get_doc(couch_db, "_design/_token", default=None) is None


def test_adopting_it_is_refused_when_a_campaign_of_that_type_exists(monitor, couch_db, gateway, superuser):
    Campaign.objects.create(token_type=TYPE, database=couch_db, status=Campaign.Status.READY)
    with pytest.raises(ServiceError, match=f"{TYPE} in {couch_db} is already a campaign"):
        services.adopt_design(couch_db, "Monitor", user=superuser)
    client = Client()
    client.force_login(superuser)
    response = client.post(reverse("tokens:design-adopt"), {"database": couch_db, "token_type": "Monitor"},
                           follow=True)
    assert "is already a campaign" in response.content.decode()
    assert Campaign.objects.get().operations.get().state == "failed"
    assert gateway.get_doc(couch_db, "_design/Monitor") == monitor


def test_a_purged_campaign_of_that_type_is_adopted_again(monitor, couch_db, superuser):
    purged = Campaign.objects.create(token_type=TYPE, database=couch_db, status=Campaign.Status.PURGED)
    assert selectors.discovered_designs(couch_db) == [
        {"database": couch_db, "token_type": "Monitor", "counted_type": TYPE}
    ]
    campaign = services.adopt_design(couch_db, "Monitor", user=superuser)
    assert (campaign.pk, campaign.status, campaign.token_count) == (purged.pk, "ready", 5)
