"""Selectors (tokens_app.selectors) against the session's CouchDB server.

Tokens are written straight through the gateway here, in every state a pilot can leave them,
so the reads are tested independently of the services that write in the portal.
"""

import base64
from datetime import UTC, datetime

import pytest

from tokens_app import selectors
from tokens_app.design import PORTAL_DESIGN, STATES_VIEW
from tokens_app.models import Campaign
from tokens_app.selectors import TokenNotFound
from tokens_app.services import ensure_design_doc
from tokens_app.tokensets import TokenSet

# Writing a design document records its row in the read model (the portal's own writes do).
pytestmark = pytest.mark.django_db

TYPE = "pref_cal1"
HOUR = 3600
T0 = int(datetime(2024, 3, 5, 10, 15, tzinfo=UTC).timestamp())


def token(number, **fields):
    return {"_id": f"{TYPE}_SB{number:03d}", "type": TYPE, "lock": 0, "done": 0, **fields}


def seed(gateway, db, docs, token_type=TYPE):
    ensure_design_doc(db, token_type)
    results = gateway.bulk_docs(db, docs)
    assert not [result for result in results if "error" in result]


@pytest.fixture
def campaign(couch_db):
    """A bare TokenSet over tokens the tests write themselves (``every_state``), in every state
    and by both pilot conventions: not the shared factory's, whose tokens are all todo (selectors
    read only the database and the type)."""
    return TokenSet(database=couch_db, token_type=TYPE)


@pytest.fixture
def every_state(gateway, couch_db):
    """Tokens of each state, written by both conventions, and one token of another type."""
    docs = [
        token(0),
        token(1),
        token(2, lock=T0, hostname="wn1", status="downloading"),
        token(3, lock=T0, done=T0 + HOUR, output=0, status="done"),
        token(4, lock=T0, done=T0 + 2 * HOUR, exit_code=0),
        token(5, lock=T0, done=T0 + 2 * HOUR + 60, output="0"),
        token(6, lock=T0, done=T0 + HOUR, output=1),
        token(7, lock=T0, done=T0 + HOUR, exit_code=2),
        token(8, lock=T0, status="error"),
        token(9, lock=T0, done=T0, exit_code=2),
        {"_id": "other_SB000", "type": "other", "lock": 0, "done": 0},
    ]
    seed(gateway, couch_db, docs)
    return docs


def test_overview_counts_every_state(campaign, every_state):
    counts = selectors.overview_counts(campaign)
    assert counts == {"todo": 2, "locked": 1, "done": 3, "error": 4, "total": 10}


def test_overview_counts_missing_states_are_zero(gateway, couch_db, campaign):
    seed(gateway, couch_db, [token(n) for n in range(3)])
    assert selectors.overview_counts(campaign) == {"todo": 3, "locked": 0, "done": 0, "error": 0, "total": 3}


def test_overview_counts_is_one_grouped_query(gateway, campaign, every_state, monkeypatch):
    calls = []
    real_view = type(gateway).view
    monkeypatch.setattr(type(gateway), "view", lambda self, *a, **kw: calls.append((a, kw)) or real_view(self, *a, **kw))
    selectors.overview_counts(campaign)
    assert calls == [((campaign.database, PORTAL_DESIGN, STATES_VIEW),
                      {"group_level": 2, "startkey": [TYPE], "endkey": [TYPE, {}]})]


@pytest.mark.django_db
def test_a_campaign_offers_its_token_set(couch_db):
    row = Campaign.objects.create(token_type=TYPE, database=couch_db)
    assert row.token_set == TokenSet(couch_db, TYPE) and str(row.token_set) == str(row)


def test_design_exists_and_listed_token_set(gateway, couch_db, every_state):
    assert selectors.design_exists(TokenSet(couch_db, TYPE))
    assert not selectors.design_exists(TokenSet(couch_db, "nothing_here"))
    gateway.put_doc(couch_db, {"_id": "_design/Monitor", "views": {
        "todo": {"map": "function(doc){ if (doc.type == 'token' && doc.lock == 0) emit(doc._id, doc._id); }"}}})
    assert selectors.listed_token_set(couch_db, "Monitor") == TokenSet(couch_db, "token")
    assert selectors.listed_token_set(couch_db, TYPE) == TokenSet(couch_db, TYPE)
    assert selectors.listed_token_set(couch_db, "nothing_here") is None


