"""The bridge between a classifier benchmark and its screens: state, a sink, a thread.

``run_classify`` runs in a thread and calls ``publish`` from that thread (with several
jobs, events from the worker processes are republished there too). The sink never
touches a widget and never posts a message: under a lock it folds each event into a
:class:`ClassifyLiveState` and bumps ``version``. The screens take a :meth:`snapshot`
on a timer (a few times per second) and repaint only when the version moved.

Training runs at the priority the program started with: the TUI lowers its own loop's
CPU priority (see ``tui_bench.core.backends.spawn``), and on Linux a thread inherits the
priority of the thread that starts it, so :func:`run_at_start_priority` starts the
training thread from the spawner thread, created before the loop lowered itself.

No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tui_bench.core.classify.events import (
    CandidateFinished,
    CandidateStarted,
    ClassifyFinished,
    ClassifyStarted,
    EpochProgress,
    FinalModelSaved,
    FinalModelStarted,
    ImbalanceAnalysed,
)
from tui_bench.core.events import Event, Log
from tui_bench.tui.bridge import LogLine

LOG_LINES = 500
REPORT_FILES = ("report.md", "data.json", "results.csv")

T = TypeVar("T")
Key = tuple[str, str, str | None]  # candidate, category, language


def cell_name(category: str, language: str | None) -> str:
    return f"{category}/{language}" if language else category


@dataclass
class Training:
    """A candidate being trained on one cell, with its validation macro-F1 per epoch."""

    candidate: str
    category: str
    language: str | None
    index: int
    total: int
    started: float
    n_epochs: int | None = None
    fold: int | None = None
    epochs: list[tuple[int, float | None, bool]] = field(default_factory=list)

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
    started: float


@dataclass(frozen=True)
class ClassifyView:
    """A consistent copy of the state, taken under the lock, for one repaint."""

    version: int
    data: str
    n_rows: int
    categories: list[str]
    models: list[str]
    jobs: int
    epochs: int
    total: int
    started: float | None
    finished_at: float | None
    in_flight: list[Training]
    done: list[Any]  # train.CandidateResult, in the order they finished
    finals: list[FinalModelSaved]
    final_current: FinalTraining | None
    log: list[LogLine]
    finished: ClassifyFinished | None
    cancelling: bool
    now: float

    @property
    def n_done(self) -> int:
        return len(self.done)

    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else self.now
        return max(0.0, end - self.started)


class ClassifyLiveState:
    """What the classifier screens render; every access holds ``lock``."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.cancel = threading.Event()  # handed to run_classify
        self.version = 0
        self.data = ""
        self.n_rows = 0
        self.categories: list[str] = []
        self.models: list[str] = []
        self.jobs = 1
        self.epochs = 0
        self.total = 0
        self.started: float | None = None
        self.finished_at: float | None = None
        self.in_flight: dict[Key, Training] = {}
        self.done: list[Any] = []
        self.finals: list[FinalModelSaved] = []
        self.final_current: FinalTraining | None = None
        self.log: deque[LogLine] = deque(maxlen=LOG_LINES)
        self._log_seq = 0
        self.finished: ClassifyFinished | None = None
        self.cancelling = False

    def add_log(self, level: str, text: str) -> None:
        """Callers hold the lock."""
        self._log_seq += 1
        self.log.append(LogLine(self._log_seq, level, text))
        self.version += 1

    def note(self, level: str, text: str) -> None:
        """A log line from the UI thread."""
        with self.lock:
            self.add_log(level, text)

    def request_cancel(self) -> bool:
        """Ask the run to stop after the current epoch; False when it already stops."""
        with self.lock:
            if self.cancelling or self.finished is not None:
                return False
            self.cancelling = True
            self.add_log(
                "warning",
                "cancelling: stopping after the current epoch (a candidate that fits in "
                "one go finishes first); finished candidates are kept",
            )
        self.cancel.set()
        return True

    def snapshot(self) -> ClassifyView:
        with self.lock:
            return ClassifyView(
                version=self.version,
                data=self.data,
                n_rows=self.n_rows,
                categories=list(self.categories),
                models=list(self.models),
                jobs=self.jobs,
                epochs=self.epochs,
                total=self.total,
                started=self.started,
                finished_at=self.finished_at,
                in_flight=[
                    Training(**{**t.__dict__, "epochs": list(t.epochs)})
                    for t in sorted(self.in_flight.values(), key=lambda t: t.index)
                ],
                done=list(self.done),
                finals=list(self.finals),
                final_current=self.final_current,
                log=list(self.log),
                finished=self.finished,
                cancelling=self.cancelling,
                now=self.clock(),
            )


