"""The classifier run's live state and the sink that keeps it.

``run_classify`` runs in a thread and calls ``publish`` from that thread (with several
jobs, events from the worker processes are republished there too). The sink never
touches a widget and never posts a message: under the state's lock it folds each event
into a :class:`ClassifyLiveState` and bumps ``version``. The screens take a
:meth:`~ClassifyLiveState.snapshot` on a timer (a few times per second) and repaint only
when the version moved.

No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core.classify.events import (
    CandidateFinished,
    CandidateStarted,
    ClassifyFinished,
    ClassifyStarted,
    DurationEstimated,
    EpochProgress,
    FinalModelSaved,
    FinalModelStarted,
    ImbalanceAnalysed,
    StepProgress,
)
from tui_bench.core.fmt import cell_name, score
from tui_bench.tui.state.base import EventSink, LiveStateBase, RunView, folds

Key = tuple[str, str, str | None]  # candidate, category, language


@dataclass
class Training:
    """A candidate being trained on one cell, with its validation macro-F1 per epoch."""

    candidate: str
    category: str
    language: str | None
    index: int
    total: int
    started_ns: int  # the state's clock
    n_epochs: int | None = None
    fold: int | None = None
    epochs: list[tuple[int, float | None, bool]] = field(default_factory=list)
    # a fine-tuned transformer: where it is within its epoch, loss, throughput, time left
    epoch_now: int | None = None
    step: int | None = None
    n_steps: int | None = None
    loss: float | None = None
    examples_per_s: float | None = None
    eta_s: float | None = None

    @property
    def cell(self) -> str:
        return cell_name(self.category, self.language)


@dataclass
class FinalTraining:
    candidate: str
    category: str
    language: str | None
    n_samples: int
    epochs: int | None
    started_ns: int  # the state's clock


@dataclass(frozen=True)
class ClassifyView(RunView):
    """A consistent copy of the state, taken under the lock, for one repaint."""

    data: str
    n_rows: int
    categories: list[str]
    models: list[str]
    jobs: int
    epochs: int
    in_flight: list[Training]
    results: list[Any]  # train.CandidateResult, in the order they finished
    finals: list[FinalModelSaved]
    final_current: FinalTraining | None
    finished: ClassifyFinished | None

    @property
    def n_done(self) -> int:
        return self.progress.done


class ClassifyLiveState(LiveStateBase):
    """What the classifier screens render. ``label`` is the data file's name; ``done``
    and ``total`` count trainings. Every access holds ``lock``: the writer is the
    training thread."""

    CANCEL_LINE = (
        "cancelling: stopping after the current epoch (a candidate that fits in "
        "one go finishes first); finished candidates are kept"
    )

    def __init__(self, *, label: str = "", clock: Callable[[], int] = time.perf_counter_ns) -> None:
        super().__init__(label=label, clock=clock)
        self.cancel = threading.Event()  # handed to run_classify
        self.data = ""
        self.n_rows = 0
        self.categories: list[str] = []
        self.models: list[str] = []
        self.jobs = 1
        self.epochs = 0
        self.in_flight: dict[Key, Training] = {}
        self.results: list[Any] = []
        self.finals: list[FinalModelSaved] = []
        self.final_current: FinalTraining | None = None
        self.finished: ClassifyFinished | None = None
        # the estimate's seconds per training and its workers (DurationEstimated)
        self.estimated: dict[Key, float] = {}
        self.estimate_workers = 1

    def left_hint(self, now_ns: int) -> float | None:
        """What the estimate gave the trainings not finished, a transformer's own time
        left (its steps so far) in place of its share; None without an estimate."""
        if not self.estimated or self.finished is not None:
            return None
        done = {(r.candidate, r.category, r.language) for r in self.results}
        left = 0.0
        for key, seconds in self.estimated.items():
            if key in done:
                continue
            t = self.in_flight.get(key)
            if t is None:
                left += seconds
            elif t.eta_s is not None:
                left += t.eta_s
            else:
                left += max(0.0, seconds - (now_ns - t.started_ns) / 1e9)
        return left / max(1, self.estimate_workers)

    def request_cancel(self) -> bool:
        """Ask the run to stop after the current epoch; False when it already stops."""
        if not super().request_cancel():
            return False
        self.cancel.set()
        return True

    def snapshot(self) -> ClassifyView:
        with self.lock:
            return ClassifyView(
                **self._view_fields(),
                data=self.data,
                n_rows=self.n_rows,
                categories=list(self.categories),
                models=list(self.models),
                jobs=self.jobs,
                epochs=self.epochs,
                in_flight=[
                    Training(**{**t.__dict__, "epochs": list(t.epochs)})
                    for t in sorted(self.in_flight.values(), key=lambda t: t.index)
                ],
                results=list(self.results),
                finals=list(self.finals),
                final_current=self.final_current,
                finished=self.finished,
            )


class ClassifySink(EventSink[ClassifyLiveState]):
    """``publish`` for ``run_classify`` / ``train_chosen``: folds events into the state,
    each under its lock (the training thread writes, the UI reads)."""

    @folds(ClassifyStarted)
    def _started(self, e: ClassifyStarted) -> None:
        s = self.state
        s.data, s.n_rows, s.jobs, s.epochs = e.data, e.n_rows, e.jobs, e.epochs
        s.categories, s.models = list(e.categories), list(e.models)
        s.total = e.n_trainings
        s.start()
        s.add_log(
            "info",
            f"{Path(e.data).name}: {e.n_rows:,} rows · "
            f"{len(e.categories)} categor{'y' if len(e.categories) == 1 else 'ies'}"
            f" × {len(e.models)} models (baseline included) = "
            f"{e.n_trainings} trainings · {e.epochs} epochs · "
            f"{'every core' if e.jobs <= 0 else f'{e.jobs} job(s)'}",
        )

    @folds(ImbalanceAnalysed)
    def _imbalance(self, e: ImbalanceAnalysed) -> None:
        for ex in e.excluded:
            where = cell_name(ex["category"], ex.get("language"))
            self.state.add_log("warning", f"excluded {where}: {ex['reason']}")

    @folds(DurationEstimated)
    def _estimated(self, e: DurationEstimated) -> None:
        s = self.state
        s.add_log("info", f"estimated duration: {e.text}")
        s.estimate_workers = int(e.estimate.get("workers") or 1)
        s.estimated = {
            (name, category, language): float(seconds)
            for name, category, language, seconds in e.estimate.get("per_training") or []
        }

    @folds(CandidateStarted)
    def _candidate_started(self, e: CandidateStarted) -> None:
        s = self.state
        key = (e.candidate, e.category, e.language)
        s.in_flight[key] = Training(
            e.candidate, e.category, e.language, e.index, e.total, s.clock()
        )
        s.total = max(s.total, e.total)

    @folds(FinalModelStarted)
    def _final_started(self, e: FinalModelStarted) -> None:
        s = self.state
        s.final_current = FinalTraining(
            e.candidate, e.category, e.language, e.n_samples, e.epochs, s.clock()
        )
        s.add_log(
            "info",
            f"final: {e.candidate} on {cell_name(e.category, e.language)} "
            f"({e.n_samples:,} rows" + (f", {e.epochs} epochs)" if e.epochs else ")"),
        )

    @folds(FinalModelSaved)
    def _final_saved(self, e: FinalModelSaved) -> None:
        self.state.final_current = None
        self.state.finals.append(e)
        self.state.add_log("ok", f"saved {e.model_path} ({e.train_time_s:.1f} s)")

    @folds(ClassifyFinished)
    def _classify_finished(self, e: ClassifyFinished) -> None:
        s = self.state
        s.finished = e
        s.finish(e.status)
        s.in_flight.clear()
        failed = f", {e.n_failed} failed" if e.n_failed else ""
        s.add_log(
            "ok" if e.status == "completed" else "warning",
            f"benchmark {e.status} in {e.duration_s:.1f} s: {e.n_results} results{failed}",
        )

    @folds(EpochProgress)
    def _epoch(self, e: EpochProgress) -> None:
        s = self.state
        key = (e.candidate, e.category, e.language)
        t = s.in_flight.get(key)
        if t is None:
            return
        if e.fold != t.fold:  # cross-validation: a new fold starts its epochs again
            t.fold = e.fold
            t.epochs = []
        t.n_epochs = e.n_epochs
        t.epochs.append((e.epoch, e.val_f1_macro, e.improved))
        if e.examples_per_s is not None:
            t.step = None  # the epoch is over: its figures until the next step
            t.loss, t.examples_per_s, t.eta_s = e.train_loss, e.examples_per_s, e.eta_s

    @folds(StepProgress)
    def _step(self, e: StepProgress) -> None:
        t = self.state.in_flight.get((e.candidate, e.category, e.language))
        if t is None:
            return
        if e.fold != t.fold:
            t.fold, t.epochs = e.fold, []
        t.n_epochs, t.epoch_now, t.step, t.n_steps = e.n_epochs, e.epoch, e.step, e.n_steps
        t.loss, t.examples_per_s, t.eta_s = e.loss, e.examples_per_s, e.eta_s

    @folds(CandidateFinished)
    def _candidate_finished(self, e: CandidateFinished) -> None:
        s, r = self.state, e.result
        s.in_flight.pop((r.candidate, r.category, r.language), None)
        s.results.append(r)
        s.done += 1
        where = f"{r.candidate} · {cell_name(r.category, r.language)}"
        if r.ok:
            s.add_log(
                "info",
                f"✓ {where}: macro-F1 {score(r.f1_macro)} · accuracy {score(r.accuracy)} · "
                f"{r.train_time_s:.2f} s",
            )
        else:
            s.add_log("error", f"✗ {where}: {r.error}")
