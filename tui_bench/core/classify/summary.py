"""The ranking of a classifier benchmark as plain lines, for the headless log: per cell,
the baseline the candidates are held to and how the intervals were computed, then each
candidate with its macro-F1, its difference to the baseline with the 95% interval, and
its verdict (better or not better than chance, tied with the top). Also the progress lines
of learners trained by epochs (``epoch_line``) and of a fine-tuned transformer's steps
(``step_line``): loss, throughput and the time left."""

from __future__ import annotations

from typing import Any

from tui_bench.core.classify.report_detail import interval, method_text
from tui_bench.core.fmt import cell_name, num, score, signed

PREFIX = "[ranking]"


def ranking_lines(result: Any) -> list[str]:
    lines: list[str] = []
    cells: dict[tuple[str, str | None], list[Any]] = {}
    for row in result.rows:
        cells.setdefault(row.cell, []).append(row)
    how = method_text(result.significance)
    for (category, language), rows in cells.items():
        first = rows[0]
        kind = "binary" if first.group == "binary" else f"multi-class, {first.n_classes} classes"
        base = next((r for r in rows if r.baseline and r.best_baseline), None)
        held = (
            f"baseline {base.model} {score(base.f1_macro)}" if base is not None else "no baseline"
        )
        lines.append(f"{PREFIX} {cell_name(category, language)} ({kind}): {held}; intervals: {how}")
        width = max((len(r.model) for r in rows), default=8)
        for r in rows:
            if r.baseline or r.rank is None:
                continue
            rank = f"{r.medal or '  '} {r.shown_place}"  # a medal is two cells wide
            verdict = r.verdict or "untested"
            if r.tied_with:
                low, high = (
                    (r.place_low, r.place_high)
                    if r.place_low is not None
                    else (r.top_low, r.top_high)
                )
                verdict += f"; tied with {r.tied_with} {interval(low, high)}"
            lines.append(
                f"{PREFIX}   {rank} {r.model:<{width}}  macro-F1 {score(r.f1_macro)}  "
                f"vs baseline {signed(r.f1_vs_baseline)} {interval(r.ci_low, r.ci_high)}  "
                f"{verdict}"
            )
    groups = {a.group for a in result.aggregates}
    group = "all" if "all" in groups else next(iter(groups), None)
    top = next((a for a in result.aggregates if a.group == group and a.rank == 1), None)
    if top is not None and len(cells) > 1:
        medal = f"{top.medal} " if top.medal else ""
        lines.append(
            f"{PREFIX} across categories: {medal}{top.model}, mean rank "
            f"{top.mean_rank:.2f} over {top.n_cells} cells; {top.verdict}"
        )
    return lines


def _left(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _where(e: Any) -> str:
    fold = f" fold {e.fold}" if e.fold else ""
    return f"  {e.candidate} / {cell_name(e.category, e.language)}{fold}"


def epoch_line(e: Any) -> str:
    """An ``EpochProgress`` in one line; a transformer's with its loss, throughput and
    the time left."""
    line = f"{_where(e)}: epoch {e.epoch}/{e.n_epochs} val F1 {score(e.val_f1_macro)}"
    if e.examples_per_s is not None:
        line += (
            f"  loss {num(e.train_loss, 4)}  {num(e.examples_per_s)} examples/s  "
            f"{_left(e.eta_s)} left"
        )
    return line


def step_line(e: Any) -> str:
    """A ``StepProgress`` in one line."""
    return (
        f"{_where(e)}: epoch {e.epoch}/{e.n_epochs} step {e.step}/{e.n_steps}  "
        f"loss {num(e.loss, 4)}  {num(e.examples_per_s)} examples/s  {_left(e.eta_s)} left"
    )