class ClassifySink:
    """``publish`` for ``run_classify`` / ``train_chosen``: folds events into the state."""

    def __init__(self, state: ClassifyLiveState) -> None:
        self.state = state

    def handle(self, event: Event) -> None:
        s = self.state
        with s.lock:
            s.version += 1
            if isinstance(event, EpochProgress):
                self._epoch(event)
            elif isinstance(event, CandidateStarted):
                key = (event.candidate, event.category, event.language)
                s.in_flight[key] = Training(
                    event.candidate,
                    event.category,
                    event.language,
                    event.index,
                    event.total,
                    s.clock(),
                )
                s.total = max(s.total, event.total)
            elif isinstance(event, CandidateFinished):
                self._finished(event.result)
            elif isinstance(event, ClassifyStarted):
                s.data = event.data
                s.n_rows = event.n_rows
                s.categories = list(event.categories)
                s.models = list(event.models)
                s.jobs = event.jobs
                s.epochs = event.epochs
                s.total = event.n_trainings
                s.started = s.clock()
                s.add_log(
                    "info",
                    f"{Path(event.data).name}: {event.n_rows:,} rows · "
                    f"{len(event.categories)} categor{'y' if len(event.categories) == 1 else 'ies'}"
                    f" × {len(event.models)} models (baseline included) = "
                    f"{event.n_trainings} trainings · {event.epochs} epochs · "
                    f"{'every core' if event.jobs <= 0 else f'{event.jobs} job(s)'}",
                )
            elif isinstance(event, ImbalanceAnalysed):
                for ex in event.excluded:
                    where = cell_name(ex["category"], ex.get("language"))
                    s.add_log("warning", f"excluded {where}: {ex['reason']}")
            elif isinstance(event, FinalModelStarted):
                s.final_current = FinalTraining(
                    event.candidate,
                    event.category,
                    event.language,
                    event.n_samples,
                    event.epochs,
                    s.clock(),
                )
                s.add_log(
                    "info",
                    f"final: {event.candidate} on {cell_name(event.category, event.language)} "
                    f"({event.n_samples:,} rows"
                    + (f", {event.epochs} epochs)" if event.epochs else ")"),
                )
            elif isinstance(event, FinalModelSaved):
                s.final_current = None
                s.finals.append(event)
                s.add_log("ok", f"saved {event.model_path} ({event.train_time_s:.1f} s)")
            elif isinstance(event, ClassifyFinished):
                s.finished = event
                s.finished_at = s.clock()
                s.in_flight.clear()
                level = "ok" if event.status == "completed" else "warning"
                failed = f", {event.n_failed} failed" if event.n_failed else ""
                s.add_log(
                    level,
                    f"benchmark {event.status} in {event.duration_s:.1f} s: "
                    f"{event.n_results} results{failed}",
                )
            elif isinstance(event, Log):
                s.add_log(event.level, event.message)

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

    def _finished(self, r: Any) -> None:
        s = self.state
        s.in_flight.pop((r.candidate, r.category, r.language), None)
        s.done.append(r)
        where = f"{r.candidate} · {cell_name(r.category, r.language)}"
        if r.ok:
            s.add_log(
                "info",
                f"✓ {where}: macro-F1 {r.f1_macro:.3f} · accuracy {r.accuracy:.3f} · "
                f"{r.train_time_s:.2f} s",
            )
        else:
            s.add_log("error", f"✗ {where}: {r.error}")


@dataclass
class ClassifyOutcome:
    """A finished benchmark as the results screen shows it."""

    result: Any  # runner.ClassifyResult
    reports: list[Path] = field(default_factory=list)
    run_id: int | None = None
    db_path: Path | None = None
    from_history: bool = False  # rebuilt from the database: shown, never trained from


def report_files(output_dir: str | Path | None) -> list[Path]:
    if output_dir is None:
        return []
    return [Path(output_dir) / n for n in REPORT_FILES if (Path(output_dir) / n).is_file()]


def run_at_start_priority(
    fn: Callable[[], T], *, abandon: Callable[[], bool] = lambda: False, poll_s: float = 0.1
) -> T | None:
    """Run ``fn`` in a new thread started from the spawner thread and wait for it.

    Returns ``None`` when ``abandon()`` turns true first (the app is closing): the thread
    is a daemon and the caller has already asked it to stop. Re-raises its exception.
    """
    from tui_bench.core.backends.spawn import start_thread

    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the waiting thread
            box["error"] = exc

    thread = threading.Thread(target=body, name="classify-train", daemon=True)
    start_thread(thread)
    while thread.is_alive():
        if abandon():
            return None
        thread.join(poll_s)
    if "error" in box:
        raise box["error"]
    return box.get("result")
