"""The ranking tables of a classifier result, as the core ranked them: one per category
(and language), then one per kind of category across them (binary and multi-class are
never averaged together; a run with both has a table over every cell, the one the top
choice is read from). Their captions, columns and rows; the screen fills the tables.

A category's table fits 80 columns: rank (medal), model, macro-F1, the difference to the
better baseline with its 95% interval, and the verdict in words (better or not better
than chance, tied with the top). The rest of a candidate's figures are in its panel
(``detail``).
"""

from __future__ import annotations

from typing import Any

from textual.content import Content

from tui_bench.core.fmt import MISSING, cell_name, num, score, signed

GROUP_TITLE = {
    "binary": "binary categories (2 classes)",
    "multiclass": "multi-class categories",
    "all": "every category (the top choice)",
}
GROUPS = ("binary", "multiclass", "all")

CELL_COLUMNS = [
    ("rank", "#"),
    ("model", "model"),
    ("f1", "F1"),
    ("delta", "vs base [95%]"),
    ("verdict", "verdict"),
]
AGGREGATE_COLUMNS = [
    ("rank", "#"),
    ("model", "model"),
    ("cells", "cells"),
    ("mrank", "mean rank"),
    ("wins", "wins"),
    ("better", "> chance"),
    ("f1", "mean F1"),
    ("time", "train s"),
]

RANKING_CAPTION = Content.assemble(
    ("Ranking per category ", "bold"),
    ("by macro-F1", "$accent"),
    (
        " · vs base: above the better baseline, 95% interval · medals only above "
        "zero · ↑↓ picks a row: its classes below",
        "$text-muted",
    ),
)
AGGREGATE_CAPTION = Content.assemble(
    ("Across categories ", "bold"),
    (
        "· one rule for the medals and the top choice: the lowest mean rank (ties: wins, "
        "then training time); a medal needs better than chance in every cell",
        "$text-muted",
    ),
)

Row = tuple[str, list[Any]]  # (row key, its cells)


def cells_of(result: Any) -> list[tuple[str, str | None]]:
    """(category, language) in the order the core ranked them."""
    seen: list[tuple[str, str | None]] = []
    for row in result.rows:
        if row.cell not in seen:
            seen.append(row.cell)
    return seen


def groups_of(result: Any) -> list[str]:
    """The kinds of category the result holds aggregates for, binary first."""
    return [g for g in GROUPS if any(a.group == g for a in result.aggregates)]


def rank_cell(row: Any) -> Content:
    if row.baseline:
        return Content.styled(MISSING, "dim")
    if row.medal:
        return Content(row.medal)
    if row.rank is not None:
        return Content(f"{row.shown_place}.")
    return Content.styled("✗", "$text-error")


def _analysis_of(result: Any, category: str, language: str | None) -> Any:
    pool = result.cell_imbalance if language else result.imbalance
    return next((a for a in pool if a.category == category and a.language == language), None)


def cell_caption(result: Any, category: str, language: str | None) -> Content:
    """The line above a category's table: its kind, imbalance and train/test split."""
    first = next(row for row in result.rows if row.cell == (category, language))
    a = _analysis_of(result, category, language)
    cap: list[Any] = [(cell_name(category, language), "bold $accent")]
    kind = "binary" if first.group == "binary" else f"multi-class, {first.n_classes} classes"
    cap.append(f" · {kind}")
    if a is not None and a.profile:
        cap.append(f" · {a.profile} (ratio {a.imbalance_ratio:.2f})")
    res = result.result_for(first.model, category, language)
    if res is not None:
        cap.append(
            (f" · {res.n_train:,} train / {res.n_test:,} test rows", "$text-muted")
            if res.folds == 1
            else (f" · {res.folds} folds", "$text-muted")
        )
    return Content.assemble(*cap)


def cell_rows(result: Any, category: str, language: str | None) -> list[Row]:
    """A category's table: the candidates in ranked order, the baseline last."""
    out: list[Row] = []
    for row in result.rows:
        if row.cell != (category, language):
            continue
        name = Content.styled(row.model, "dim" if row.baseline else "bold")
        if row.error:
            name = Content.assemble(name, (f" {row.error}", "$text-error"))
        out.append((row.model, [rank_cell(row), name, score(row.f1_macro), *_verdict(row)]))
    return out


def _verdict(row: Any) -> list[Any]:
    """The difference to the baseline with its interval, and the verdict, in words."""
    if row.baseline:
        word = "best baseline" if row.best_baseline else "baseline"
        return [MISSING, Content.styled(word, "dim")]
    if row.rank is None:
        return [MISSING, MISSING]
    delta = signed(row.f1_vs_baseline)
    if row.ci_low is not None and row.ci_high is not None:
        delta += f" [{signed(row.ci_low)},{signed(row.ci_high)}]"
    if not row.verdict:
        return [delta, Content.styled("untested", "dim")]
    if not row.beats_chance:
        return [delta, Content.styled(row.verdict, "$text-warning")]
    if row.tied_with:
        tie = "tied with the top" if row.place == 1 else f"tied with {row.tied_with}"
        return [delta, Content.styled(tie, "$text-success")]
    return [delta, Content.styled(row.verdict, "$text-success")]


def aggregate_caption(result: Any, group: str) -> Content:
    aggs = [a for a in result.aggregates if a.group == group]
    n_cells = max((a.n_cells + a.n_missing for a in aggs), default=0)
    return Content.assemble((GROUP_TITLE[group], "bold"), f" · {n_cells} cell(s)")


def aggregate_rows(result: Any, group: str) -> list[Row]:
    """The table of one kind of category: each model's mean over those categories."""
    out: list[Row] = []
    for a in result.aggregates:
        if a.group != group:
            continue
        rank = (
            Content(a.medal)
            if a.medal
            else Content(f"{a.shown_place}.")
            if a.rank
            else Content.styled(MISSING, "dim")
        )
        missing = f" ({a.n_missing} missing)" if a.n_missing else ""
        out.append(
            (
                a.model,
                [
                    rank,
                    Content.styled(a.model, "bold"),
                    f"{a.n_cells}{missing}",
                    num(a.mean_rank, 2),
                    str(a.wins),
                    f"{a.n_better} of {a.n_cells}",
                    score(a.mean_f1_macro),
                    num(a.total_train_time_s, 2),
                ],
            )
        )
    return out
