"""Reads of the portal's own records of campaigns: the dashboard's list and its filters, one
campaign by its token set, the campaigns a command lists, and the locks of campaigns.

The pages read the tokens from the read model (:mod:`tokens_app.token_reads`); CouchDB itself
through :mod:`tokens_app.selectors`; the operations history is read by :mod:`tokens_app.history`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Length, Replace, Right, Substr

from locks_app import selectors as lock_selectors

from .couch import CouchAuthFailed, get_gateway
from .models import Campaign, CampaignInputs
from .states import campaign_state, stored_status
from .tokensets import TokenSet

# The start of every campaign's lock key (``Campaign.lock_key``).
CAMPAIGN_LOCK_KEYS = "tokens_app.campaign:"


def campaign_list(*, q: str = "", token_type: str = "", obsid: str = "", state: str = "",
                  owner: str = "") -> QuerySet[Campaign]:
    """The campaigns of the dashboard, newest first, with their creators, narrowed by the
    filters given: ``q`` a part of the type, database or OBSID; ``token_type`` and ``obsid`` a
    part of theirs; ``state`` the stored status that state needs (whether a ready campaign is
    finished depends on its counts: ``in_state`` tells); ``owner`` the creator's user name (any
    case)."""
    campaigns = Campaign.objects.select_related("created_by")
    if q:
        campaigns = campaigns.filter(Q(token_type__icontains=q) | Q(database__icontains=q) | Q(obsid__icontains=q))
    return narrowed(campaigns, token_type__icontains=token_type, obsid__icontains=obsid, status=stored_status(state),
                    created_by__username__iexact=owner)


def narrowed(rows: QuerySet, **lookups) -> QuerySet:
    """``rows`` filtered by each of ``lookups`` whose value is given (not empty or None)."""
    return rows.filter(**{lookup: value for lookup, value in lookups.items() if value})


def in_state(campaigns: Iterable[Campaign], counts: dict, state: str) -> list[Campaign]:
    """The ``campaigns`` in ``state`` (all of them when it is empty), by their ``counts`` (by token set)."""
    return [campaign for campaign in campaigns
            if not state or campaign_state(campaign.status, counts.get(campaign.token_set)) == state]


def designs_matching(designs: list[dict], *, q: str = "", token_type: str = "", obsid: str = "",
                     state: str = "", owner: str = "") -> list[dict]:
    """The discovered design documents (``selectors.discovered_designs``) that the dashboard's
    filters keep: they have no OBSID, state or owner, so filtering by one leaves none."""
    if obsid or state or owner:
        return []
    return [
        design for design in designs
        if q.lower() in f"{design['token_type']} {design['counted_type']} {design['database']}".lower()
        and token_type.lower() in f"{design['token_type']} {design['counted_type']}".lower()
    ]


def campaigns_with_tokens(pks: Iterable[int]) -> list[Campaign]:
    """The campaigns of these primary keys that have tokens in CouchDB to count."""
    return list(Campaign.objects.filter(pk__in=set(pks)).exclude(status__in=Campaign.NO_TOKENS_STATUSES))


def campaign_of(token_set: TokenSet) -> Campaign | None:
    """The Campaign of that database and type, if the portal knows one (of any status)."""
    return Campaign.objects.filter(database=token_set.database, token_type=token_set.token_type).first()


def known_token_sets(databases: Iterable[str]) -> set[tuple[str, str]]:
    """``(database, token type)`` of the campaigns of these databases whose design documents the
    portal keeps: every status but purged (one query)."""
    return set(Campaign.objects.filter(database__in=set(databases)).exclude(status=Campaign.Status.PURGED)
               .values_list("database", "token_type"))


def unadopted(designs: list[dict]) -> list[dict]:
    """The token design documents (``{"database", "counted_type", …}``) that list no campaign
    the portal keeps: other tools' campaigns. One listing a known campaign's tokens
    (``_design/Monitor`` once its type ``token`` is adopted) is left out: the campaign counts them."""
    known = known_token_sets({design["database"] for design in designs})
    return [design for design in designs if (design["database"], design["counted_type"]) not in known]


def campaign_databases() -> list[str]:
    """The CouchDB databases holding at least one campaign, in name order."""
    return sorted(set(Campaign.objects.values_list("database", flat=True)))


def discoverable_databases() -> list[str]:
    """The databases to look in for campaigns other tools made: ``COUCHDB_DATABASES`` where it
    names some (a user who may not list the server's, as only a server admin may), else all."""
    if settings.COUCHDB.get("DATABASES"):
        return list(settings.COUCHDB["DATABASES"])
    try:
        return get_gateway().list_databases()
    except CouchAuthFailed as exc:
        raise CouchAuthFailed(f"{exc} (COUCHDB_DATABASES names the databases to look in instead)") from None


def newest_campaign_pk() -> int:
    """The primary key of the newest campaign (0: none yet): a dashboard left open sees a new one."""
    return Campaign.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def campaign_by_pk(pk: int) -> Campaign | None:
    """The campaign of that primary key, or None once it is gone (for a task queued before)."""
    return Campaign.objects.filter(pk=pk).first()


def token_types_in(database: str) -> list[str]:
    """The token types of the campaigns of ``database`` (of any status), sorted."""
    return sorted(Campaign.objects.filter(database=database).values_list("token_type", flat=True))


def campaigns_in(database: str | None = None) -> list[Campaign]:
    """Every campaign (of ``database`` when given), by database and type."""
    campaigns = Campaign.objects.order_by("database", "token_type")
    return list(campaigns.filter(database=database) if database else campaigns)


def campaign_locks() -> dict:
    """The active lock or freeze of every campaign that has one, by lock key (one query)."""
    return lock_selectors.active_locks_by_key(CAMPAIGN_LOCK_KEYS)


def srmlist_head(campaign, lines: int) -> dict:
    """``{"lines": the first lines, "count": lines in all}`` of the campaign's SRM list, read in
    the database: a list runs to megabytes that no page needs whole."""
    # SRM lines are a few hundred characters; this many always holds the first ``lines``.
    head_chars = 1000 * lines
    row = (
        CampaignInputs.objects.filter(campaign_id=campaign.pk)
        .annotate(
            head=Substr("srmlist_text", 1, head_chars),
            newlines=Length("srmlist_text") - Length(Replace(F("srmlist_text"), Value("\n"), Value(""))),
            size=Length("srmlist_text"),
            last=Right("srmlist_text", 1),
        )
        .values("head", "newlines", "size", "last")
        .first()
    )
    if row is None or not row["size"]:
        return {"lines": [], "count": 0}
    head = row["head"].splitlines()[:lines]
    # A last line without a final newline is a line too.
    count = row["newlines"] + (0 if row["last"] == "\n" else 1)
    return {"lines": head, "count": count}
