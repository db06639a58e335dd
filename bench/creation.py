"""Campaign creation: ``create_tokenset`` vs the per-token path of older scripts vs raw ``_bulk_docs``.

Each measurement writes the same tokens (10 links per token as ``srm.txt`` plus one parset) into
a fresh database on the same server:

- portal: ``create_tokenset`` as the dashboard calls it (plan, campaign row, design document,
  batches of ``COUCHDB_BATCH_SIZE`` with an id lookup and a ``_bulk_docs`` each);
- per-token: what GRID_LRT-era scripts did, one token at a time with a plain ``requests``
  session: PUT the document, PUT ``srm.txt`` with ``?rev=``, PUT the parset with ``?rev=``;
- raw bulk: the same documents with inline attachments, prepared beforehand and POSTed to
  ``_bulk_docs`` in batches of the same size (the upper bound: no planning, no lookups).
"""

from __future__ import annotations

import base64
import time

from .environment import bench_user, couch_server, raw_session
from .inputs import PARSET, PARSET_NAME, campaign_kwargs
from .report import Table, ratio
from .timing import seconds, timed

LINKS_PER_TOKEN = 10
PER_TOKEN_TARGET = 20.0
RAW_BULK_TARGET = 0.9


def token_docs(plan) -> list[dict]:
    """The documents the service writes for ``plan`` (same fields, same attachments)."""
    created = int(time.time())
    shared = {name: _inline(data, ctype) for name, (ctype, data) in plan.files.items()}
    docs = []
    for key, links in plan.slices.items():
        doc = {**plan.fields, "_id": plan.token_id(key), plan.key_name: key, "created": created}
        doc["_attachments"] = {**shared, plan.srm_attachment: _inline("".join(f"{link}\n" for link in links).encode(),
                                                                   "text/plain")}
        docs.append(doc)
    return docs


def _inline(data: bytes, content_type: str) -> dict:
    return {"content_type": content_type, "data": base64.b64encode(data).decode("ascii")}


def per_token_write(session, url: str, database: str, docs: list[dict]) -> None:
    """One document PUT and one PUT per attachment, token after token (the old scripts' way)."""
    from tokens_app.couch import attachment_path, couch_url, document_path

    for doc in docs:
        body = {name: value for name, value in doc.items() if name != "_attachments"}
        response = session.put(couch_url(url, document_path(database, doc["_id"])), json=body)
        response.raise_for_status()
        rev = response.json()["rev"]
        for name, attachment in doc["_attachments"].items():
            response = session.put(
                couch_url(url, attachment_path(database, doc["_id"], name)), params={"rev": rev},
                data=base64.b64decode(attachment["data"]), headers={"Content-Type": attachment["content_type"]},
            )
            response.raise_for_status()
            rev = response.json()["rev"]


def raw_bulk_write(session, url: str, database: str, docs: list[dict], batch_size: int) -> None:
    from tokens_app.couch import couch_url, database_path

    for start in range(0, len(docs), batch_size):
        response = session.post(couch_url(url, (*database_path(database), "_bulk_docs")), json={"docs": docs[start:start + batch_size]})
        response.raise_for_status()
        if any("error" in result for result in response.json()):
            raise RuntimeError(f"raw _bulk_docs refused documents: {response.text[:300]}")


def run(workdir, *, sizes: list[int], per_token_sample: int) -> Table:
    from django.conf import settings

    from tokens_app.couch import get_gateway
    from tokens_app.services import create_tokenset, plan_tokenset

    table = Table("Campaign creation (10 links per token, srm.txt + one parset per token)")
    batch_size = settings.COUCHDB["BATCH_SIZE"]
    user = bench_user()
    with couch_server(workdir) as server:
        gateway = get_gateway()
        session = raw_session(server)
        for size in sizes:
            names = {kind: f"create_{kind}_{size}" for kind in ("portal", "pertoken", "raw")}
            for name in names.values():
                gateway.create_database(name)
            kwargs = campaign_kwargs(size, LINKS_PER_TOKEN, names["portal"])
            portal, (campaign, report) = timed(lambda: create_tokenset(user=user, **kwargs))
            if report.written != size:
                raise RuntimeError(f"create_tokenset wrote {report.written} of {size} tokens: {report.message()}")
            docs = token_docs(plan_tokenset(**campaign_kwargs(size, LINKS_PER_TOKEN, names["raw"])))
            raw, _ = timed(lambda: raw_bulk_write(session, server.url, names["raw"], docs, batch_size))
            sample = docs[:min(size, per_token_sample)]
            sampled, _ = timed(lambda: per_token_write(session, server.url, names["pertoken"], sample))
            per_token = sampled * size / len(sample)
            extrapolated = f" (measured on {len(sample):,}, ×{size / len(sample):g})" if len(sample) < size else ""
            table.add(f"{size:,} tokens vs per-token path", seconds(portal), seconds(per_token) + extrapolated,
                      f"{per_token / portal:.1f}× faster", f"≥ {PER_TOKEN_TARGET:g}× faster",
                      per_token / portal >= PER_TOKEN_TARGET)
            table.add(f"{size:,} tokens vs raw _bulk_docs", seconds(portal), seconds(raw),
                      f"{raw / portal:.2f}× its speed", f"≥ {RAW_BULK_TARGET:g}× its speed",
                      raw / portal >= RAW_BULK_TARGET)
            table.add(f"{size:,} tokens: tokens per second", f"{size / portal:,.0f}/s",
                      f"{size / raw:,.0f}/s raw, {size / per_token:,.0f}/s per-token")
            for name in names.values():
                gateway.delete_database(name)
    table.notes.append(
        f"Each run writes into a fresh database on one server; batches of {batch_size} "
        "(COUCHDB_BATCH_SIZE) for the portal and raw bulk. The portal time includes planning, the campaign "
        "row and the design document; the raw documents are prepared before the clock starts."
    )
    table.notes.append("The per-token path sends 3 requests per token (document, srm.txt, parset), "
                       "with a cookie-session `requests.Session` logged in as the portal's user.")
    return table
