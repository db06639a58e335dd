"""Token documents of any JSON value CouchDB accepts, written straight to CouchDB as a pilot
would (``requests``, the JSON text as the pilot sent it): every page that shows tokens, the live
page's status poll, the archive and the commands answer, with the value escaped or replaced
(U+FFFD) where people read it; the raw JSON stays downloadable exactly; operations that write a
token back keep the pilot's values; shared reads in the cache stay readable.
"""

import gzip
import io
import json
import tarfile
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from hardening_support import run_command, skip_where_the_engine_refuses
from tokens_app import selectors, services
from tokens_app.read_models import TokenRow
from tokens_app.couch import CouchRequestError, get_gateway
from tokens_app.rendering import loads_shown

pytestmark = pytest.mark.django_db

REPLACEMENT = "\ufffd"
# Deeper than Python decodes (1,000); pouchdb-server refuses 5,000 (its JSON stack overflows).
DEEP = 3000
LOCKED_AT = 1_700_000_000


def pilot_post(database: str, body: str) -> None:
    """Write ``body`` (JSON text, given whole, its ``_id`` inside) as a pilot would."""
    couch = settings.COUCHDB
    response = requests.post(f"{couch['URL'].rstrip('/')}/{quote(database, safe='')}", data=body.encode(),
                             auth=(couch["USER"], couch["PASSWORD"]), headers={"Content-Type": "application/json"},
                             timeout=60)
    if response.status_code != 201:
        skip_where_the_engine_refuses(response.text[:300])
    assert response.status_code == 201, response.text[:300]


def pilot_writes(campaign, doc_id: str, fields: str) -> None:
    """A failed token ``doc_id`` of the campaign whose other fields are the JSON text ``fields``
    (``"name": value, …``), over the document as it is (or a new one)."""
    gateway = get_gateway()
    doc_id = json.loads(f'"{doc_id}"')
    try:
        rev = gateway.existing_ids(campaign.database, [doc_id]).get(doc_id)
    except CouchRequestError as refused:
        skip_where_the_engine_refuses(str(refused))
        raise
    head = {"_id": doc_id, "type": campaign.token_type, "lock": LOCKED_AT, "done": 0, **({"_rev": rev} if rev else {})}
    pilot_post(campaign.database, json.dumps(head)[:-1] + ", " + fields + "}")


def first_ids(campaign, count):
    return [row["id"] for row in selectors.iter_token_rows(campaign, "tokens", limit=count)]


