"""Pages: the dashboard and a campaign page served from a follower-filled read model, against
the raw CouchDB reads of the same data.

Tokens are written with raw ``_bulk_docs`` in the state mix of ``bench.counting`` (as pilots
would have left them), the campaign rows made beside them, and a follower reads every database
into the read model before anything is timed. Each page is requested through Django's test
``Client`` (in-process: URL routing, middleware, session, view, template; no HTTP socket),
signed in; one warm-up load, then ``loads`` timed loads per case, p50 and p95 reported, with
the CouchDB requests one load sends.

- dashboard of ``campaigns`` campaigns × ``tokens`` tokens in one database (the issue: 50 ×
  2,000, p95 < 100 ms), signed in as a read-only user and as one who may adopt other tools'
  campaigns (whose dashboard also looks through every database's design documents); the
  dashboard's counts API; baseline: the grouped query of the portal's ``states`` view of the
  database, which gives the same counts from CouchDB;
- campaign page of one campaign of ``size`` tokens (the issue: 100,000, p95 < 200 ms): every
  tab, a deep page, the status API with ``map=now`` and searches; baseline: the CouchDB reads
  of the same data (the type's grouped counts plus the tab's rows with their documents; the
  whole type's ``states`` rows for the map; every id of the type for a search, which CouchDB
  has no index for).

The pages before the read model cannot be measured beside them (that code is gone): the raw
reads are what those pages sent to CouchDB, without the portal's own work.
"""

from __future__ import annotations

import json
import re
import statistics

from .counting import campaign_rows, counted_requests, follow, forget, one_type, populate, settle, states_url
from .environment import bench_user, couch_server, raw_session
from .report import Table, ratio
from .scale import p95
from .timing import seconds, timed

DASHBOARD_TARGET = 0.1
CAMPAIGN_TARGET = 0.2
PER_PAGE = 25


