"""The CouchDB gateway against the session's real pouchdb-server."""

import json
import socket
import threading
from urllib.parse import unquote

import pytest
import requests

from devtools.localcouch import free_port
from tokens_app.couch import (
    Conflict,
    CouchAuthFailed,
    CouchRequestError,
    CouchTimeout,
    CouchUnreachable,
    DatabaseMissing,
    Gateway,
    InvalidName,
    NotFound,
    addressable,
    attachment_path,
    bulk_error,
    couch_connection,
    couch_url,
    database_path,
    document_path,
    get_gateway,
    safe_url,
    shown,
    view_path,
)
from tokens_app.couch import gateway as gateway_cache


def test_connects_and_reports_the_server_version(gateway):
    assert gateway.server_info()["version"]
    assert gateway.session_user()["name"] == gateway.user


def test_creates_lists_and_deletes_a_database(gateway):
    assert gateway.create_database("gw_create_test") is True
    assert gateway.create_database("gw_create_test") is False
    assert "gw_create_test" in gateway.list_databases()
    gateway.delete_database("gw_create_test")
    assert not gateway.database_exists("gw_create_test")


def test_wrong_password_is_reported_without_echoing_it(couch_server):
    secret = "definitely-wrong-password-123"
    wrong = Gateway(couch_server.url, couch_server.user, secret, timeout=5)
    with pytest.raises(CouchAuthFailed) as caught:
        wrong.server_info()
    message = str(caught.value)
    assert "refused the credentials of user 'portal-admin'" in message
    assert secret not in message and secret not in repr(wrong)


def test_stopped_server_is_reported_as_unreachable():
    port = free_port()
    gone = Gateway(f"http://127.0.0.1:{port}", "admin", "pw", timeout=5)
    with pytest.raises(CouchUnreachable, match=f"CouchDB at http://127.0.0.1:{port} is unreachable"):
        gone.server_info()


def test_server_stopped_mid_session_is_unreachable_then_recovers(couch_server, gateway):
    gateway.server_info()
    couch_server.stop()
    try:
        with pytest.raises(CouchUnreachable):
            gateway.list_databases()
    finally:
        couch_server.start()
    assert gateway.server_info()["version"]


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    silent = Gateway(f"http://127.0.0.1:{port}", "admin", "pw", timeout=0.5)
    try:
        with pytest.raises(CouchTimeout, match="did not answer within 0.5 s"):
            silent.server_info()
    finally:
        listener.close()


def test_missing_database_is_reported(gateway):
    with pytest.raises(DatabaseMissing, match="database 'no_such_db' does not exist"):
        gateway.get_doc("no_such_db", "x")
    with pytest.raises(DatabaseMissing):
        gateway.database_info("no_such_db")


def test_stale_revision_is_a_conflict(gateway, couch_db):
    rev = gateway.put_doc(couch_db, {"_id": "t1", "value": 1})
    gateway.put_doc(couch_db, {"_id": "t1", "_rev": rev, "value": 2})
    with pytest.raises(Conflict):
        gateway.put_doc(couch_db, {"_id": "t1", "_rev": rev, "value": 3})
    assert gateway.get_doc(couch_db, "t1")["value"] == 2


def test_missing_document_returns_the_default_or_raises(gateway, couch_db):
    assert gateway.get_doc(couch_db, "nope", default=None) is None
    with pytest.raises(CouchRequestError, match="'nope' does not exist"):
        gateway.get_doc(couch_db, "nope")


def test_bulk_docs_writes_inline_attachments_and_reports_conflicts(gateway, couch_db):
    results = gateway.bulk_docs(couch_db, [
        {"_id": "a", "_attachments": {"srm.txt": {"content_type": "text/plain", "data": "c3JtOi8veA=="}}},
        {"_id": "b"},
    ])
    assert [r["id"] for r in results] == ["a", "b"] and all("rev" in r for r in results)
    assert gateway.get_attachment(couch_db, "a", "srm.txt")[0] == b"srm://x"
    again = gateway.bulk_docs(couch_db, [{"_id": "b"}])
    assert again[0]["error"] == "conflict"
    assert gateway.existing_ids(couch_db, ["a", "b", "c"]).keys() == {"a", "b"}
    assert gateway.fetch_docs(couch_db, ["a", "c"])["c"] is None


