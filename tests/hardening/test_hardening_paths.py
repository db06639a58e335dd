"""Paths: no id or name a user, operator or other tool wrote reaches CouchDB as anything but the
path segment it was given as.

A recording proxy (recording_proxy.py) sits between the portal and the session's pouchdb-server;
every shape below goes through every page and command that takes a token id, attachment name,
view name, design name or database name, and each test checks the raw paths CouchDB was asked
for: no ``.``, ``..`` or empty segment, and each segment decodes to exactly a name the request
was meant to reach.
"""

import base64
import html
import re
import tarfile
from urllib.parse import urlencode

import pytest
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from hardening_support import documents, run_command, srm_list, yaml_config
from recording_proxy import RecordingProxy, raw_segments, segments

from tokens_app.couch import DATABASE_NAME, get_gateway
from tokens_app.design import PORTAL_DESIGN, PORTAL_VIEWS, TOKENS_VIEW, TYPE_VIEWS, design_id
from tokens_app.follower import Follower
from tokens_app.models import Campaign
from tokens_app.selectors import iter_token_rows
from tokens_app.services import ServiceError, archive_tokens, plan_tokenset

pytestmark = pytest.mark.django_db

# Ids and names as an attacker or a careless tool writes them.
SHAPES = (
    "..", ".", "/", "a/b/../../x", "../../_config", "%2e%2e", "%2E%2E/_config", "%2F", "a%2Fb",
    "quote'\"d", "new\nline", "nul\x00byte", "．．", "‥", "a\\..\\b", "q?x=1#f", "long" + "x" * 300,
    "_config", "_changes", "_security", "_all_docs", "_design", "_local/x",
)
# The shapes CouchDB stores as token ids (it reserves ids starting with '_').
TOKEN_ID_SHAPES = tuple(shape for shape in SHAPES if not shape.startswith("_"))
# Ids the portal can never put in a path: listed, counted and changed by bulk operations only.
PATHLESS = (".", "..")


@pytest.fixture
def recorded(couch_server, settings):
    """The portal's CouchDB traffic, through a recording proxy from here on."""
    proxy = RecordingProxy(couch_server.url).start()
    settings.COUCHDB = {**settings.COUCHDB, "URL": proxy.url}
    get_gateway().server_info()
    assert proxy.requests, "the portal does not talk to CouchDB through the proxy"
    proxy.clear()
    yield proxy
    get_gateway().close()
    proxy.stop()


@pytest.fixture
def viewer_client(viewer):
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def operator_client(operator):
    client = Client()
    client.force_login(operator)
    return client


def campaign_paths(campaign, *documents_read) -> set[tuple[str, ...]]:
    """The paths a page or command of ``campaign`` may ask for, plus ``documents_read`` (each a
    tuple of segments after the database: an id, or an id and an attachment name)."""
    db, design = campaign.database, ("_design", campaign.token_type)
    portal = ("_design", PORTAL_DESIGN)
    paths = {(), ("_session",), ("_active_tasks",), (db,), (db, "_all_docs"), (db, "_bulk_docs"), (db, *design),
             (db, *portal)}
    paths |= {(db, *design, "_view", view) for view in TYPE_VIEWS}
    paths |= {(db, *portal, "_view", view) for view in PORTAL_VIEWS}
    return paths | {(db, *document) for document in documents_read}


def assert_asked_only_for(proxy: RecordingProxy, allowed: set[tuple[str, ...]]) -> None:
    for method, target in proxy.requests:
        assert not {"", ".", ".."} & set(raw_segments(target)), f"{method} {target}"
        assert segments(target) in allowed, f"{method} {target} is not a path this request may reach"


def seed_tokens(campaign, ids) -> None:
    """Tokens of the campaign with these ids, written as another tool would (bulk, any id)."""
    docs = [
        {"_id": token_id, "type": campaign.token_type, "lock": 0, "done": 0,
         "_attachments": {"srm.txt": {"content_type": "text/plain", "data": base64.b64encode(b"links\n").decode()}}}
        for token_id in ids
    ]
    results = get_gateway().bulk_docs(campaign.database, docs)
    assert not [result for result in results if "error" in result], results


def token_ids(campaign) -> list[str]:
    """The ids of the campaign's tokens, as its ``tokens`` view lists them."""
    return [row["id"] for row in iter_token_rows(campaign, TOKENS_VIEW)]


def token_url(campaign, token_id: str) -> str:
    return reverse("tokens:token-detail", args=[campaign.pk, token_id])


