"""What ``/metrics`` tells Prometheus: the selectors it reads and the collector that reads them.

Every value is read from the ORM at scrape time (the read model, the operations, the leases), in a
number of queries that does not grow with the campaigns, so a scrape costs what a dashboard does.
The collector sits on a registry of its own: the default one would add this process's Python
metrics, which differ from one portal process to the next.
"""

from __future__ import annotations

import time

from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from .design import STATE_NAMES
from .models import Campaign, Operation
from .read_models import ChangesCheckpoint, FollowerLease, TokenRow
from .token_reads import counts_many, one_snapshot

# The span the throughput is measured over: long enough for a few tokens of an hour-long job mix.
THROUGHPUT_WINDOW_SECONDS = 600
PREFIX = "tokenportal"


def campaigns_counted() -> list[Campaign]:
    """The campaigns whose tokens are in CouchDB (the dashboard counts the same ones)."""
    return list(Campaign.objects.exclude(status__in=Campaign.NO_TOKENS_STATUSES).order_by("pk"))


def recent_done(campaigns: list[Campaign], since: float) -> dict[tuple[str, str], dict]:
    """``{(database, token type): {"recent", "last"}}``: tokens finished since ``since`` (epoch
    seconds) and when the last one finished, of every campaign in one grouped query."""
    if not campaigns:
        return {}
    wanted = Q()
    for campaign in campaigns:
        wanted |= Q(database=campaign.database, token_type=campaign.token_type)
    grouped = (
        TokenRow.objects.filter(wanted, state="done", done__gt=0).values_list("database", "token_type")
        .annotate(recent=Count("id", filter=Q(done__gte=since)), last=Max("done")).order_by()
    )
    return {(database, token_type): {"recent": recent, "last": last} for database, token_type, recent, last in grouped}


def read_model_lags() -> list[dict]:
    """``[{"database", "pending", "age"}]`` of every followed database in one query (what
    ``token_reads.lag_of`` answers of one)."""
    now = time.time()
    return [
        {"database": database, "pending": pending, "age": max(0.0, now - updated_at.timestamp())}
        for database, pending, updated_at in ChangesCheckpoint.objects.order_by("database").values_list(
            "database", "pending", "updated_at"
        )
    ]


def operations_by_state() -> dict[tuple[str, str], int]:
    """``{(state, action): number}`` of every operation, each pair present (zero when none)."""
    numbers = dict.fromkeys(((state, action) for state in Operation.State.values for action in Operation.Action.values), 0)
    for state, action, number in Operation.objects.values_list("state", "action").annotate(n=Count("id")).order_by():
        numbers[(state, action)] = number
    return numbers


def operations_waiting() -> dict:
    """The queue and its runners in one query: the oldest queued operation, the operations
    waiting for CouchDB and since when, and the running ones whose runner stopped renewing its
    lease (its heartbeat) and that no sweep has marked interrupted yet."""
    now = timezone.now()
    active = Q(state__in=Operation.ACTIVE_STATES)
    found = Operation.objects.aggregate(
        oldest_queued=Min("created_at", filter=Q(state=Operation.State.QUEUED)),
        waiting=Count("id", filter=active & Q(waiting_since__isnull=False)),
        waiting_since=Min("waiting_since", filter=active),
        lapsed=Count("id", filter=Q(state=Operation.State.RUNNING, lease_until__lt=now)),
    )
    return {
        "oldest_queued_age": (now - found["oldest_queued"]).total_seconds() if found["oldest_queued"] else 0.0,
        "waiting": found["waiting"],
        "longest_wait": (now - found["waiting_since"]).total_seconds() if found["waiting_since"] else 0.0,
        "lapsed": found["lapsed"],
    }


def follower_heartbeat() -> dict:
    """``{"up", "lease_left"}``: whether a follower holds an unexpired lease (it renews it every
    round) and the seconds left on it (0 when nobody holds one)."""
    lease = FollowerLease.objects.exclude(owner="").filter(expires_at__isnull=False).order_by("-expires_at").first()
    left = (lease.expires_at - timezone.now()).total_seconds() if lease else 0.0
    return {"up": left > 0, "lease_left": max(0.0, left)}


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)


def _value(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


class PortalCollector:
    """A Prometheus collector of the portal's state, read at every scrape."""

    def collect(self):
        now = time.time()
        with one_snapshot():
            campaigns = campaigns_counted()
            counts = counts_many(campaigns)
            done = recent_done(campaigns, now - THROUGHPUT_WINDOW_SECONDS)
            lags = read_model_lags()
            operations = operations_by_state()
            queue = operations_waiting()
            follower = follower_heartbeat()

        tokens = _gauge("tokens", "Tokens of a campaign in a state, as the read model holds them.",
                        ["campaign", "database", "token_type", "state"])
        throughput = _gauge(
            "throughput_tokens_per_second",
            f"Tokens of a campaign that reached done over the last {THROUGHPUT_WINDOW_SECONDS} s, per second.",
            ["campaign", "database", "token_type"],
        )
        last_done = _gauge("last_done_timestamp_seconds", "When the campaign's last token finished (Unix time).",
                           ["campaign", "database", "token_type"])
        for campaign in campaigns:
            labels = [str(campaign.pk), campaign.database, campaign.token_type]
            counted = counts[campaign.token_set]
            # A database the follower has not read yet has no counts: no sample rather than a false 0.
            if counted is None:
                continue
            for state in STATE_NAMES:
                tokens.add_metric([*labels, state], counted[state])
            recent = done.get((campaign.database, campaign.token_type), {"recent": 0, "last": None})
            throughput.add_metric(labels, recent["recent"] / THROUGHPUT_WINDOW_SECONDS)
            if recent["last"] is not None:
                last_done.add_metric(labels, recent["last"])
        yield from (tokens, throughput, last_done)

        pending = _gauge("read_model_pending_changes",
                         "Changes CouchDB had after the read model's checkpoint when last read.", ["database"])
        age = _gauge("read_model_age_seconds", "Seconds since the follower last read the database's changes.",
                     ["database"])
        for lag in lags:
            pending.add_metric([lag["database"]], lag["pending"])
            age.add_metric([lag["database"]], lag["age"])
        yield from (pending, age)

        by_state = _gauge("operations", "Operations by state and action (queued ones are the queue).",
                          ["state", "action"])
        for (state, action), number in operations.items():
            by_state.add_metric([state, action], number)
        yield by_state
        yield _value("oldest_queued_operation_age_seconds",
                     "Seconds since the oldest queued operation was asked for (0 when none is queued).",
                     queue["oldest_queued_age"])
        yield _value("operations_waiting_for_couchdb",
                     "Queued or running operations whose runner waits for CouchDB to answer again.", queue["waiting"])
        yield _value("longest_wait_for_couchdb_seconds",
                     "Seconds the longest-waiting operation has waited for CouchDB (0 when none waits).",
                     queue["longest_wait"])
        yield _value("operations_lease_lapsed",
                     "Running operations whose worker stopped renewing the lease (its heartbeat): a dead worker.",
                     queue["lapsed"])
        yield _value("follower_up", "1 while a changes follower holds an unexpired lease (renewed every round).",
                     int(follower["up"]))
        yield _value("follower_lease_seconds_left", "Seconds left on the follower's lease (0 when nobody holds it).",
                     follower["lease_left"])


# The registry /metrics exposes: this collector alone.
REGISTRY = CollectorRegistry()
REGISTRY.register(PortalCollector())