def test_views_are_paged_without_skip(gateway, couch_db):
    gateway.put_doc(couch_db, {
        "_id": "_design/t",
        "views": {"by_n": {"map": "function(doc){ if (doc.n !== undefined) emit(doc.n % 3, doc.n); }"}},
    })
    gateway.bulk_docs(couch_db, [{"_id": f"d{n:03d}", "n": n} for n in range(25)])
    rows = list(gateway.iter_view(couch_db, "t", "by_n", page_size=4))
    assert len(rows) == 25
    assert len({row["id"] for row in rows}) == 25
    assert [row["key"] for row in rows] == sorted(row["key"] for row in rows)
    limited = list(gateway.iter_view(couch_db, "t", "by_n", page_size=4, limit=10))
    assert len(limited) == 10
    assert [d["_id"] for d in gateway.design_docs(couch_db)] == ["_design/t"]


def test_safe_url_drops_credentials():
    assert safe_url("https://user:secret@couch.example.org:6984/") == "https://couch.example.org:6984"


# -- the URL builder ---------------------------------------------------------------------------

# Names that need encoding to stay one segment, all legal CouchDB ids and attachment names.
AWKWARD_NAMES = (
    "a/b/../../x", "../x", "%2e%2e", "%2E%2E/_config", "%2F", "a%2Fb", "quote'\"d", "new\nline", "nul\x00byte",
    "．．", "‥", "a\\..\\b", "q?x=1#f", "sp ace", "...", "long" + "x" * 500,
)


def test_every_segment_is_encoded_whole():
    for name in AWKWARD_NAMES:
        url = couch_url("http://couch:5984/", document_path("db", name))
        head, segment = url.rsplit("/", 1)
        assert head == "http://couch:5984/db" and unquote(segment) == name, name
    assert couch_url("http://couch:5984", ()) == "http://couch:5984/"
    assert couch_url("http://couch", view_path("a/b", "t/y", "v w")) == "http://couch/a%2Fb/_design/t%2Fy/_view/v%20w"
    assert couch_url("http://couch", document_path("db", "_design/x/y")) == "http://couch/db/_design/x%2Fy"
    assert couch_url("http://couch", attachment_path("db", "_local/l", "a/b.txt")) == "http://couch/db/_local/l/a%2Fb.txt"


def test_requests_sends_the_encoded_path_untouched():
    for name in AWKWARD_NAMES:
        url = couch_url("http://couch", attachment_path("db", name, name))
        assert requests.Request("GET", url).prepare().url == url, name


@pytest.mark.parametrize(("build", "message"), [
    (lambda: document_path("db", ".."), r"'\.\.' cannot be a document id"),
    (lambda: document_path("db", "."), r"'\.' cannot be a document id"),
    (lambda: document_path("db", ""), "'' cannot be a document id"),
    (lambda: document_path("db", "_design/.."), "cannot be the name of a _design document"),
    (lambda: document_path("db", "_local/"), "cannot be the name of a _local document"),
    (lambda: document_path("db", "_config"), "'_config' is not a document id"),
    (lambda: document_path("db", "_security"), "'_security' is not a document id"),
    (lambda: document_path("db", None), "None cannot be a document id"),
    (lambda: attachment_path("db", "doc", ".."), r"'\.\.' cannot be an attachment name"),
    (lambda: attachment_path("db", "doc", "_view"), "'_view' is not an attachment name"),
    (lambda: view_path("db", "..", "v"), "cannot be the name of a _design document"),
    (lambda: view_path("db", "t", "."), r"'\.' cannot be a view name"),
    (lambda: database_path("_config"), "'_config' is not a CouchDB database name"),
    (lambda: database_path(".."), r"'\.\.' is not a CouchDB database name"),
    (lambda: database_path("Upper"), "'Upper' is not a CouchDB database name"),
    (lambda: couch_url("http://couch", ("db", "..")), r"'\.\.' cannot be a path segment"),
])
def test_names_that_cannot_be_a_segment_are_refused(build, message):
    with pytest.raises(InvalidName, match=message) as caught:
        build()
    assert "\n" not in str(caught.value) and caught.value.status == 404


