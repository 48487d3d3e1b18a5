"""The ranking tables of a classifier result, as the core ranked them: one per category
(and language), then one per kind of category across them (binary and multi-class are
never averaged together). Their captions, columns and rows; the screen fills the tables.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content

from tui_bench.core.fmt import MISSING, cell_name, num, score, signed

GROUP_TITLE = {"binary": "binary categories (2 classes)", "multiclass": "multi-class categories"}

CELL_COLUMNS = [
    ("rank", "#"),
    ("model", "model"),
    ("f1", "macro-F1"),
    ("delta", "vs base"),
    ("acc", "acc."),
    ("bacc", "bal.acc"),
    ("minf1", "min. F1"),
    ("time", "train s"),
]
AGGREGATE_COLUMNS = [
    ("rank", "#"),
    ("model", "model"),
    ("cells", "cells"),
    ("f1", "mean F1"),
    ("delta", "vs base"),
    ("mrank", "mean rank"),
    ("wins", "wins"),
    ("time", "train s"),
]

RANKING_CAPTION = Content.assemble(
    ("Ranking per category ", "bold"),
    ("by macro-F1", "$accent"),
    (
        " · ties: accuracy, then training time · vs base: macro-F1 above the "
        "majority baseline · medals only above it",
        "$text-muted",
    ),
)
AGGREGATE_CAPTION = Content.assemble(
    ("Across categories ", "bold"),
    (
        "· mean over the categories of each kind; binary and multi-class never averaged together",
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
    return [g for g in ("binary", "multiclass") if any(a.group == g for a in result.aggregates)]


def rank_cell(row: Any) -> Content:
    if row.baseline:
        return Content.styled("base", "dim")
    if row.medal:
        return Content(row.medal)
    if row.rank is not None:
        return Content(f"{row.rank}.")
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
        out.append(
            (
                row.model,
                [
                    rank_cell(row),
                    name,
                    score(row.f1_macro),
                    signed(row.f1_vs_baseline) if not row.baseline else MISSING,
                    score(row.accuracy),
                    score(row.balanced_accuracy),
                    score(row.minority_f1),
                    num(row.train_time_s, 2),
                ],
            )
        )
    return out


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
            else Content(f"{a.rank}.")
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
                    score(a.mean_f1_macro),
                    signed(a.mean_f1_vs_baseline),
                    num(a.mean_rank, 2),
                    str(a.wins),
                    num(a.total_train_time_s, 2),
                ],
            )
        )
    return out
