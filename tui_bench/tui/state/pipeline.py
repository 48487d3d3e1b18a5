"""A pipeline run's live state and the sink that keeps it.

``PipelineRunner.run`` runs in a thread and publishes from it; the sink folds each event
under the state's lock (``EventSink.LOCKED``). The screen takes a
:meth:`~PipelineLiveState.snapshot` on a timer and repaints when the version moved.

What it keeps: the scenario and its stages, each stage's setup, the finished questions
(their spans and shares, as ``QuestionFinished`` carries them), the question and stage
running now, and, over the finished questions, each stage's median share and the
bottleneck so far, computed by the core's own rule (``core.pipeline.spans``).

No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui_bench.core.fmt import num
from tui_bench.core.pipeline import events as pe
from tui_bench.core.pipeline.spans import bottleneck, median_shares
from tui_bench.tui.state.base import EventSink, LiveStateBase, RunView, folds


@dataclass(frozen=True)
class PipelineView(RunView):
    """A consistent copy of the state, taken under the lock, for one repaint."""

    scenario: str
    stages: list[str]  # the stages that run (a skipped one left out), in order
    skipped: dict[str, str]  # stage -> why
    questions: list[dict[str, Any]]  # QuestionResult.to_dict(), in the order they finished
    in_flight: tuple[str, str] | None  # (question id, stage) running now
    medians: dict[str, float]  # each stage's median share over the finished questions
    bottleneck: str | None
    finished: pe.PipelineFinished | None


class PipelineLiveState(LiveStateBase):
    """What the pipeline's live screen renders. ``label`` is the scenario id; ``done``
    and ``total`` count questions."""

    CANCEL_LINE = (
        "cancelling: stopping after the running stage; finished questions are kept, "
        "stored and reported"
    )

    def __init__(self, *, label: str = "", clock: Callable[[], int] = time.perf_counter_ns) -> None:
        super().__init__(label=label, clock=clock)
        self.cancel = threading.Event()  # the controller cancels the runner when it is set
        self.stages: list[str] = []
        self.skipped: dict[str, str] = {}
        self.questions: list[dict[str, Any]] = []
        self.in_flight: tuple[str, str] | None = None
        self.finished: pe.PipelineFinished | None = None

    def request_cancel(self) -> bool:
        if not super().request_cancel():
            return False
        self.cancel.set()
        return True

    def current_label(self) -> str:
        if self.in_flight is None:
            return ""
        question, stage = self.in_flight
        return f"{question} · {stage}"

    def snapshot(self) -> PipelineView:
        with self.lock:
            stages = [s for s in self.stages if s not in self.skipped]
            per_q = [{k: v["share"] for k, v in q["spans"].items()} for q in self.questions]
            return PipelineView(
                **self._view_fields(),
                scenario=self.label,
                stages=stages,
                skipped=dict(self.skipped),
                questions=list(self.questions),
                in_flight=self.in_flight,
                medians=median_shares(per_q, stages),
                bottleneck=bottleneck(per_q, stages),
                finished=self.finished,
            )


class PipelineSink(EventSink[PipelineLiveState]):
    """``publish`` for ``PipelineRunner``: folds its events into the state, each under
    its lock (the runner's thread writes, the UI reads)."""

    @folds(pe.PipelineStarted)
    def _started(self, e: pe.PipelineStarted) -> None:
        s = self.state
        s.label, s.stages, s.total = e.scenario, list(e.stages), e.n_questions
        s.start()
        s.add_log(
            "info",
            f"{e.scenario}: {' → '.join(e.stages)}, {e.n_questions} question(s)",
        )

    @folds(pe.StageReady)
    def _ready(self, e: pe.StageReady) -> None:
        if e.skipped:
            self.state.skipped[e.stage] = e.skipped
            self.state.add_log("warning", f"{e.stage}: skipped ({e.skipped})")
        else:
            self.state.add_log("info", f"{e.stage}: ready in {num(e.setup_ms, 1)} ms")

    @folds(pe.StageStarted)
    def _stage(self, e: pe.StageStarted) -> None:
        self.state.in_flight = (e.question, e.stage)

    @folds(pe.QuestionFinished)
    def _question(self, e: pe.QuestionFinished) -> None:
        from tui_bench.core.pipeline.summary import question_line

        s = self.state
        s.questions.append(e.question)
        s.done, s.total, s.in_flight = e.index, e.total, None
        s.add_log(
            "ok" if e.question["success"] else "error", question_line(e.index, e.total, e.question)
        )

    @folds(pe.PipelineFinished)
    def _finished(self, e: pe.PipelineFinished) -> None:
        s = self.state
        s.finished, s.in_flight = e, None
        s.finish(e.status)
        verdict = "PASS" if e.passed else "FAIL"
        s.add_log(
            "ok" if e.passed else "warning",
            f"pipeline {e.status}: {len(s.questions)} question(s), bottleneck "
            f"{e.bottleneck or 'none'}, {verdict}",
        )
