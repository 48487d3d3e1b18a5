"""The pipeline's stacked bars: a question's stage spans, or the stages' median shares.

A bar is one line of ``width`` cells split between the stages in the pipeline's order,
each stage its own character and colour (``░`` retrieve, ``▒`` classify, ``█``
generate), so that it reads without colour too, with a legend naming each stage and
its share. Cells are apportioned by the largest remainder: each stage gets the whole
cells of ``share × width``, and the cells left go to the largest fractional parts
(ties: the earlier stage), so the segments always fill the bar exactly and a share is
never off by more than one cell. The stages' median shares need not sum to 1 (each is
a median of its own): their bar is scaled to fill the line, and the legend gives the
medians themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from tui_bench.tui.format import MISSING, num, pct

STAGE_MARK = {
    "retrieve": ("░", "$primary"),
    "classify": ("▒", "$warning"),
    "generate": ("█", "$success"),
}
OTHER_MARK = ("▓", "$accent")


def mark(stage: str) -> tuple[str, str]:
    return STAGE_MARK.get(stage, OTHER_MARK)


def bar_cells(
    shares: Mapping[str, float], order: Sequence[str], width: int
) -> list[tuple[str, int]]:
    """(stage, cells) for each stage of ``order`` that has a share, summing to ``width``
    (to 0 when every share is 0)."""
    stages = [s for s in order if s in shares]
    total = sum(max(0.0, shares[s]) for s in stages)
    if total <= 0 or width <= 0:
        return [(s, 0) for s in stages]
    exact = [max(0.0, shares[s]) / total * width for s in stages]
    cells = [math.floor(x) for x in exact]
    left = width - sum(cells)
    by_remainder = sorted(range(len(stages)), key=lambda i: (-(exact[i] - cells[i]), i))
    for i in by_remainder[:left]:
        cells[i] += 1
    return list(zip(stages, cells, strict=True))


def share_bar(shares: Mapping[str, float], order: Sequence[str], width: int) -> Content:
    """The stacked bar itself: each stage's cells in its character and colour."""
    parts = []
    for stage, n in bar_cells(shares, order, width):
        char, style = mark(stage)
        parts.append((char * n, style))
    return Content.assemble(*parts)


def legend(shares: Mapping[str, float], order: Sequence[str], bottleneck: str | None) -> Content:
    """``░ retrieve 26%  █ generate 74% ◀ bottleneck``: what each segment is."""
    parts: list[Any] = []
    for stage in order:
        if stage not in shares:
            continue
        char, style = mark(stage)
        parts += ["  " if parts else "", (char, style), f" {stage} {pct(shares[stage])}"]
        if stage == bottleneck:
            parts.append((" ◀ bottleneck", "bold"))
    return Content.assemble(*parts)


def question_shares(q: Mapping[str, Any]) -> dict[str, float]:
    """A question's (from ``QuestionResult.to_dict()``) share per stage."""
    return {stage: span["share"] or 0.0 for stage, span in q["spans"].items()}


def question_row(q: Mapping[str, Any], order: Sequence[str], width: int) -> Content:
    """``q03  ░░▒▒████████  412.3 ms ✓``: one question's bar, its e2e time and outcome."""
    ok = ("✓", "$success") if q["success"] else ("✗", "$error")
    return Content.assemble(
        (f"{q['id']:<6}", "bold"),
        share_bar(question_shares(q), order, width),
        f" {num(q['e2e_ms'], 1):>9} ms ",
        ok,
    )


class QuestionBars(Widget):
    """The finished questions, newest on top, one stacked bar each (as many as fit)."""

    DEFAULT_CSS = """
    QuestionBars { height: 1fr; border: round $primary 40%; padding: 0 1; }
    """
    RESERVED = 6 + 15  # the id before the bar; its e2e time and mark after it

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.questions: list[Mapping[str, Any]] = []
        self.order: list[str] = []

    def show(self, questions: Sequence[Mapping[str, Any]], order: Sequence[str]) -> None:
        if len(questions) != len(self.questions) or list(order) != self.order:
            self.questions, self.order = list(questions), list(order)
            self.refresh()

    def render(self) -> RenderResult:
        width, height = self.content_size
        if not self.questions:
            return Content.styled("no question finished yet", "$text-muted")
        bar_width = max(4, width - self.RESERVED)
        rows = [question_row(q, self.order, bar_width) for q in reversed(self.questions)]
        return Content("\n").join(rows[: max(1, height)])


def stage_cells(q: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    """A question's span per stage in ms (``–`` for a stage it did not run)."""
    return [num(q["spans"][s]["wall_ms"], 2) if s in q["spans"] else MISSING for s in order]


class ShareBar(Widget):
    """The stages' median shares as one stacked bar over the widget's width, its legend
    (each stage's share, the bottleneck marked) on the line under it."""

    DEFAULT_CSS = """
    ShareBar { height: 2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shares: dict[str, float] = {}
        self.order: list[str] = []
        self.bottleneck: str | None = None

    def show(
        self, shares: Mapping[str, float], order: Sequence[str], bottleneck: str | None
    ) -> None:
        new = (dict(shares), list(order), bottleneck)
        if new != (self.shares, self.order, self.bottleneck):
            self.shares, self.order, self.bottleneck = new
            self.refresh()

    def render(self) -> RenderResult:
        width = self.content_size.width
        if not self.shares:
            return Content.styled("no question finished yet", "$text-muted")
        return Content("\n").join(
            [
                share_bar(self.shares, self.order, width),
                legend(self.shares, self.order, self.bottleneck),
            ]
        )
