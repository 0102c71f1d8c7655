"""Inline SVG charts drawn on the server (no JavaScript, no build): bars and a confidence interval.

Each chart is an accessible image (`role="img"`, a title and a description) and hidden values
(secret statistique) are written out as such instead of being drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

HIDDEN_LABEL = "secret statistique"
_BAR = "#000091"  # bleu France
_ALT = "#e1000f"
_GREY = "#666666"


def french_number(value: float | None, decimals: int = 0, suffix: str = "") -> str:
    """`1234.5` → `1 234,5` (narrow no-break space for thousands); None → secret statistique."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return HIDDEN_LABEL
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    return text + suffix


def percent(value: float | None, decimals: int = 1) -> str:
    """`0.1234` → `12,3 %`."""
    return (
        HIDDEN_LABEL
        if value is None or math.isnan(value)
        else french_number(value * 100, decimals, "\u202f%")
    )


def bar_chart(
    rows: Sequence[tuple[str, float | None]],
    *,
    title: str,
    decimals: int = 0,
    suffix: str = "",
    width: int = 640,
) -> Markup:
    """Horizontal bars, one per row (label, value); a hidden value is labelled, not drawn."""
    label_width, bar_height, gap = 220, 22, 8
    height = 30 + len(rows) * (bar_height + gap)
    top = max([v for _, v in rows if v is not None and not math.isnan(v)] or [1.0]) or 1.0
    scale = (width - label_width - 110) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="t"><title>{escape(title)}</title>',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = 30 + i * (bar_height + gap)
        anchor = f'x="{label_width - 8}" y="{y + 16}" font-size="12" text-anchor="end"'
        parts.append(f"<text {anchor}>{escape(label)}</text>")
        if value is None or math.isnan(value):
            parts.append(
                f'<text x="{label_width}" y="{y + 16}" font-size="12" fill="{_GREY}" font-style="italic">'
                f"{HIDDEN_LABEL}</text>"
            )
            continue
        length = max(1.0, value * scale)
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" fill="{_BAR}"/>'
        )
        parts.append(
            f'<text x="{label_width + length + 6:.1f}" y="{y + 16}" font-size="12">'
            f"{escape(french_number(value, decimals, suffix))}</text>"
        )
    parts.append("</svg>")
    # Safe: every text placed in the SVG went through `escape`; the rest is numbers and constants.
    return Markup("".join(parts))  # noqa: S704


def interval_chart(difference: float, low: float, high: float, *, title: str, width: int = 640) -> Markup:
    """The uplift (in percentage points) with its 95 % interval, against a zero line."""
    height, margin = 90, 40
    lo, hi = min(low, 0.0), max(high, 0.0)
    span = (hi - lo) or 1.0
    lo, hi = lo - span * 0.1, hi + span * 0.1

    def x(value: float) -> float:
        return margin + (value - lo) / (hi - lo) * (width - 2 * margin)

    y = 50
    whisker = 'stroke="' + _ALT + '" stroke-width="2"/>'
    # Safe: every text placed in the SVG went through `escape`; the rest is numbers and constants.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{x(0):.1f}" y1="26" x2="{x(0):.1f}" y2="80" stroke="{_GREY}" stroke-dasharray="4 3"/>'
        f'<text x="{x(0):.1f}" y="88" font-size="11" text-anchor="middle" fill="{_GREY}">0</text>'
        f'<line x1="{x(low):.1f}" y1="{y}" x2="{x(high):.1f}" y2="{y}" stroke="{_ALT}" stroke-width="3"/>'
        f'<line x1="{x(low):.1f}" y1="{y - 8}" x2="{x(low):.1f}" y2="{y + 8}" {whisker}'
        f'<line x1="{x(high):.1f}" y1="{y - 8}" x2="{x(high):.1f}" y2="{y + 8}" {whisker}'
        f'<circle cx="{x(difference):.1f}" cy="{y}" r="6" fill="{_BAR}"/>'
        f'<text x="{x(difference):.1f}" y="{y - 12}" font-size="12" text-anchor="middle">'
        f"{escape(french_number(difference * 100, 1, ' points'))}</text>"
        f'<text x="{x(low):.1f}" y="{y + 22}" font-size="11" text-anchor="middle">'
        f"{escape(french_number(low * 100, 1))}</text>"
        f'<text x="{x(high):.1f}" y="{y + 22}" font-size="11" text-anchor="middle">'
        f"{escape(french_number(high * 100, 1))}</text>"
        "</svg>"
    )
