"""The panel under a category's ranking: the highlighted candidate's figures (macro-F1
with balanced accuracy and Matthews correlation beside it, accuracy, minority F1, time),
its difference to the baseline and to the top candidate with their 95% intervals, and
its classes: precision, recall, F1 and support, and the confusion matrix when the
classes are few enough to fit 80 columns (else the pairs most often confused)."""

from __future__ import annotations

from typing import Any

from textual.content import Content

from tui_bench.core.fmt import MISSING, num, score, signed

MAX_CLASSES = 8  # rows of the per-class table (the lowest F1 first beyond that)
MAX_MATRIX = 6  # classes up to which the confusion matrix is drawn
NAME = 12  # width of a class name
MOST_CONFUSED = 3


def _interval(low: float | None, high: float | None) -> str:
    return MISSING if low is None or high is None else f"[{signed(low)}, {signed(high)}]"


def _short(text: str, width: int = NAME) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def detail_text(result: Any, row: Any) -> Content:
    """The panel for ``row`` (a ranked row of ``result``)."""
    res = result.result_for(row.model, row.category, row.language)
    parts: list[Any] = [
        (row.model, "bold $accent"),
        f" · macro-F1 {score(row.f1_macro)} · bal.acc {score(row.balanced_accuracy)}"
        f" · MCC {signed(row.mcc) if row.mcc is not None else MISSING}"
        f" · acc. {score(row.accuracy)}",
    ]
    if row.minority_class:
        parts.append(f" · min. F1 {score(row.minority_f1)} ({_short(row.minority_class)})")
    if row.train_time_s is not None:
        parts.append(f" · train {num(row.train_time_s, 2)} s")
    parts.append("\n")
    if row.baseline:
        what = (
            "guessing by the class priors: expected scores, computed; nothing is trained"
            if row.model == "stratified"
            else "always the commonest training class"
        )
        held = " · the baseline of this category" if row.best_baseline else ""
        parts.append((f"{what}{held}\n", "$text-muted"))
    elif row.rank is not None:
        parts.append(
            f"vs baseline {signed(row.f1_vs_baseline)} {_interval(row.ci_low, row.ci_high)}"
        )
        parts.append((f" {row.verdict or 'untested'}", _verdict_style(row)))
        if row.rank == 1:
            parts.append((" · the top candidate", "$text-muted"))
        elif row.top_low is not None:
            parts.append(f" · vs top {_interval(row.top_low, row.top_high)}")
        if row.tied_with and row.place_low is not None:
            parts.append(f" · tied with {row.tied_with} {_interval(row.place_low, row.place_high)}")
        elif row.tied_with:
            parts.append(f" · tied with {row.tied_with}")
        parts.append("\n")
    if res is None or not res.per_class:
        if not row.baseline:
            parts.append(("no per-class figures recorded", "$text-muted"))
        return Content.assemble(*parts)
    parts += _classes(res)
    return Content.assemble(*parts)


def _verdict_style(row: Any) -> str:
    if row.beats_chance:
        return "$text-success"
    return "$text-warning" if row.beats_chance is False else "dim"


def _classes(res: Any) -> list[Any]:
    classes = list(res.classes)
    matrix = res.confusion if res.confusion and len(classes) <= MAX_MATRIX else None
    shown = classes
    if len(classes) > MAX_CLASSES:
        shown = sorted(classes, key=lambda c: (res.per_class[c]["f1"], c))[:MAX_CLASSES]
    head = f"{'class':<{NAME}} {'prec.':>6}{'rec.':>6}{'F1':>6}{'n':>6}"
    lines: list[Any] = []
    if matrix is not None:
        head += " │" + "".join(f"{_short(c, 4):>5}" for c in classes)
        lines.append(
            (
                "confusion right of │: rows the true class, columns the one predicted\n",
                "$text-muted",
            )
        )
    lines.append((head + "\n", "bold"))
    for c in shown:
        m = res.per_class[c]
        line = (
            f"{_short(c):<{NAME}} {score(m['precision']):>6}{score(m['recall']):>6}"
            f"{score(m['f1']):>6}{int(m['support']):>6}"
        )
        if matrix is not None:
            counts = matrix[classes.index(c)]
            line += " │" + "".join(f"{n:>5,}" for n in counts)
        lines.append(line + "\n")
    if len(shown) < len(classes):
        lines.append(
            (
                f"the {len(shown)} lowest F1 of {len(classes)} classes; all in report.md\n",
                "$text-muted",
            )
        )
    if matrix is None and res.confusion:
        lines.append(_most_confused(classes, res.confusion))
    return lines


def _most_confused(classes: list[str], confusion: list[list[int]]) -> Content:
    pairs = sorted(
        (
            (n, classes[i], classes[j])
            for i, row in enumerate(confusion)
            for j, n in enumerate(row)
            if i != j and n
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )[:MOST_CONFUSED]
    if not pairs:
        return Content.styled("no class confused with another", "$text-muted")
    text = ", ".join(f"{_short(a)} → {_short(b)} {n}" for n, a, b in pairs)
    return Content.assemble(("most confused (true → predicted): ", "bold"), text)
