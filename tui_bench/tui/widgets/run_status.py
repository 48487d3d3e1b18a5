"""The run-status line every live view shows: what the run is doing and a progress bar.

One shape for every kind of run, drawn from a :class:`RunProgress` (the live-state
base's): ``run 3 · demo · 6/10 · fast / story / rep 1 · 0:06 · ~0:04 left`` while it runs,
``run 3 · demo · completed · 10/10 requests · 12.3 s`` when it has ended. Each kind of
run names what it counts (``unit``), what happens before it starts (``waiting``) and
when a cancelled run stops (``stops``).
"""

from __future__ import annotations

from typing import Any

from textual.content import Content

from tui_bench.tui.format import duration
from tui_bench.tui.state.base import RunProgress
from tui_bench.tui.widgets.line import Line, clock, set_with_bar

MAX_BAR = 36
STATUS_STYLE = {"completed": "$text-success", "cancelled": "$text-warning"}


def status_content(p: RunProgress, *, unit: str, waiting: str, stops: str) -> Content:
    """The text of the status line, without its bar."""
    names = ([f"run {p.run_id}"] if p.run_id is not None else []) + ([p.label] if p.label else [])
    parts: list[Any] = []
    for i, name in enumerate(names):  # the first name, in bold, is the one to look for
        parts += [" · ", name] if i else [(name, "bold")]
    sep = [" · "] if names else []
    if p.error is not None:
        parts += [*sep, ("failed: ", "bold $text-error"), (p.error, "$text-error")]
    elif p.status is not None:
        style = STATUS_STYLE.get(p.status, "$text-error")
        parts += [*sep, (p.status, f"bold {style}")]
        parts.append(f" · {p.done}/{p.total} {unit} · {duration(p.elapsed_s)}")
    elif not p.started:
        parts += [*sep, (waiting, "$text-muted")]
    else:
        # the item in flight names what is counted: the unit only when none is named
        parts += [*sep, f"{p.done}/{p.total}" + ("" if p.current else f" {unit}")]
        if p.cancelling:  # before the item: a narrow line cuts the end
            parts.append((f" · cancelling after {stops}…", "bold $text-warning"))
        if p.current:
            parts += [" · ", (p.current, "$accent")]
        parts.append(f" · {clock(p.elapsed_s)}")
        left = None if p.cancelling else p.left_s()
        if left is not None:
            parts.append((f" · ~{clock(left)} left", "$text-muted"))
    return Content.assemble(*parts)


class RunStatus(Line):
    """The status line of a live view; the screen calls :meth:`show` on every tick."""

    def __init__(self, *, unit: str, waiting: str, stops: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.unit = unit
        self.waiting = waiting
        self.stops = stops

    def show(self, progress: RunProgress) -> None:
        text = status_content(progress, unit=self.unit, waiting=self.waiting, stops=self.stops)
        set_with_bar(self, text, progress.done, progress.total, max_bar=MAX_BAR)
