"""The subband map of a campaign of 20,000 tokens in headless Chromium: one request, drawn on
a canvas, a failing band visible, a cell opening its token, at 1400 and 820 px wide.

Slow (writing 20,000 tokens to pouchdb-server takes a while): ``pytest -m slow``. How long the
map takes is printed, never asserted (speed belongs to ``make bench``)."""

import hashlib
import time

import pytest
from browser_support import browser, problems, sign_in  # noqa: F401 (fixtures)
from dashboard_data import CONFIG

from tokens_app import services
from tokens_app.couch import CouchTimeout, get_gateway
from tokens_app.design import PORTAL_DESIGN, PORTAL_VIEWS, TYPE_VIEWS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOKENS = 20_000
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
# The band that fails on a bad worker node, and the part already done.
FAILED = range(5000, 5100)
DONE = range(0, 9000)


def srmlist(count: int) -> bytes:
    return "".join(
        f"{SARA}L229507_SB{number:03d}_uv.dppp.MS_{hashlib.md5(str(number).encode()).hexdigest()[:8]}.tar\n"
        for number in range(count)
    ).encode()


def finish(campaign, ids, *, failed):
    gateway = get_gateway()
    for start in range(0, len(ids), 1000):
        docs = gateway.fetch_docs(campaign.database, ids[start:start + 1000])
        for doc in docs.values():
            doc.update(lock=1_700_000_000, done=1_700_000_100, hostname="wn-bad" if failed else "wn-ok",
                       exit_code=1 if failed else 0, output=1 if failed else 0, status="error" if failed else "done")
        gateway.bulk_docs(campaign.database, list(docs.values()))


def test_the_subband_map_of_20000_tokens(alice, live_server, browser, couch_db, output_dir, monkeypatch, problems):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    campaign, _ = services.create_tokenset(
        user=alice, config_data=CONFIG, srmlist_data=srmlist(TOKENS), database=couch_db,
        config_name="pref_cal1.yaml", srmlist_name="L229507.srmlist",
    )
    ids = services.plan_of(campaign).token_ids
    assert len(ids) == TOKENS
    finish(campaign, [ids[number] for number in DONE if number not in FAILED], failed=False)
    finish(campaign, [ids[number] for number in FAILED], failed=True)
    # pouchdb-server indexes a view when it is first asked for; the page should not pay for that.
    started = time.monotonic()
    views = [(campaign.token_type, view) for view in TYPE_VIEWS] + [(PORTAL_DESIGN, view) for view in PORTAL_VIEWS]
    for design, view in views:
        # Indexing goes on after a request times out; asking again waits for the rest.
        for _ in range(20):
            try:
                get_gateway().view(campaign.database, design, view, limit=0)
                break
            except CouchTimeout:
                continue
    print(f"\nviews of {TOKENS} tokens indexed in {time.monotonic() - started:.1f} s")

    page = sign_in(browser, live_server, "alice", problems)
    started = time.monotonic()
    page.goto(f"{live_server.url}{campaign.get_absolute_url()}", timeout=120_000)
    page.wait_for_selector("canvas[data-map][data-drawn]", timeout=120_000)
    print(f"\nmap of {TOKENS} tokens drawn {time.monotonic() - started:.1f} s after the page was asked for")
    status_url = f"{live_server.url}/campaigns/{campaign.pk}/status/"
    known = page.get_attribute("[data-live-url]", "data-known")
    for label, params in (("poll, nothing moved", {"known": known, "map": "1"}),
                          ("first request (map only)", {"known": known, "map": "now"}),
                          ("counts moved (fragments and map)", {"map": "1"})):
        started = time.monotonic()
        response = page.request.get(status_url, params=params)
        assert response.ok
        print(f"status API, {label}: {time.monotonic() - started:.2f} s, {len(response.body()) / 1024:.0f} KiB")
    started = time.monotonic()
    assert page.request.get(f"{live_server.url}{campaign.get_absolute_url()}").ok
    print(f"campaign page HTML: {time.monotonic() - started:.2f} s")
    drawn = page.get_attribute("canvas[data-map]", "data-drawn")
    assert drawn == f"todo:{TOKENS - len(DONE)} locked:0 done:{len(DONE) - len(FAILED)} error:{len(FAILED)}"
    # The bad host's band is one group of the errors, linked to its tokens.
    assert "wn-bad" in page.locator("[data-live=errors] table.hosts").inner_text()
    page.locator("#subband-map").screenshot(path=str(output_dir / "subband-map-20000.png"))

    # Row 50 of the map holds subbands 5000 to 5099, the failed band: a click there opens one.
    canvas = page.locator("canvas[data-map]")
    box = canvas.bounding_box()
    rows = TOKENS // 100
    canvas.click(position={"x": box["width"] - 3, "y": (50.5 / rows) * (box["height"] - 4)})
    page.wait_for_selector("#raw-title")
    assert page.url.rstrip("/").endswith("SB5099") and "error" in page.locator("h1 .state").inner_text()

    page.set_viewport_size({"width": 820, "height": 900})
    page.go_back()
    page.wait_for_selector("canvas[data-map][data-drawn]", timeout=120_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 820
    page.locator("#subband-map").screenshot(path=str(output_dir / "subband-map-20000-820.png"))
