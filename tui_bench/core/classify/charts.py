"""SVG charts of a classifier benchmark, written beside its report.md (hand-written SVG,
no display needed):

- ``chart_ranking.svg``: one panel per cell (category, and language when training by
  language), one row per candidate in rank order: its macro-F1 (dot), the 95% interval of
  its difference to the cell's best baseline (whisker), the best baseline's macro-F1 (the
  dashed line), the medal, and the verdict report.md gives it (better or not better than
  chance, tied with the top). The whisker is that interval placed on the baseline's
  macro-F1 (baseline + low .. baseline + high): it crosses the dashed line exactly when
  the candidate is not better than chance. Nothing is recomputed: every figure is the
  ranking's own (:class:`~tui_bench.core.classify.rank.RankedRow`).
- ``chart_confusion.svg``: per cell, the confusion matrix of the chosen model (the top
  candidate when none was chosen), :mod:`tui_bench.core.classify.chart_confusion`.

Every mark carries its numbers in ``data-*`` attributes and a ``<title>`` (a tooltip in a
browser), so what a chart shows can be checked against data.json. The charts are drawn
from the stored result alone: a report rebuilt from history draws the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from tui_bench.core.classify import chart_confusion
from tui_bench.core.classify.report_detail import interval, method_text, verdict_text
from tui_bench.core.fmt import MISSING, cell_name, score
from tui_bench.core.redact import home_relative
from tui_bench.core.svg import (
    COLOURS,
    ROW,
    TOP,
    attr,
    axis,
    charts_section,
    clip,
    coord,
    document,
)

if TYPE_CHECKING:  # the rows only: the ranking's module pulls in the training code
    from tui_bench.core.classify.rank import RankedRow

RANKING = "chart_ranking.svg"
CONFUSION = chart_confusion.NAME
NAMES = (RANKING, CONFUSION)
TITLES = {
    RANKING: "macro-F1 per category against the best baseline",
    CONFUSION: chart_confusion.TITLE,
}

WIDTH = 900
X0 = 250  # rank, medal and model name on the left
X1 = 610  # the verdict on the right
NAME_CHARS = 30
BASELINE_COLOUR = "#e15759"
# rank.MEDALS, not imported: the ranking's module pulls in the training code
MEDAL_COLOURS = {"🥇": "#e6c200", "🥈": "#b8b8b8", "🥉": "#cd7f32"}
DIGITS = 6  # data-* figures: the ranking compares scores at 6 decimals


def cells_of(result: Any) -> dict[tuple[str, str | None], list[RankedRow]]:
    """The ranked rows per cell, in the ranking's order."""
    cells: dict[tuple[str, str | None], list[RankedRow]] = {}
    for row in result.rows:
        cells.setdefault(row.cell, []).append(row)
    return cells


def _x(value: float) -> float:
    """A macro-F1 on the axis (0 to 1), kept inside the panel."""
    return X0 + (X1 - X0) * min(max(value, 0.0), 1.0)


def _kind(row: RankedRow) -> str:
    return "binary" if row.group == "binary" else f"multi-class, {row.n_classes} classes"


def _where(row: RankedRow) -> str:
    return f"data-category={quoteattr(row.category)} data-language={quoteattr(row.language or '')}"


def _rank_mark(row: RankedRow, y: float) -> list[str]:
    """The rank, on a gold, silver or bronze disc where report.md gives a medal (drawn,
    not an emoji: a viewer without an emoji font still shows it)."""
    out = []
    if row.medal in MEDAL_COLOURS:
        out.append(
            f'<circle class="medal" cx="20" cy="{coord(y)}" r="9" fill="{MEDAL_COLOURS[row.medal]}"/>'
        )
    out.append(f'<text x="20" y="{coord(y + 4)}" text-anchor="middle">{row.shown_place}</text>')
    return out


def _candidate(row: RankedRow, base: RankedRow | None, y: float) -> list[str]:
    """One ranked candidate: dot, whisker, verdict."""
    verdict = verdict_text(row)
    ci = row.ci_low is not None and row.ci_high is not None
    base_f1 = base.f1_macro if base is not None else None
    placed = ci and base_f1 is not None
    low = base_f1 + row.ci_low if placed else None  # type: ignore[operator]
    high = base_f1 + row.ci_high if placed else None  # type: ignore[operator]
    label = (
        f"{cell_name(row.category, row.language)} / {row.model}: rank {row.rank}, macro-F1 "
        f"{score(row.f1_macro)}, vs baseline {interval(row.ci_low, row.ci_high)}"
        + (f" (macro-F1 {score(low)} to {score(high)})" if placed else "")
        + f", {verdict if verdict != MISSING else 'untested'}"
    )
    out = [
        f'<g class="candidate" {_where(row)} data-model={quoteattr(row.model)} '
        f'data-rank="{row.rank}" data-medal={quoteattr(row.medal)} '
        f'data-f1="{attr(row.f1_macro, DIGITS)}" data-ci-low="{attr(row.ci_low, DIGITS)}" '
        f'data-ci-high="{attr(row.ci_high, DIGITS)}" data-low="{attr(low, DIGITS)}" '
        f'data-high="{attr(high, DIGITS)}" data-verdict={quoteattr(row.verdict)} '
        f"data-tied-with={quoteattr(row.tied_with or '')}>",
        f"<title>{escape(label)}</title>",
        *_rank_mark(row, y),
        f'<text x="{X0 - 8}" y="{coord(y + 4)}" text-anchor="end">'
        f"{escape(clip(row.model, NAME_CHARS))}</text>",
    ]
    if low is not None and high is not None:
        xl, xh = _x(low), _x(high)
        out += [
            f'<line class="interval" x1="{coord(xl)}" y1="{coord(y)}" x2="{coord(xh)}" '
            f'y2="{coord(y)}" stroke="#333" stroke-width="2"/>',
            *(
                f'<line x1="{coord(x)}" y1="{coord(y - 5)}" x2="{coord(x)}" y2="{coord(y + 5)}" '
                f'stroke="#333" stroke-width="2"/>'
                for x in (xl, xh)
            ),
        ]
    if row.f1_macro is not None:
        # filled: better than chance; hollow: not better; grey: no interval to tell
        fill = {True: COLOURS[0], False: "white", None: "#999"}[row.beats_chance]
        out.append(
            f'<circle class="f1" cx="{coord(_x(row.f1_macro))}" cy="{coord(y)}" r="5" fill="{fill}" '
            f'stroke="{COLOURS[0] if row.beats_chance is not None else "#999"}" stroke-width="2"/>'
        )
    shown = verdict if verdict != MISSING else "untested: no interval"
    colour = "#333" if row.beats_chance else "#999"
    out += [
        f'<text class="verdict" x="{X1 + 12}" y="{coord(y + 4)}" fill="{colour}">'
        f"{escape(shown)}</text>",
        "</g>",
    ]
    return out


