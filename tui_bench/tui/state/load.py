"""The load part of the LLM run's live state: levels as they run and finish, what is in
flight now, and each model's capacity sentence and knee.

:class:`LoadFolds` holds the fold methods for the load events (:mod:`tui_bench.core.events`:
LevelStarted, LoadProgress, LevelFinished, LoadFinished); the LLM run's
:class:`~tui_bench.tui.state.llm.BridgeSink` inherits them, so one sink keeps one state
and a load run needs no bridge of its own. The figures of a finished level are the
engine's own (``LevelFinished.summary``), never recomputed here.

No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.events import LevelFinished, LevelStarted, LoadFinished, LoadProgress
from tui_bench.core.load.summary import level_line
from tui_bench.tui.state.base import folds


@dataclass
class LevelLive:
    """One load level of one model: its progress while it runs, its figures once done."""

    model: str
    level: str  # "c=4", "r=0.5"
    index: int
    n_levels: int
    kind: str  # concurrency (closed loop) or rate (open loop)
    target: float
    elapsed_s: float = 0.0
    in_flight: int = 0
    queued: int = 0
    sent: int = 0
    completed: int = 0
    failed: int = 0
    output_tokens: int = 0
    summary: dict[str, Any] | None = None  # LevelSummary.as_dict(), once it finished

    @property
    def done(self) -> bool:
        return self.summary is not None

    @property
    def rate_now(self) -> float | None:
        """Open loop: sends per second so far (the achieved rate while the level runs)."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else None


@dataclass
class LoadLive:
    """Every level of the run, in the order they started, and the sweeps' verdicts."""

    levels: list[LevelLive] = field(default_factory=list)
    peak_in_flight: int = 0  # over the whole run: evidence the requests overlapped
    capacity: dict[str, str] = field(default_factory=dict)  # per model, once its sweep ended
    knee: dict[str, str | None] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """The run has load levels (one started): the live view shows the load panel."""
        return bool(self.levels)

    @property
    def current(self) -> LevelLive | None:
        return self.levels[-1] if self.levels else None

    def of(self, model: str) -> list[LevelLive]:
        return [lv for lv in self.levels if lv.model == model]

    def find(self, model: str, level: str) -> LevelLive | None:
        for lv in reversed(self.levels):
            if lv.model == model and lv.level == level:
                return lv
        return None

    def errors(self) -> dict[str, int]:
        """Failed requests by class over the finished levels (the engine's classes)."""
        out: dict[str, int] = {}
        for lv in self.levels:
            for cls, n in ((lv.summary or {}).get("errors") or {}).items():
                out[cls] = out.get(cls, 0) + int(n)
        return out


class LoadFolds:
    """Fold methods for the load events; mixed into the LLM run's sink (whose ``state``
    has a ``load``: :class:`LoadLive`)."""

    state: Any

    @folds(LevelStarted)
    def _level_started(self, e: LevelStarted) -> None:
        self.state.load.levels.append(
            LevelLive(e.model, e.level, e.index, e.n_levels, e.kind, e.target)
        )

    @folds(LoadProgress)
    def _load_progress(self, e: LoadProgress) -> None:
        load: LoadLive = self.state.load
        lv = load.find(e.model, e.level)
        if lv is None:
            return
        lv.elapsed_s, lv.in_flight, lv.queued = e.elapsed_s, e.in_flight, e.queued
        lv.sent, lv.completed, lv.failed = e.sent, e.completed, e.failed
        lv.output_tokens = e.output_tokens
        load.peak_in_flight = max(load.peak_in_flight, e.in_flight)

    @folds(LevelFinished)
    def _level_finished(self, e: LevelFinished) -> None:
        lv = self.state.load.find(e.model, e.level)
        if lv is None:  # a level that never said it started (none today): keep its figures
            s = e.summary
            lv = LevelLive(
                e.model, e.level, int(s.get("index", 0)), 0, str(s.get("kind", "")),
                float(s.get("target") or 0.0),
            )  # fmt: skip
            self.state.load.levels.append(lv)
        lv.summary = dict(e.summary)
        lv.in_flight = lv.queued = 0
        # one log line per level, as headless (its requests have none: a flood at load)
        failed = bool(e.summary.get("failed"))
        self.state.add_log(
            "warning" if failed else "info", level_line(e.model, e.level, e.summary, compact=True)
        )

    @folds(LoadFinished)
    def _load_finished(self, e: LoadFinished) -> None:
        load: LoadLive = self.state.load
        load.capacity[e.model] = e.capacity
        load.knee[e.model] = e.knee
        self.state.add_log("ok", f"capacity: {e.capacity}")
