"""The live-state base: version, log ring, timing, cancelling and a snapshot for one repaint.

A sink (an :class:`EventSink`, one method per event type) folds a run's events into a
subclass of :class:`LiveStateBase`; the run's screen reads it on a timer (a few times per
second) and repaints only when ``version`` moved, so the cost of the UI is bounded by the
timer, not by the event rate. The base owns what every kind of run shares and what the
run-status line shows (:class:`RunProgress`).

The lock. The thread that writes is not always the UI's: classifiers train in a thread,
while the LLM engine runs as an async worker on the UI's own event loop. ``lock``
(re-entrant) guards every field a writer changes, the subclass's fields included:

- every method here takes it, so a line logged or a cancel requested from any thread is
  whole, and :meth:`snapshot` copies the state under it;
- a sink whose writer runs in another thread (``EventSink.LOCKED``, the classifier's)
  folds each event under it, so a snapshot never sees half an event;
- a writer on the UI's thread cannot interleave with a reader, so it needs no lock for
  its own fields: the LLM sink folds token batches without one (the per-token path takes
  no lock), and its panels read the state directly.

What a snapshot hands out is a copy or immutable, so it may be read after the lock is
released. No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from tui_bench.core.events import Event, Log

LOG_LINES = 1000  # every line is also in the run's history and reports


@dataclass(frozen=True)
class LogLine:
    seq: int
    level: str  # info, warning, error, ok
    text: str


@dataclass(frozen=True)
class RunProgress:
    """What the run-status line shows, the same for every kind of run."""

    run_id: int | None
    label: str  # the plan, the data file ...
    done: int
    total: int
    current: str  # what is being measured now; "" when nothing is named
    started: bool
    elapsed_s: float
    cancelling: bool
    status: str | None  # how it ended: completed, cancelled, failed
    error: str | None  # what stopped it when it could not end on its own
    # the run's own figure of the time left, where its items differ too much in size for
    # the pace so far to tell (a classifier's transformer beside scikit-learn fits)
    left_hint_s: float | None = None

    def left_s(self) -> float | None:
        """Time left: the run's own figure, else at the pace so far; None before the
        first item or after the last."""
        if self.left_hint_s is not None and self.done < self.total:
            return self.left_hint_s
        if not 0 < self.done < self.total:
            return None
        return self.elapsed_s / self.done * (self.total - self.done)


@dataclass(frozen=True)
class RunView:
    """A consistent copy of a live state, taken under its lock, for one repaint."""

    version: int
    log: list[LogLine]
    progress: RunProgress
    now_ns: int

    def since_s(self, t_ns: int) -> float:
        """Seconds from ``t_ns`` (the state's clock) to this snapshot."""
        return max(0.0, (self.now_ns - t_ns) / 1e9)


class LiveStateBase:
    """What every run's live state holds; subclasses add their own fields."""

    # the log line of a cancel request: each kind of run says when it stops
    CANCEL_LINE = "cancelling"

    def __init__(self, *, label: str = "", clock: Callable[[], int] = time.perf_counter_ns) -> None:
        self.clock = clock  # nanoseconds, monotonic
        self.lock = threading.RLock()
        self.version = 0  # bumped by every change a screen should repaint for
        self.log: deque[LogLine] = deque(maxlen=LOG_LINES)
        self._log_seq = 0
        self.run_id: int | None = None
        self.label = label
        self.done = 0
        self.total = 0
        self.started_ns: int | None = None
        self.finished_ns: int | None = None
        self.status: str | None = None
        self.error: str | None = None
        self.cancelling = False

    # -- writers ------------------------------------------------------------------------

    def add_log(self, level: str, text: str) -> None:
        with self.lock:
            self._log_seq += 1
            self.log.append(LogLine(self._log_seq, level, text))
            self.version += 1

    def start(self) -> None:
        with self.lock:
            self.started_ns = self.clock()
            self.version += 1

    def finish(self, status: str) -> None:
        """The run ended on its own (completed, cancelled ...): the clock stops."""
        with self.lock:
            self.status = status
            self.finished_ns = self.clock()
            self.version += 1

    def fail(self, error: str, line: str | None = None) -> None:
        """The run stopped with ``error``: the clock stops and ``line`` (or the error) is
        logged."""
        with self.lock:
            self.error = error
            if self.finished_ns is None:
                self.finished_ns = self.clock()
            self.add_log("error", line or error)

    def request_cancel(self) -> bool:
        """Mark the run cancelling and log it; False when it already stops or stopped."""
        with self.lock:
            if self.cancelling or self.finished_ns is not None:
                return False
            self.cancelling = True
            self.add_log("warning", self.CANCEL_LINE)
            return True

    # -- readers ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.started_ns is not None and self.finished_ns is None

    def elapsed_s(self, now_ns: int | None = None) -> float:
        if self.started_ns is None:
            return 0.0
        if self.finished_ns is not None:
            end = self.finished_ns
        else:
            end = self.clock() if now_ns is None else now_ns
        return max(0.0, (end - self.started_ns) / 1e9)

    def current_label(self) -> str:
        """What is being measured now, for the status line; subclasses name it."""
        return ""

    def left_hint(self, now_ns: int) -> float | None:
        """The time left as the run itself knows it (callers hold the lock); None: the
        pace so far tells it."""
        return None

    def progress(self, now_ns: int | None = None) -> RunProgress:
        with self.lock:
            return RunProgress(
                run_id=self.run_id,
                label=self.label,
                done=self.done,
                total=self.total,
                current=self.current_label(),
                started=self.started_ns is not None,
                elapsed_s=self.elapsed_s(now_ns),
                cancelling=self.cancelling,
                status=self.status,
                error=self.error,
                left_hint_s=self.left_hint(self.clock() if now_ns is None else now_ns),
            )

    def snapshot(self) -> RunView:
        with self.lock:
            return RunView(**self._view_fields())

    def _view_fields(self) -> dict[str, Any]:
        """The base's part of a snapshot; callers hold the lock."""
        now = self.clock()
        return {
            "version": self.version,
            "log": list(self.log),
            "progress": self.progress(now),
            "now_ns": now,
        }


S = TypeVar("S", bound=LiveStateBase)
F = TypeVar("F", bound=Callable[..., None])


def folds(*types: type[Event]) -> Callable[[F], F]:
    """Marks an :class:`EventSink` method as the one that folds events of ``types``."""

    def mark(method: F) -> F:
        method.folds_events = types  # type: ignore[attr-defined]
        return method

    return mark


class EventSink(Generic[S]):
    """Folds events into a live state: each event goes to the method marked for its type
    (:func:`folds`), found by one dict look-up; other events only bump the version.

    ``LOCKED``: the writer runs in another thread than the UI, so every event is folded
    under the state's lock (see the module's note on the lock).
    """

    LOCKED: ClassVar[bool] = True
    _fold_names: ClassVar[dict[type[Event], str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: dict[type[Event], str] = {}
        for klass in reversed(cls.__mro__):  # a subclass's method wins
            for name, member in vars(klass).items():
                for event_type in getattr(member, "folds_events", ()):
                    names[event_type] = name
        cls._fold_names = names

    def __init__(self, state: S) -> None:
        self.state = state
        self._folds: dict[type, Callable[[Any], None] | None] = {
            t: getattr(self, name) for t, name in self._fold_names.items()
        }

    def handle(self, event: Event) -> None:
        kind = type(event)
        fold = self._folds[kind] if kind in self._folds else self._learn(kind)
        if self.LOCKED:
            with self.state.lock:
                self.state.version += 1
                if fold is not None:
                    fold(event)
        else:
            self.state.version += 1
            if fold is not None:
                fold(event)

    @folds(Log)
    def _log(self, e: Log) -> None:
        self.state.add_log(e.level, e.message)

    def _learn(self, kind: type) -> Callable[[Any], None] | None:
        """A type without its own method: a base's method, or none; remembered."""
        fold = next((self._folds[b] for b in kind.__mro__[1:] if self._folds.get(b)), None)
        self._folds[kind] = fold
        return fold
