"""The condition language of user views on the real server: every condition GRID_LRT and picas
write selects there what JavaScript selects, and paths read missing fields of any depth."""

import uuid

import pytest

from condition_cases import ACCEPTED, DOCS, EVERY, TYPE
from tokens_app.couch import get_gateway
from tokens_app.design import build_design_doc, with_user_view


@pytest.fixture(scope="module")
def selections(couch_server):
    """A database holding DOCS (and a token of another type) and every ACCEPTED condition as a view."""
    gateway = get_gateway()
    database = f"test_conditions_{uuid.uuid4().hex[:8]}"
    gateway.create_database(database)
    docs = [{"_id": doc_id, "type": TYPE, **fields} for doc_id, fields in DOCS.items()]
    gateway.bulk_docs(database, [*docs, {"_id": "other", "type": "other", "lock": 0, "done": 0}])
    design = build_design_doc(TYPE)
    for index, (text, _) in enumerate(ACCEPTED):
        design = with_user_view(design, TYPE, f"c{index}", text)
    gateway.put_doc(database, design)
    yield lambda view: sorted(row["id"] for row in gateway.view(database, TYPE, view)["rows"])
    gateway.delete_database(database)


@pytest.mark.parametrize("index", range(len(ACCEPTED)), ids=[text for text, _ in ACCEPTED])
def test_a_condition_selects_on_the_server_what_javascript_selects(selections, index):
    assert selections(f"c{index}") == ACCEPTED[index][1]


def test_a_path_reads_missing_fields_of_any_depth_without_throwing(gateway, couch_db):
    deep = "doc" + ".meta" * 300 + ' == "x" || doc.status.length.x.y === undefined'
    gateway.bulk_docs(couch_db, [{"_id": doc_id, "type": TYPE, **fields} for doc_id, fields in DOCS.items()])
    gateway.put_doc(couch_db, with_user_view(build_design_doc(TYPE), TYPE, "deep", deep))
    assert sorted(row["id"] for row in gateway.view(couch_db, TYPE, "deep")["rows"]) == EVERY