def test_list_tokens_pages_through_a_view_by_key(gateway, couch_db, campaign, monkeypatch):
    seed(gateway, couch_db, [token(n) for n in range(23)])
    sent = []
    real_request = type(gateway).request
    monkeypatch.setattr(
        type(gateway), "request", lambda self, *a, **kw: sent.append(kw) or real_request(self, *a, **kw)
    )
    seen = []
    for number in range(1, 6):
        page = selectors.list_tokens(campaign, "todo", page=number, per_page=5)
        assert page.page == number and page.has_previous == (number > 1)
        assert page.has_next == (number < 5)
        seen.extend(row["id"] for row in page.rows)
        assert all(row["state"] == "todo" and row["doc"]["type"] == TYPE for row in page.rows)
    assert seen == [f"{TYPE}_SB{n:03d}" for n in range(23)]
    # Unique keys: the walk never skips, and each page's documents are read once, by id.
    assert not any("skip" in (request.get("params") or {}) for request in sent)
    doc_reads = [request["json_body"]["keys"] for request in sent if request.get("json_body")]
    assert len(doc_reads) == 5 and all(len(keys) <= 5 for keys in doc_reads)

    beyond = selectors.list_tokens(campaign, "todo", page=6, per_page=5)
    assert beyond.rows == [] and not beyond.has_next and beyond.previous_page == 5


def test_list_tokens_of_a_view_keyed_by_time(campaign, every_state):
    page = selectors.list_tokens(campaign, "done", page=2, per_page=2)
    assert [row["id"] for row in page.rows] == [f"{TYPE}_SB005"]
    assert page.rows[0]["state"] == "done" and page.next_page is None


def test_list_tokens_pages_exactly_through_rows_that_share_a_key(gateway, couch_db, campaign):
    """Pilots that claim in the same second share a ``lock`` key in the ``locked`` view."""
    seed(gateway, couch_db, [token(n, lock=T0 + n // 7, status="running") for n in range(20)])
    seen = []
    for number in range(1, 5):
        seen.extend(row["id"] for row in selectors.list_tokens(campaign, "locked", page=number, per_page=6).rows)
    assert sorted(seen) == [f"{TYPE}_SB{n:03d}" for n in range(20)]
    assert len(seen) == len(set(seen))


def test_list_tokens_refuses_page_zero(campaign):
    with pytest.raises(ValueError):
        selectors.list_tokens(campaign, "todo", page=0)


def test_token_detail_and_attachment(gateway, couch_db, campaign):
    links = b"srm://srm.grid.sara.nl/pnfs/grid.sara.nl/data/L229507_SB000_uv.MS.tar\n"
    attachments = {"srm.txt": {"content_type": "text/plain", "data": base64.b64encode(links).decode()}}
    seed(gateway, couch_db, [token(0, _attachments=attachments), token(1, lock=T0)])

    detail = selectors.token_detail(campaign, f"{TYPE}_SB000")
    assert detail["state"] == "todo" and detail["doc"]["_id"] == f"{TYPE}_SB000"
    assert detail["attachments"] == [{"name": "srm.txt", "content_type": "text/plain", "length": len(links), "text": None}]
    inline = selectors.token_detail(campaign, f"{TYPE}_SB000", text_up_to=len(links))["attachments"]
    assert inline[0]["text"] == links.decode()
    assert selectors.token_detail(campaign, f"{TYPE}_SB001")["state"] == "locked"

    data, content_type = selectors.token_attachment(campaign, f"{TYPE}_SB000", "srm.txt")
    assert data == links and content_type.startswith("text/plain")


def test_token_detail_of_missing_or_foreign_token(gateway, couch_db, campaign):
    seed(gateway, couch_db, [{"_id": "other_SB000", "type": "other", "lock": 0, "done": 0}, token(0)])
    for token_id in ("nope", "other_SB000"):
        with pytest.raises(TokenNotFound, match=f"no token '{token_id}' of type '{TYPE}'"):
            selectors.token_detail(campaign, token_id)
    with pytest.raises(TokenNotFound, match=f"no token 'other_SB000' of type '{TYPE}'"):
        selectors.token_attachment(campaign, "other_SB000", "srm.txt")
    with pytest.raises(TokenNotFound, match="has no attachment 'gone.txt'"):
        selectors.token_attachment(campaign, f"{TYPE}_SB000", "gone.txt")


@pytest.mark.django_db
def test_discovered_designs_lists_token_designs_no_campaign_knows(gateway, couch_db):
    seed(gateway, couch_db, [], token_type="known")
    seed(gateway, couch_db, [], token_type="stranger")
    gateway.put_doc(couch_db, {"_id": "_design/helpers", "views": {"by_host": {"map": "function(doc){}"}}})
    Campaign.objects.create(token_type="known", database=couch_db)

    stranger = {"database": couch_db, "token_type": "stranger", "counted_type": "stranger"}
    assert selectors.discovered_designs(couch_db) == [stranger]
    assert stranger in selectors.discovered_designs()
