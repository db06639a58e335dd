"""The bundled pouchdb-server's preloads: map functions compiled once (couchdb/compiled-views.js)
and attachments with one kept reference (couchdb/small-attachment-refs.js).

pouchdb-mapreduce ran each map function in a new V8 context per document; the preload compiles
each function once in one sandbox. These tests pin what a map function sees there: the same
helpers and strict mode as before, its own copy of the document, each view's rows its own. And
a file every token carries stays readable through rewrites, deletions and compaction.
"""

import base64
import time

import pytest

from devtools.localcouch import COMPILED_VIEWS, SMALL_ATTACHMENT_REFS
from tokens_app.couch import database_path, document_path

pytestmark = pytest.mark.pouchdb


def _design(gateway, db, views: dict) -> None:
    gateway.put_doc(db, {"_id": "_design/probe", "views": {name: {"map": code} for name, code in views.items()}})


def _rows(gateway, db, view: str) -> list[tuple]:
    return [(row["id"], row["key"], row.get("value")) for row in gateway.view(db, "probe", view)["rows"]]


def test_the_server_starts_with_the_compiled_views_preload(couch_server):
    assert f"--require={COMPILED_VIEWS}" in couch_server._environment()["NODE_OPTIONS"]


def test_each_map_function_is_compiled_once_for_every_document(gateway, couch_db):
    # One sandbox for all calls: a global a map function keeps grows from document to document.
    # With a new context per document, as pouchdb-mapreduce does, every row would be 1.
    _design(gateway, couch_db, {"calls": "function (doc) { globalThis.n = (globalThis.n || 0) + 1; emit(doc._id, globalThis.n); }"})
    for number in range(3):
        gateway.put_doc(couch_db, {"_id": f"d{number}"})
    assert sorted(value for _, _, value in _rows(gateway, couch_db, "calls")) == [1, 2, 3]


def test_map_functions_see_the_helpers_and_run_in_strict_mode(gateway, couch_db):
    _design(gateway, couch_db, {
        "helpers": "function (doc) { log('x'); emit(doc._id, [isArray(doc.list), sum(doc.list), typeof toJSON]); }",
        # Strict mode: assigning an undeclared name throws, so that document gives no row.
        "strict": "function (doc) { if (doc._id === 'bad') { undeclared = 1; } emit(doc._id, null); }",
    })
    gateway.put_doc(couch_db, {"_id": "good", "list": [1, 2, 3]})
    gateway.put_doc(couch_db, {"_id": "bad", "list": []})
    assert _rows(gateway, couch_db, "helpers") == [("bad", "bad", [True, 0, "function"]),
                                                   ("good", "good", [True, 6, "function"])]
    assert _rows(gateway, couch_db, "strict") == [("good", "good", None)]


def test_a_map_function_changes_only_its_own_copy_and_emits_into_its_own_view(gateway, couch_db):
    _design(gateway, couch_db, {
        "changer": "function (doc) { doc.type = 'changed'; emit(doc.type, 'changer'); }",
        "reader": "function (doc) { emit(doc.type, 'reader'); }",
    })
    gateway.put_doc(couch_db, {"_id": "token", "type": "original"})
    assert _rows(gateway, couch_db, "changer") == [("token", "changed", "changer")]
    assert _rows(gateway, couch_db, "reader") == [("token", "original", "reader")]
    assert gateway.get_doc(couch_db, "token")["type"] == "original"


def test_a_map_function_that_does_not_compile_fails_for_each_document_not_the_query(gateway, couch_db):
    # As pouchdb-mapreduce does: the error is logged per document and the view has no rows.
    _design(gateway, couch_db, {"broken": "42", "syntax": "function (doc) { emit(", "fine": "function (doc) { emit(doc._id, null); }"})
    gateway.put_doc(couch_db, {"_id": "token"})
    assert _rows(gateway, couch_db, "broken") == []
    assert _rows(gateway, couch_db, "syntax") == []
    assert _rows(gateway, couch_db, "fine") == [("token", "token", None)]


def test_the_server_starts_with_small_attachment_references(couch_server):
    assert f"--require={SMALL_ATTACHMENT_REFS}" in couch_server._environment()["NODE_OPTIONS"]


def test_a_file_every_token_carries_survives_rewrites_deletions_and_compaction(gateway, couch_db):
    """The attachment store keeps one fixed reference instead of every revision's: compaction,
    which deletes an attachment whose references run out, must never delete one in use."""
    shared = {"config.yaml": {"content_type": "text/plain", "data": base64.b64encode(b"steps: 3\n").decode()}}
    results = gateway.bulk_docs(couch_db, [{"_id": f"t{n}", "type": "probe", "_attachments": shared} for n in range(20)])
    assert all(result.get("ok") for result in results)
    for round_number in range(3):  # pilots' claims and finishes: new revisions with stubs
        for n in range(20):
            doc = gateway.get_doc(couch_db, f"t{n}")
            doc["round"] = round_number
            gateway.put_doc(couch_db, doc)
    for n in range(10):  # half the tokens deleted: their revisions refer to the file no more
        doc = gateway.get_doc(couch_db, f"t{n}")
        gateway.request("DELETE", document_path(couch_db, doc["_id"]), what="delete", db=couch_db,
                        params={"rev": doc["_rev"]})
    gateway.request("POST", (*database_path(couch_db), "_compact"), what="compact", db=couch_db, json_body={})
    deadline = time.monotonic() + 30
    while gateway.database_info(couch_db).get("compact_running") and time.monotonic() < deadline:
        time.sleep(0.1)
    for n in range(10, 20):
        assert gateway.get_attachment(couch_db, f"t{n}", "config.yaml")[0] == b"steps: 3\n"
    # A new token with the same file still shares it.
    gateway.put_doc(couch_db, {"_id": "late", "_attachments": shared})
    assert gateway.get_attachment(couch_db, "late", "config.yaml")[0] == b"steps: 3\n"
