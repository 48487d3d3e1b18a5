"""``chart_confusion.svg``: per cell, the confusion matrix of one model as a heatmap.

The model is the chosen one (``result.choice``: one model, or one per language) where it
has a matrix in the cell, else the cell's top candidate. Rows are the true classes,
columns the predicted ones, in the order of the stored matrix (``CandidateResult.classes``);
each cell holds its count, shaded by its share of the true class's rows (the recall on the
diagonal), so a rare class reads as clearly as a common one. The matrix is the one in
data.json and report.md's per-class section: on the test rows, or summed over every fold.
A cell whose result holds no matrix (a result stored without one) is said so, not drawn.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from tui_bench.core.fmt import cell_name
from tui_bench.core.svg import COLOURS, TOP, WIDTH, clip, coord, document

NAME = "chart_confusion.svg"
TITLE = "confusion matrix of the chosen model per category"
LABEL_CHARS = 22
CHAR_W = 6.8  # an average character of the 12 px sans-serif, for the label room
LEFT = 170  # the true-class labels
GRID = 520  # the room the columns share, before a cell reaches its smallest size
MIN_CELL, MAX_CELL = 16, 44
SLANT = 0.7071  # column labels at 45°

CellKey = tuple[str, str | None]


def _picked(result: Any, category: str, language: str | None) -> tuple[Any, str] | None:
    """(the result whose matrix is drawn, why that model) for one cell."""
    choice = result.choice or {}
    chosen = choice.get("model")
    if "models_by_language" in choice:
        chosen = (choice.get("models_by_language") or {}).get(language or "")
    if chosen:
        res = result.result_for(chosen, category, language)
        if res is not None and res.confusion:
            return res, "chosen"
    top = next(
        (
            r
            for r in result.rows
            if r.cell == (category, language) and r.rank == 1 and not r.baseline
        ),
        None,
    )
    if top is None:
        return None
    res = result.result_for(top.model, category, language)
    return (res, "top of the ranking") if res is not None else None


def _cells(result: Any) -> list[CellKey]:
    seen: list[CellKey] = []
    for row in result.rows:
        if row.cell not in seen:
            seen.append(row.cell)
    return seen


def missing(result: Any) -> list[CellKey]:
    """The cells with a ranked candidate but no matrix stored for the model picked."""
    out = []
    for cell in _cells(result):
        picked = _picked(result, *cell)
        if picked is not None and not picked[0].confusion:
            out.append(cell)
    return out


def drawable(result: Any) -> bool:
    return any(
        (p := _picked(result, *cell)) is not None and bool(p[0].confusion)
        for cell in _cells(result)
    )


def _shade(share: float) -> str:
    """White for 0, the chart blue for 1."""
    rgb = (int(COLOURS[0][i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 + (c - 255) * share):02x}" for c in rgb)


def _panel(res: Any, why: str, y: float) -> tuple[list[str], float, float]:
    """One cell's heatmap from ``y`` down: (lines, the y below it, the width it needs)."""
    classes: list[str] = list(res.classes)
    matrix: list[list[int]] = res.confusion
    k = len(classes)
    size = max(MIN_CELL, min(MAX_CELL, GRID // max(k, 1)))
    longest = max((len(clip(c, LABEL_CHARS)) for c in classes), default=1)
    slant = longest * CHAR_W * SLANT
    where = f"data-category={quoteattr(res.category)} data-language={quoteattr(res.language or '')}"
    head = f"{cell_name(res.category, res.language)}: {res.candidate} ({why})"
    out = [
        f'<g class="matrix" {where} data-model={quoteattr(res.candidate)} data-why="{why}" '
        f'data-classes="{k}">',
        f'<text x="10" y="{coord(y + 12)}" font-weight="bold">{escape(head)}</text>',
        f'<text x="{coord(LEFT + size * k / 2)}" y="{coord(y + 30)}" text-anchor="middle" '
        f'fill="#555">predicted</text>',
    ]
    gx, gy = LEFT, y + 44 + slant
    for j, label in enumerate(classes):
        cx = gx + size * j + size / 2
        out.append(
            f'<text class="predicted-label" data-label={quoteattr(label)} x="{coord(cx)}" '
            f'y="{coord(gy - 6)}" transform="rotate(-45 {coord(cx)} {coord(gy - 6)})">'
            f"{escape(clip(label, LABEL_CHARS))}</text>"
        )
    digits = len(str(max((max(r, default=0) for r in matrix), default=0)))
    font = min(12.0, max(7.0, size / (0.62 * digits + 0.6)))
    for i, label in enumerate(classes):
        row = matrix[i] if i < len(matrix) else []
        total = sum(row)
        ry = gy + size * i
        out.append(
            f'<text class="true-label" data-label={quoteattr(label)} x="{coord(gx - 6)}" '
            f'y="{coord(ry + size / 2 + 4)}" text-anchor="end">{escape(clip(label, LABEL_CHARS))}</text>'
        )
        for j, count in enumerate(row):
            share = count / total if total else 0.0
            tip = (
                f"true {label}, predicted {classes[j] if j < k else j}: {count:,} "
                f"({share:.0%} of the {total:,} rows of {label})"
            )
            out += [
                f'<g class="cell" {where} data-true={quoteattr(label)} '
                f"data-predicted={quoteattr(classes[j] if j < k else str(j))} "
                f'data-count="{count}">',
                f"<title>{escape(tip)}</title>",
                f'<rect x="{coord(gx + size * j)}" y="{coord(ry)}" width="{size}" '
                f'height="{size}" fill="{_shade(share)}" stroke="#fff"/>',
                f'<text x="{coord(gx + size * j + size / 2)}" y="{coord(ry + size / 2 + font / 3)}" '
                f'text-anchor="middle" font-size="{coord(font)}" '
                f'fill="{"white" if share > 0.5 else "#222"}">{count:,}</text>',
                "</g>",
            ]
    out.append(
        f'<text x="{coord(gx - 6)}" y="{coord(gy - 6)}" text-anchor="end" fill="#555">true</text>'
    )
    out.append("</g>")
    width = gx + size * k + max(slant, 0) + 20
    return out, gy + size * k + 30, width


def _absent(category: str, language: str | None, y: float, why: str) -> list[str]:
    return [
        f'<text x="10" y="{coord(y + 12)}"><tspan font-weight="bold">'
        f"{escape(cell_name(category, language))}</tspan> "
        f'<tspan fill="#999">{escape(why)}</tspan></text>'
    ]


def confusion_chart(result: Any) -> str:
    cv = bool(result.config.get("cv"))
    body = [
        '<text x="10" y="36" fill="#555">rows: the true class · columns: the class predicted · '
        + ("counts summed over every fold" if cv else "counts on the test rows")
        + "</text>",
        '<text x="10" y="52" fill="#555">shade: the share of the true class\'s rows '
        "(the recall on the diagonal)</text>",
    ]
    y = float(TOP + 22)
    width = float(WIDTH)
    for cell in _cells(result):
        picked = _picked(result, *cell)
        if picked is None:
            body += _absent(*cell, y, "no ranked candidate")
            y += 30
        elif not picked[0].confusion:
            body += _absent(*cell, y, f"{picked[0].candidate}: no confusion matrix stored")
            y += 30
        else:
            lines, y, need = _panel(picked[0], picked[1], y)
            body += lines
            width = max(width, need)
    return document(y, TITLE, body, int(width + 0.5))
