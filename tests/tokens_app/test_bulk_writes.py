"""Bulk writes bounded in bytes as well as documents (COUCHDB_BATCH_BYTES).

One 2 MB file attached to 240 tokens used to go in one 650 MB request that killed the local
CouchDB (``RangeError: Invalid string length``). These tests push such sets against the real
server with a small bound and check every request stayed within it, and that a file that cannot
fit into one request with its token is refused before anything is written.
"""

import hashlib
import io
import json
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tokens_app import bulk, services
from tokens_app.models import Campaign
from tokens_app.services import ServiceError

pytestmark = pytest.mark.django_db

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
CONFIG = b"Token:\n  type: big_files\n  PIPELINE_STEP: cal\n"
MB = 2**20


def srmlist(count: int) -> bytes:
    return "".join(f"{SARA}L229507_SB{subband:03d}_uv.MS_{subband:04x}.tar\n" for subband in range(count)).encode()


@pytest.fixture
def batch_bytes(settings):
    """COUCHDB_BATCH_BYTES set to ``bound`` for the test."""

    def set_bound(bound: int) -> int:
        settings.COUCHDB = {**settings.COUCHDB, "BATCH_BYTES": bound}
        return bound

    return set_bound


@pytest.fixture
def request_sizes(monkeypatch, gateway):
    """Bytes of every ``_bulk_docs`` request body sent through the gateway."""
    sizes = []
    post = gateway._post_bulk

    def measuring(db, docs):
        sizes.append(len(bulk.Body([doc if isinstance(doc, bulk.EncodedDoc) else bulk.encode(doc) for doc in docs])))
        return post(db, docs)

    monkeypatch.setattr(gateway, "_post_bulk", measuring)
    return sizes


def tokens_of(gateway, database: str) -> list[str]:
    return [row["id"] for row in gateway.iter_all_docs(database) if not row["id"].startswith("_design/")]


def test_a_2_mb_set_wide_file_on_240_tokens_goes_in_requests_within_the_bound(
    couch_server, couch_db, gateway, superuser, batch_bytes, request_sizes
):
    bound = batch_bytes(9 * MB)
    data = os.urandom(2 * MB)
    campaign, report = services.create_tokenset(
        user=superuser, config_data=CONFIG, srmlist_data=srmlist(240), database=couch_db, attachments={"big.bin": data}
    )
    assert (report.written, report.failed) == (240, 0)
    assert campaign.status == Campaign.Status.READY and campaign.written_count == 240
    # Three 2.7 MB tokens fit into 9 MB, four do not: 80 requests, none above the bound.
    assert len(request_sizes) == 80 and max(request_sizes) <= bound
    assert couch_server.running() and len(tokens_of(gateway, couch_db)) == 240
    token = gateway.get_doc(couch_db, campaign_token(campaign, 239))
    assert token["_attachments"]["big.bin"]["length"] == len(data)
    assert token["_attachments"]["srm.txt"]["length"] > 0
    body, _ = gateway.get_attachment(couch_db, token["_id"], "big.bin")
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def campaign_token(campaign, subband: int) -> str:
    return f"t_{campaign.token_type}_L229507_cal_SB{subband:03d}"


def test_a_set_wide_file_too_large_for_one_request_is_refused_before_anything_is_written(
    couch_db, gateway, superuser, batch_bytes, request_sizes
):
    batch_bytes(2 * MB)
    with pytest.raises(ServiceError, match=r"more than the 2\.0 MB one request may carry \(COUCHDB_BATCH_BYTES\)"):
        services.create_tokenset(
            user=superuser, config_data=CONFIG, srmlist_data=srmlist(300), database=couch_db,
            attachments={"big.bin": os.urandom(2 * MB)},
        )
    assert request_sizes == [] and tokens_of(gateway, couch_db) == []
    assert not Campaign.objects.exists()


def test_the_create_command_refuses_such_a_file_in_one_line(couch_db, gateway, superuser, batch_bytes, tmp_path):
    batch_bytes(2 * MB)
    config, srm_list, big = tmp_path / "c.yaml", tmp_path / "l.srmlist", tmp_path / "big.bin"
    config.write_bytes(CONFIG)
    srm_list.write_bytes(srmlist(10))
    big.write_bytes(os.urandom(2 * MB))
    with pytest.raises(CommandError, match="COUCHDB_BATCH_BYTES") as refused:
        call_command("create_tokenset", "--config", str(config), "--srmlist", str(srm_list), "--attach", str(big),
                     "--database", couch_db, "--user", superuser.username)
    assert "\n" not in str(refused.value)
    assert tokens_of(gateway, couch_db) == [] and not Campaign.objects.exists()


def test_the_create_command_draws_its_progress_when_the_byte_bound_splits_a_set(
    couch_db, superuser, batch_bytes, tmp_path
):
    batch_bytes(4 * MB)
    config, srm_list, big = tmp_path / "c.yaml", tmp_path / "l.srmlist", tmp_path / "big.bin"
    config.write_bytes(CONFIG)
    srm_list.write_bytes(srmlist(6))
    big.write_bytes(os.urandom(MB))
    err = io.StringIO()
    call_command("create_tokenset", "--config", str(config), "--srmlist", str(srm_list), "--attach", str(big),
                 "--database", couch_db, "--user", superuser.username, stdout=io.StringIO(), stderr=err)
    assert "] 2/6 tokens" in err.getvalue() and "] 6/6 tokens" in err.getvalue()