def fetch(client, url, **params):
    response = client.get(url, params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, (url, params, body[:2000])
    return response, body


def every_page(client, campaign, token_id=None) -> dict[str, bytes]:
    """Every page and answer that shows the campaign's tokens, by name: each must be a 200."""
    detail, status = campaign.get_absolute_url(), reverse("tokens:campaign-status", args=[campaign.pk])
    pages = {f"tab {view}": fetch(client, detail, view=view)[1]
             for view in ("todo", "locked", "done", "error", "tokens")}
    pages["search id"] = fetch(client, detail, view="tokens", q="SB0")[1]
    pages["search host"] = fetch(client, detail, view="error", q="host:wn-1")[1]
    pages["poll"] = fetch(client, status, map="now", view="error")[1]
    pages["poll tokens"] = fetch(client, status, map="1", view="tokens", known="x")[1]
    pages["dashboard"] = fetch(client, reverse("tokens:dashboard"))[1]
    pages["archive"] = fetch(client, reverse("tokens:campaign-archive", args=[campaign.pk]))[1]
    if token_id is not None:
        token_url = reverse("tokens:token-detail", args=[campaign.pk, token_id])
        pages["token"] = fetch(client, token_url)[1]
        pages["token json"] = fetch(client, token_url, json="1")[1]
    for name, body in pages.items():
        if name != "archive":
            body.decode("utf-8")  # valid UTF-8, whatever the pilot wrote
    return pages


def archived_tokens(archive: bytes) -> dict[str, dict]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {
            doc["_id"]: doc
            for member in tar.getmembers() if "/tokens/" in member.name
            # (Python decodes a document too deep for it in part, as the portal's pages do.)
            for doc in [loads_shown(tar.extractfile(member).read().decode("utf-8"))]
        }


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


# -- lone surrogates ---------------------------------------------------------------------------

@pytest.mark.parametrize("surrogate", ["\\udfff", "\\ud800"])
def test_a_lone_surrogate_in_every_field_renders_everywhere(viewer_client, make_campaign, surrogate):
    campaign = make_campaign(4)
    token_id = first_ids(campaign, 1)[0]
    text = f'"wn-1{surrogate}"'
    pilot_writes(campaign, token_id, f'"hostname": {text}, "status": {text}, "exit_code": {text}, '
                                     f'"output": {text}, "{surrogate}key": {text}')
    pages = every_page(viewer_client, campaign, token_id)
    for name in ("tab error", "tab tokens", "token", "search host"):
        assert f"wn-1{REPLACEMENT}" in pages[name].decode(), name
    poll = json.loads(pages["poll"])
    assert f"wn-1{REPLACEMENT}" in poll["html"]["errors"] and f"wn-1{REPLACEMENT}" in poll["html"]["token_table"]
    # The download and the archive hold the pilot's value exactly.
    surrogate_char = json.loads(f'"{surrogate}"')
    assert json.loads(pages["token json"])["hostname"] == f"wn-1{surrogate_char}"
    assert archived_tokens(pages["archive"])[token_id]["output"] == f"wn-1{surrogate_char}"


def test_operations_write_a_pilots_surrogate_back_unchanged(make_campaign, operator, gateway):
    campaign = make_campaign(3)
    first, second = first_ids(campaign, 2)
    pilot_writes(campaign, first, '"exit_code": 1, "log": "a\\udfffb", "nested": {"\\ud800": ["\\udc00"]}')
    pilot_writes(campaign, second, '"exit_code": 1, "log": "c\\ud800"')
    services.set_field(campaign, "checked", True, user=operator, ids=[first, second])
    services.reset_tokens(campaign, user=operator, ids=[first, second])
    raw = requests.get(
        f"{settings.COUCHDB['URL'].rstrip('/')}/{campaign.database}/{first}",
        auth=(settings.COUCHDB["USER"], settings.COUCHDB["PASSWORD"]), timeout=30,
    ).json()
    assert raw["log"] == "a\udfffb" and raw["nested"] == {"\ud800": ["\udc00"]}
    assert raw["checked"] is True and raw["lock"] == 0 and raw["scrub_count"] == 1
    assert gateway.get_doc(campaign.database, second)["log"] == "c\ud800"


def test_a_surrogate_in_an_id_is_listed_without_a_link(viewer_client, make_campaign):
    campaign = make_campaign(2)
    pilot_writes(campaign, "t_odd_\\udfff_SB900", '"exit_code": 2, "hostname": "wn-1"')
    pages = every_page(viewer_client, campaign)
    page = pages["tab error"].decode()
    assert f"t_odd_{REPLACEMENT}_SB900" in page
    assert "CouchDB paths cannot carry this id" in page
    assert [doc_id for doc_id in archived_tokens(pages["archive"]) if doc_id.startswith("t_odd_")] == ["t_odd_\udfff_SB900"]


def test_the_read_model_stays_readable_after_the_token_is_deleted(viewer_client, make_campaign, gateway):
    """The read model stores what the ORM can hold of a pilot's surrogates and NUL; the pages
    answer while the row is there and once the follower removed it."""
    campaign = make_campaign(3)
    token_id = first_ids(campaign, 1)[0]
    pilot_writes(campaign, token_id, '"exit_code": "\\udfff", "hostname": "wn-\\udfff", "output": "\\u0000"')
    every_page(viewer_client, campaign, token_id)
    doc = gateway.get_doc(campaign.database, token_id)
    gateway.bulk_docs(campaign.database, [{"_id": token_id, "_rev": doc["_rev"], "_deleted": True}])
    every_page(viewer_client, campaign)
    assert not TokenRow.objects.filter(database=campaign.database, doc_id=token_id).exists()


@pytest.mark.postgres
def test_the_read_model_with_surrogates_and_nul_on_postgresql(viewer_client, make_campaign):
    campaign = make_campaign(3)
    token_id = first_ids(campaign, 1)[0]
    pilot_writes(campaign, token_id, '"exit_code": "\\u0000\\udfff", "hostname": "wn-\\udfff\\u0000", "status": "\\ud800"')
    every_page(viewer_client, campaign, token_id)
    every_page(viewer_client, campaign, token_id)


# -- any JSON value ----------------------------------------------------------------------------

HOSTILE_FIELDS = {
    "nul": '"hostname": "wn\\u0000x", "output": "\\u0000", "status": "\\u0000", "exit_code": "\\u0000"',
    "object values": '"hostname": {"a": [1, {"b": null}]}, "status": {"x": "<b>"}, "exit_code": {"c": 1}, '
                     '"output": {"d": [true]}',
    "list values": '"hostname": ["wn-1", 2], "status": [], "exit_code": [1, 2], "output": [null]',
    "booleans": '"hostname": true, "status": false, "exit_code": true, "output": true',
    "nulls": '"hostname": null, "status": null, "exit_code": null, "output": null, "error": null',
    "huge numbers": '"hostname": 1e400, "status": -1e400, "exit_code": 123456789012345678901234567890, '
                    '"output": 1e-400, "scrub_count": 1e400, "done": 1e400',
    "a number too long for Python": '"exit_code": ' + "9" * 5000 + ', "hostname": "wn-1", "output": -' + "1" * 4400,
    "deep array": '"exit_code": 1, "output": ' + "[" * DEEP + "]" * DEEP,
    "deep object": '"exit_code": 1, "hostname": ' + '{"a":' * DEEP + "1" + "}" * DEEP,
    "deep everywhere": '"exit_code": ' + "[" * DEEP + "]" * DEEP + ', "hostname": ' + "[" * DEEP + "]" * DEEP,
}


@pytest.mark.parametrize("fields", HOSTILE_FIELDS.values(), ids=HOSTILE_FIELDS.keys())
def test_any_json_value_renders_everywhere(viewer_client, make_campaign, fields):
    campaign = make_campaign(4)
    token_id, other = first_ids(campaign, 2)
    pilot_writes(campaign, token_id, fields)
    pilot_writes(campaign, other, '"exit_code": 3, "hostname": "wn-1"')
    pages = every_page(viewer_client, campaign, token_id)
    # The other tokens are shown as ever: a hostile document is its own problem only.
    assert other in pages["tab tokens"].decode() and token_id in pages["tab tokens"].decode()
    assert other in json.loads(pages["poll"])["html"]["token_table"]
    assert {token_id, other} <= set(archived_tokens(pages["archive"])) or "deep" in fields
    # Strict JSON (1e400 is no float Python keeps: it is archived as CouchDB wrote it).
    assert b"Infinity" not in gzip.decompress(pages["archive"])
    # The download is CouchDB's JSON of the document, whatever Python makes of it.
    assert pages["token json"].startswith(b"{") and token_id.encode() in pages["token json"]


def test_a_ten_megabyte_field_is_cut_on_the_pages_and_whole_in_the_download(viewer_client, make_campaign):
    campaign = make_campaign(3)
    token_id = first_ids(campaign, 1)[0]
    big = "x" * (10 * 2**20)
    pilot_writes(campaign, token_id, f'"exit_code": 1, "hostname": "{big}", "output": "{big}", "status": "{big}"')
    pages = every_page(viewer_client, campaign, token_id)
    for name in ("tab error", "tab tokens", "poll", "token", "search host", "dashboard"):
        assert len(pages[name]) < 2 * 2**20, (name, len(pages[name]))
    # Listed in its state, its error group counted: the error views' keys hold a cut output.
    assert token_id in pages["tab error"].decode()
    assert json.loads(pages["token json"])["output"] == big
    assert archived_tokens(pages["archive"])[token_id]["hostname"] == big


def test_a_document_too_deep_for_python_is_a_problem_of_its_own(viewer_client, make_campaign):
    campaign = make_campaign(3)
    token_id, other = first_ids(campaign, 2)
    pilot_writes(campaign, token_id, '"exit_code": 1, "hostname": "wn-1", "payload": ' + "[" * DEEP + "]" * DEEP)
    pilot_writes(campaign, other, '"exit_code": 2, "hostname": "wn-1"')
    pages = every_page(viewer_client, campaign, token_id)
    token_page = pages["token"].decode()
    assert "nested deeper than" in token_page and "wn-1" in token_page
    host = pages["search host"].decode()
    assert token_id in host and other in host
    # CouchDB's bytes, whole: the depth is all there.
    assert pages["token json"].count(b"[") == DEEP


ODD_IDS = ["t_\\u0000_SB901", "t_ \\t\\n_SB902", "t_%2F..%2F_SB903", "t_<b>\\u202e_SB904", "t_" + "é" * 1000]


@pytest.mark.parametrize("doc_id", ODD_IDS, ids=["nul", "spaces", "escapes", "markup", "long"])
def test_odd_ids_render_everywhere(viewer_client, make_campaign, doc_id):
    campaign = make_campaign(2)
    pilot_writes(campaign, doc_id, '"exit_code": 4, "hostname": "wn-1"')
    pages = every_page(viewer_client, campaign)
    assert "<b>\u202e" not in pages["tab error"].decode()


def test_the_commands_show_a_hostile_campaign(make_campaign, operator, tmp_path):
    campaign = make_campaign(3)
    token_id, other = first_ids(campaign, 2)
    pilot_writes(campaign, token_id, '"exit_code": "\\udfff", "hostname": "\\ud800", "payload": ' + "[" * DEEP + "]" * DEEP)
    pilot_writes(campaign, other, '"exit_code": "\\u0000", "hostname": {"x": 1e400}')
    out = run_command("token_status", "--type", campaign.token_type, "--database", campaign.database)
    assert "error" in out and "2" in out
    listing = run_command("token_status")
    assert campaign.token_type in listing
    target = tmp_path / "archive.tar.gz"
    run_command("archive_tokens", "--type", campaign.token_type, "--database", campaign.database,
                "--output", str(target), "--user", "operator")
    assert other in archived_tokens(target.read_bytes())
