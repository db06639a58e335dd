"""``{% load campaigns %}``: the state bar of a campaign, its completions chart (server-side SVG)
and the words and dates of the campaign and token pages.

The bar is drawn from numbers only, so the page script can redraw a bar from the JSON counts
with the same arithmetic (``static/js/portal.js``).
"""

import datetime
from urllib.parse import urlencode

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from locks_app.durations import format_duration

from .. import states
from ..rendering import FIELD_CHARACTERS, excerpt
from ..states import STATE_NAMES

register = template.Library()

CHART_WIDTH = 640
CHART_HEIGHT = 190
# Room for the axis labels: the count on the left, the times below.
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 44, 12, 14, 34
CHART_X_LABELS = 6
# A state with any token keeps at least this share of a bar (percent), so that a few errors stay visible.
MIN_SEGMENT = 1.5
# The longest ETA shown as such (a thousand years).
MAX_SHOWN_SECONDS = 1000 * 365 * 86400


def percent(part: int, total: int) -> float:
    """``part`` of ``total`` in percent to one decimal, halves rounded up, in integers: the page
    script computes the same (``Math.round``), so the live bar and the page agree."""
    return (2000 * part + total) // (2 * total) / 10 if total else 0.0


@register.inclusion_tag("tokens_app/state_bar.html")
def state_bar(counts, campaign_id=None):
    """A stacked bar todo / locked / done / error; ``counts`` None means not known now."""
    total = (counts or {}).get("total", 0)
    return {
        "campaign_id": campaign_id,
        "known": counts is not None,
        "total": total,
        "percent_done": percent((counts or {}).get("done", 0), total),
        "segments": _segments(counts or {}, total),
    }


def bar_widths(counts: dict, total: int) -> list[float]:
    """Each state's width in the bar (percent): its share, at least :data:`MIN_SEGMENT` when it
    has any token, the others scaled down to make room (``static/js/portal.js`` does the same)."""
    shares = [100 * counts.get(state, 0) / total if total else 0.0 for state in STATE_NAMES]
    small = [0 < share < MIN_SEGMENT for share in shares]
    large_total = sum(share for share, is_small in zip(shares, small) if not is_small)
    room = 100 - MIN_SEGMENT * sum(small)
    return [
        round(MIN_SEGMENT if is_small else (share * room / large_total if large_total else 0.0), 1)
        for share, is_small in zip(shares, small)
    ]


def _segments(counts: dict, total: int) -> list[dict]:
    """Each state's part of the bar in percent, and where it starts (the states stack)."""
    segments, offset = [], 0.0
    for state, width in zip(STATE_NAMES, bar_widths(counts, total)):
        segments.append({"state": state, "count": counts.get(state, 0), "width": width, "offset": round(offset, 1)})
        offset += width
    return segments


def _bucket_name(seconds: int) -> str:
    """``5 minutes``, ``hour``, ``day``: what one bar of the chart covers."""
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % length == 0:
            number = seconds // length
            return unit if number == 1 else f"{number} {unit}s"
    return f"{seconds} s"


def _time_label(moment, seconds: int) -> str:
    if seconds >= 86400:
        return f"{moment:%d %b}"
    if seconds >= 3600:
        return f"{moment:%d %b %H:00}"
    return f"{moment:%H:%M}"


def _duration(seconds: float) -> str:
    # A rate from a few finishing times far apart can put an ETA beyond what a timedelta holds.
    return format_duration(datetime.timedelta(seconds=min(seconds, MAX_SHOWN_SECONDS)))