def test_the_largest_token_decides_whether_a_set_fits(couch_db, superuser, batch_bytes):
    batch_bytes(MB)
    # 1.5 MB of base64 would not fit; 0.7 MB does, with the SRM file and the fields beside it.
    assert services.plan_tokenset(
        config_data=CONFIG, srmlist_data=srmlist(3), database=couch_db, attachments={"a.bin": b"x" * 500_000}
    ).token_count == 3
    with pytest.raises(ServiceError, match="COUCHDB_BATCH_BYTES"):
        services.plan_tokenset(
            config_data=CONFIG, srmlist_data=srmlist(3), database=couch_db, attachments={"a.bin": b"x" * 800_000}
        )


def test_a_file_attached_to_tokens_goes_in_requests_within_the_bound(
    couch_db, gateway, superuser, batch_bytes, request_sizes
):
    campaign, _ = services.create_tokenset(user=superuser, config_data=CONFIG, srmlist_data=srmlist(30), database=couch_db)
    bound = batch_bytes(5 * MB)
    request_sizes.clear()
    result = services.attach_file(campaign, "big.bin", os.urandom(MB), user=superuser)
    assert (result.changed, result.failed, result.conflicted) == (30, 0, 0)
    assert len(request_sizes) == 10 and max(request_sizes) <= bound
    assert gateway.get_doc(couch_db, campaign_token(campaign, 29))["_attachments"]["big.bin"]["length"] == MB


def test_a_file_too_large_to_attach_in_one_request_is_refused_with_nothing_written(
    couch_db, gateway, superuser, batch_bytes, request_sizes
):
    campaign, _ = services.create_tokenset(user=superuser, config_data=CONFIG, srmlist_data=srmlist(5), database=couch_db)
    batch_bytes(2 * MB)
    request_sizes.clear()
    with pytest.raises(ServiceError, match="COUCHDB_BATCH_BYTES"):
        services.attach_file(campaign, "big.bin", os.urandom(2 * MB), user=superuser)
    assert request_sizes == []
    assert "big.bin" not in gateway.get_doc(couch_db, campaign_token(campaign, 0))["_attachments"]


# -- the batching itself ---------------------------------------------------------------------------

def encoded(count: int, size: int, shared: bulk.SharedAttachments | None = None) -> list[bulk.EncodedDoc]:
    return [bulk.encode({"_id": f"doc{number}", "pad": "p" * size}, shared) for number in range(count)]


@pytest.mark.parametrize(("max_docs", "max_bytes"), [(500, 5_000), (3, 10**9), (4, 2_500), (1, 100)])
def test_batches_keep_both_bounds_and_the_order(max_docs, max_bytes):
    docs = encoded(40, 1_000)
    cut = list(bulk.batches(iter(docs), max_docs=max_docs, max_bytes=max_bytes))
    assert [doc for batch in cut for doc in batch] == docs
    for batch in cut:
        assert len(batch) <= max_docs
        assert len(batch) == 1 or bulk.body_size(batch) <= max_bytes


def test_a_document_larger_than_the_bound_goes_alone():
    docs = encoded(2, 100) + encoded(1, 5_000) + encoded(2, 100)
    assert [len(batch) for batch in bulk.batches(iter(docs), max_docs=10, max_bytes=2_000)] == [2, 1, 2]


def test_a_body_is_the_json_of_its_documents_with_the_shared_attachments_encoded_once():
    shared = bulk.SharedAttachments({"big.bin": {"content_type": "application/octet-stream", "data": "QUJD" * 100_000}})
    docs = [
        bulk.encode({"_id": "a", "n": 1, "_attachments": {"srm.txt": {"content_type": "text/plain", "data": "YQ=="}}},
                    shared),
        bulk.encode({"_id": "b"}, shared),
    ]
    assert docs[0].parts[1] is docs[1].parts[1] is shared.fragment
    body = bulk.Body(docs)
    raw = b"".join(body)
    assert len(raw) == len(body) == bulk.body_size(docs)
    sent = json.loads(raw)["docs"]
    assert sorted(sent[0]["_attachments"]) == ["big.bin", "srm.txt"] and sent[0]["n"] == 1
    assert list(sent[1]["_attachments"]) == ["big.bin"]
    assert sent[1]["_attachments"]["big.bin"]["data"] == "QUJD" * 100_000


def test_a_document_may_not_carry_an_attachment_of_a_shared_name():
    shared = bulk.SharedAttachments({"a.bin": {"content_type": "x", "data": ""}})
    with pytest.raises(ValueError, match="same names"):
        bulk.encode({"_id": "a", "_attachments": {"a.bin": {"content_type": "x", "data": ""}}}, shared)
