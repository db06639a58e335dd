"""Campaign inputs the benchmarks create: a GRID_LRT step config, a generated SRM list, a parset."""

from __future__ import annotations

import hashlib

from .environment import BASE_DIR

CONFIG = (BASE_DIR / "examples" / "pref_cal1.yaml").read_bytes()
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
PARSET_NAME = "Pre-Facet-Calibrator-1.parset"
# A parset of the usual size (a few kilobytes of "key = value" lines).
PARSET = "".join(f"pipeline.step{i}.argument.value = {i * 7919 % 1000}\n" for i in range(120)).encode()


def srmlist(link_count: int) -> bytes:
    """``link_count`` links of observation L229507 at SARA, one subband each (SB000, SB001, …)."""
    return "".join(
        f"{SARA}L229507_SB{subband:03d}_uv.dppp.MS_{hashlib.md5(str(subband).encode()).hexdigest()[:8]}.tar\n"
        for subband in range(link_count)
    ).encode()


def campaign_kwargs(tokens: int, links_per_token: int, database: str) -> dict:
    """What ``create_tokenset``/``plan_tokenset`` take for ``tokens`` tokens of ``links_per_token`` links."""
    return dict(
        config_data=CONFIG,
        srmlist_data=srmlist(tokens * links_per_token),
        database=database,
        slice_size=links_per_token,
        attachments={PARSET_NAME: PARSET},
        config_name="pref_cal1.yaml",
        srmlist_name="L229507.srmlist",
    )