def _failed(row: RankedRow, y: float) -> list[str]:
    return [
        f'<g class="failed" {_where(row)} data-model={quoteattr(row.model)}>',
        f"<title>{escape(f'{row.model}: failed: {row.error or MISSING}')}</title>",
        f'<text x="{X0 - 8}" y="{coord(y + 4)}" text-anchor="end">'
        f"{escape(clip(row.model, NAME_CHARS))}</text>",
        f'<text x="{X0 + 4}" y="{coord(y + 4)}" fill="#999">failed</text>',
        "</g>",
    ]


def ranking_chart(result: Any) -> str:
    """One panel per cell: the candidates against the best baseline."""
    body = [
        '<text x="10" y="36" fill="#555">dot: macro-F1 (filled: better than chance) · '
        "whisker: 95% interval vs the baseline, from the baseline's macro-F1 · "
        "dashed: the best baseline</text>"
    ]
    y = TOP + 6
    for rows in cells_of(result).values():
        first = rows[0]
        base = next((r for r in rows if r.baseline and r.best_baseline), None)
        ranked = [r for r in rows if not r.baseline and r.rank is not None]
        failed = [r for r in rows if not r.baseline and r.rank is None]
        held = (
            f"baseline: {base.model} {score(base.f1_macro)}"
            if base is not None and base.f1_macro is not None
            else "no baseline"
        )
        body += [
            f'<text x="10" y="{coord(y + 12)}"><tspan font-weight="bold">'
            f"{escape(cell_name(first.category, first.language))}</tspan> "
            f'<tspan fill="#555">({escape(_kind(first))}) · {escape(held)}</tspan></text>'
        ]
        y0 = y + 22
        y1 = y0 + ROW * max(1, len(ranked) + len(failed))
        body += axis(y0, y1, 1.0, "macro-F1", X0, X1)
        if base is not None and base.f1_macro is not None:
            xb = coord(_x(base.f1_macro))
            body += [
                f'<line class="baseline" {_where(base)} data-model={quoteattr(base.model)} '
                f'data-f1="{attr(base.f1_macro, DIGITS)}" x1="{xb}" y1="{coord(y0)}" x2="{xb}" '
                f'y2="{coord(y1)}" stroke="{BASELINE_COLOUR}" stroke-width="2" '
                f'stroke-dasharray="5 4"><title>{escape(held)}</title></line>'
            ]
        for i, row in enumerate([*ranked, *failed]):
            yy = y0 + ROW * i + ROW / 2
            body += _candidate(row, base, yy) if row.rank is not None else _failed(row, yy)
        if not ranked and not failed:
            body.append(f'<text x="{X0 + 4}" y="{coord(y0 + 17)}" fill="#999">no candidate</text>')
        y = y1 + 44
    how = method_text(result.significance)
    body.append(f'<text x="10" y="{coord(y)}" fill="#555">intervals: {escape(how)}</text>')
    return document(y + 14, "macro-F1 per category against the best baseline", body, WIDTH)


def names(result: Any) -> list[str]:
    """The charts the result has data for, in report order."""
    out = []
    if any(not r.baseline and r.rank is not None for r in result.rows):
        out.append(RANKING)
    if chart_confusion.drawable(result):
        out.append(CONFUSION)
    return out


def charts(result: Any) -> dict[str, str]:
    """File name -> SVG text, for what the result has data for (home paths as ``~``)."""
    make = {RANKING: ranking_chart, CONFUSION: chart_confusion.confusion_chart}
    return {name: home_relative(make[name](result)) for name in names(result)}


def write(result: Any, folder: Path) -> dict[str, Path]:
    """Write the charts into ``folder`` (a chart of an earlier write that no longer has
    data is removed, so report.md never sits beside a stale one); name -> path."""
    drawn = charts(result)
    paths = {}
    for name in NAMES:
        path = folder / name
        if name in drawn:
            path.write_text(drawn[name], encoding="utf-8")
            paths[name] = path
        else:
            path.unlink(missing_ok=True)
    return paths


def markdown(result: Any) -> list[str]:
    """report.md's section showing the charts written beside it (relative links), and
    what could not be drawn."""
    shown = names(result)
    if not shown:
        return []
    lines = charts_section(shown, TITLES)
    missing = chart_confusion.missing(result)
    if missing:
        lines += [
            "No confusion matrix stored for "
            + ", ".join(cell_name(c, lang) for c, lang in missing)
            + (": no heatmap drawn." if CONFUSION not in shown else ": left out of the heatmap."),
            "",
        ]
    return lines
