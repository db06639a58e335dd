"""``{% load campaigns %}``: the state bar of a campaign and its completions chart (server-side SVG).

Both are drawn from numbers only, so the dashboard script can redraw a bar from the JSON counts
with the same arithmetic (``static/js/portal.js``).
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from ..couch import addressable
from ..design import STATE_NAMES

register = template.Library()

CHART_WIDTH = 640
CHART_HEIGHT = 160
CHART_MARGIN = 28
# An operator reads the last two days hour by hour; older hours do not fit a laptop screen.
CHART_MAX_BARS = 48


def percent(part: int, total: int) -> float:
    return round(100 * part / total, 1) if total else 0.0


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


def _segments(counts: dict, total: int) -> list[dict]:
    """Each state's share of the bar in percent, and where it starts (the states stack)."""
    segments, offset = [], 0.0
    for state in STATE_NAMES:
        width = percent(counts.get(state, 0), total)
        segments.append({"state": state, "count": counts.get(state, 0), "width": width, "offset": offset})
        offset += width
    return segments


@register.simple_tag
def completions_chart(points):
    """Bars of finished tokens per period from ``selectors.completions`` (``[(start, n), ...]``)."""
    points = list(points)[-CHART_MAX_BARS:]
    if not points:
        return mark_safe('<p class="muted">No token has finished yet.</p>')
    highest = max(count for _, count in points)
    plot_height = CHART_HEIGHT - 2 * CHART_MARGIN
    step = (CHART_WIDTH - 2 * CHART_MARGIN) / len(points)
    bars = []
    for index, (start, count) in enumerate(points):
        height = max(1.0, plot_height * count / highest)
        x = CHART_MARGIN + index * step
        bars.append((
            f"{x:.1f}", f"{CHART_HEIGHT - CHART_MARGIN - height:.1f}", f"{max(1.0, step - 2):.1f}", f"{height:.1f}",
            f"{start:%Y-%m-%d %H:00} UTC: {count} done",
        ))
    first, last = points[0][0], points[-1][0]
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="Tokens finished per hour, '
        'at most {top} in an hour">'
        '<line x1="{m}" y1="{base}" x2="{right}" y2="{base}" class="axis"/>'
        '<text x="{m}" y="{top_y}" class="label">{top} per hour</text>'
        "{bars}"
        '<text x="{m}" y="{label_y}" class="label">{first}</text>'
        '<text x="{right}" y="{label_y}" class="label" text-anchor="end">{last} UTC</text>'
        "</svg>",
        w=CHART_WIDTH, h=CHART_HEIGHT, m=CHART_MARGIN, right=CHART_WIDTH - CHART_MARGIN,
        base=CHART_HEIGHT - CHART_MARGIN, top_y=CHART_MARGIN - 8, label_y=CHART_HEIGHT - 8,
        top=highest, first=f"{first:%d %b %H:00}", last=f"{last:%d %b %H:00}",
        bars=format_html_join(
            "", '<rect x="{}" y="{}" width="{}" height="{}" class="done"><title>{}</title></rect>', bars
        ),
    )


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
def has_token_page(token_id: str) -> bool:
    """Whether the portal can open the token's page (ids ``.`` and ``..`` have no CouchDB path)."""
    return addressable(token_id)
