"""The CouchDB gateway against the session's real pouchdb-server."""

import socket
import threading

import pytest

from tokens_app.couch import (
    Conflict,
    CouchAuthFailed,
    CouchRequestError,
    CouchTimeout,
    CouchUnreachable,
    DatabaseMissing,
    Gateway,
    safe_url,
)
from tokens_app.localcouch import free_port


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
        gateway.require_database("no_such_db")


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
