"""The live-state base both live views read: a bounded log ring, a version that moves with
every change, timing on an injected clock, cancelling, and snapshots that are whole while
another thread writes."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tui_bench.core.classify.events import CandidateStarted
from tui_bench.tui.state.base import LOG_LINES, LiveStateBase
from tui_bench.tui.state.classify import ClassifyLiveState, ClassifySink
from tui_bench.tui.state.llm import LiveState

S = 1_000_000_000


class FakeClock:
    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Threads switch every microsecond, so a reader without the lock would land mid-event."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_the_log_ring_keeps_the_newest_lines_of_one_size_for_every_kind_of_run() -> None:
    for state in (LiveStateBase(), LiveState(), ClassifyLiveState()):
        for i in range(LOG_LINES + 250):
            state.add_log("info", f"line {i}")
        assert len(state.log) == LOG_LINES == 1000
        assert state.log[0].seq == 251 and state.log[0].text == "line 250"
        assert state.log[-1].seq == LOG_LINES + 250
        assert state.version == LOG_LINES + 250


def test_every_change_moves_the_version_and_a_second_cancel_does_not() -> None:
    clock = FakeClock()
    state = LiveStateBase(label="demo", clock=clock)
    seen = [state.version]
    state.start()
    seen.append(state.version)
    state.add_log("info", "hello")
    seen.append(state.version)
    assert state.request_cancel() is True
    seen.append(state.version)
    assert state.request_cancel() is False
    assert state.version == seen[-1]
    state.finish("cancelled")
    seen.append(state.version)
    assert seen == [0, 1, 2, 3, 4]
    assert state.request_cancel() is False  # ended: nothing left to cancel
    assert [(line.level, line.text) for line in state.log] == [
        ("info", "hello"),
        ("warning", "cancelling"),
    ]


def test_elapsed_time_runs_on_the_clock_and_stops_when_the_run_ends_or_fails() -> None:
    clock = FakeClock()
    state = LiveStateBase(clock=clock)
    assert state.elapsed_s() == 0.0 and not state.running
    clock.ns = 2 * S
    state.start()
    clock.ns = 5 * S
    assert state.elapsed_s() == 3.0 and state.running
    assert state.snapshot().progress.elapsed_s == 3.0
    state.finish("completed")
    clock.ns = 60 * S
    assert state.elapsed_s() == 3.0 and not state.running
    p = state.progress()
    assert (p.status, p.error, p.elapsed_s) == ("completed", None, 3.0)

    failed = LiveStateBase(clock=clock)
    failed.start()
    clock.ns = 61 * S + S // 2
    failed.fail("the disk is full", "the run stopped: the disk is full")
    clock.ns = 90 * S
    p = failed.progress()
    assert (p.status, p.error, p.elapsed_s) == (None, "the disk is full", 1.5)
    assert failed.log[-1].level == "error"
    assert failed.log[-1].text == "the run stopped: the disk is full"


def test_progress_names_the_run_and_its_pace() -> None:
    clock = FakeClock()
    state = LiveStateBase(label="demo", clock=clock)
    state.run_id, state.total = 3, 10
    state.start()
    clock.ns = 8 * S
    state.done = 4
    p = state.progress()
    assert (p.run_id, p.label, p.done, p.total, p.started) == (3, "demo", 4, 10, True)
    assert p.left_s() == 12.0  # 2 s each, 6 to go
    state.done = 10
    assert state.progress().left_s() is None


def test_a_classifier_counts_time_left_from_its_estimate_and_a_transformer_s_own_steps() -> None:
    """Trainings differ too much in size for the pace so far (a one-second scikit-learn
    fit first would promise a fine-tune's minutes in seconds): the time left is the
    estimate's share of each training not finished, the running transformer's own time
    left in place of its share."""
    from types import SimpleNamespace

    from tui_bench.core.classify.events import (
        CandidateFinished,
        ClassifyStarted,
        DurationEstimated,
        StepProgress,
    )

    clock = FakeClock()
    state = ClassifyLiveState(label="data.csv", clock=clock)
    sink = ClassifySink(state)
    sink.handle(ClassifyStarted("data.csv", 100, ["topic"], ["char-svm", "ft"], [], False, 2, 1, 3))
    per = [("char-svm", "topic", None, 2.0), ("ft", "topic", None, 100.0)]
    sink.handle(DurationEstimated(102.0, "about 102 s", {"workers": 1, "per_training": per}))
    sink.handle(CandidateStarted("char-svm", "topic", None, 0, 3))
    clock.ns = 1 * S
    assert state.progress().left_s() == pytest.approx(101.0)  # 1 s of char-svm's 2, ft's 100
    result = SimpleNamespace(
        candidate="char-svm",
        category="topic",
        language=None,
        ok=True,
        f1_macro=0.8,
        accuracy=0.9,
        train_time_s=2.0,
    )
    sink.handle(CandidateFinished(result))
    sink.handle(CandidateStarted("ft", "topic", None, 1, 3))
    clock.ns = 31 * S
    assert state.progress().left_s() == pytest.approx(70.0)  # its share less 30 s
    sink.handle(StepProgress("ft", "topic", None, 1, 2, 5, 20, 1.2, 8.0, 240.0))
    assert state.progress().left_s() == pytest.approx(240.0)  # its own steps say more
    # the pace so far alone would have said (31 s / 1 done) x 2 to go = 62 s


def test_the_llm_state_names_the_request_in_flight_and_cancels_per_token() -> None:
    state = LiveState(clock=FakeClock())
    state.current.label = "fast / story / rep 1"
    assert state.progress().current == "fast / story / rep 1"
    assert state.request_cancel() is True
    assert state.cancelling and state.log[-1].text.endswith("after the current token")


def test_the_classifier_state_cancel_sets_the_event_the_run_watches() -> None:
    state = ClassifyLiveState(label="data.csv")
    assert not state.cancel.is_set()
    assert state.request_cancel() is True
    assert state.cancel.is_set() and state.snapshot().progress.cancelling
    assert state.request_cancel() is False


def read_while(write: Callable[[], None], state: LiveStateBase) -> list[Any]:
    """Snapshots taken while ``write`` runs in another thread, and one after it."""
    stop = threading.Event()

    def writer() -> None:
        write()
        stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    views = []
    while not stop.is_set() or not views:
        views.append(state.snapshot())
    thread.join()
    views.append(state.snapshot())
    return views


@pytest.mark.usefixtures("frequent_switches")
def test_snapshots_are_whole_while_another_thread_writes() -> None:
    """The writer holds the lock for each event (two fields and a log line); every
    snapshot the reader takes meanwhile agrees with itself."""
    state = LiveStateBase()
    n_events = 3000

    def write() -> None:
        for i in range(1, n_events + 1):
            with state.lock:
                state.done = i
                state.total = 2 * i
                state.add_log("info", str(i))

    views = read_while(write, state)
    for v in views:
        p = v.progress
        assert p.total == 2 * p.done
        assert v.version == p.done
        assert len(v.log) == min(p.done, LOG_LINES)
        if v.log:
            assert v.log[-1].text == str(p.done) and v.log[-1].seq == p.done
    assert views[-1].progress.done == n_events
    versions = [v.version for v in views]
    assert versions == sorted(versions)


@pytest.mark.usefixtures("frequent_switches")
def test_a_classifier_snapshot_is_whole_while_the_training_thread_publishes() -> None:
    state = ClassifyLiveState(label="data.csv")
    sink = ClassifySink(state)
    n = 500

    def write() -> None:
        for i in range(n):
            sink.handle(CandidateStarted(f"m{i}", "topic", None, i, n))

    views = read_while(write, state)
    for v in views:
        assert [t.index for t in v.in_flight] == list(range(len(v.in_flight)))
        assert v.version == len(v.in_flight)
    assert len(views[-1].in_flight) == n and views[-1].progress.total == n


def test_both_sinks_log_log_events_and_only_count_events_they_do_not_fold() -> None:
    from tui_bench.core.events import Log, ModelUnloaded
    from tui_bench.tui.state.llm import BridgeSink

    llm, classify = LiveState(), ClassifyLiveState()
    for sink, foreign in (
        (BridgeSink(llm), CandidateStarted("m", "c", None, 0, 1)),
        (ClassifySink(classify), ModelUnloaded("a")),
    ):
        sink.handle(Log("warning", "careful"))
        sink.handle(foreign)
        state = sink.state
        assert [(line.level, line.text) for line in state.log] == [("warning", "careful")]
        assert state.version == 3  # two events and one line logged
    assert not llm.models and not classify.in_flight
