"""Panels of the classifier run screen: flat widgets that render a ``ClassifyView``.

As in the LLM live view, each panel is one fixed-size widget that draws its lines in
``render()`` and repaints only when the screen's timer hands it a new snapshot.
"""

from __future__ import annotations

from typing import Any

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from tui_bench.tui.format import MISSING, duration, num, score
from tui_bench.tui.state.classify import ClassifyView, Training, cell_name


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class ClassifyPanel(Widget):
    """Base: holds the latest snapshot; the screen calls :meth:`show`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: ClassifyView | None = None

    def show(self, view: ClassifyView) -> None:
        self.view = view
        self.refresh()


def steps_text(t: Training) -> str:
    """A fine-tuned transformer's progress: ``step 5/12 · loss 1.234 · 55 examples/s ·
    40 s left`` (after an epoch: its loss and throughput), or "" for other learners."""
    if t.examples_per_s is None:
        return ""
    step = f"step {t.step}/{t.n_steps} · " if t.step is not None else ""
    return (
        f"{step}loss {num(t.loss, 3)} · {num(t.examples_per_s)} examples/s · "
        f"{duration(t.eta_s)} left"
    )


def epoch_line(t: Training) -> Content:
    """``epoch 2/3 · val macro-F1 0.612 ▸ 0.688↑`` (↑: the best so far, kept); a
    transformer's steps after it (``steps_text``)."""
    steps = steps_text(t)
    if not t.epochs:
        if steps:
            epoch = f"epoch {t.epoch_now}/{t.n_epochs or '?'}"
            return Content.assemble(epoch, (f" · {steps}", "$text-muted"))
        return Content.styled("fitting…" if t.n_epochs is None else "first epoch…", "$text-muted")
    last = t.epochs[-1][0]
    parts: list[Any] = [f"epoch {last}/{t.n_epochs or '?'}"]
    if t.fold:
        parts.append(f" (fold {t.fold})")
    parts.append((" · val macro-F1 ", "$text-muted"))
    for i, (_epoch, f1, improved) in enumerate(t.epochs[-6:]):
        if i:
            parts.append((" ▸ ", "$text-muted"))
        text = score(f1)
        parts.append(
            (
                text + ("↑" if improved and f1 is not None else ""),
                "$text-success" if improved else "$text-warning",
            )
        )
    if steps:
        parts.append((f" · {steps}", "$text-muted"))
    return Content.assemble(*parts)


class TrainingView(ClassifyPanel):
    """The candidates in training: which one, on which category, its epochs so far."""

    def render(self) -> RenderResult:
        v = self.view
        width, height = self.content_size
        if v is None or width <= 0 or height <= 0:
            return ""
        if v.finished is not None:
            style = "$text-success" if v.finished.status == "completed" else "$text-warning"
            return Content.styled(
                f"{v.finished.status}: {v.n_done} of {v.progress.total} trainings finished", style
            )
        if not v.in_flight:
            text = "next candidate…" if v.progress.started else "loading the data and splitting it…"
            return Content.styled(text, "$text-muted")
        lines: list[Content] = []
        for t in v.in_flight:
            head = Content.assemble(
                ("● ", "$text-success"),
                (t.candidate, "bold"),
                " on ",
                (cell_name(t.category, t.language), "$accent"),
                (
                    f"  [{t.index + 1}/{t.total}]  {duration(v.since_s(t.started_ns))}",
                    "$text-muted",
                ),
            )
            lines.append(head)
            lines.append(Content.assemble("  ", epoch_line(t)))
        return Content("\n").join(lines[:height])


DONE_COLUMNS = (
    ("category", 16, "<"),
    ("candidate", 14, "<"),
    ("macro-F1", 8, ">"),
    ("accuracy", 8, ">"),
    ("train", 8, ">"),
    ("epochs", 7, ">"),
)


def _row(texts: list[str]) -> str:
    out = []
    for (_h, width, align), text in zip(DONE_COLUMNS, texts, strict=True):
        out.append(f"{_fit(text, width):{align}{width}}")
    return " ".join(out)


class DoneView(ClassifyPanel):
    """Finished trainings, newest at the bottom: macro-F1, accuracy, time, epochs run."""

    def render(self) -> RenderResult:
        v = self.view
        width, height = self.content_size
        if v is None or width <= 0 or height <= 0:
            return ""
        lines: list[Content] = [
            Content.styled("  " + _row([h for h, _w, _a in DONE_COLUMNS]), "bold")
        ]
        if not v.results:
            lines.append(Content.styled("  none yet", "$text-muted"))
        for r in v.results[-(height - 1) :]:
            where = cell_name(r.category, r.language)
            if not r.ok:
                lines.append(
                    Content.assemble(
                        ("✗ ", "$text-error"),
                        _row([where, r.candidate, MISSING, MISSING, MISSING, MISSING]),
                        (f"  {r.error}", "$text-error"),
                    )
                )
                continue
            epochs = f"{r.epochs_run}/{r.n_epochs}" if r.by_epochs and r.epochs_run else MISSING
            texts = [
                where,
                r.candidate,
                score(r.f1_macro),
                score(r.accuracy),
                duration(r.train_time_s),
                epochs,
            ]
            if r.baseline:
                lines.append(Content.styled("  " + _row(texts) + "  baseline", "$text-muted"))
            else:
                lines.append(Content.assemble(("✓ ", "$text-success"), _row(texts)))
        return Content("\n").join(lines[:height])