@register.inclusion_tag("tokens_app/_chart.html")
def completions_chart(chart):
    """Done (green) and error (red) per bucket of ``token_charts.completion_buckets``, every
    bucket of the span in place (a stall is an empty stretch), and the pace under it."""
    buckets = chart["buckets"]
    if not buckets:
        return {"empty": True}
    highest = max(max(bucket["done"] + bucket["error"] for bucket in buckets), 1)
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    base = CHART_TOP + plot_height
    step = plot_width / len(buckets)
    name = _bucket_name(chart["size"])
    bars = []
    for index, bucket in enumerate(buckets):
        x = CHART_LEFT + index * step
        done_height = plot_height * bucket["done"] / highest
        error_height = plot_height * bucket["error"] / highest
        bars.append({
            "x": f"{x + step * 0.1:.1f}", "width": f"{max(step * 0.8, 1.0):.1f}",
            "done_y": f"{base - done_height:.1f}", "done_height": f"{done_height:.1f}",
            "error_y": f"{base - done_height - error_height:.1f}", "error_height": f"{error_height:.1f}",
            "title": f"{bucket['start']:%Y-%m-%d %H:%M} UTC, {name}: {bucket['done']} done, {bucket['error']} error",
        })
    every = max(1, -(-len(buckets) // CHART_X_LABELS))
    x_labels = [
        {"x": f"{CHART_LEFT + index * step:.1f}", "text": _time_label(buckets[index]["start"], chart["size"])}
        for index in range(0, len(buckets), every)
    ]
    return {
        "empty": False, "width": CHART_WIDTH, "height": CHART_HEIGHT, "left": CHART_LEFT, "base": base,
        "right": CHART_WIDTH - CHART_RIGHT, "top": CHART_TOP, "middle": f"{CHART_TOP + plot_height / 2:.1f}",
        "highest": highest, "half": f"{highest / 2:g}", "bars": bars, "x_labels": x_labels,
        "label_y": CHART_HEIGHT - 12, "bucket": name, **_pace(chart),
    }


@register.inclusion_tag("tokens_app/_pace_line.html")
def chart_pace(chart):
    """The chart's throughput and time to finish (of the whole campaign, whatever range the
    chart shows), for the campaign page's first screen; nothing finished has no window."""
    return {"empty": not chart["rate_window_seconds"], **_pace(chart)}


def _pace(chart) -> dict:
    eta = chart["eta_seconds"]
    return {
        "rate": f"{chart['rate_per_hour']:.0f}" if chart["rate_per_hour"] >= 10 else f"{chart['rate_per_hour']:.1f}",
        "eta": None if eta is None else ("finished" if eta == 0 else _duration(eta)),
        "window": _duration(chart.get("rate_window_seconds", 0)),
    }


@register.filter
def ago(moment) -> str:
    """``just now`` for under a minute, otherwise ``5 minutes ago`` (never ``0 minutes ago``)."""
    if moment is None:
        return ""
    if timezone.now() - moment < datetime.timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def activity_text(pace: dict | None) -> str:
    """A dashboard row's pace: ``last token 12 s ago · 340/h · ETA 2 hours``."""
    if not pace:
        return "—"
    if pace["seconds_ago"] is None:
        parts = ["no token finished yet"]
    else:
        parts = [f"last token {_duration(pace['seconds_ago']) if pace['seconds_ago'] >= 1 else 'just now'}"
                 f"{' ago' if pace['seconds_ago'] >= 1 else ''}"]
    if pace["rate_per_hour"]:
        rate = pace["rate_per_hour"]
        parts.append(f"{rate:.0f}/h" if rate >= 10 else f"{rate:.1f}/h")
    if pace["eta_seconds"]:
        parts.append(f"ETA {_duration(pace['eta_seconds'])}")
    return " · ".join(parts)


@register.filter
def epoch_date(value) -> str:
    """A token's epoch field (``lock``, ``done``, ``created``) as a UTC date; ``""`` when it is
    not a positive number (``0`` means not set)."""
    if isinstance(value, bool):
        return ""
    try:
        seconds = float(value)
        return "" if seconds <= 0 else f"{datetime.datetime.fromtimestamp(seconds, datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


@register.simple_tag
def campaign_label(campaign, counts) -> str:
    """The campaign's state as pages show it (``states.campaign_label``: ``finished, 21 errors``)."""
    return states.campaign_label(campaign.status, counts)


@register.simple_tag
def campaign_state(campaign, counts) -> str:
    """The campaign's state (``states.campaign_state``), e.g. for its badge's class."""
    return states.campaign_state(campaign.status, counts)


@register.filter
def state_meaning(state: str) -> str:
    """What a campaign state means, for a tooltip."""
    return states.STATE_MEANINGS.get(state, "")


@register.filter
def subband_ranges(subbands) -> str:
    """Ascending subband numbers as runs: ``000–120, 122–243``."""
    runs: list[list[int]] = []
    for subband in subbands:
        if runs and subband == runs[-1][1] + 1:
            runs[-1][1] = subband
        else:
            runs.append([subband, subband])
    return ", ".join(f"{first:03d}" if first == last else f"{first:03d}–{last:03d}" for first, last in runs)


@register.filter
def shown_value(value) -> str:
    """A token field in a table cell: one line of text, cut (``rendering.excerpt``)."""
    return excerpt(value)


@register.filter
def shown_field(value) -> str:
    """A token field on the token's page: longer than a cell, cut all the same."""
    return excerpt(value, FIELD_CHARACTERS)


@register.simple_tag(takes_context=True)
def order_header(context, order: str, label: str):
    """A token table's column header: a link that sorts the open tab (or search) by it, marked
    as the order in use; plain text where the rows are another tool's view (CouchDB orders them)."""
    if not context.get("exportable"):
        return label
    query = {"view": context.get("view") or "", **({"q": context["search"].text} if context.get("search") else {})}
    if order != "id":
        query["order"] = order
    current = (context.get("order") or "id") == order
    marked = mark_safe(' aria-current="true"') if current else ""
    return format_html('<a href="?{}#tokens"{}>{}</a>', urlencode(query), marked, label)