def attachment_url(campaign, token_id: str, name: str) -> str:
    return reverse("tokens:token-attachment", args=[campaign.pk]) + "?" + urlencode({"token": token_id, "name": name})


# -- finding 1: the attachment and token pages -----------------------------------------------

@pytest.mark.parametrize(("token_id", "name"), [
    ("..", "_config"), ("..", "_config/admins"), (".", "_changes"), (".", "_security"), (".", "_all_docs"),
    ("../..", "_config"), ("_design", "x"), ("_security", "x"), ("_local/x", "y"), ("%2e%2e", "_config"),
])
def test_the_attachment_page_reaches_no_server_or_database_endpoint(campaign, recorded, viewer_client, token_id, name):
    response = viewer_client.get(attachment_url(campaign, token_id, name))
    assert response.status_code == 404
    assert b"admins" not in response.content and b"couch_httpd" not in response.content
    for _method, target in recorded.requests:
        assert "_config" not in target and "_changes" not in target and "_security" not in target, target
    # At most the document itself was read: no id starting with '_' and no dot segment is one.
    assert_asked_only_for(recorded, campaign_paths(campaign, (token_id,)) - {(campaign.database, "..")})


@pytest.mark.parametrize("raw", ["..", ".", "%2e%2e", "%2E", ".%2e", "%252e%252e", "_design%2Fx", "_security"])
def test_the_token_page_with_a_dot_segment_in_the_address_is_404(campaign, recorded, viewer_client, raw):
    response = viewer_client.get(f"/campaigns/{campaign.pk}/tokens/{raw}/")
    assert response.status_code == 404
    assert_asked_only_for(recorded, campaign_paths(campaign))


def test_every_id_shape_opens_its_own_token_and_attachment_and_nothing_else(campaign, recorded, viewer_client):
    seed_tokens(campaign, TOKEN_ID_SHAPES)
    for token_id in TOKEN_ID_SHAPES:
        recorded.clear()
        page = viewer_client.get(token_url(campaign, token_id))
        download = viewer_client.get(attachment_url(campaign, token_id, "srm.txt"))
        if token_id in PATHLESS:
            assert (page.status_code, download.status_code) == (404, 404), token_id
            assert_asked_only_for(recorded, campaign_paths(campaign))
            continue
        assert page.status_code == 200, token_id
        assert page.context["detail"]["doc"]["_id"] == token_id
        assert f"<h1><code>{escape(token_id)}</code>" in page.content.decode(), token_id
        assert download.status_code == 200 and download.content == b"links\n", token_id
        assert_asked_only_for(recorded, campaign_paths(campaign, (token_id,), (token_id, "srm.txt")))


def test_attachment_names_are_one_segment_and_must_be_the_tokens(campaign, recorded, viewer_client):
    token_id = token_ids(campaign)[0]
    recorded.clear()
    for name in SHAPES:
        response = viewer_client.get(attachment_url(campaign, token_id, name))
        assert response.status_code == 404, name
    # The document was read for each name; no attachment path was asked for: none is the token's.
    assert_asked_only_for(recorded, campaign_paths(campaign, (token_id,)))


def test_pages_serve_only_tokens_of_their_campaign(make_campaign, recorded, viewer_client, gateway):
    campaign, other = make_campaign(2), make_campaign(2)
    theirs = token_ids(other)[0]
    gateway.put_doc(campaign.database, {"_id": "_local/x", "type": campaign.token_type})
    gateway.put_doc(campaign.database, {"_id": "untyped"})
    for token_id in (theirs, design_id(campaign.token_type), "_local/x", "untyped", "missing"):
        assert viewer_client.get(token_url(campaign, token_id)).status_code == 404, token_id
        assert viewer_client.get(attachment_url(campaign, token_id, "srm.txt")).status_code == 404, token_id
    assert viewer_client.get(token_url(other, theirs)).status_code == 200


# -- finding 10: links to token pages round-trip every id ---------------------------------------

DOT_SEGMENT = re.compile(r"\.|%2e|\.%2e|%2e\.|\.\.|%2e%2e", re.IGNORECASE)