def test_refused_names_send_nothing():
    """A gateway to a port where nothing listens: any request would be CouchUnreachable."""
    gone = Gateway(f"http://127.0.0.1:{free_port()}", "admin", "pw", timeout=5)
    for call in (
        lambda: gone.get_doc("db", ".."),
        lambda: gone.get_attachment("db", ".", "_config"),
        lambda: gone.get_attachment("db", "..", "_config"),
        lambda: gone.view("db", "..", "todo"),
        lambda: gone.iter_all_docs("_config").__next__(),
        lambda: gone.database_exists("_users/../_config"),
        lambda: gone.put_doc("db", {"_id": "_changes"}),
    ):
        with pytest.raises(InvalidName):
            call()


def test_a_path_must_be_segments():
    with pytest.raises(TypeError, match="tuple of segments"):
        couch_url("http://couch", "db/../_config")


def test_messages_show_names_on_one_line_and_cut_long_ones():
    assert shown("a\nb") == "'a\\nb'"
    assert len(shown("x" * 1000)) == 80 and shown("x" * 1000).endswith("…'")


def test_awkward_ids_and_attachment_names_round_trip_on_the_server(gateway, couch_db):
    docs = [
        {"_id": name, "n": index, "_attachments": {name: {"content_type": "text/plain", "data": "eA=="}}}
        for index, name in enumerate(AWKWARD_NAMES)
    ]
    assert not [result for result in gateway.bulk_docs(couch_db, docs) if "error" in result]
    for index, name in enumerate(AWKWARD_NAMES):
        assert gateway.get_doc(couch_db, name)["n"] == index, name
        assert gateway.get_attachment(couch_db, name, name)[0] == b"x", name
    gateway.put_doc(couch_db, {"_id": "_design/a/b", "views": {}})
    assert gateway.get_doc(couch_db, "_design/a/b")["_id"] == "_design/a/b"


def test_addressable_tells_which_ids_have_a_path():
    assert all(addressable(name) for name in (*AWKWARD_NAMES, "_design/x", "_local/y"))
    assert not any(addressable(name) for name in (".", "..", "", "_design/..", "_changes"))


# -- design documents: exists, read, written with a retry on conflict ---------------------------

def test_a_design_document_is_read_by_its_name(gateway, couch_db):
    assert gateway.get_design(couch_db, "t") is None and not gateway.design_exists(couch_db, "t")
    gateway.put_doc(couch_db, {"_id": "_design/t", "views": {}})
    assert gateway.get_design(couch_db, "t")["_id"] == "_design/t" and gateway.design_exists(couch_db, "t")
    with pytest.raises(DatabaseMissing):
        gateway.design_exists("no_such_db", "t")
    with pytest.raises(InvalidName):
        gateway.get_design(couch_db, "..")


def test_update_design_writes_what_the_change_makes_of_the_current_document(gateway, couch_db):
    seen = []

    def add_view(current):
        seen.append(current)
        return {**(current or {"_id": "_design/t"}), "views": {"v": {"map": "function(doc){}"}}}

    written = gateway.update_design(couch_db, "t", add_view)
    assert seen == [None] and written["views"] == gateway.get_design(couch_db, "t")["views"]
    assert gateway.update_design(couch_db, "t", lambda current: None) is None


def test_update_design_reads_again_after_a_conflict_then_gives_up(gateway, couch_db):
    gateway.put_doc(couch_db, {"_id": "_design/t", "n": 0})
    changes = []

    def someone_else_writes_first(current):
        changes.append(current["n"])
        gateway.put_doc(couch_db, {**current, "n": current["n"] + 1})  # the other writer wins
        return {**current, "mine": True}

    with pytest.raises(Conflict):
        gateway.update_design(couch_db, "t", someone_else_writes_first)
    assert changes == [0, 1, 2]  # each attempt saw the other writer's latest revision

    stale = gateway.get_design(couch_db, "t")
    gateway.put_doc(couch_db, {**stale, "n": 99})
    written = gateway.update_design(couch_db, "t", lambda current: {**current, "mine": True}, current=stale)
    assert written["n"] == 99 and gateway.get_design(couch_db, "t")["mine"] is True


