"""The pieces every SVG chart of a report is drawn with: the page, a horizontal value
axis, coordinates and attributes written the same way everywhere, so the same data gives
the same bytes. Hand-written SVG, no display needed. The charts themselves live with their
reports (:mod:`tui_bench.core.charts` for an LLM run, :mod:`tui_bench.core.classify.charts`
for a classifier benchmark).
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from tui_bench.core.fmt import num

WIDTH = 640
LEFT = 170  # room for model names
RIGHT = 30
ROW = 26
TOP = 44
COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")


def coord(x: float) -> str:
    """A coordinate, to a tenth of a pixel."""
    return f"{x:.1f}"


def attr(value: float | None, digits: int = 4) -> str:
    """A number for a ``data-*`` attribute; empty when missing."""
    return "" if value is None else f"{value:.{digits}f}"


def clip(text: str, chars: int) -> str:
    """``text`` in at most ``chars`` characters, cut in the middle so that both its start
    and its end still tell names apart (``class-with…-name-12``); the full text belongs in
    a title or an attribute beside it."""
    if len(text) <= chars:
        return text
    head = (chars - 1) // 2
    return text[:head] + "…" + text[len(text) - (chars - 1 - head) :]


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above ``value`` (an axis end)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        top = step * 10.0**exp
        if top >= value:
            return top
    return 10.0 ** (exp + 1)  # pragma: no cover


def document(height: float, title: str, body: list[str], width: int = WIDTH) -> str:
    """The whole SVG file: a white page, its title (also the file's ``<title>``), ``body``."""
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{coord(height)}" '
        f'viewBox="0 0 {width} {coord(height)}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{coord(height)}" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    return "\n".join([*head, *body, "</svg>"]) + "\n"


def axis(
    y0: float, y1: float, top: float, unit: str, x0: float = LEFT, x1: float = WIDTH - RIGHT
) -> list[str]:
    """A horizontal axis from 0 (at ``x0``) to ``top`` (at ``x1``): five grid lines over
    rows spanning ``y0``..``y1``, their values and ``unit`` under them."""
    out = []
    span = x1 - x0
    for i in range(5):
        v = top * i / 4
        x = x0 + span * i / 4
        out.append(
            f'<line x1="{coord(x)}" y1="{coord(y0)}" x2="{coord(x)}" y2="{coord(y1)}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{coord(x)}" y="{coord(y1 + 14)}" text-anchor="middle" fill="#555">{num(v, 0 if top >= 10 else 2)}</text>'
        )
    out.append(
        f'<text x="{coord(x0 + span / 2)}" y="{coord(y1 + 30)}" text-anchor="middle" fill="#555">{escape(unit)}</text>'
    )
    return out


def charts_section(shown: list[str], titles: dict[str, str]) -> list[str]:
    """report.md's "Charts" section: the SVG files written beside it, as relative links."""
    if not shown:
        return []
    lines = [
        "## Charts",
        "",
        "SVG files beside this report; each mark's title holds its numbers.",
        "",
    ]
    for name in shown:
        lines += [f"![{titles[name]}]({name})", ""]
    return lines