def test_the_campaign_page_links_each_token_to_its_own_page(campaign, recorded, viewer_client):
    seed_tokens(campaign, TOKEN_ID_SHAPES)
    expected = set(token_ids(campaign)) - set(PATHLESS)
    follower = Follower()  # the tokens written straight to CouchDB reach the read model
    assert follower.take_lease()
    follower.catch_up(campaign.database)
    listed = viewer_client.get(campaign.get_absolute_url() + "?view=todo")
    assert listed.status_code == 200
    prefix = f"/campaigns/{campaign.pk}/tokens/"
    links = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', listed.content.decode()) if href.startswith(prefix)]
    opened = {}
    for link in links:
        # A browser folds dot segments before sending: the link must have none.
        assert not any(DOT_SEGMENT.fullmatch(part) for part in link.split("/")), link
        page = viewer_client.get(link)
        assert page.status_code == 200, link
        opened[link] = page.context["detail"]["doc"]["_id"]
    assert sorted(opened.values()) == sorted(expected)
    assert len(set(opened.values())) == len(opened)
    for token_id in PATHLESS:
        assert f"<code title=\"CouchDB paths cannot carry this id: the portal does not open it\">{token_id}</code>" in listed.content.decode()


def test_ordinary_ids_keep_readable_addresses(campaign):
    token_id = f"{campaign.token_type}_L229507_SB001.x-y"
    assert token_url(campaign, token_id) == f"/campaigns/{campaign.pk}/tokens/{token_id}/"


# -- every other page that takes an id or a name ----------------------------------------------

def test_operations_by_token_id_send_ids_only_in_request_bodies(campaign, recorded, operator_client):
    seed_tokens(campaign, TOKEN_ID_SHAPES)
    for token_id in SHAPES:
        recorded.clear()
        data = {"token_id": token_id, "confirmed": "on"}
        for action in ("campaign-reset", "campaign-set-status", "campaign-delete"):
            response = operator_client.post(reverse(f"tokens:{action}", args=[campaign.pk]), {**data, "status": "x"})
            # 302 after the operation; 200 re-shows the form for the one id no form field takes (NUL).
            expected = 200 if "\x00" in token_id else 302
            assert response.status_code == expected, (action, token_id, response.status_code)
        assert_asked_only_for(recorded, campaign_paths(campaign))
    remaining = {doc["_id"] for doc in documents(get_gateway(), campaign.database)}
    assert remaining & set(TOKEN_ID_SHAPES) == {"nul\x00byte"}


def test_view_design_and_database_names_from_pages(campaign, recorded, operator_client):
    for name in SHAPES:
        shown = operator_client.get(campaign.get_absolute_url(), {"view": name})
        # The campaign page renders: a view it does not have is no error page.
        assert shown.status_code == 200, (name, shown.status_code)
        added = operator_client.post(reverse("tokens:campaign-add-view", args=[campaign.pk]),
                                     {"name": name, "condition": "doc.x == 1", "confirmed": "on"})
        # None of the shapes is a view name: the form comes back with the refusal.
        assert added.status_code == 200, (name, added.status_code)
        # Adopting answers with a redirect (and its message), refused or not.
        adopted = operator_client.post(reverse("tokens:design-adopt"), {"database": name, "token_type": name})
        assert adopted.status_code == 302, (name, adopted.status_code)
        adopted = operator_client.post(reverse("tokens:design-adopt"), {"database": campaign.database, "token_type": name})
        assert adopted.status_code == 302, (name, adopted.status_code)
    adopted_designs = {(campaign.database, "_design", name) for name in SHAPES}
    assert_asked_only_for(recorded, campaign_paths(campaign) | adopted_designs)
    assert not Campaign.objects.exclude(pk=campaign.pk).exists()


# -- commands --------------------------------------------------------------------------------

def run_or_refuse(*args) -> str:
    """What the command printed, or its one-line refusal."""
    try:
        return run_command(*args)
    except CommandError as exc:
        assert "\n" not in str(exc), str(exc)
        return str(exc)


def test_commands_take_every_shape_as_id_view_type_and_database(campaign, recorded, operator, tmp_path):
    seed_tokens(campaign, TOKEN_ID_SHAPES)
    target = ["--type", campaign.token_type, "--database", campaign.database, "--user", operator.username, "--yes"]
    attached = tmp_path / "notes.txt"
    attached.write_text("n")
    recorded.clear()
    for shape in SHAPES:
        run_or_refuse("set_token_status", "running", *target, "--ids", shape)
        run_or_refuse("reset_tokens", *target, "--view", shape)
        run_or_refuse("add_token_view", shape, "doc.x == 1", *target)
        run_or_refuse("token_status", "--type", shape, "--database", campaign.database)
        run_or_refuse("token_status", "--type", campaign.token_type, "--database", shape)
        run_or_refuse("attach_to_tokens", str(attached), *target, "--ids", shape)
        run_or_refuse("set_token_field", "note", "x", *target, "--ids", shape)
        run_or_refuse("delete_tokens", *target, "--view", shape)
        run_or_refuse("archive_tokens", "--type", shape, "--database", campaign.database, "--output", str(tmp_path / "a.tgz"))
        run_or_refuse("simulate_pilots", "--type", shape, "--database", campaign.database, "--max-tokens", "1")
        run_or_refuse("simulate_pilots", "--type", campaign.token_type, "--database", shape, "--max-tokens", "1")
    # A type or database given on the command line is looked up as the segment it is.
    looked_up = {(campaign.database, "_design", shape) for shape in SHAPES}
    looked_up |= {(shape, "_design", campaign.token_type) for shape in SHAPES if DATABASE_NAME.fullmatch(shape)}
    assert_asked_only_for(recorded, campaign_paths(campaign) | looked_up)


