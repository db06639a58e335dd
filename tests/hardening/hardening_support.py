"""Helpers the hardening tests share (fixtures are in this folder's conftest.py)."""

import io
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from devtools.apachecouch import tested_engine

OBSID = "L229507"
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507"
JUELICH = "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/data/lofar/ops/projects/lc2_038/229507"
PASSWORD = "hardening-pw-9f3k"


def srm_line(subband: int, obsid: str = OBSID, base: str = SARA) -> str:
    return f"{base}/{obsid}_SB{subband:03d}_uv.dppp.MS_{subband:08x}.tar"


def srm_list(count: int, *, start: int = 0, obsid: str = OBSID, base: str = SARA) -> bytes:
    """An SRM list of ``count`` consecutive subbands, one link per line."""
    return "".join(srm_line(sb, obsid, base) + "\n" for sb in range(start, start + count)).encode()


def yaml_config(token_type: str, **fields) -> bytes:
    """A GRID_LRT step config whose ``Token:`` section has ``type`` and ``fields``."""
    lines = ["apiVersion: 0", "Token:", f"    type: {token_type}"]
    lines += [f"    {name}: {value!r}" for name, value in fields.items()]
    lines += ["Sandbox:", "    name: test"]
    return ("\n".join(lines) + "\n").encode()


def new_type() -> str:
    """A token type no other test uses (campaigns are unique per database and type)."""
    return f"hard_{uuid.uuid4().hex[:8]}"


def run_command(*args) -> str:
    """Run a management command in-process; what it printed on stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def documents(gateway, database: str) -> list[dict]:
    """Every document (design documents included) in ``database``, for before/after checks."""
    return [row["doc"] for row in gateway.iter_all_docs(database, include_docs=True)]


def grant_change(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="change_campaign", content_type__app_label="tokens_app"))


def skip_where_the_engine_refuses(reason: str) -> None:
    """A hostile document another tool could not write to this engine: pouchdb-server stores
    documents Apache CouchDB refuses (lone surrogates, invalid UTF-8 JSON to it; a design
    document whose views are not objects of text; a document over its ``max_document_size``; a
    number beyond a double). On Apache CouchDB such a case has nothing to check: skipped with
    the server's reason. On pouchdb-server the caller's assertion stands."""
    if tested_engine() == "apache":
        pytest.skip(f"Apache CouchDB refuses to store this document: {reason}")
