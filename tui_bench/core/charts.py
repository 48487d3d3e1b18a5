"""SVG charts of an LLM run, written beside report.md: hand-written SVG, no display needed.

- ``chart_decode.svg``: decode tok/s per model, the median (dot) and the slow tail
  (whisker to the 1st percentile of the rate: 99% of requests decoded faster);
- ``chart_ttft.svg``: TTFT per model, the median (dot) and the p99 (whisker);
- ``chart_quality.svg``: the mean quality score (``composite``) per task type and model;
- ``chart_front.svg``: per task type, quality against decode speed, the Pareto front
  (:mod:`tui_bench.core.recommend`) filled, dominated models hollow.

The last two only when some answer was scored. Every mark carries its numbers in
``data-*`` attributes and a ``<title>`` (a tooltip in a browser), so what a chart shows
can be checked against data.json. Same data, same bytes: a chart rebuilt from history
is the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from tui_bench.core.fmt import num
from tui_bench.core.medals import values
from tui_bench.core.recommend import QUALITY_KEY, TaskAdvice, recommendations
from tui_bench.core.results import RequestRecord
from tui_bench.core.summary import RunSummary
from tui_bench.core.svg import (
    COLOURS,
    LEFT,
    RIGHT,
    ROW,
    TOP,
    WIDTH,
    attr,
    axis,
    charts_section,
    coord,
    document,
    nice_max,
)

DECODE, TTFT, QUALITY, FRONT = (
    "chart_decode.svg",
    "chart_ttft.svg",
    "chart_quality.svg",
    "chart_front.svg",
)
TITLES = {
    DECODE: "decode rate per model",
    TTFT: "time to first token per model",
    QUALITY: "quality per task type",
    FRONT: "quality against speed per task type",
}


def _whiskers(
    title: str, unit: str, rows: Sequence[tuple[str, float | None, float | None]], tail: str
) -> str:
    """One row per model: a dot at the median, a whisker to the tail value."""
    top = nice_max(max([v for _m, a, b in rows for v in (a, b) if v is not None] or [1.0]))
    span = WIDTH - LEFT - RIGHT
    height = TOP + ROW * len(rows) + 44
    body = [f'<text x="10" y="36" fill="#555">dot: median (p50) · whisker: {escape(tail)}</text>']
    y_end = TOP + ROW * len(rows)
    body += axis(TOP, y_end, top, unit)
    for i, (model, p50, p99) in enumerate(rows):
        y = TOP + ROW * i + ROW / 2
        body.append(
            f'<text x="{LEFT - 8}" y="{coord(y + 4)}" text-anchor="end">{escape(model)}</text>'
        )
        if p50 is None:
            body.append(
                f'<text x="{LEFT + 4}" y="{coord(y + 4)}" fill="#999">no valid timing</text>'
            )
            continue
        x50 = LEFT + span * p50 / top
        label = f"{model}: median {num(p50)} {unit}, {tail} {num(p99)} {unit}"
        group = [
            f'<g class="model" data-model={quoteattr(model)} data-p50="{attr(p50)}" '
            f'data-p99="{attr(p99)}">',
            f"<title>{escape(label)}</title>",
        ]
        if p99 is not None:
            x99 = LEFT + span * p99 / top
            group.append(
                f'<line x1="{coord(x50)}" y1="{coord(y)}" x2="{coord(x99)}" y2="{coord(y)}" stroke="#333" stroke-width="2"/>'
            )
            group.append(
                f'<line x1="{coord(x99)}" y1="{coord(y - 6)}" x2="{coord(x99)}" y2="{coord(y + 6)}" stroke="#333" stroke-width="2"/>'
            )
        group.append(f'<circle cx="{coord(x50)}" cy="{coord(y)}" r="5" fill="{COLOURS[0]}"/>')
        group.append("</g>")
        body += group
    return document(height, title, body)


def _percentile(xs: list[float], q: float) -> float | None:
    import numpy as np

    return float(np.percentile(xs, q)) if xs else None


def decode_chart(summary: RunSummary, records: Sequence[RequestRecord]) -> str:
    rows = []
    for g in summary.per_model:
        model = g.key["model"]
        rows.append(
            (
                model,
                g.metrics["decode_tps"].median,
                _percentile(values(records, "decode_tps", model), 1),
            )
        )
    return _whiskers(
        "decode rate per model (higher is better)", "tok/s", rows, "slow tail (1st percentile)"
    )


def ttft_chart(summary: RunSummary) -> str:
    rows = [
        (g.key["model"], g.metrics["ttft_ms"].median, g.metrics["ttft_ms"].p99)
        for g in summary.per_model
    ]
    return _whiskers("time to first token per model (lower is better)", "ms", rows, "p99")


def quality_chart(summary: RunSummary) -> str:
    """Grouped bars: per task type, one bar per model (its mean composite score)."""
    models = summary.models
    span = WIDTH - LEFT - RIGHT
    bar = 14
    body = [f'<text x="10" y="36" fill="#555">mean {QUALITY_KEY} score, 0 to 1</text>']
    y = TOP
    for task in summary.tasks:
        body.append(f'<text x="10" y="{coord(y + 12)}" font-weight="bold">{escape(task)}</text>')
        y += 18
        for i, model in enumerate(models):
            g = next(
                (
                    g
                    for g in summary.per_task_model
                    if g.key["task"] == task and g.key["model"] == model
                ),
                None,
            )
            if g is None:
                continue
            q = g.quality.get(QUALITY_KEY)
            mean = q.mean if q is not None and q.n else None
            body.append(
                f'<text x="{LEFT - 8}" y="{coord(y + bar - 3)}" text-anchor="end">{escape(model)}</text>'
            )
            if mean is None:
                body.append(
                    f'<text x="{LEFT + 4}" y="{coord(y + bar - 3)}" fill="#999">not scored</text>'
                )
            else:
                label = f"{task} / {model}: mean quality {num(mean, 3)} (n={q.n})"  # type: ignore[union-attr]
                body += [
                    f'<g class="bar" data-task={quoteattr(task)} data-model={quoteattr(model)} '
                    f'data-quality="{attr(mean)}" data-n="{q.n}">',  # type: ignore[union-attr]
                    f"<title>{escape(label)}</title>",
                    f'<rect x="{LEFT}" y="{coord(y)}" width="{coord(span * mean)}" height="{bar}" '
                    f'fill="{COLOURS[i % len(COLOURS)]}"/>',
                    f'<text x="{coord(LEFT + span * mean + 4)}" y="{coord(y + bar - 3)}">{num(mean, 2)}</text>',
                    "</g>",
                ]
            y += bar + 4
        y += 8
    grid = axis(TOP, y, 1.0, QUALITY_KEY)  # drawn first: under the bars
    return document(y + 44, "quality per task type (higher is better)", [body[0], *grid, *body[1:]])


def front_chart(advice: Sequence[TaskAdvice]) -> str:
    """One panel per scored task type: quality (up) against decode tok/s (right)."""
    panel_h, pad = 180, 60
    span = WIDTH - LEFT - RIGHT
    scored = [a for a in advice if a.scored and (a.front or a.dominated)]
    body = [
        '<text x="10" y="36" fill="#555">filled: on the front (no model is both better and '
        "faster) · hollow: dominated</text>"
    ]
    y = TOP + 10
    for a in scored:
        points = a.front + a.dominated
        top = nice_max(max(p.speed or 0.0 for p in points))
        body.append(f'<text x="10" y="{coord(y + 12)}" font-weight="bold">{escape(a.task)}</text>')
        y0, y1 = y + 20, y + 20 + panel_h
        for i in range(5):
            q = i / 4
            yy = y1 - panel_h * q
            body.append(
                f'<line x1="{LEFT}" y1="{coord(yy)}" x2="{WIDTH - RIGHT}" y2="{coord(yy)}" stroke="#eee"/>'
            )
            body.append(
                f'<text x="{LEFT - 6}" y="{coord(yy + 4)}" text-anchor="end" fill="#555">{q:.2f}</text>'
            )
        body += axis(y0, y1, top, "decode tok/s (median)")
        body.append(f'<text x="{LEFT + 4}" y="{coord(y0 - 6)}" fill="#555">quality</text>')

        def xy(
            speed: float, quality: float, top: float = top, y1: float = y1
        ) -> tuple[float, float]:
            return LEFT + span * speed / top, y1 - panel_h * quality

        line = " ".join(
            "{},{}".format(*(coord(c) for c in xy(p.speed or 0.0, p.quality or 0.0)))
            for p in sorted(a.front, key=lambda p: p.speed or 0.0)
        )
        if len(a.front) > 1:
            body.append(
                f'<polyline points="{line}" fill="none" stroke="{COLOURS[0]}" stroke-dasharray="4 3"/>'
            )
        for p in points:
            on = p in a.front
            x, yy = xy(p.speed or 0.0, p.quality or 0.0)
            label = f"{a.task} / {p.model}: quality {num(p.quality, 3)} at {num(p.speed)} tok/s" + (
                "" if on else " (dominated)"
            )
            fill = COLOURS[0] if on else "white"
            body += [
                f'<g class="point" data-task={quoteattr(a.task)} data-model={quoteattr(p.model)} '
                f'data-quality="{attr(p.quality)}" data-speed="{attr(p.speed)}" '
                f'data-front="{"true" if on else "false"}">',
                f"<title>{escape(label)}</title>",
                f'<circle cx="{coord(x)}" cy="{coord(yy)}" r="5" fill="{fill}" stroke="{COLOURS[0]}" stroke-width="2"/>',
                f'<text x="{coord(x + 8)}" y="{coord(yy - 6)}">{escape(p.model)}</text>',
                "</g>",
            ]
        y = y1 + pad
    return document(y, "quality against speed per task type", body)


def names(summary: RunSummary) -> list[str]:
    """The charts the run has data for, in report order."""
    out = []
    if any(g.metrics["decode_tps"].n for g in summary.per_model):
        out.append(DECODE)
    if any(g.metrics["ttft_ms"].n for g in summary.per_model):
        out.append(TTFT)
    if any(QUALITY_KEY in g.quality for g in summary.per_task_model):
        out.append(QUALITY)
        if any(a.scored and (a.front or a.dominated) for a in recommendations(summary)):
            out.append(FRONT)
    return out


def charts(summary: RunSummary, records: Sequence[RequestRecord]) -> dict[str, str]:
    """File name -> SVG text, for what the run has data for."""
    make = {
        DECODE: lambda: decode_chart(summary, records),
        TTFT: lambda: ttft_chart(summary),
        QUALITY: lambda: quality_chart(summary),
        FRONT: lambda: front_chart(recommendations(summary, records)),
    }
    return {name: make[name]() for name in names(summary)}


def write(summary: RunSummary, records: Sequence[RequestRecord], folder: Path) -> list[Path]:
    """Write the charts into ``folder``; their paths."""
    paths = []
    for name, text in charts(summary, records).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def markdown(summary: RunSummary) -> list[str]:
    """report.md's section showing the charts written beside it (relative links)."""
    return charts_section(names(summary), TITLES)