def test_creation_takes_every_shape_as_type_database_and_attachment_name(couch_db, recorded, operator, tmp_path):
    config, srmlist = tmp_path / "step.yaml", tmp_path / "srm.txt"
    srmlist.write_bytes(srm_list(2))
    recorded.clear()
    for shape in SHAPES:
        config.write_bytes(yaml_config("paths_ok"))
        common = ["--config", str(config), "--srmlist", str(srmlist), "--user", operator.username]
        run_or_refuse("create_tokenset", *common, "--type", shape, "--database", couch_db)
        run_or_refuse("create_tokenset", *common, "--type", "paths_ok", "--database", shape)
        run_or_refuse("create_tokenset", *common, "--type", "paths_ok", "--database", couch_db,
                      "--srm-file-name", shape, "--overwrite")
    # Types that need encoding but are no dot segment are legal: each campaign got exactly its
    # own design document, and nothing else was asked for.
    created = list(Campaign.objects.all())
    assert_asked_only_for(recorded, set().union(*(campaign_paths(campaign) for campaign in created)))
    for campaign in created:
        assert get_gateway().get_doc(couch_db, design_id(campaign.token_type))["_id"] == design_id(campaign.token_type)
    assert {".", "..", "/", "a/b/../../x"}.isdisjoint(campaign.token_type for campaign in created)


# -- finding 9: token types '.' and '..' --------------------------------------------------------

@pytest.mark.parametrize("token_type", [".", ".."])
def test_dot_token_types_are_refused_where_a_type_enters(couch_db, operator, token_type, tmp_path):
    with pytest.raises(ServiceError, match="cannot name a design document"):
        plan_tokenset(config_data=yaml_config(token_type), srmlist_data=srm_list(2), database=couch_db)
    config, srmlist = tmp_path / "step.yaml", tmp_path / "srm.txt"
    config.write_bytes(yaml_config("paths_ok"))
    srmlist.write_bytes(srm_list(2))
    with pytest.raises(CommandError, match="cannot name a design document"):
        run_command("create_tokenset", "--config", str(config), "--srmlist", str(srmlist), "--type", token_type,
                    "--database", couch_db, "--user", operator.username)
    client = Client()
    client.force_login(operator)
    response = client.post(reverse("tokens:design-adopt"), {"database": couch_db, "token_type": token_type}, follow=True)
    assert "cannot name a design document" in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_campaign_of_type_dot_dot_left_by_an_earlier_version_can_still_be_purged(couch_db, operator, gateway):
    kept = {"_id": "kept", "type": "other"}
    gateway.bulk_docs(couch_db, [{"_id": f"..{n}", "type": "..", "lock": 0, "done": 0} for n in range(3)] + [kept])
    Campaign.objects.create(token_type="..", database=couch_db, status=Campaign.Status.INCOMPLETE, created_by=operator)
    output = run_command("purge_tokens", "--type", "..", "--database", couch_db, "--user", operator.username, "--yes")
    assert "3 changed" in output
    assert [doc["_id"] for doc in documents(gateway, couch_db)] == ["kept"]
    assert Campaign.objects.get(token_type="..").status == Campaign.Status.PURGED


# -- finding 10: archive member names ---------------------------------------------------------

def test_archives_of_very_long_ids_extract_with_distinct_names(campaign, operator, tmp_path):
    long_a, long_b = "a" * 300 + "-1", "a" * 300 + "-2"
    seed_tokens(campaign, [long_a, long_b, "/" * 3, "../x"])
    archive = tmp_path / "campaign.tar.gz"
    archive.write_bytes(b"".join(archive_tokens(campaign, user=operator)))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "out", filter="data")
    components = [part for name in names for part in name.split("/")]
    assert max(len(part) for part in components) <= 255
    tokens = [name for name in names if "/tokens/" in name]
    assert len(tokens) == len(set(tokens)) == 5 + 4
    assert all((tmp_path / "out" / name).is_file() for name in names)