def signed_in(user):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def reader_user():
    """A signed-in user without the change permission (what most of a team are)."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-reader")
    return user


def page_loads(client, url: str, loads: int, check=None) -> tuple[list[float], int]:
    """Seconds of ``loads`` loads of ``url`` after one warm-up, and the CouchDB requests of one."""
    with counted_requests() as sent:
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:500]!r}")
    if check:
        check(response)
    times = []
    for _ in range(loads):
        elapsed, response = timed(lambda: client.get(url))
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        times.append(elapsed)
    return times, sum(sent.values())


def raw_median(function, repeat: int) -> float:
    return statistics.median(timed(function)[0] for _ in range(repeat))


def add_page_row(table: Table, case: str, times: list[float], requests: int, baseline: float | None,
                 baseline_text: str, target: float) -> None:
    worst = p95(times)
    table.add(case, f"p95 {seconds(worst)} (p50 {seconds(statistics.median(times))}), {requests} CouchDB req.",
              f"{seconds(baseline)} {baseline_text}" if baseline is not None else baseline_text,
              ratio(worst, baseline) if baseline else "—", f"p95 < {target * 1000:g} ms", worst < target)


def dashboard(table: Table, server, session, *, campaigns: int, tokens: int, loads: int, repeat: int) -> None:
    from tokens_app.couch import get_gateway

    database = "pages_dashboard"
    types = [f"dash{number:02d}" for number in range(campaigns)]
    built, _ = timed(lambda: (populate(get_gateway(), database, types, tokens),
                              campaign_rows(database, types, tokens)))
    followed = follow(database)
    table.add(f"dashboard: {campaigns} × {tokens:,} tokens written raw, index built", seconds(built))
    table.add(f"dashboard: follower reading {campaigns * tokens:,} tokens into the read model", seconds(followed))
    table.add("dashboard: waiting for the server's background indexing to end", seconds(settle(server, session)))
    raw = raw_median(lambda: session.get(states_url(server, database), params={"group_level": "2"},
                                         timeout=3600).raise_for_status(), repeat)
    baseline_text = f"raw grouped states query of the database (median of {repeat})"
    pks = ",".join(str(pk) for pk in _campaign_ids(database))

    def counted(response):
        total = sum(counts["total"] for counts in response.json()["campaigns"].values() if counts)
        if total != campaigns * tokens:
            raise RuntimeError(f"the counts API counted {total} of {campaigns * tokens} tokens")

    for who, user in (("read-only user", reader_user()), ("user who may adopt", bench_user())):
        times, requests = page_loads(signed_in(user), "/", loads)
        add_page_row(table, f"dashboard page, {campaigns} campaigns × {tokens:,}, {who}", times, requests, raw,
                     baseline_text, DASHBOARD_TARGET)
    times, requests = page_loads(signed_in(reader_user()), f"/api/counts/?ids={pks}", loads, counted)
    add_page_row(table, f"dashboard counts API, {campaigns} campaigns", times, requests, raw, baseline_text,
                 DASHBOARD_TARGET)
    # Gone before the next case: Apache CouchDB would go on building its 50 design documents' views.
    forget(database)


def _campaign_ids(database: str) -> list[int]:
    from tokens_app.models import Campaign

    return list(Campaign.objects.filter(database=database).order_by("pk").values_list("pk", flat=True))


def campaign_page(table: Table, server, session, *, size: int, loads: int, repeat: int) -> None:
    from tokens_app.couch import couch_url, get_gateway, view_path
    from tokens_app.design import PORTAL_DESIGN, STATE_NAMES, TOKENS_VIEW

    database, token_type = "pages_campaign", "big"
    built, _ = timed(lambda: (populate(get_gateway(), database, [token_type], size),
                              campaign_rows(database, [token_type], size)))
    followed = follow(database)
    table.add(f"campaign page: {size:,} tokens written raw, index built", seconds(built))
    table.add(f"campaign page: follower reading {size:,} tokens into the read model", seconds(followed))
    table.add("campaign page: waiting for the server's background indexing to end", seconds(settle(server, session)))
    [pk] = _campaign_ids(database)
    page_url = f"/campaigns/{pk}/"
    tokens_url = couch_url(server.url, view_path(database, PORTAL_DESIGN, TOKENS_VIEW))

    def states_rows(**params):
        return lambda: session.get(states_url(server, database), timeout=3600, params={
            "reduce": "false",
            **{key: json.dumps(value) if key in ("startkey", "endkey") else value for key, value in params.items()},
        }).raise_for_status()

    count = raw_median(lambda: session.get(states_url(server, database), params=one_type(token_type),
                                           timeout=3600).raise_for_status(), repeat)
    table.add(f"campaign page: raw grouped counts of the type, {size:,} tokens (part of each baseline below)",
              seconds(count), f"median of {repeat}")
    client = signed_in(reader_user())
    for state in STATE_NAMES:
        rows = raw_median(states_rows(startkey=[token_type, state], endkey=[token_type, state, {}],
                                      limit=PER_PAGE + 1, include_docs="true"), repeat)
        times, requests = page_loads(client, f"{page_url}?view={state}", loads)
        add_page_row(table, f"campaign page, {size:,} tokens: {state} tab", times, requests, count + rows,
                     "raw: counts + the tab's first 26 rows with documents", CAMPAIGN_TARGET)
    rows = raw_median(lambda: session.get(tokens_url, timeout=3600, params={
        "startkey": json.dumps([token_type]), "endkey": json.dumps([token_type, {}]), "limit": PER_PAGE + 1,
        "include_docs": "true"}).raise_for_status(), repeat)
    times, requests = page_loads(client, f"{page_url}?view=tokens", loads)
    add_page_row(table, f"campaign page, {size:,} tokens: tokens tab", times, requests, count + rows,
                 "raw: counts + the first 26 tokens with documents", CAMPAIGN_TARGET)
    # Half-way through the todo tab: a page that offsets past many rows.
    deep = max(1, size * 7 // 10 // PER_PAGE // 2)
    rows = raw_median(states_rows(startkey=[token_type, "todo"], endkey=[token_type, "todo", {}], skip=(deep - 1) * PER_PAGE,
                                  limit=PER_PAGE + 1, include_docs="true"), repeat)
    times, requests = page_loads(client, f"{page_url}?view=todo&page={deep}", loads)
    add_page_row(table, f"campaign page, {size:,} tokens: todo tab, page {deep:,} asked by number", times, requests,
                 count + rows, "raw: counts + 26 rows at skip with documents", CAMPAIGN_TARGET)
    # The page's own Next link: the page after that one, from the key of its last row.
    after = re.search(r"after=([0-9a-f]{64})", client.get(f"{page_url}?view=todo&page={deep}").content.decode())[1]
    times, requests = page_loads(client, f"{page_url}?view=todo&page={deep + 1}&after={after}", loads)
    add_page_row(table, f"campaign page, {size:,} tokens: todo tab, page {deep + 1:,} by its Next link (keyset)", times,
                 requests, count + rows, "raw: counts + 26 rows at skip with documents", CAMPAIGN_TARGET)

    def mapped(response):
        answer = response.json()
        if answer["counts"]["total"] != size or "map" not in answer:
            raise RuntimeError(f"the status API answered {str(answer)[:300]}")

    whole = raw_median(states_rows(startkey=[token_type], endkey=[token_type, {}]), repeat)
    times, requests = page_loads(client, f"{page_url}status/?map=now", loads, mapped)
    add_page_row(table, f"status API with map=now, {size:,} tokens", times, requests, count + whole,
                 "raw: counts + every states row of the type", CAMPAIGN_TARGET)
    every_id = raw_median(lambda: _ids_matching(session, tokens_url, token_type, r"SB0*42$"), repeat)
    for query in ("SB42", "SB00012", "host:wn-03.grid.example"):
        times, requests = page_loads(client, f"{page_url}?q={query}", loads)
        add_page_row(table, f"campaign page, {size:,} tokens: search {query}", times, requests, every_id,
                     "raw: every id of the type read and matched", CAMPAIGN_TARGET)


def _ids_matching(session, url: str, token_type: str, pattern: str) -> int:
    response = session.get(url, params={"startkey": json.dumps([token_type]), "endkey": json.dumps([token_type, {}])},
                           timeout=3600)
    response.raise_for_status()
    matcher = re.compile(pattern)
    return sum(1 for row in response.json()["rows"] if matcher.search(row["key"][1]))


def run(workdir, *, campaigns: int, tokens: int, size: int, loads: int, repeat: int) -> Table:
    table = Table("Pages: dashboard and campaign page from the read model", echo=True)
    with couch_server(workdir) as server:
        session = raw_session(server)
        dashboard(table, server, session, campaigns=campaigns, tokens=tokens, loads=loads, repeat=repeat)
        campaign_page(table, server, session, size=size, loads=loads, repeat=repeat)
    table.notes.append(
        f"Django's test Client in the benchmark's process, signed in; {loads} timed loads per case after one "
        "warm-up; the read model filled by the follower from raw _bulk_docs writes (70 % todo, 10 % locked, "
        "15 % done, 5 % error). Baselines: medians of raw requests with a plain requests.Session on built indexes. "
        "Nothing is timed until the server's background tasks ended (Apache CouchDB builds every design document's "
        "views after writes: timed meanwhile, the dashboard's p95 was 1.1 s, the indexer holding both cores)."
    )
    return table