def test_a_refused_bulk_write_is_worded_once():
    assert bulk_error({"id": "t1", "error": "forbidden", "reason": "no"}) == "t1: forbidden no"
    assert bulk_error({"id": "t1", "error": "conflict"}) == "t1: conflict"


def test_a_missing_database_is_told_from_a_missing_document_everywhere(gateway, couch_db):
    with pytest.raises(DatabaseMissing):
        gateway.get_attachment("no_such_db", "x", "y")
    with pytest.raises(DatabaseMissing):
        gateway.view("no_such_db", "t", "v")
    with pytest.raises(NotFound):
        gateway.get_attachment(couch_db, "x", "y")
    with pytest.raises(NotFound):
        gateway.view(couch_db, "t", "v")


@pytest.mark.parametrize("status, reason, error", [
    (500, "No DB shards could be opened.", DatabaseMissing),  # Apache CouchDB, the database just deleted
    (500, "something else broke", CouchRequestError),
])
def test_apache_couchdbs_answer_for_a_database_deleted_a_moment_ago_is_a_missing_database(
        gateway, couch_db, monkeypatch, status, reason, error):
    """Apache CouchDB answers a request to a database deleted a moment ago with a 500 naming its
    shards, for a short while: the fault is injected, the real server gives it only by chance."""
    answer = requests.Response()
    answer.status_code, answer._content = status, json.dumps({"error": "internal_server_error", "reason": reason}).encode()
    with monkeypatch.context() as patched, pytest.raises(error) as raised:
        patched.setattr(requests.Session, "request", lambda *args, **kwargs: answer)
        gateway.fetch_docs(couch_db, ["a", "b"])
    assert (couch_db in str(raised.value)) is (error is DatabaseMissing)


# -- the process's shared gateway ---------------------------------------------------------------

def test_shared_gateways_are_kept_without_their_password(couch_server, settings):
    secret = "cache-secret-pw-1618"
    couch = settings.COUCHDB
    settings.COUCHDB = {**couch, "URL": f"http://portal:{secret}@127.0.0.1:{free_port()}", "PASSWORD": secret}
    gateway = get_gateway()
    assert get_gateway() is gateway
    assert secret not in repr(gateway_cache._gateways.keys())
    assert all(secret not in str(part) for key in gateway_cache._gateways for part in key)


def test_a_new_password_setting_replaces_the_shared_gateway(couch_server, settings):
    couch = settings.COUCHDB
    first = get_gateway()
    settings.COUCHDB = {**couch, "PASSWORD": "rotated-pw-2718"}
    rotated = get_gateway()
    assert rotated is not first and rotated.password == "rotated-pw-2718"
    assert get_gateway() is rotated
    settings.COUCHDB = couch
    again = get_gateway()
    assert again is not rotated and again.password == couch["PASSWORD"]
    assert again.server_info()["version"]
    same_server = [key for key in gateway_cache._gateways if key[:2] == (couch_server.url, couch_server.user)]
    assert len(same_server) == 1  # replaced, not piled up


def test_credentials_in_the_url_are_compared_not_keyed(couch_server, settings):
    couch = settings.COUCHDB
    host = couch_server.url.removeprefix("http://")
    settings.COUCHDB = {**couch, "URL": f"http://{couch_server.user}:one-pw@{host}"}
    first = get_gateway()
    settings.COUCHDB = {**couch, "URL": f"http://{couch_server.user}:other-pw@{host}"}
    assert get_gateway() is not first and get_gateway().url.endswith(f":other-pw@{host}")


def test_couch_connection_keeps_its_secrets_out_of_its_repr(gateway):
    connection = couch_connection()
    assert (connection.url, connection.user, connection.password) == (gateway.url, gateway.user, gateway.password)
    assert gateway.password not in repr(connection)
